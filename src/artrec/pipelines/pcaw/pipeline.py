from kedro.pipeline import Pipeline, node

from artrec.pipelines.pcaw.nodes import learn_met_whitening


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            node(
                learn_met_whitening,
                inputs=[f"met_descriptors_{scales}", "params:pcaw.met"],
                outputs=[f"met_pcaw_{scales}", f"met_pcaw_{scales}_metrics"],
                name=f"learn_met_pcaw_{scales}",
                tags=["met", scales],
            )
            for scales in ("ss", "ms")
        ]
    )
