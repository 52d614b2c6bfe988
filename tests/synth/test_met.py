"""The embedded synthetic Met dataset: official layout and schema, determinism, statistics."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from artrec.synth.met import (
    REAL_SINGLE_VIEW_SHARE,
    _queries_per_class,
    _views_per_exhibit,
    draw_artwork,
    generate_met_dataset,
    perturb_artwork,
    sample_artwork,
)

TINY = {
    "n_exhibits": 30,
    "seed": 3,
    "max_side": 64,
    "n_val_queries": 4,
    "n_test_queries": 8,
    "n_val_other_art": 3,
    "n_val_non_art": 3,
    "n_test_other_art": 5,
    "n_test_non_art": 5,
}
EXHIBIT_PATH = re.compile(r"^MET/(\d+)/(\d)\.jpg$")
QUERY_PATH = re.compile(r"^(test_met|test_other|test_noart)/[0-9a-f]{12}\.jpg$")


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _load(root: Path, name: str) -> list[dict]:
    return json.loads((root / name).read_text())


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("met") / "met"
    return root, generate_met_dataset(root, **TINY)


def test_writes_exactly_the_official_files(tiny: tuple[Path, dict]) -> None:
    root, _ = tiny
    top = sorted(p.name for p in root.iterdir())
    assert top == sorted(
        ["images", "MET_database.json", "mini_MET_database.json", "valset.json", "testset.json"]
    )
    assert {p.name for p in (root / "images").iterdir()} == {
        "MET",
        "test_met",
        "test_other",
        "test_noart",
    }
    assert not list(root.parent.glob(".met.*")), "staging folder left behind"


def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path, tiny: tuple[Path, dict]) -> None:
    root, summary = tiny
    again = generate_met_dataset(tmp_path / "again", **TINY)
    assert again == summary
    assert _digest(tmp_path / "again") == _digest(root)
    generate_met_dataset(tmp_path / "other", **(TINY | {"seed": 4}))
    assert _digest(tmp_path / "other") != _digest(root)


def test_database_schema_matches_the_official_one(tiny: tuple[Path, dict]) -> None:
    root, summary = tiny
    for name in ("MET_database.json", "mini_MET_database.json"):
        entries = _load(root, name)
        assert entries and all(set(e) == {"id", "path"} for e in entries)
        for e in entries:
            match = EXHIBIT_PATH.match(e["path"])
            assert isinstance(e["id"], int) and not isinstance(e["id"], bool)
            assert match and int(match.group(1)) == e["id"]
            assert (root / "images" / e["path"]).is_file()
    database = _load(root, "MET_database.json")
    assert len(database) == summary["n_train_images"]
    assert len({e["path"] for e in database}) == len(database)


def test_query_schema_matches_the_official_one(tiny: tuple[Path, dict]) -> None:
    root, summary = tiny
    ids = {e["id"] for e in _load(root, "MET_database.json")}
    for split in ("val", "test"):
        entries = _load(root, f"{split}set.json")
        for e in entries:
            assert QUERY_PATH.match(e["path"]), e["path"]
            is_met = e["path"].startswith("test_met/")
            assert set(e) == ({"path", "MET_id"} if is_met else {"path"})
            if is_met:
                assert isinstance(e["MET_id"], int) and e["MET_id"] in ids
            assert (root / "images" / e["path"]).is_file()
        expected = summary[split]
        assert len(entries) == expected["met"] + expected["other_art"] + expected["non_art"]


def test_val_and_test_share_no_class_and_no_image(tiny: tuple[Path, dict]) -> None:
    root, summary = tiny
    val, test = _load(root, "valset.json"), _load(root, "testset.json")
    val_classes = {e["MET_id"] for e in val if "MET_id" in e}
    test_classes = {e["MET_id"] for e in test if "MET_id" in e}
    assert val_classes and test_classes and not val_classes & test_classes
    assert len(val_classes) == summary["val"]["classes"]
    assert not {e["path"] for e in val} & {e["path"] for e in test}


def test_every_image_fits_max_side(tiny: tuple[Path, dict]) -> None:
    root, _ = tiny
    sizes = [Image.open(p).size for p in (root / "images").rglob("*.jpg")]
    assert sizes and max(max(s) for s in sizes) <= TINY["max_side"]
    assert min(min(s) for s in sizes) >= 8


def test_mini_database_holds_every_query_class(tiny: tuple[Path, dict]) -> None:
    root, summary = tiny
    database, mini = _load(root, "MET_database.json"), _load(root, "mini_MET_database.json")
    queries = _load(root, "valset.json") + _load(root, "testset.json")
    query_ids = {e["MET_id"] for e in queries if "MET_id" in e}
    assert {e["path"] for e in mini} <= {e["path"] for e in database}
    for e in database:
        if e["id"] in query_ids:
            assert e in mini
    assert len(mini) == summary["mini_images"] < len(database)


def test_views_per_exhibit_are_long_tailed() -> None:
    views = _views_per_exhibit(np.random.default_rng(0), 20_000, REAL_SINGLE_VIEW_SHARE)
    assert views.min() == 1 and views.max() == 10
    assert 0.58 < np.mean(views == 1) < 0.64  # paper: 60.8% of the classes have one image
    counts = np.bincount(views, minlength=11)[1:]
    assert all(counts[k] >= counts[k + 1] for k in range(9))


def test_most_met_queries_are_the_only_query_of_their_class() -> None:
    sizes = np.array(_queries_per_class(np.random.default_rng(0), 20_000))
    assert sizes.sum() == 20_000 and sizes.max() <= 10
    assert 0.75 < sizes[sizes == 1].sum() / sizes.sum() < 0.88  # paper: 81.5%


def test_tiny_summary_is_consistent(tiny: tuple[Path, dict]) -> None:
    root, summary = tiny
    database = _load(root, "MET_database.json")
    per_class = np.bincount(np.unique([e["id"] for e in database], return_inverse=True)[1])
    assert len(per_class) == summary["n_exhibits"] == TINY["n_exhibits"]
    assert summary["single_image_class_share"] == pytest.approx(np.mean(per_class == 1))
    assert 0.2 < summary["single_image_class_share"] < 0.95
    assert sum(summary["families"].values()) == TINY["n_exhibits"]


def test_near_duplicate_identities_render_alike_but_not_identically() -> None:
    rng = np.random.default_rng(5)
    diffs_sibling, diffs_random = [], []
    for _ in range(12):
        art = sample_artwork(rng)
        sibling = perturb_artwork(art, rng)
        stranger = sample_artwork(rng)
        base = np.asarray(draw_artwork(art, 48).convert("RGB").resize((32, 32)), float)
        for other, bucket in ((sibling, diffs_sibling), (stranger, diffs_random)):
            pixels = np.asarray(draw_artwork(other, 48).convert("RGB").resize((32, 32)), float)
            bucket.append(np.abs(pixels - base).mean())
    assert np.median(diffs_sibling) < np.median(diffs_random)
    assert max(diffs_sibling) > 0


def test_regenerating_replaces_an_earlier_dataset(tmp_path: Path) -> None:
    root = tmp_path / "met"
    generate_met_dataset(root, **TINY)
    stale = root / "images" / "test_met" / "stale.jpg"
    stale.write_bytes(b"old")
    generate_met_dataset(root, **TINY)
    assert not stale.exists()
    assert (root / "MET_database.json").is_file()


def test_refuses_to_replace_an_unrelated_folder(tmp_path: Path) -> None:
    keep = tmp_path / "precious.txt"
    keep.write_text("do not delete")
    with pytest.raises(FileExistsError, match="refusing"):
        generate_met_dataset(tmp_path, **TINY)
    assert keep.read_text() == "do not delete"


def test_rejects_more_query_classes_than_exhibits(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="query classes"):
        generate_met_dataset(tmp_path / "met", **(TINY | {"n_exhibits": 3}))
    assert not (tmp_path / "met").exists()
