"""Transfer learning for art (Sabatelli et al. 2018), the ``transfer`` stage.

On the first collection (Rijksmuseum) every challenge is learnt three ways per architecture: off
the shelf (the starting network theta frozen, a soft-max layer on its cached features), fine
tuning (the whole of theta) and from scratch (He-uniform; the scratch architectures only): the
paper's Table 2 and Figures 2-3. The fine-tuned networks are theta-hat. On the second collection
(Antwerp) theta and theta-hat are compared, off the shelf and fine tuned: Table 3. VisualBackProp
maps of theta beside theta-hat are Figure 4.

theta is ``transfer.networks.<arch>.theta``: ``mame`` is the project's MAMe-trained ResNet18 on
LR&FS inputs (the ``train_mame@resnet18-lrfs`` output, read through the catalog), standing in for
ImageNet weights in the embedded default because none can be downloaded here. As the paper feeds
each network images at the size it was trained on, the default's inputs are the LR&FS size
(48 px squares); the LR&FS network also gave the better validation accuracy of the two MAMe
ResNet18s (HR&VS at 48 px: off the shelf 40% vs 48% on the artist challenge's validation split); anything else is an ``init`` spec
of ``artrec.models.weights`` (a torchvision weights name, a local file), as in the ``paper``
profile.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from artrec.datasets.rijksmuseum import load_collection
from artrec.transfer.challenges import build_challenges, table1
from artrec.transfer.names import (
    FINE_TUNING,
    HE_UNIFORM,
    OFF_THE_SHELF,
    RUN_KEYS,
    SCRATCH,
    THETA,
    THETA_HAT,
    run_label,
)

if TYPE_CHECKING:
    import torch
    from matplotlib.figure import Figure

    from artrec.transfer.protocol import Protocol
    from artrec.transfer.runs import ChallengeData, RunResult, RunSettings

# torch, timm and the training code are imported inside the nodes that train (as the embed
# nodes do): the curate node shares this module and would otherwise pay ~8 CPU-seconds to import
# them in its own DVC stage.

FIRST, SECOND = "rijksmuseum", "antwerp"
MAME_THETA = "mame"
INPUT_NAMES = {"lrfs": "LR&FS", "hrvs": "HR&VS"}


def curate_collections(
    rijksmuseum_raw: Any, antwerp_raw: Any, params: dict[str, Any], seed: int
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Both collections read (``artrec.datasets.rijksmuseum``), their challenges split 80/10/10
    with the classes absent from a split removed, and Table 1 (``artrec.transfer.challenges``).

    Returns the metadata in the paper's table format (plus the collection and the files), the
    challenges (one row per object and challenge, with its split) and Table 1.
    """
    collections = {FIRST: load_collection(rijksmuseum_raw), SECOND: load_collection(antwerp_raw)}
    wanted = {name: list(params["challenges"][name]) for name in collections}
    split = params["split"]
    challenges = build_challenges(
        collections, wanted, seed, train=float(split["train"]), val=float(split["val"])
    )
    order = list(dict.fromkeys(c for names in wanted.values() for c in names))
    metadata = pd.concat(
        [frame.assign(collection=name) for name, frame in collections.items()], ignore_index=True
    )
    return metadata, challenges, table1(challenges, list(collections), order)


def _architectures(architectures: list[str], scratch: list[str]) -> list[str]:
    return list(dict.fromkeys([*architectures, *scratch]))


def prepare_inputs(
    rijksmuseum_raw: Any,
    antwerp_raw: Any,
    challenges: pd.DataFrame,
    architectures: list[str],
    scratch_architectures: list[str],
    networks: dict[str, Any],
) -> dict[str, dict[str, Any]]:
    """Every object of each collection decoded once at each network input size in use:
    ``{collection: {"ids": ImageIds, "images": {size: uint8 (N, S, S, 3)}}}``."""
    from artrec.transfer.inputs import load_square_images

    sizes = sorted(
        {
            int(networks[a]["input_size"])
            for a in _architectures(architectures, scratch_architectures)
        }
    )
    inputs = {}
    for name, root in ((FIRST, rijksmuseum_raw), (SECOND, antwerp_raw)):
        objects = (
            challenges[challenges["collection"] == name]
            .drop_duplicates("ImageId")
            .sort_values("ImageId")
        )
        paths = objects["image"].tolist()
        inputs[name] = {
            "ids": objects["ImageId"].to_numpy(dtype=str),
            "images": {size: load_square_images(root, paths, size) for size in sizes},
        }
    return inputs


def starting_networks(
    mame_model: dict[str, Any],
    architectures: list[str],
    scratch_architectures: list[str],
    networks: dict[str, Any],
) -> dict[str, dict[str, Any]]:
    """theta per architecture: how to build it, its input size and normalisation, a description."""
    theta = {}
    for arch in _architectures(architectures, scratch_architectures):
        spec = dict(networks[arch])
        entry = {
            "width_mult": float(spec.get("width_mult", 1.0)),
            "batch_norm": bool(spec.get("batch_norm", True)),
            "input_size": int(spec["input_size"]),
            "mean": [float(v) for v in spec["mean"]],
            "std": [float(v) for v in spec["std"]],
        }
        if spec["theta"] == MAME_THETA:
            if mame_model["arch"] != arch:
                raise ValueError(
                    f"transfer.networks.{arch}.theta is 'mame' but the MAMe model is a "
                    f"{mame_model['arch']}"
                )
            entry.update(
                init=mame_model["state_dict"],
                width_mult=float(mame_model["width_mult"]),
                batch_norm=False,
                description=(
                    f"{arch} (BN-free, width x{mame_model['width_mult']}) trained by this project "
                    f"on MAMe {INPUT_NAMES.get(mame_model['input_version'], mame_model['input_version'])} "
                    f"({len(mame_model['classes'])} classes); stands in for ImageNet weights"
                ),
            )
        else:
            entry.update(init=spec["theta"], description=f"{arch} ({spec['theta']})")
        theta[arch] = entry
    return theta


def _build(arch: str, num_classes: int, spec: dict[str, Any], init: Any) -> torch.nn.Module:
    from artrec.models.factory import build_transfer_classifier

    return build_transfer_classifier(
        arch, num_classes, init, width_mult=spec["width_mult"], batch_norm=spec["batch_norm"]
    )


def _scratch(arch: str, num_classes: int, spec: dict[str, Any]) -> torch.nn.Module:
    from artrec.models.factory import he_uniform_

    return he_uniform_(_build(arch, num_classes, spec, None))


def theta_features(
    inputs: dict[str, dict[str, Any]],
    theta: dict[str, dict[str, Any]],
    architectures: list[str],
    runtime: dict[str, Any],
) -> dict[str, dict[str, np.ndarray]]:
    """Off-the-shelf features of theta, computed once per network and collection."""
    from artrec.transfer.protocol import extract_features
    from artrec.utils.device import resolve_device

    device = resolve_device(runtime.get("device", "auto"))
    features: dict[str, dict[str, np.ndarray]] = {}
    for collection, entry in inputs.items():
        features[collection] = {}
        for arch in architectures:
            spec = theta[arch]
            model = _build(arch, 1, spec, spec["init"])
            images = entry["images"][spec["input_size"]]
            features[collection][arch] = extract_features(
                model, images, spec["mean"], spec["std"], device
            )
    return features


class _Runner:
    """Runs with the stage's shared settings: device, seed, checkpoints, MLflow logging."""

    def __init__(self, off_the_shelf, fine_tuning, training, runtime, seed: int) -> None:
        from artrec.transfer.protocol import Protocol
        from artrec.utils.device import resolve_device

        self.ots = Protocol.from_params(off_the_shelf, training)
        self.ft = Protocol.from_params(fine_tuning, training)
        self.device = resolve_device(runtime.get("device", "auto"))
        self.root = runtime.get("checkpoint_dir")
        self.stop_after = runtime.get("stop_after_epoch")
        self.seed = int(seed)
        self.results: list[RunResult] = []

    def _settings(self, name: dict[str, str]) -> RunSettings:
        from artrec.tracking import log_metrics
        from artrec.transfer.runs import RunSettings

        # One MLflow run per stage: each training run's epochs go under its own key prefix.
        prefix = run_label(name, ".")

        def log(epoch: int, row: dict[str, float]) -> None:
            log_metrics({k: v for k, v in row.items() if k != "epoch"}, prefix=prefix, step=epoch)

        return RunSettings(self.seed, self.device, self.root, log, self.stop_after)

    def off_the_shelf(self, features, data: ChallengeData, start: str, arch: str) -> RunResult:
        from artrec.transfer.runs import run_off_the_shelf

        name = _name(data, OFF_THE_SHELF, start, arch)
        result = run_off_the_shelf(features, data, self.ots, name, self._settings(name))
        return self._keep(result, self.ots)

    def network(self, build, images, spec, data: ChallengeData, mode: str, start: str, arch: str):
        from artrec.transfer.runs import run_network

        name = _name(data, mode, start, arch)
        mean, std = spec["mean"], spec["std"]
        result = run_network(build, images, mean, std, data, self.ft, name, self._settings(name))
        return self._keep(result, self.ft)

    def _keep(self, result: RunResult, protocol: Protocol) -> RunResult:
        from artrec.training.checkpoint import require_all_epochs

        # transfer.runtime.stop_after_epoch simulates a crash after that epoch's checkpoint.
        require_all_epochs(
            result.history,
            protocol.max_epochs,
            run_label(result.name),
            "transfer.runtime.stop_after_epoch",
            stopped_early=result.stopped_early,
        )
        self.results.append(result)
        return result

    def tables(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        predictions = pd.concat([r.predictions for r in self.results], ignore_index=True)
        history = pd.concat(
            [r.history.assign(best_epoch=r.best_epoch) for r in self.results], ignore_index=True
        )
        return predictions, history


def _name(data: ChallengeData, mode: str, start: str, arch: str) -> dict[str, str]:
    return dict(
        collection=data.collection, challenge=data.challenge, mode=mode, start=start, arch=arch
    )


def _challenges_of(table: pd.DataFrame, collection: str) -> list[str]:
    return list(dict.fromkeys(table.loc[table["collection"] == collection, "challenge"]))


def train_first_collection(
    inputs: dict[str, dict[str, Any]],
    challenges: pd.DataFrame,
    theta: dict[str, dict[str, Any]],
    features: dict[str, dict[str, np.ndarray]],
    architectures: list[str],
    scratch_architectures: list[str],
    off_the_shelf: dict[str, Any],
    fine_tuning: dict[str, Any],
    training: dict[str, Any],
    runtime: dict[str, Any],
    seed: int,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Table 2 and Figures 2-3: off the shelf, fine tuning, from scratch on every challenge of
    the first collection. Returns predictions, history and theta-hat (the fine-tuned networks)."""
    from artrec.transfer.runs import ChallengeData

    runner = _Runner(off_the_shelf, fine_tuning, training, runtime, seed)
    entry = inputs[FIRST]
    theta_hat: dict[str, Any] = {"networks": {}, "classes": {}}
    for challenge in _challenges_of(challenges, FIRST):
        data = ChallengeData.from_table(challenges, FIRST, challenge, entry["ids"])
        k = len(data.classes)
        theta_hat["networks"][challenge] = {}
        theta_hat["classes"][challenge] = list(data.classes)
        for arch in architectures:
            spec = theta[arch]
            images = entry["images"][spec["input_size"]]
            runner.off_the_shelf(features[FIRST][arch], data, THETA, arch)
            tuned = runner.network(
                partial(_build, arch, k, spec, spec["init"]),
                images,
                spec,
                data,
                FINE_TUNING,
                THETA,
                arch,
            )
            theta_hat["networks"][challenge][arch] = tuned.best_state
        for arch in scratch_architectures:
            spec = theta[arch]
            runner.network(
                partial(_scratch, arch, k, spec),
                entry["images"][spec["input_size"]],
                spec,
                data,
                SCRATCH,
                HE_UNIFORM,
                arch,
            )
    predictions, history = runner.tables()
    return predictions, history, theta_hat


def train_second_collection(
    inputs: dict[str, dict[str, Any]],
    challenges: pd.DataFrame,
    theta: dict[str, dict[str, Any]],
    features: dict[str, dict[str, np.ndarray]],
    theta_hat: dict[str, Any],
    architectures: list[str],
    off_the_shelf: dict[str, Any],
    fine_tuning: dict[str, Any],
    training: dict[str, Any],
    runtime: dict[str, Any],
    seed: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Table 3: theta and theta-hat (fine-tuned on the first collection's same challenge) as
    starting points on the second collection, off the shelf and fine tuned."""
    from artrec.transfer.protocol import extract_features
    from artrec.transfer.runs import ChallengeData

    runner = _Runner(off_the_shelf, fine_tuning, training, runtime, seed)
    entry = inputs[SECOND]
    for challenge in _challenges_of(challenges, SECOND):
        if challenge not in theta_hat["networks"]:
            continue  # no network fine-tuned on this challenge of the first collection
        data = ChallengeData.from_table(challenges, SECOND, challenge, entry["ids"])
        k = len(data.classes)
        for arch in architectures:
            spec = theta[arch]
            images = entry["images"][spec["input_size"]]
            tuned = theta_hat["networks"][challenge][arch]
            hat_features = extract_features(
                _build(arch, 1, spec, tuned), images, spec["mean"], spec["std"], runner.device
            )
            for start, init, cached in (
                (THETA, spec["init"], features[SECOND][arch]),
                (THETA_HAT, tuned, hat_features),
            ):
                runner.off_the_shelf(cached, data, start, arch)
                runner.network(
                    partial(_build, arch, k, spec, init),
                    images,
                    spec,
                    data,
                    FINE_TUNING,
                    start,
                    arch,
                )
    return runner.tables()


def _accuracy(predictions: pd.DataFrame) -> pd.Series:
    test = predictions[predictions["split"] == "test"]
    correct = (test["true"] == test["predicted"]).astype(float)
    return 100.0 * correct.groupby([test[k] for k in RUN_KEYS]).mean()


def _challenge_archs(history: pd.DataFrame, collection: str) -> list[tuple[str, str]]:
    """The (challenge, architecture) pairs run on ``collection``, challenge by challenge."""
    runs = history[history["collection"] == collection]
    return [
        (challenge, arch)
        for challenge in dict.fromkeys(runs["challenge"])
        for arch in dict.fromkeys(runs.loc[runs["challenge"] == challenge, "arch"])
    ]


def transfer_results(
    first_predictions: pd.DataFrame,
    first_history: pd.DataFrame,
    second_predictions: pd.DataFrame,
    second_history: pd.DataFrame,
    theta: dict[str, dict[str, Any]],
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Predictions and histories of all runs, Table 2, Table 3 and the test accuracies."""
    predictions = pd.concat([first_predictions, second_predictions], ignore_index=True)
    history = pd.concat([first_history, second_history], ignore_index=True)
    accuracy = _accuracy(predictions)
    best = history.groupby(list(RUN_KEYS))["best_epoch"].first()
    ran = history.groupby(list(RUN_KEYS))["epoch"].max()

    def acc(*key: str) -> float:
        return float(accuracy.get(key, np.nan))

    rows2 = []
    for challenge, arch in _challenge_archs(history, FIRST):
        rows2.append(
            {
                "challenge": challenge,
                "architecture": arch,
                "off_the_shelf": acc(FIRST, challenge, OFF_THE_SHELF, THETA, arch),
                "fine_tuning": acc(FIRST, challenge, FINE_TUNING, THETA, arch),
                "scratch": acc(FIRST, challenge, SCRATCH, HE_UNIFORM, arch),
                "feature_size": _feature_size(arch, theta),
                "best_epochs": "/".join(
                    str(int(best[key]))
                    for mode, start in (
                        (OFF_THE_SHELF, THETA),
                        (FINE_TUNING, THETA),
                        (SCRATCH, HE_UNIFORM),
                    )
                    if (key := (FIRST, challenge, mode, start, arch)) in best.index
                ),
            }
        )
    rows3 = []
    for challenge, arch in _challenge_archs(history, SECOND):
        rows3.append(
            {
                "challenge": challenge,
                "architecture": arch,
                "theta_off_the_shelf": acc(SECOND, challenge, OFF_THE_SHELF, THETA, arch),
                "theta_hat_off_the_shelf": acc(SECOND, challenge, OFF_THE_SHELF, THETA_HAT, arch),
                "theta_fine_tuning": acc(SECOND, challenge, FINE_TUNING, THETA, arch),
                "theta_hat_fine_tuning": acc(SECOND, challenge, FINE_TUNING, THETA_HAT, arch),
            }
        )

    def per_run(values: pd.Series, cast: type) -> dict[str, Any]:
        return {
            run_label(dict(zip(RUN_KEYS, k, strict=True)), "."): cast(v) for k, v in values.items()
        }

    metrics = {
        "test_acc": per_run(accuracy, float),
        "best_epoch": per_run(best, int),
        "epochs_run": per_run(ran, int),
        "theta": {arch: spec["description"] for arch, spec in theta.items()},
    }
    return predictions, history, pd.DataFrame(rows2), pd.DataFrame(rows3), metrics


def _feature_size(arch: str, theta: dict[str, dict[str, Any]]) -> int:
    """The size of the feature vector X the soft-max layer reads (the paper's chi)."""
    return int(_build(arch, 1, theta[arch], None).fc.in_features)


def saliency_figure(
    inputs: dict[str, dict[str, Any]],
    challenges: pd.DataFrame,
    theta: dict[str, dict[str, Any]],
    theta_hat: dict[str, Any],
    predictions: pd.DataFrame,
    architectures: list[str],
    saliency: dict[str, Any],
    runtime: dict[str, Any],
) -> Figure:
    """Figure 4: VisualBackProp maps of theta and theta-hat on first-collection test images,
    preferring images the fine-tuned network gets right and the off-the-shelf one wrong (the
    paper shows artists the starting network "was not able to initially recognize")."""
    import torch
    from matplotlib.figure import Figure

    from artrec.evaluation.visualbackprop import default_layers, plot_saliency, visualbackprop
    from artrec.transfer.inputs import ArrayImageDataset
    from artrec.utils.device import resolve_device

    arch = architectures[0]
    spec = theta[arch]
    entry = inputs[FIRST]
    images = entry["images"][spec["input_size"]]
    where = {image_id: i for i, image_id in enumerate(entry["ids"])}
    device = resolve_device(runtime.get("device", "auto"))
    shown, titles, start_maps, tuned_maps = [], [], [], []
    for challenge, count in saliency["images"].items():
        if challenge not in theta_hat["networks"] or int(count) < 1:
            continue
        picked = _saliency_images(predictions, challenge, arch, int(count))
        if picked.empty:
            continue
        positions = [where[i] for i in picked["ImageId"]]
        batch = torch.stack(
            [
                ArrayImageDataset(images, np.zeros(len(images)), spec["mean"], spec["std"])[p][0]
                for p in positions
            ]
        ).to(device)
        for init, maps in (
            (spec["init"], start_maps),
            (theta_hat["networks"][challenge][arch], tuned_maps),
        ):
            model = _build(arch, 1, spec, init).to(device)
            maps.append(visualbackprop(model, batch, default_layers(model.trunk)))
        shown.append(images[positions])
        titles += [f"{challenge}: {label}" for label in picked["true"]]
    if not shown:
        figure = Figure(figsize=(4, 1))
        figure.text(0.5, 0.5, "no test images to show", ha="center")
        return figure
    figure = plot_saliency(
        np.concatenate(shown),
        [np.concatenate(start_maps), np.concatenate(tuned_maps)],
        [f"theta ({arch})", "theta-hat (fine-tuned)"],
        titles,
    )
    figure.suptitle("VisualBackProp: starting network vs fine-tuned on the first collection")
    return figure


def _saliency_images(
    predictions: pd.DataFrame, challenge: str, arch: str, count: int
) -> pd.DataFrame:
    test = predictions[
        (predictions["collection"] == FIRST)
        & (predictions["challenge"] == challenge)
        & (predictions["arch"] == arch)
        & (predictions["split"] == "test")
        & (predictions["start"] == THETA)
    ]
    ots = test[test["mode"] == OFF_THE_SHELF].set_index("ImageId")
    ft = test[test["mode"] == FINE_TUNING].set_index("ImageId")
    joined = ft.join(ots["predicted"].rename("ots_predicted"), how="inner").reset_index()
    right = joined["true"] == joined["predicted"]
    preferred = joined[right & (joined["true"] != joined["ots_predicted"])]
    rest = joined[~joined.index.isin(preferred.index)]
    # One image per class first, so the figure shows different artists or types.
    ordered = pd.concat([preferred.drop_duplicates("true"), preferred, rest]).drop_duplicates(
        "ImageId"
    )
    return ordered.head(count)
