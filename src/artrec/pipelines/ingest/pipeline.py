from kedro.pipeline import Pipeline, node

from artrec.pipelines.ingest.nodes import ingest_mame, ingest_met


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            node(
                ingest_mame,
                inputs=[
                    "params:data.mame",
                    "params:data.downloads_dir",
                    "params:synth.mame",
                    "params:seed",
                ],
                outputs="mame_raw",
                name="ingest_mame",
                tags=["mame"],
            ),
            node(
                ingest_met,
                inputs=[
                    "params:data.met",
                    "params:data.downloads_dir",
                    "params:synth.met",
                    "params:seed",
                ],
                outputs="met_raw",
                name="ingest_met",
                tags=["met"],
            ),
        ]
    )
