from kedro.pipeline import Pipeline, node

from artrec.pipelines.embed.nodes import embed_met


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            node(
                embed_met,
                inputs=[
                    "met_raw",
                    "mame_resnet18_hrvs_model",
                    "params:embed.met",
                    # embed.met.backbone met / met_<method>: the backbone trained on the Met
                    "met_backbone_model",
                    # embed.met.backbone synthetic: the Met training's pretrained start
                    "met_start_model",
                ],
                outputs=["met_descriptors_ss", "met_descriptors_ms", "met_embed_metrics"],
                name="embed_met",
                tags=["met"],
            )
        ]
    )
