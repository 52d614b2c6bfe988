from functools import partial, update_wrapper

from kedro.pipeline import Pipeline, node

from artrec.images.preprocess import INPUT_VERSIONS
from artrec.pipelines.preprocess.nodes import preprocess_mame, summarise_mame_images

# One stage per input version; more presets (area65k/360k) can be added as versions to
# INPUT_VERSIONS and params.yaml `preprocess.mame.versions`.


def create_pipeline(**kwargs) -> Pipeline:
    nodes = []
    for version in INPUT_VERSIONS:
        nodes += [
            node(
                update_wrapper(partial(preprocess_mame, version=version), preprocess_mame),
                inputs=["mame_dataset", "mame_raw", "params:preprocess.mame"],
                outputs=f"mame_{version}_images",
                name=f"preprocess_mame_{version}",
                tags=["mame", version],
            ),
            # The tables describe the finished folder, so they are read back from it.
            node(
                update_wrapper(
                    partial(summarise_mame_images, version=version), summarise_mame_images
                ),
                inputs=[
                    "mame_dataset",
                    "mame_raw",
                    f"mame_{version}_images",
                    "params:preprocess.mame",
                ],
                outputs=[f"mame_{version}_manifest", f"mame_{version}_quarantine"],
                name=f"summarise_mame_{version}",
                tags=["mame", version],
            ),
        ]
    return Pipeline(nodes)
