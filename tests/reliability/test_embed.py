"""Every hostile image class at the Met embedding stage (``embed_met``).

The stage reads the Met images through ``ImageListDataset`` (``artrec.images.decode``). Each case
is handled (decoded to upright 8-bit RGB, described) or refused: at the header check of the
ground truth (``load_met_ground_truth``) or, for damage only decoding finds, by the extraction,
which describes every other image first and then stops with one line naming every bad file. A
refused image fails the stage (no quarantine): the public descriptor layout needs one row per
listed image. Long scrolls are handled, not refused: capping the longer side cannot blow them up,
and the ground-truth reader allows them.
"""

from __future__ import annotations

import json
import resource
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from artrec.datasets.met import MetGroundTruthError
from artrec.errors import BadInputError, one_line_message
from artrec.images.decode import BadImageError
from artrec.pipelines.embed.nodes import embed_met
from artrec.retrieval.extract import ImageListDataset, UnreadableImage, UnreadableImagesError
from tests.reliability.hostile import (
    IMAGE_IDS,
    IMAGES,
    LARGEST_MAME,
    HostileImage,
    encode,
    noise_jpeg,
    snapshot,
    write_images,
)

MAX_SIDE = 48  # small inputs keep the stage fast; the protocol's 500 is tested on decoding alone


def _met_outcome(case: HostileImage) -> str:
    """``handled``, ``header`` (refused by the ground-truth check) or ``decode`` (refused by the
    extraction), as the Met entry points treat each case."""
    if not case.refused or case.reason == "extreme aspect ratio":
        return "handled"
    if case.reason in ("unreadable", "too large") and case.name != "corrupt_png_data":
        return "header"
    return "decode"


def _identity(image: Image.Image) -> Image.Image:
    return image


@pytest.fixture(scope="module")
def hostile_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hostile_met_images")
    write_images(folder)
    return folder


# ---- decoding, as the stage decodes ------------------------------------------------------------
@pytest.mark.parametrize("case", IMAGES, ids=IMAGE_IDS)
def test_the_embedding_dataset_decodes_each_case_or_names_it(
    hostile_dir: Path, case: HostileImage
) -> None:
    dataset = ImageListDataset([f"{case.name}.jpg"], _identity, root=hostile_dir, max_side=500)
    item, _ = dataset[0]
    if _met_outcome(case) == "handled":
        assert isinstance(item, Image.Image) and item.mode == "RGB", item
        assert max(item.size) <= 500
        if case.name.startswith("extreme_aspect"):
            assert max(item.size) == 500 and min(item.size) == 1  # a scroll, shrunk, kept
        else:
            case.check(item)
    else:
        assert isinstance(item, UnreadableImage), item
        assert item.path == str(hostile_dir / f"{case.name}.jpg") and item.index == 0
        assert item.reason.startswith(case.reason) and case.hint in item.reason, item.reason
        with pytest.raises(BadImageError):
            dataset.load(0)


def test_images_up_to_max_side_keep_their_pixels(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "a.png")
    image, _ = ImageListDataset(["a.png"], _identity, root=tmp_path, max_side=40)[0]
    np.testing.assert_array_equal(np.asarray(image), pixels)


def test_the_largest_mame_sized_image_is_decoded_in_draft_mode(hostile_dir: Path) -> None:
    dataset = ImageListDataset(
        ["largest_real_mame_size.jpg"], _identity, root=hostile_dir, max_side=500
    )
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    image, _ = dataset[0]
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert image.size == (500, round(500 * LARGEST_MAME[1] / LARGEST_MAME[0]))
    assert grown_mib < 200, grown_mib  # a full decode would take 1.1 GB


def test_the_configured_pixel_limit_is_the_one_applied(tmp_path: Path) -> None:
    (tmp_path / "big.png").write_bytes(encode(Image.new("RGB", (1200, 1000), (9, 9, 9)), "PNG"))
    refused, _ = ImageListDataset(["big.png"], _identity, root=tmp_path, max_pixels=1_000_000)[0]
    assert isinstance(refused, UnreadableImage)
    assert refused.reason.startswith("too large: above max_pixels=1,000,000")
    kept, _ = ImageListDataset(["big.png"], _identity, root=tmp_path, max_pixels=2_000_000)[0]
    assert kept.size == (1200, 1000)


# ---- the stage -----------------------------------------------------------------------------------
def _tiny_mame_model() -> dict[str, Any]:
    """A MAMe-trained ResNet18 as ``train_mame`` saves it (the default backbone), 1/8 wide."""
    import torch

    from artrec.models.factory import build_classifier

    torch.manual_seed(0)
    model = build_classifier("resnet18", 3, width_mult=0.125, batch_norm=False)
    return {
        "arch": "resnet18",
        "num_classes": 3,
        "width_mult": 0.125,
        "state_dict": model.state_dict(),
        "input_version": "hrvs",
        "classes": ["a", "b", "c"],
        "best_epoch": 1,
    }


@pytest.fixture(scope="module")
def mame_model() -> dict[str, Any]:
    return _tiny_mame_model()


def _params(cache: Path, **changes: Any) -> dict[str, Any]:
    return {
        "backbone": "mame",
        "gem_p": 3.0,
        "max_side": MAX_SIDE,
        "max_image_pixels": 400_000_000,
        "batch_size": 4,
        "num_workers": 0,
        "nproc_per_node": 1,
        "device": "cpu",
        "chunk_size": 3,
        "cache_dir": str(cache),
        **changes,
    }


def _met(root: Path, exhibits: dict[str, bytes]) -> Path:
    """A Met folder: one good exhibit per class plus ``exhibits`` (name -> bytes), a query and
    a distractor."""
    images = root / "images"
    entries = []
    for i, (name, content) in enumerate({"good": noise_jpeg(seed=1), **exhibits}.items()):
        path = images / "MET" / str(i) / f"{name}.jpg"
        path.parent.mkdir(parents=True)
        path.write_bytes(content)
        entries.append({"id": i, "path": path.relative_to(images).as_posix()})
    (images / "test_met").mkdir()
    (images / "test_met" / "q.jpg").write_bytes(noise_jpeg(seed=2))
    (images / "test_noart").mkdir()
    (images / "test_noart" / "d.jpg").write_bytes(noise_jpeg(seed=3))
    (root / "MET_database.json").write_text(json.dumps(entries))
    (root / "valset.json").write_text(json.dumps([{"path": "test_met/q.jpg", "MET_id": 0}]))
    (root / "testset.json").write_text(json.dumps([{"path": "test_noart/d.jpg"}]))
    return root


@pytest.mark.parametrize("case", IMAGES, ids=IMAGE_IDS)
def test_the_stage_handles_each_case_or_ends_with_one_line(
    tmp_path: Path, mame_model: dict[str, Any], case: HostileImage
) -> None:
    root = _met(tmp_path / "met", {case.name: case.make()})
    before = snapshot(root)
    outcome = _met_outcome(case)
    if outcome == "handled":
        single, multi, facts = embed_met(root, mame_model, _params(tmp_path / "cache"))
        for descriptors in (single, multi):
            assert descriptors["train_descriptors"].shape[0] == 2
            assert all(np.isfinite(d).all() for d in descriptors.values())
        assert facts["images"] == {"train": 2, "val": 1, "test": 1}
    else:
        expected = MetGroundTruthError if outcome == "header" else UnreadableImagesError
        with pytest.raises(expected) as caught:
            embed_met(root, mame_model, _params(tmp_path / "cache"))
        message = one_line_message(caught.value)
        assert isinstance(caught.value, BadInputError)
        assert "\n" not in message and "Fix:" in message, message
        assert f"{case.name}.jpg" in message, message
        if outcome == "decode":
            assert caught.value.path == str(root / "images" / "MET" / "1" / f"{case.name}.jpg")
            assert caught.value.problem.startswith(case.reason), message
    assert snapshot(root) == before  # the input folder is never written
    assert sorted(p.name for p in tmp_path.iterdir()) in (["cache", "met"], ["met"])


def _decode_level_cases() -> list[HostileImage]:
    return [case for case in IMAGES if _met_outcome(case) == "decode"]


def test_one_message_names_every_damaged_image_and_the_rerun_resumes(
    tmp_path: Path, mame_model: dict[str, Any]
) -> None:
    damaged = _decode_level_cases()
    assert len(damaged) >= 3  # truncated, cut and padded, corrupt PNG data
    exhibits = {f"ok{i}": noise_jpeg(seed=10 + i) for i in range(4)}
    exhibits.update({case.name: case.make() for case in damaged})
    root = _met(tmp_path / "met", exhibits)
    cache = tmp_path / "cache"
    with pytest.raises(UnreadableImagesError) as caught:
        embed_met(root, mame_model, _params(cache))
    error = caught.value
    message = str(error)
    assert "\n" not in message and "Fix:" in message
    assert error.path == str(root / "images" / "MET")  # the folder holding them all
    total = 1 + len(exhibits) + 2  # the good exhibit, the others, a query and a distractor
    assert f"{len(damaged)} of {total} images cannot be decoded" in message
    for case in damaged:
        assert f"{case.name}.jpg: {case.reason}" in message, message
    assert "MET_database.json" in message and "embed.met.max_image_pixels" in message
    assert {Path(item.path).stem for item in error.bad} == {case.name for case in damaged}
    # the chunks without a damaged image, and the query splits, are kept for the rerun
    assert list((cache / "train_ss").rglob("chunk_*.ids.npy"))
    assert list((cache / "val_ss").rglob("descriptors.npy"))
    assert list((cache / "test_ms").rglob("descriptors.npy"))
    assert not list((cache / "train_ms").rglob("*.npy"))  # not started: same images as train_ss

    for case in damaged:
        path = next((root / "images" / "MET").rglob(f"{case.name}.jpg"))
        path.write_bytes(noise_jpeg(seed=99))
    resumed = embed_met(root, mame_model, _params(cache))
    fresh = embed_met(root, mame_model, _params(tmp_path / "fresh_cache"))
    for got, expected in zip(resumed[:2], fresh[:2], strict=True):
        for key in ("train_descriptors", "val_descriptors", "test_descriptors"):
            np.testing.assert_allclose(got[key], expected[key], atol=1e-6)
        assert got["train_descriptors"].shape[0] == 1 + len(exhibits)


def test_two_extraction_processes_end_with_the_same_one_line(
    tmp_path: Path, mame_model: dict[str, Any]
) -> None:
    # The error is raised inside each launched process; launch() raises it in the caller as it
    # is, instead of the launcher's failure report with a traceback.
    damaged = _decode_level_cases()[0]
    root = _met(tmp_path / "met", {"ok": noise_jpeg(seed=5), damaged.name: damaged.make()})
    with pytest.raises(UnreadableImagesError) as caught:
        embed_met(root, mame_model, _params(tmp_path / "cache", nproc_per_node=2))
    message = str(caught.value)
    assert "\n" not in message and f"{damaged.name}.jpg" in message and "Fix:" in message


def _refuse_on_rank_one() -> None:
    from artrec import distributed

    if distributed.rank() == 1:
        raise BadInputError("rank1.jpg", "unreadable: refused by one process only", "replace it")
    distributed.barrier()  # rank 0 waits for a process that has stopped


def test_a_refusal_on_one_process_ends_the_launch_at_once_with_its_line() -> None:
    from artrec.distributed import launch

    started = time.monotonic()
    with pytest.raises(BadInputError) as caught:
        launch(_refuse_on_rank_one, 2)
    assert (
        str(caught.value) == "rank1.jpg: unreadable: refused by one process only. Fix: replace it"
    )
    assert time.monotonic() - started < 120  # the launcher stops the waiting process
