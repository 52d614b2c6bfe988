"""Every hostile image class at every entry point that reads images.

Entry points: decoding (``load_resized``, used by preprocessing and training inputs), the
preprocessing stage (``preprocess_dataset``), MAMe curation (``image_size``, ``is_greyscale``,
``curate_museum_records``) and the Met ground truth (``load_met_ground_truth`` checks the header
of every listed image). Each case is handled (decoded to upright 8-bit RGB) or refused with a
reason naming the problem; nothing else is accepted, and memory stays bounded.
"""

from __future__ import annotations

import json
import resource
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from artrec.curation.labelmap import LabelMap
from artrec.curation.mame import UNREADABLE, curate_museum_records, image_size, is_greyscale
from artrec.datasets.met import MetGroundTruthError, load_met_ground_truth
from artrec.errors import BadInputError
from artrec.images.decode import BadImageError, load_resized, read_size
from artrec.images.preprocess import ResizeSpec, TooManyBadImagesError, preprocess_dataset
from tests.reliability.hostile import (
    IMAGE_IDS,
    IMAGES,
    LARGEST_MAME,
    HostileImage,
    encode,
    noise_jpeg,
    write_images,
)

LABEL_MAP = Path(__file__).resolve().parents[2] / "conf" / "base" / "mame_label_map.yml"
SPEC = ResizeSpec("short_side", 16)


@pytest.fixture(scope="module")
def hostile_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hostile_images")
    write_images(folder)
    return folder


def _path(folder: Path, case: HostileImage) -> Path:
    return folder / f"{case.name}.jpg"


# ---- decoding ----------------------------------------------------------------------------------
@pytest.mark.parametrize("case", IMAGES, ids=IMAGE_IDS)
def test_decoding_handles_or_names_each_case(hostile_dir: Path, case: HostileImage) -> None:
    path = _path(hostile_dir, case)
    if case.refused:
        with pytest.raises(BadImageError) as caught:
            load_resized(path, SPEC.output_size)
        error = caught.value
        assert error.reason.startswith(case.reason), error.reason
        assert case.hint in error.reason
        message = str(error)
        assert str(path) in message and "Fix:" in message and "\n" not in message
        assert isinstance(error, BadInputError)
    else:
        image = load_resized(path, SPEC.output_size)
        assert image.mode == "RGB"
        assert min(image.size) == SPEC.size
        case.check(image)


def test_the_largest_real_mame_image_decodes_in_bounded_memory(hostile_dir: Path) -> None:
    path = _path(hostile_dir, next(c for c in IMAGES if c.name == "largest_real_mame_size"))
    assert read_size(path) == LARGEST_MAME
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    image = load_resized(path, ResizeSpec("short_side", 500).output_size)
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert image.size == (1432, 500)
    # Draft decoding at 1/8 scale: far below the 1.1 GB a full RGB decode would take.
    assert grown_mib < 200, grown_mib


def test_the_configured_pixel_limit_is_the_one_applied(tmp_path: Path) -> None:
    path = tmp_path / "big.png"
    path.write_bytes(encode(Image.new("RGB", (1200, 1000), (10, 20, 30)), "PNG"))
    with pytest.raises(BadImageError, match="too large: above max_pixels=1,000,000"):
        load_resized(path, SPEC.output_size, max_pixels=1_000_000)
    assert load_resized(path, SPEC.output_size, max_pixels=2_000_000).size == (19, 16)
    # the preprocessing stage passes preprocess.mame.max_image_pixels through
    result = preprocess_dataset(
        [("big.jpg", path)],
        tmp_path / "out",
        SPEC,
        workers=1,
        max_bad_fraction=1.0,
        max_pixels=1_000_000,
        progress=False,
    )
    assert result.quarantine["reason"].str.startswith("too large").all()


# ---- the preprocessing stage -------------------------------------------------------------------
def test_preprocessing_quarantines_exactly_the_refused_images(
    hostile_dir: Path, tmp_path: Path
) -> None:
    rows = [(f"{case.name}.jpg", _path(hostile_dir, case)) for case in IMAGES]
    out = tmp_path / "images"
    result = preprocess_dataset(rows, out, SPEC, workers=2, max_bad_fraction=1.0, progress=False)

    reasons = dict(zip(result.quarantine["image_file"], result.quarantine["reason"], strict=True))
    assert set(reasons) == {f"{c.name}.jpg" for c in IMAGES if c.refused}
    for case in IMAGES:
        name = f"{case.name}.jpg"
        if case.refused:
            assert reasons[name].startswith(case.reason), (name, reasons[name])
            assert not (out / name).exists()
        else:
            with Image.open(out / name) as done:
                assert done.mode == "RGB" and min(done.size) == SPEC.size
                case.check(done.convert("RGB"))
    assert result.manifest["image_file"].tolist() == [
        f"{c.name}.jpg" for c in IMAGES if not c.refused
    ]
    # no temporary file is left, nothing was written outside the output folder
    assert not [p for p in out.iterdir() if p.name.startswith(".")]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["images"]


def test_too_many_bad_images_is_one_line_and_keeps_the_good_outputs(
    hostile_dir: Path, tmp_path: Path
) -> None:
    rows = [(f"{case.name}.jpg", _path(hostile_dir, case)) for case in IMAGES]
    out = tmp_path / "images"
    with pytest.raises(TooManyBadImagesError) as caught:
        preprocess_dataset(rows, out, SPEC, workers=1, max_bad_fraction=0.1, progress=False)
    message = str(caught.value)
    assert "\n" not in message and str(hostile_dir) in message
    assert "max_bad_fraction" in message and "Fix:" in message
    assert len(list(out.glob("*.jpg"))) == sum(not c.refused for c in IMAGES)


@pytest.mark.parametrize(
    "image_file", ["../escape.jpg", "/etc/passwd", "a/../../b.jpg", "..\\b.jpg"]
)
def test_preprocessing_refuses_output_paths_outside_its_folder(
    tmp_path: Path, image_file: str
) -> None:
    source = tmp_path / "src.jpg"
    source.write_bytes(noise_jpeg())
    with pytest.raises(BadInputError, match="inside out_dir") as caught:
        preprocess_dataset(
            [(image_file, source)], tmp_path / "out", SPEC, workers=1, progress=False
        )
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "out").exists() and not (tmp_path / "escape.jpg").exists()


# ---- MAMe curation ------------------------------------------------------------------------------
@pytest.mark.parametrize("case", IMAGES, ids=IMAGE_IDS)
def test_curation_reads_each_case_or_names_it(hostile_dir: Path, case: HostileImage) -> None:
    path = _path(hostile_dir, case)
    try:
        size = image_size(path)
        grey = is_greyscale(path)
    except (BadImageError, OSError, SyntaxError) as error:
        assert case.refused, f"{case.name} should be handled: {error}"
        return
    assert not case.refused, f"{case.name} was accepted by curation ({size}, grey={grey})"
    if case.name == "exif_rotated":
        assert size == (40, 60)  # the displayed size, as the paper's aspect ratios need
    if case.name in ("grey", "sixteen_bit_grey", "largest_real_mame_size"):
        assert grey


def test_curation_drops_the_refused_images_as_unreadable(hostile_dir: Path) -> None:
    records = pd.DataFrame(
        {
            "Image file": [f"{c.name}.jpg" for c in IMAGES],
            "Museum": "Metropolitan Museum of Art",
            "Museum-based instance ID": [str(i) for i in range(len(IMAGES))],
            "Medium": "Bronze",
        }
    )
    result = curate_museum_records(
        records,
        images_dir=hostile_dir,
        label_map=LabelMap.load(LABEL_MAP),
        class_order=["Bronze"],
        min_product_size=0,
        drop_greyscale=True,
        min_images_per_class=2,
        split_sizes={"train": 1, "val": 0},
        seed=0,
    )
    dropped = result.dropped.set_index("Image file")
    for case in IMAGES:
        name = f"{case.name}.jpg"
        unreadable = name in dropped.index and dropped.at[name, "reason"] == UNREADABLE
        assert unreadable == case.refused, (
            name,
            dropped.loc[name] if name in dropped.index else "kept",
        )
        if unreadable:
            assert dropped.at[name, "detail"], name  # the reason is recorded
    exif = result.dataset[result.dataset["Image file"] == "exif_rotated.jpg"]
    assert exif[["Width", "Height"]].values.tolist() == [[40.0, 60.0]]


# ---- the Met ground truth ----------------------------------------------------------------------
def _met_with_image(root: Path, image: bytes) -> Path:
    images = root / "images"
    (images / "MET" / "1").mkdir(parents=True)
    (images / "MET" / "2").mkdir(parents=True)
    (images / "MET" / "1" / "0.jpg").write_bytes(noise_jpeg(seed=1))
    (images / "MET" / "2" / "0.jpg").write_bytes(image)
    (images / "test_met").mkdir()
    (images / "test_met" / "q.jpg").write_bytes(noise_jpeg(seed=2))
    (images / "test_noart").mkdir()
    (images / "test_noart" / "d.jpg").write_bytes(noise_jpeg(seed=3))
    database = [{"id": 1, "path": "MET/1/0.jpg"}, {"id": 2, "path": "MET/2/0.jpg"}]
    (root / "MET_database.json").write_text(json.dumps(database))
    (root / "valset.json").write_text(json.dumps([{"path": "test_met/q.jpg", "MET_id": 1}]))
    (root / "testset.json").write_text(json.dumps([{"path": "test_noart/d.jpg"}]))
    return root


@pytest.mark.parametrize("case", IMAGES, ids=IMAGE_IDS)
def test_met_ground_truth_checks_each_image_header(tmp_path: Path, case: HostileImage) -> None:
    root = _met_with_image(tmp_path / "met", case.make())
    header_level = case.reason in ("unreadable", "too large") and case.name != "corrupt_png_data"
    if header_level:
        with pytest.raises(MetGroundTruthError) as caught:
            load_met_ground_truth(root)
        message = str(caught.value)
        assert "MET/2/0.jpg" in message and "Fix:" in message and "\n" not in message
    else:
        # Handled images, and damage that only decoding reveals (left to the embedding stage,
        # which decodes every image), pass the header check. Extreme aspect ratios are allowed:
        # the Met images are at most 500 px a side, long scrolls included.
        assert load_met_ground_truth(root).train_paths == ("MET/1/0.jpg", "MET/2/0.jpg")


# ---- artrec predict ------------------------------------------------------------------------------
def test_artrec_predict_refuses_each_unreadable_image_in_one_line(
    hostile_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from artrec import commands

    refused = [_path(hostile_dir, case) for case in IMAGES if case.refused]
    with pytest.raises(SystemExit) as exited:
        commands.main(["predict", *map(str, refused), "--project", str(tmp_path)])
    captured = capsys.readouterr()
    assert exited.value.code == 2 and captured.out == ""
    lines = captured.err.strip().splitlines()
    assert "Traceback" not in captured.err
    assert [line.split(": ", 2)[1] for line in lines] == [str(path) for path in refused]
    assert all(line.startswith("error: ") and "Fix:" in line for line in lines)
