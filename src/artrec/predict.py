"""``artrec predict IMAGE...``: MAMe medium and nearest Met exhibits of new images.

For each image it prints the top-5 MAMe media with their soft-max probabilities and the nearest
Met exhibits with the kNN classifier's confidence and an out-of-distribution flag, using the
artifacts of the last ``dvc repro`` (``data/06_models``, ``data/05_model_input``,
``data/08_reporting/met_knn_metrics.json``) or, for the MAMe part, a named MLflow model
(``--model models:/artrec-mame-resnet18_hrvs/1``, as registered by the train stages).

Met confidence: the soft-max over exhibits of tau times the class similarity, with (k, tau) as
tuned on validation GAP by ``knn_met`` (Table 4 row 4: PCAw, multi-scale). Out of distribution:
the confidence is below the threshold that best separates the validation set's Met queries from
its distractors (highest balanced accuracy), so the flag is calibrated on data the classifier was
not tuned with beyond (k, tau).

Unreadable images are refused one by one with the decoder's one-line reason; the others are
still predicted, and the command exits with code 2 when any image was refused. Images are never
decoded at full resolution: each input is decoded by :mod:`artrec.images.decode` in JPEG draft
mode at the size it is used at (the MAMe model's input size; the Met embedding's longer side
``embed.met.max_side``, exactly as the embedding stage decodes the exhibits), with the
decompression-bomb limits of ``params.yaml`` (``preprocess.mame.max_image_pixels``,
``embed.met.max_image_pixels``) applied before any pixel is decoded.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from artrec.errors import BadInputError, one_line_message
from artrec.images.decode import DEFAULT_MAX_PIXELS

if TYPE_CHECKING:
    from PIL import Image

DEFAULT_VARIANT = "resnet18_hrvs"


@dataclass
class MameModel:
    module: Any  # torch.nn.Module, imported lazily
    classes: list[str]
    input_version: str


def load_mame_model(root: Path, variant: str, model_uri: str | None) -> MameModel:
    """The MAMe classifier of ``variant`` from ``data/06_models``, or the MLflow model at
    ``model_uri`` (its metadata names the classes and the input version)."""
    if model_uri:
        import mlflow
        from mlflow import pytorch as mlflow_pytorch

        info = mlflow.models.Model.load(model_uri)
        metadata = info.metadata or {}
        if "classes" not in metadata:
            raise BadInputError(
                model_uri,
                "the model has no class names in its metadata",
                "name a model registered by the train_mame stages (artrec-mame-<arch>_<input>)",
            )
        # Logged in eval mode (classifier_from_state); the loaded wrapper refuses a second .eval().
        module = mlflow_pytorch.load_model(model_uri, map_location="cpu")
        return MameModel(module, list(metadata["classes"]), str(metadata["input_version"]))
    from artrec.models.factory import classifier_from_state

    state = _load_state(root / "data" / "06_models" / f"mame_{variant}.pt")
    model = classifier_from_state(state, state["num_classes"])
    return MameModel(model, list(state["classes"]), state["input_version"])


def _load_state(path: Path) -> dict[str, Any]:
    import torch

    if not path.is_file():
        raise BadInputError(
            path, "no trained model", "run `uv run dvc repro` first, or pass --model"
        )
    return torch.load(path, map_location="cpu", weights_only=True)


def mame_input(image_path: Path, params: dict[str, Any], version: str) -> Image.Image:
    """The MAMe model's input image, decoded as the preprocessing stage decodes (draft mode
    straight to the input version's size, ``preprocess.mame.max_image_pixels`` applied)."""
    from artrec.images.decode import load_resized
    from artrec.images.preprocess import resize_spec

    preprocess = params["preprocess"]["mame"]
    setting = preprocess["versions"][version]
    spec = resize_spec(setting["preset"], setting.get("size"))
    return load_resized(
        image_path, spec.output_size, max_pixels=int(preprocess["max_image_pixels"])
    )


def met_input(image_path: Path, params: dict[str, Any]) -> Image.Image:
    """The Met embedding's input image, decoded as ``embed_met`` decodes the exhibits."""
    from artrec.retrieval.extract import decode_for_embedding

    embed = params["embed"]["met"]
    return decode_for_embedding(
        image_path,
        int(embed["max_side"]),
        int(embed.get("max_image_pixels", DEFAULT_MAX_PIXELS)),
    )


def mame_top(model: MameModel, image_path: Path, params: dict[str, Any], top: int) -> list[dict]:
    """The ``top`` most probable media of one image, preprocessed as the training inputs were."""
    import torch

    from artrec.training.transforms import build_transforms

    version = model.input_version
    image = mame_input(image_path, params, version)
    tensor = build_transforms(version, train=False)(image).unsqueeze(0)
    with torch.no_grad():
        probabilities = torch.softmax(model.module(tensor), dim=1)[0].numpy()
    order = np.argsort(-probabilities)[:top]
    return [
        {"medium": model.classes[i], "probability": round(float(probabilities[i]), 4)}
        for i in order
    ]


class MetIndex:
    """The Met exhibits' whitened multi-scale descriptors, the tuned kNN and the OOD threshold."""

    def __init__(self, root: Path, params: dict[str, Any]) -> None:
        from artrec.datasets.met import load_met_ground_truth
        from artrec.pipelines.embed.nodes import build_met_embedder
        from artrec.retrieval.descriptors import load_descriptor_pickle
        from artrec.retrieval.embedder import inference_transform
        from artrec.retrieval.knn import KNNClassifier
        from artrec.retrieval.whitening import apply_pca_whitening, load_whitening

        data = root / "data"
        self.params = params
        embed = params["embed"]["met"]
        mame_state = met_state = None
        if embed["backbone"] == "mame":
            mame_state = _load_state(data / "06_models" / "mame_resnet18_hrvs.pt")
        elif str(embed["backbone"]).startswith("met"):
            # the backbone trained on the Met that embed_met used (train_met_summary's choice)
            met_state = _load_state(data / "06_models" / "met_backbone.pt")
        self.embedder, self.backbone = build_met_embedder(embed, mame_state, met_state)
        self.embedder.eval()
        self.transform = inference_transform(
            int(embed["max_side"]), self.embedder.mean, self.embedder.std
        )
        self.pcaw = load_whitening(data / "06_models" / "met_pcaw_ms.npz")
        self._whiten = apply_pca_whitening
        descriptors = load_descriptor_pickle(data / "05_model_input" / "met_descriptors_ms.pkl")
        self.truth = load_met_ground_truth(data / "01_raw" / "met", check_images=False)
        knn = json.loads((data / "08_reporting" / "met_knn_metrics.json").read_text())
        self.k, self.tau = int(knn["row4"]["k"]), float(knn["row4"]["tau"])
        database = apply_pca_whitening(descriptors["train_descriptors"], self.pcaw)
        self.database = database
        self.classifier = KNNClassifier(database, self.truth.train_labels)
        val = apply_pca_whitening(descriptors["val_descriptors"], self.pcaw)
        val_confidence = self.classifier.predict(val, self.k, self.tau).confidence
        self.threshold = ood_threshold(val_confidence, self.truth.val_labels >= 0)

    def describe(self, image_path: Path, neighbours: int) -> dict[str, Any]:
        import torch

        from artrec.retrieval.embedder import MULTI_SCALE

        tensor = self.transform(met_input(image_path, self.params)).unsqueeze(0)
        with torch.no_grad():
            descriptor = self.embedder.multiscale(tensor, MULTI_SCALE).numpy()
        query = self._whiten(descriptor, self.pcaw)
        prediction = self.classifier.predict(query, self.k, self.tau)
        # Descriptors are L2-normalised: the inner product is the cosine similarity the kNN uses.
        similarities = self.database @ query[0]
        nearest = np.argsort(-similarities)[:neighbours]
        confidence = float(prediction.confidence[0])
        exhibits = [
            {
                "met_id": int(self.truth.train_ids[index]),
                "image": str(self.truth.train_paths[index]),
                "similarity": round(float(similarities[index]), 4),
            }
            for index in nearest
        ]
        return {
            "predicted_met_id": int(self.truth.class_ids[prediction.labels[0]]),
            "confidence": round(confidence, 4),
            "out_of_distribution": confidence < self.threshold,
            "ood_threshold": round(self.threshold, 4),
            "k": self.k,
            "tau": self.tau,
            "nearest_exhibits": exhibits,
        }


def ood_threshold(confidence: np.ndarray, in_distribution: np.ndarray) -> float:
    """The confidence threshold with the highest balanced accuracy at telling in-distribution
    queries (``confidence >= t``) from distractors; 0 when one of the two kinds is missing."""
    inside, outside = confidence[in_distribution], confidence[~in_distribution]
    if len(inside) == 0 or len(outside) == 0:
        return 0.0
    best, best_score = 0.0, -1.0
    for threshold in np.unique(confidence):
        score = (np.mean(inside >= threshold) + np.mean(outside < threshold)) / 2
        if score > best_score:
            best, best_score = float(threshold), score
    return best


# Side of the thumbnail a check decodes to: JPEGs then decode at 1/8 scale at most.
_CHECK_SIDE = 64


def check_image(path: Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> None:
    """Decode all of ``path`` (every scan, integrity checks) to a thumbnail, in JPEG draft mode,
    refusing it above ``max_pixels``; raises BadInputError (one line: file, problem, fix)."""
    from artrec.images.decode import load_resized
    from artrec.retrieval.embedder import longer_side_capped

    if not path.is_file():
        raise BadInputError(path, "no such file", "pass the path of an image file")
    load_resized(
        path,
        lambda width, height: longer_side_capped(width, height, _CHECK_SIDE),
        max_pixels=max_pixels,
    )


def pixel_limit(params: dict[str, Any] | None) -> int:
    """The largest decompression-bomb limit of the decodes ``predict`` makes (the default without
    parameters): the check must not refuse what a configured limit allows."""
    if params is None:
        return DEFAULT_MAX_PIXELS
    return max(
        int(params["preprocess"]["mame"].get("max_image_pixels", DEFAULT_MAX_PIXELS)),
        int(params["embed"]["met"].get("max_image_pixels", DEFAULT_MAX_PIXELS)),
    )


def predict(
    images: list[Path],
    root: Path,
    variant: str = DEFAULT_VARIANT,
    model_uri: str | None = None,
    top: int = 5,
    neighbours: int = 3,
    with_met: bool = True,
) -> tuple[list[dict[str, Any]], list[str]]:
    """Predictions for the readable ``images`` and one error line per unreadable one."""
    from artrec.config import load_params

    # The parameters hold the pixel limits; a problem with them is raised only once an image
    # passed its check (a folder without a project can still be told which images are bad).
    params: dict[str, Any] | None = None
    params_error: BadInputError | None = None
    try:
        params = load_params(root)
    except BadInputError as error:
        params_error = error
    readable, errors = [], []
    for path in images:
        try:
            check_image(path, pixel_limit(params))
            readable.append(path)
        except (BadInputError, OSError, ValueError) as error:
            errors.append(one_line_message(error))
    if not readable:
        return [], errors
    if params is None:
        raise params_error or BadInputError(root, "no parameters", "run in the project folder")
    model = load_mame_model(root, variant, model_uri)
    met = MetIndex(root, params) if with_met else None
    results = []
    for path in readable:
        try:
            result: dict[str, Any] = {
                "image": str(path),
                "mame": mame_top(model, path, params, top),
            }
            if met is not None:
                result["met"] = met.describe(path, neighbours)
        except BadInputError as error:
            # Refused by a decode with its own limits (pixel limit, aspect ratio).
            errors.append(one_line_message(error))
            continue
        results.append(result)
    return results, errors


def run_predict(args: Any) -> int:
    """The ``artrec predict`` command: one JSON object per line per image on stdout."""
    from artrec.config import find_project_root

    root = Path(args.project) if args.project else find_project_root()
    results, errors = predict(
        [Path(p) for p in args.images],
        root,
        args.variant,
        args.model,
        args.top,
        args.neighbours,
        not args.no_met,
    )
    for result in results:
        print(json.dumps(result))
    for line in errors:
        print(f"error: {line}", file=sys.stderr)
    return 2 if errors else 0


def add_parser(commands: Any) -> None:
    """Register ``predict`` on the ``artrec`` sub-command parser."""
    parser = commands.add_parser(
        "predict", help="top-5 MAMe media and nearest Met exhibits of images"
    )
    parser.add_argument("images", nargs="+", help="image files (JPEG, PNG, ...)")
    parser.add_argument("--project", help="project folder (default: the one around the cwd)")
    parser.add_argument("--variant", default=DEFAULT_VARIANT, help="MAMe model <arch>_<input>")
    parser.add_argument(
        "--model", help="MLflow model URI instead, e.g. models:/artrec-mame-resnet18_hrvs/1"
    )
    parser.add_argument("--top", type=int, default=5, help="number of media (default 5)")
    parser.add_argument("--neighbours", type=int, default=3, help="nearest exhibits (default 3)")
    parser.add_argument("--no-met", action="store_true", help="MAMe media only")
    parser.set_defaults(func=run_predict)
