"""Data-parallel training on 2 CPU processes (gloo): it completes, every process ends with the same
weights, rank 0 alone logs and checkpoints, validation covers the whole set, and a run stopped after
epoch 1 and resumed equals the uninterrupted run."""

import math

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image
from torch import nn

from artrec import distributed
from artrec.training.checkpoint import CHECKPOINT_NAME, load_checkpoint
from artrec.training.data import ImageManifestDataset, build_dataloader
from artrec.training.loop import evaluate_classifier, train_classifier
from artrec.training.sampler import ShardSampler
from artrec.training.transforms import build_transforms

TIMING_COLUMNS = ["train_seconds", "train_images_per_s", "val_seconds"]
EPOCHS = 3


class TinyNet(nn.Module):
    def __init__(self, num_classes: int = 3) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2)
        )
        self.classifier = nn.Sequential(nn.Flatten(), nn.Dropout(0.5), nn.Linear(32, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


@pytest.fixture(scope="module")
def texture_folder(tmp_path_factory):
    """21 training and 9 validation images of 3 stripe classes, square (lrfs) or not (hrvs)."""
    folder = tmp_path_factory.mktemp("textures")
    rng = np.random.default_rng(0)
    rows = []
    for version in ("lrfs", "hrvs"):
        for i in range(30):
            label = i % 3
            aspect = 1.0 if version == "lrfs" else float(np.exp(rng.uniform(-0.7, 0.7)))
            width, height = (round(16 * aspect), 16) if aspect > 1 else (16, round(16 / aspect))
            y, x = np.mgrid[0:height, 0:width]
            stripes = {0: (y // 3) % 2, 1: (x // 3) % 2, 2: rng.integers(0, 2, (height, width))}
            grey = (stripes[label] * 200 + rng.integers(0, 40, (height, width))).astype(np.uint8)
            name = f"{version}_{i}.png"
            Image.fromarray(np.repeat(grey[..., None], 3, axis=2)).save(folder / name)
            split = "val" if i >= 21 else "train"
            rows.append(
                dict(
                    version=version, split=split, path=name, label=label, width=width, height=height
                )
            )
    return folder, pd.DataFrame(rows)


def _loaders(folder, manifest, version, bucketing):
    loaders = []
    for split in ("train", "val"):
        rows = manifest[(manifest.version == version) & (manifest.split == split)]
        train = split == "train"
        dataset = ImageManifestDataset(
            rows.reset_index(drop=True), build_transforms(version, train=train), root=folder
        )
        batch_size = 4 if (train and (bucketing or version == "lrfs")) else 1
        loaders.append(
            build_dataloader(
                dataset, batch_size=batch_size, train=train, seed=3, bucketing=train and bucketing
            )
        )
    return loaders


def _train_on_every_rank(folder, manifest, runs):
    """Each run: (version, bucketing, checkpoint_dir, model_seed, stop_after_epoch). Returns per
    run rank 0's weights and result, the epochs each rank logged, whether all ranks hold the same
    weights, and the number of training batches and validation images of one process."""
    out = []
    for version, bucketing, checkpoint_dir, model_seed, stop_after_epoch in runs:
        torch.manual_seed(model_seed)
        model = TinyNet()
        train_loader, val_loader = _loaders(folder, manifest, version, bucketing)
        logged = []
        result = train_classifier(
            model,
            train_loader,
            val_loader,
            epochs=EPOCHS,
            lr=1e-2,
            device="cpu",
            checkpoint_dir=checkpoint_dir,
            seed=11,
            progress=False,
            log_fn=lambda epoch, row: logged.append(epoch),  # noqa: B023 (called in the loop)
            stop_after_epoch=stop_after_epoch,
        )
        states = distributed.all_gather_objects(model.state_dict())
        same = all(torch.equal(state[k], states[0][k]) for state in states for k in state)
        assert isinstance(val_loader.sampler, ShardSampler)
        out.append(
            dict(
                state=model.state_dict(),
                result=result,
                same=same,
                logged=distributed.all_gather_objects(logged),
                train_batches=len(train_loader),
                val_images=len(val_loader.sampler),
                world=distributed.world_size(),
            )
        )
    return out


def test_two_process_training_completes_and_resumes_to_the_uninterrupted_run(
    texture_folder, tmp_path
):
    torch.set_num_threads(1)
    folder, manifest = texture_folder
    configs = [("lrfs", False), ("hrvs", True)]
    # One launch (each costs seconds of process start-up here): per input, an uninterrupted run,
    # a run stopped after epoch 1, and its resumption from a new model with another
    # initialisation and new loaders, as a rerun of the stage builds them.
    runs = distributed.launch(
        _train_on_every_rank,
        2,
        folder,
        manifest,
        [
            run
            for version, bucketing in configs
            for run in (
                (version, bucketing, tmp_path / f"{version}_full", 0, None),
                (version, bucketing, tmp_path / f"{version}_stopped", 0, 1),
                (version, bucketing, tmp_path / f"{version}_stopped", 99, None),
            )
        ],
    )

    for i, (version, bucketing) in enumerate(configs):
        full, stopped, again = runs[3 * i : 3 * i + 3]
        assert all(run["world"] == 2 and run["same"] for run in (full, stopped, again))
        # rank 0 logs, rank 1 does not
        assert full["logged"] == [[1, 2, 3], []]
        assert stopped["logged"] == [[1], []]
        assert again["logged"] == [[2, 3], []]
        assert load_checkpoint(tmp_path / f"{version}_full" / CHECKPOINT_NAME)["epoch"] == EPOCHS
        # each process trains on half of the 21 images and validates 4 or 5 of the 9
        if not bucketing:
            assert full["train_batches"] == math.ceil(math.ceil(21 / 2) / 4)
        assert full["val_images"] == 5

        assert all(torch.equal(full["state"][k], again["state"][k]) for k in full["state"])
        history = full["result"].history
        pd.testing.assert_frame_equal(
            history.drop(columns=TIMING_COLUMNS),
            again["result"].history.drop(columns=TIMING_COLUMNS),
        )
        assert full["result"].best_epoch == again["result"].best_epoch
        assert list(history.epoch) == [1, 2, 3]

        # The gathered validation equals one process evaluating the whole set.
        model = TinyNet()
        model.load_state_dict(full["state"])
        _, val_loader = _loaders(folder, manifest, version, bucketing)
        y_true, y_pred, loss = evaluate_classifier(model, val_loader, "cpu")
        assert len(y_true) == 9
        assert history.val_acc.iloc[-1] == np.mean(y_true == y_pred)
        assert history.val_loss.iloc[-1] == pytest.approx(loss, rel=1e-6)

    # A 2-process checkpoint is not resumed by one process (other batches, other batch size).
    train_loader, val_loader = _loaders(folder, manifest, "lrfs", False)
    with pytest.raises(ValueError, match="world_size"):
        train_classifier(
            TinyNet(),
            train_loader,
            val_loader,
            epochs=EPOCHS,
            lr=1e-2,
            checkpoint_dir=tmp_path / "lrfs_stopped",
            seed=11,
            progress=False,
        )
