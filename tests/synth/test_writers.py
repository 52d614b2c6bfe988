"""Writer options and inputs: the raw-media file, ``fine_cycles``, writing over earlier output."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from artrec.synth import mame
from artrec.synth.met import generate_met_dataset

TINY_MET = {
    "n_exhibits": 8,
    "seed": 5,
    "max_side": 48,
    "n_val_queries": 2,
    "n_test_queries": 2,
    "n_val_other_art": 1,
    "n_val_non_art": 1,
    "n_test_other_art": 1,
    "n_test_non_art": 1,
}


def _write_raw_media(path: Path, variants: dict, unmapped: dict) -> Path:
    path.write_text(yaml.safe_dump({"variants": variants, "unmapped": unmapped}), encoding="utf-8")
    return path


def test_raw_media_file_is_what_the_module_uses() -> None:
    variants, unmapped = mame.load_raw_media(mame.RAW_MEDIA_FILE)
    assert variants == mame.RAW_MEDIUM_VARIANTS
    assert list(unmapped) == mame.UNMAPPED_RAW_MEDIA
    assert "Bronze " in variants["Bronze"]  # trailing spaces survive the YAML quoting


def test_raw_media_file_errors_name_the_entry(tmp_path: Path) -> None:
    variants, unmapped = mame.load_raw_media()
    twice = {**variants, "Gold": [*variants["Gold"], "bronze"]}
    with pytest.raises(ValueError, match="'bronze' is listed under 'Bronze' and 'Gold'"):
        mame.load_raw_media(_write_raw_media(tmp_path / "a.yml", twice, unmapped))
    missing = {k: v for k, v in variants.items() if k != "Clay"}
    with pytest.raises(ValueError, match="missing \\['Clay'\\]"):
        mame.load_raw_media(_write_raw_media(tmp_path / "b.yml", missing, unmapped))
    with pytest.raises(ValueError, match="Jade"):
        mame.load_raw_media(_write_raw_media(tmp_path / "c.yml", variants, {"Jade": "Papyrus"}))


def test_fine_cycles_is_a_writer_parameter(tmp_path: Path) -> None:
    args = (["Engraving"], {"train": 1}, 3, 0.05)
    default = mame.write_mame_dataset(tmp_path / "default", *args)
    coarse = mame.write_mame_dataset(tmp_path / "coarse", *args, fine_cycles=24)
    same = mame.write_mame_dataset(tmp_path / "same", *args, fine_cycles=48)
    images = [sorted((path.parent / "data").iterdir()) for path in (default, coarse, same)]
    assert images[0][0].read_bytes() != images[1][0].read_bytes()
    assert images[0][0].read_bytes() == images[2][0].read_bytes()  # 48 is the default
    with pytest.raises(ValueError, match="fine_cycles"):
        mame.write_mame_dataset(tmp_path / "bad", *args, fine_cycles=0)
    with pytest.raises(ValueError, match="fine_cycles"):
        mame.generate_museum_records(tmp_path / "bad", ["Gold"], 1, 0, 0.05, fine_cycles=-1)


def test_met_writes_over_a_run_that_crashed(tmp_path: Path) -> None:
    root = tmp_path / "met.partial"
    leftover = root / "images" / "MET" / "12" / "0.jpg"
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(b"half an image")
    generate_met_dataset(root, **TINY_MET)
    assert not leftover.exists() and not leftover.parent.exists()
    assert (root / "MET_database.json").is_file()
