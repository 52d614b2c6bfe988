"""The preprocessing stage: resize presets, dataset run, quarantine, reruns, parallel workers."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from artrec.images import preprocess as preprocess_module
from artrec.images.decode import load_resized
from artrec.images.preprocess import (
    PRESETS,
    ResizeSpec,
    TooManyBadImagesError,
    preprocess_dataset,
    resize_spec,
)

# --- resize specifications --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "expected"),
    [((3000, 2000), (750, 500)), ((2000, 3000), (500, 750)), ((800, 800), (500, 500))],
)
def test_short_side_is_exact_and_keeps_aspect(
    size: tuple[int, int], expected: tuple[int, int]
) -> None:
    assert ResizeSpec("short_side", 500).output_size(*size) == expected


def test_short_side_enlarges_thin_images() -> None:
    # MAMe keeps images of >= 0.25 MP, so a very elongated one has a short side below 500.
    width, height = ResizeSpec("short_side", 500).output_size(2400, 120)
    assert (width, height) == (10_000, 500)


def test_fixed_deforms_to_a_square() -> None:
    assert ResizeSpec("fixed", 256).output_size(4000, 1000) == (256, 256)


@pytest.mark.parametrize("size", [(4000, 3000), (1000, 9000), (777, 777)])
@pytest.mark.parametrize("area", [65_536, 360_000])
def test_area_keeps_pixel_count_and_aspect(size: tuple[int, int], area: int) -> None:
    width, height = ResizeSpec("area", area).output_size(*size)
    assert 0.98 * area <= width * height <= area
    assert width / height == pytest.approx(size[0] / size[1], rel=0.02)


def test_presets_match_the_paper_and_baselines() -> None:
    assert PRESETS["hrvs"] == ResizeSpec("short_side", 500)
    assert PRESETS["lrfs"] == ResizeSpec("fixed", 256)
    assert PRESETS["area65k_vs"] == ResizeSpec("area", 256 * 256)
    assert PRESETS["area360k_vs"] == ResizeSpec("area", 600 * 600)
    assert PRESETS["area65k_fs"] == ResizeSpec("fixed", 256)
    assert PRESETS["area360k_fs"] == ResizeSpec("fixed", 600)
    assert resize_spec("hrvs", size=128) == ResizeSpec("short_side", 128)
    assert resize_spec("lrfs") == ResizeSpec("fixed", 256)


def test_bad_specs_rejected() -> None:
    with pytest.raises(ValueError, match="unknown resize mode"):
        ResizeSpec("stretch", 10)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="positive"):
        ResizeSpec("fixed", 0)
    with pytest.raises(ValueError, match="unknown resize preset"):
        resize_spec("hr")


# --- quality of the fast path -----------------------------------------------------------------


def textured_image(width: int, height: int, seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    canvas = np.full((height, width, 3), 128.0)
    for cells, amplitude in ((3, 60.0), (12, 40.0), (48, 25.0), (192, 12.0)):
        coarse = rng.integers(0, 256, size=(cells, cells, 3), dtype=np.uint8)
        field = Image.fromarray(coarse).resize((width, height), Image.Resampling.BICUBIC)
        canvas += (np.asarray(field, dtype=np.float64) - 127.5) * (amplitude / 127.5)
    return Image.fromarray(np.clip(canvas, 0, 255).astype(np.uint8))


def test_draft_decoding_stays_close_to_a_full_resolution_resize(tmp_path: Path) -> None:
    path = tmp_path / "detail.jpg"
    textured_image(1600, 1200, seed=0).save(path, quality=92)
    spec = ResizeSpec("short_side", 120)
    with Image.open(path) as im:
        full = im.convert("RGB")
    reference = np.asarray(full.resize(spec.output_size(*full.size), Image.Resampling.LANCZOS))
    fast = np.asarray(load_resized(path, spec.output_size))
    assert fast.shape == reference.shape == (120, 160, 3)
    mse = np.mean((fast.astype(np.float64) - reference) ** 2)
    assert 10 * math.log10(255**2 / mse) >= 35.0


# --- the dataset stage ------------------------------------------------------------------------


@pytest.fixture
def sources(tmp_path: Path) -> dict[str, Path]:
    """Four usable images of different shapes and formats, one truncated, one not an image."""
    folder = tmp_path / "raw"
    folder.mkdir()
    paths = {}
    for name, size in [("a.jpg", (300, 200)), ("b.jpg", (120, 360)), ("c.jpg", (250, 250))]:
        paths[name] = folder / name
        textured_image(*size, seed=len(paths)).save(paths[name], quality=90)
    paths["d.png"] = folder / "d.png"
    Image.new("RGBA", (90, 60), (255, 0, 0, 128)).save(paths["d.png"])
    paths["truncated.jpg"] = folder / "truncated.jpg"
    paths["truncated.jpg"].write_bytes(paths["a.jpg"].read_bytes()[:400])
    paths["junk.jpg"] = folder / "junk.jpg"
    paths["junk.jpg"].write_bytes(b"not an image at all")
    return paths


def run_stage(rows: list[tuple[str, Path]], out_dir: Path, **kwargs):
    kwargs = {"spec": ResizeSpec("short_side", 40), "workers": 1, "progress": False} | kwargs
    return preprocess_dataset(rows, out_dir, max_bad_fraction=kwargs.pop("bad", 0.5), **kwargs)


def test_stage_resizes_good_images_and_quarantines_bad_ones(
    sources: dict[str, Path], tmp_path: Path
) -> None:
    out_dir = tmp_path / "out"
    result = run_stage(list(sources.items()), out_dir)

    manifest = result.manifest
    assert manifest["image_file"].tolist() == ["a.jpg", "b.jpg", "c.jpg", "d.png"]
    assert manifest["path"].tolist() == ["a.jpg", "b.jpg", "c.jpg", "d.jpg"]
    sizes = list(zip(manifest["width"], manifest["height"], strict=True))
    assert sizes == [(60, 40), (40, 120), (40, 40), (60, 40)]
    for row in manifest.itertuples():
        with Image.open(out_dir / row.path) as written:
            assert written.format == "JPEG" and written.mode == "RGB"
            assert written.size == (row.width, row.height)
    # The half-transparent red PNG was composited on white.
    with Image.open(out_dir / "d.jpg") as pink:
        assert pink.getpixel((30, 20))[0] > 240 and 110 < pink.getpixel((30, 20))[1] < 145

    quarantine = dict(
        zip(result.quarantine["image_file"], result.quarantine["reason"], strict=True)
    )
    assert set(quarantine) == {"truncated.jpg", "junk.jpg"}
    assert quarantine["truncated.jpg"].startswith("truncated")
    assert quarantine["junk.jpg"].startswith("unreadable")
    assert not (out_dir / "truncated.jpg").exists()
    assert not [p for p in out_dir.iterdir() if p.name.startswith(".")]  # no temporary files


def test_too_many_bad_images_fails_but_keeps_good_outputs(
    sources: dict[str, Path], tmp_path: Path
) -> None:
    out_dir = tmp_path / "out"
    with pytest.raises(TooManyBadImagesError) as caught:
        run_stage(list(sources.items()), out_dir, bad=0.2)  # 2 of 6 bad > 20%
    message = str(caught.value)
    assert "2 of 6" in message and "junk.jpg: unreadable" in message
    assert "truncated.jpg: truncated" in message
    assert sorted(p.name for p in out_dir.iterdir()) == ["a.jpg", "b.jpg", "c.jpg", "d.jpg"]
    assert caught.value.result.quarantine["image_file"].tolist() == ["truncated.jpg", "junk.jpg"]


def test_interrupted_run_resumes_and_a_rerun_repairs_or_redoes_outputs(
    sources: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [(name, sources[name]) for name in ("a.jpg", "b.jpg", "c.jpg")]
    out_dir = tmp_path / "out"
    resized = preprocess_module.resized_bytes

    def killed_at_b(source: Path, **options: object) -> bytes:
        if Path(source).name == "b.jpg":
            raise KeyboardInterrupt  # as a Ctrl-C in the middle of the run
        return resized(source, **options)

    monkeypatch.setattr(preprocess_module, "resized_bytes", killed_at_b)
    with pytest.raises(KeyboardInterrupt):
        run_stage(rows, out_dir)
    monkeypatch.undo()
    assert not (out_dir / "b.jpg").exists()
    finished = (out_dir / "a.jpg").stat().st_ino

    resumed = run_stage(rows, out_dir)
    # The finished output was kept (an atomic write would have made a new file), not redone.
    assert (out_dir / "a.jpg").stat().st_ino == finished
    reference = run_stage(rows, tmp_path / "reference")
    pd.testing.assert_frame_equal(resumed.manifest, reference.manifest)
    assert _files(out_dir) == _files(tmp_path / "reference")

    # A finished folder is written again by a rerun, to the same bytes: damage is repaired.
    (out_dir / "b.jpg").write_bytes(b"torn")
    rerun = run_stage(rows, out_dir)
    assert rerun.quarantine.empty
    assert _files(out_dir) == _files(tmp_path / "reference")

    # A different size makes every earlier output stale.
    bigger = run_stage(rows, out_dir, spec=ResizeSpec("short_side", 50))
    assert bigger.manifest["height"].tolist() == [50, 150, 50]
    with Image.open(out_dir / "a.jpg") as redone:
        assert redone.size == (75, 50)


def _files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def test_parallel_workers_match_a_single_process(sources: dict[str, Path], tmp_path: Path) -> None:
    rows = list(sources.items())
    serial = run_stage(rows, tmp_path / "serial")
    parallel = run_stage(rows, tmp_path / "parallel", workers=2)
    pd.testing.assert_frame_equal(serial.manifest, parallel.manifest)
    pd.testing.assert_frame_equal(serial.quarantine, parallel.quarantine)
    for name in serial.manifest["path"]:
        assert (tmp_path / "serial" / name).read_bytes() == (
            tmp_path / "parallel" / name
        ).read_bytes()


def test_dataframe_input_and_png_output(sources: dict[str, Path], tmp_path: Path) -> None:
    rows = pd.DataFrame(
        {"image_file": ["sub/a.jpg", "c.jpg"], "source_path": [sources["a.jpg"], sources["c.jpg"]]}
    )
    out_dir = tmp_path / "out"
    result = run_stage(rows, out_dir, spec=ResizeSpec("fixed", 32), output_format="png")
    assert result.manifest["path"].tolist() == ["sub/a.png", "c.png"]
    reference = load_resized(sources["a.jpg"], ResizeSpec("fixed", 32).output_size)
    with Image.open(out_dir / "sub" / "a.png") as lossless:
        assert np.array_equal(np.asarray(lossless), np.asarray(reference))


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([("a.jpg", "x"), ("a.jpg", "y")], "same output file"),
        ([("a.png", "x"), ("a.jpg", "y")], "same output file"),
        ([("../escape.jpg", "x")], "relative path inside out_dir"),
        ([("/abs.jpg", "x")], "relative path inside out_dir"),
        (pd.DataFrame({"image_file": ["a.jpg"], "path": ["x"]}), "source_path"),
    ],
    ids=["duplicate", "same-stem", "parent", "absolute", "column"],
)
def test_bad_rows_rejected_before_any_work(rows: object, message: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=message):
        run_stage(rows, tmp_path / "out")  # type: ignore[arg-type]
    assert not (tmp_path / "out").exists()


def test_empty_input_gives_empty_tables(tmp_path: Path) -> None:
    result = run_stage([], tmp_path / "out", bad=0.0)
    assert list(result.manifest.columns) == ["image_file", "path", "width", "height"]
    assert list(result.quarantine.columns) == ["image_file", "reason"]
    assert result.manifest.empty and result.quarantine.empty
