"""The synthetic transfer-learning collections: the official layout (read by the same reader),
the designed structure (long-tailed artists, shared style vocabulary but no shared artist, ~15%
shared types, no Antwerp material) and byte-identical output (see also test_digest.py, whose
sample set holds both collections, and test_portability.py)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from artrec.datasets.rijksmuseum import is_artist, load_collection
from artrec.synth.artist_styles import Style, apply_style, assign_styles, style_space
from artrec.synth.rijksmuseum import (
    ANTWERP,
    RIJKSMUSEUM,
    plan_artists,
    plan_objects,
    write_collection,
)


@pytest.fixture(scope="module")
def collections(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("collections")
    sizes = {"rijksmuseum": (60, 10), "antwerp": (40, 6)}
    return {
        name: write_collection(
            root / name, name, objects=n, artists=a, seed=3, min_side=32, max_side=40, workers=1
        )
        for name, (n, a) in sizes.items()
    }


def _digests(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_the_reader_reads_the_synthetic_collections(collections: dict[str, Path]) -> None:
    first = load_collection(collections["rijksmuseum"])
    second = load_collection(collections["antwerp"])
    assert len(first) == 60 and len(second) == 40
    assert first["dc_materiaal"].notna().all()  # every Rijksmuseum object has a material
    assert second["dc_materiaal"].isna().all()  # the Antwerp collection has none (Table 1: x)
    assert first["ImageId"].str.match(r"^\d{7}_").all()
    with Image.open(collections["rijksmuseum"] / first["image"].iloc[0]) as image:
        assert image.format == "JPEG" and min(image.size) >= 32


def test_the_design_shares_a_seventh_of_types_and_no_artist() -> None:
    first_types = {look.type for look in RIJKSMUSEUM.looks}
    second_types = {look.type for look in ANTWERP.looks}
    assert len(second_types) == 7 and len(first_types & second_types) == 1  # 14%, paper ~15%
    first = {a.name for a in plan_artists(RIJKSMUSEUM, 40, seed=0)}
    second = plan_artists(ANTWERP, 20, seed=0)
    assert not first & {a.name for a in second}
    styles = {a.style for a in plan_artists(RIJKSMUSEUM, 40, seed=0)}
    assert not styles & {a.style for a in second}  # same vocabulary, different combinations
    assert len({a.name for a in second}) == 20


def test_artists_have_a_long_tail_and_work_in_one_type() -> None:
    artists = plan_artists(RIJKSMUSEUM, 30, seed=0)
    for artist in artists:
        assert len({RIJKSMUSEUM.looks[i].type for i in artist.looks}) == 1
    plans = plan_objects(
        RIJKSMUSEUM,
        artists,
        3000,
        seed=0,
        artist_zipf=1.0,
        anonymous_share=0.15,
        unsigned_share=0.25,
    )
    counts = np.bincount([p.artist for p in plans if p.artist is not None], minlength=30)
    median = np.median(counts)
    assert counts.max() >= 4 * median  # a few prolific makers
    assert (counts < median / 3).sum() >= 3  # and a tail of rare ones
    anonymous = sum(p.artist is None for p in plans) / len(plans)
    assert 0.15 <= anonymous < 0.5
    assert not any(p.signed for p in plans if p.artist is None)


def test_anonymous_objects_are_not_artists(collections: dict[str, Path]) -> None:
    creators = load_collection(collections["rijksmuseum"])["dc_creator"]
    assert (~creators.map(is_artist)).any() and creators.map(is_artist).any()


def test_collections_are_byte_identical_whatever_the_workers(
    tmp_path: Path, collections: dict[str, Path]
) -> None:
    again = write_collection(
        tmp_path / "again",
        "antwerp",
        objects=40,
        artists=6,
        seed=3,
        min_side=32,
        max_side=40,
        workers=2,
    )
    assert _digests(again) == _digests(collections["antwerp"])


def test_a_rerun_with_fewer_objects_removes_the_old_files(tmp_path: Path) -> None:
    folder = tmp_path / "c"
    write_collection(
        folder, "rijksmuseum", objects=6, artists=2, seed=1, min_side=24, max_side=24, workers=1
    )
    write_collection(
        folder, "rijksmuseum", objects=4, artists=2, seed=1, min_side=24, max_side=24, workers=1
    )
    assert len(load_collection(folder)) == 4


def test_style_marks_are_drawn_where_the_style_says() -> None:
    image = Image.new("RGB", (64, 48), (128, 128, 128))
    style = Style(shape=0, colour=0, corner=3, border=0, cast=0)  # red square, bottom right
    pixels = np.asarray(apply_style(image, style, np.random.default_rng(0)))
    assert pixels[-10, -10, 0] > 150 and pixels[-10, -10, 1] < 80  # red in the corner
    assert (pixels[:20, :20] == 128).all()  # nothing top left
    unsigned = np.asarray(apply_style(image, style, np.random.default_rng(0), signed=False))
    assert (unsigned == 128).all()


def test_style_space_is_large_and_assignment_is_distinct() -> None:
    assert len(style_space()) >= 500
    styles = assign_styles(60, np.random.default_rng(0))
    assert len(set(styles)) == 60
    with pytest.raises(ValueError):
        assign_styles(len(style_space()) + 1, np.random.default_rng(0))
