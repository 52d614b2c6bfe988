"""The synthetic Tate folder: the real on-disk format, the real description distribution, the
thumbnails ingest would fetch, drawn from medium tags; the same bytes for the same seed.
(Machine independence: the Tate sample in tests/synth/portability.py and test_digest.py.)"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from artrec.curation.medium_tags import default_tagger
from artrec.datasets.tate import read_tate_artworks, thumbnail_relpaths
from artrec.synth.tate import (
    generate_tate_dataset,
    load_media_facts,
    synthetic_records,
    thumbnail_size,
)
from artrec.synth.tate_looks import base_look, draw_thumbnail

FACTS = Path(__file__).resolve().parents[2] / "conf" / "base" / "tate_media.csv"


def test_descriptions_follow_the_real_frequencies() -> None:
    facts = load_media_facts(FACTS)
    records = synthetic_records(facts, 5000, seed=0)
    counts = records["medium"].value_counts()
    expected = 5000 * facts["records"] / facts["records"].sum()
    observed = facts["medium"].map(counts).fillna(0)
    # largest-remainder rounding: every description within one record of its share
    assert (observed - expected).abs().max() < 1.0
    assert len(records) == 5000 and records["id"].is_unique and records["acno"].is_unique
    share = (records["thumbnailUrl"] != "").groupby(records["medium"]).mean()
    real = (facts["with_thumbnail"] / facts["records"]).set_axis(facts["medium"])
    assert abs(share["Graphite on paper"] - real["Graphite on paper"]) < 0.01


def test_records_have_the_real_format_and_untidiness(tmp_path: Path) -> None:
    records = synthetic_records(load_media_facts(FACTS), 2000, seed=1)
    path = tmp_path / "tate_artworks.csv"
    path.write_text(records.to_csv(index=False, lineterminator="\n"))
    frame = read_tate_artworks(path)  # the reader of the real file accepts it
    pd.testing.assert_frame_equal(frame, records, check_dtype=False)
    assert (frame["width"] == "(1):").any() and (frame["units"] == "").any()
    assert (frame["medium"] == "").any()
    assert frame["acquisitionYear"].str.endswith(".0").all()
    urls = frame.loc[frame["thumbnailUrl"] != "", "thumbnailUrl"]
    assert thumbnail_relpaths(urls).str.match(r"images/[A-Z]/[A-Z]\d\d/[A-Z]\d{5}_8\.jpg").all()


def test_thumbnail_size_keeps_the_aspect_within_limits() -> None:
    assert thumbnail_size("394", "419", 64) == (64, 68)
    assert thumbnail_size("900", "300", 64) == (128, 64)  # at most twice as long
    assert thumbnail_size("(1):", "300", 64) == (64, 80)  # untidy: 4:5 portrait


@pytest.mark.parametrize(
    ("tags", "look"),
    [
        (("graphite", "paper"), "Graphite"),
        (("oil paint", "canvas"), "Oil on canvas"),
        (("screenprint", "paper"), "Woodblock"),
        (("graphite", "watercolour", "paper"), "Graphite"),
        (("watercolour", "paper"), None),
    ],
)
def test_base_looks(tags: tuple[str, ...], look: str | None) -> None:
    assert base_look(tags, np.random.default_rng(0)) == look


def test_watercolour_is_a_coloured_wash_and_graphite_is_grey() -> None:
    def colourfulness(tags: tuple[str, ...]) -> float:
        image = draw_thumbnail(tags, 48, 60, np.random.default_rng(5), fine_cycles=12)
        pixels = np.asarray(image, dtype=float)
        return float(np.percentile(pixels.max(axis=2) - pixels.min(axis=2), 90))

    assert colourfulness(("watercolour", "paper")) > 2 * colourfulness(("graphite", "paper"))


def test_generation_is_deterministic_and_draws_only_selected_thumbnails(tmp_path: Path) -> None:
    def digests(out: Path) -> dict[str, str]:
        generate_tate_dataset(
            out,
            facts_path=FACTS,
            records=1200,
            n_classes=3,
            images_per_class=2,
            thumbnail_size_px=20,
            fine_cycles=5,
            seed=7,
            tagger=default_tagger(),
        )
        return {
            str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(out.rglob("*"))
            if p.is_file()
        }

    first, second = digests(tmp_path / "a"), digests(tmp_path / "b")
    assert first == second
    images = [name for name in first if name.endswith(".jpg")]
    assert len(images) == 6 and "tate_artworks.csv" in first
    with Image.open(tmp_path / "a" / images[0]) as image:
        assert image.mode == "RGB" and min(image.size) == 20
    # a stale thumbnail from an earlier run is removed, other files are kept
    stale = tmp_path / "a" / "images" / "Z" / "Z00" / "Z00001_8.jpg"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"old")
    assert digests(tmp_path / "a") == first
