from functools import partial, update_wrapper

from kedro.pipeline import Pipeline, node

from artrec.pipelines.preprocess.nodes import preprocess_mame

# The paper's two input versions; more presets (area65k/360k) can be added as versions here and
# in params.yaml `preprocess.mame.versions`.
INPUT_VERSIONS = ("lrfs", "hrvs")


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            node(
                update_wrapper(partial(preprocess_mame, version=version), preprocess_mame),
                inputs=["mame_dataset", "mame_raw", "params:preprocess.mame"],
                outputs=f"mame_{version}_images",
                name=f"preprocess_mame_{version}",
                tags=["mame", version],
            )
            for version in INPUT_VERSIONS
        ]
    )
