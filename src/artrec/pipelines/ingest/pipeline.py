from functools import partial, update_wrapper

from kedro.pipeline import Pipeline, node

from artrec.pipelines.ingest.nodes import ingest_collection, ingest_mame, ingest_met, ingest_tate

# The transfer-learning study's two collections (artrec.synth.rijksmuseum), one DVC stage.
TRANSFER_COLLECTIONS = ("rijksmuseum", "antwerp")


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
            node(
                ingest_tate,
                inputs=[
                    "params:data.tate",
                    "params:data.downloads_dir",
                    "params:synth.tate",
                    "params:curate.tate",
                    "params:seed",
                ],
                outputs="tate_raw",
                name="ingest_tate",
                tags=["tate"],
            ),
            *[
                node(
                    update_wrapper(partial(ingest_collection, name=name), ingest_collection),
                    inputs=[
                        f"params:data.{name}",
                        "params:data.downloads_dir",
                        f"params:synth.{name}",
                        "params:seed",
                    ],
                    outputs=f"{name}_raw",
                    name=f"ingest_{name}",
                    tags=["transfer"],
                )
                for name in TRANSFER_COLLECTIONS
            ],
        ]
    )
