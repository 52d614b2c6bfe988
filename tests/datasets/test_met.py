"""Reading and validating the Met ground truth; Table 1 and Figure 5 summaries."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from artrec.datasets.met import (
    MetGroundTruthError,
    class_size_counts,
    load_met_ground_truth,
    met_table1,
    plot_class_sizes,
    query_kind,
)
from artrec.synth.met import generate_met_dataset

DATABASE = [
    {"id": 7, "path": "MET/7/0.jpg"},
    {"id": 7, "path": "MET/7/1.jpg"},
    {"id": 3, "path": "MET/3/0.jpg"},
    {"id": 12, "path": "MET/12/0.jpg"},
]
VALSET = [
    {"path": "test_met/aa.jpg", "MET_id": 7},
    {"path": "test_other/bb.jpg"},
    {"path": "test_noart/cc.jpg", "category": "nature", "url": None},
]
TESTSET = [
    {"path": "test_met/dd.jpg", "MET_id": 3, "photographer": "x", "url": "https://e.org"},
    {"path": "test_met/ee.jpg", "MET_id": 3},
    {"path": "test_met/ff.jpg", "MET_id": 12},
    {"path": "test_noart/gg.jpg"},
]


def _write(root: Path, database: Any, valset: Any, testset: Any, images: bool = True) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, data in (
        ("MET_database.json", database),
        ("valset.json", valset),
        ("testset.json", testset),
    ):
        text = data if isinstance(data, str) else json.dumps(data)
        (root / name).write_text(text)
    if images:
        for entries in (database, valset, testset):
            for e in entries if isinstance(entries, list) else []:
                if isinstance(e, dict) and isinstance(e.get("path"), str):
                    target = root / "images" / e["path"]
                    if not e["path"] or ".." in e["path"] or os.path.isabs(e["path"]):
                        continue
                    target.parent.mkdir(parents=True, exist_ok=True)
                    Image.new("RGB", (4, 4)).save(target)
    return root


@pytest.fixture
def valid(tmp_path: Path) -> Path:
    return _write(tmp_path / "met", DATABASE, VALSET, TESTSET)


def test_reads_a_valid_ground_truth(valid: Path) -> None:
    gt = load_met_ground_truth(valid)
    assert list(gt.class_ids) == [3, 7, 12]
    assert gt.id_to_class == {3: 0, 7: 1, 12: 2}
    assert list(gt.train_labels) == [1, 1, 0, 2]
    assert list(gt.val_ids) == [7, -1, -1] and list(gt.val_labels) == [1, -1, -1]
    assert list(gt.test_labels) == [0, 0, 2, -1]
    assert gt.image_path(gt.test_paths[0]) == valid / "images" / "test_met/dd.jpg"
    assert gt.val_test_overlap == frozenset()


@pytest.mark.parametrize(
    ("database", "valset", "testset", "names"),
    [
        ("[{", VALSET, TESTSET, ["MET_database.json", "not valid JSON"]),
        ({"id": 1}, VALSET, TESTSET, ["MET_database.json", "JSON list"]),
        (DATABASE + [5], VALSET, TESTSET, ["MET_database.json entry 4", "JSON object"]),
        (DATABASE + [{"path": "MET/9/0.jpg"}], VALSET, TESTSET, ["entry 4", "'MET/9/0.jpg'", "id"]),
        (DATABASE + [{"id": "9", "path": "MET/9/0.jpg"}], VALSET, TESTSET, ["entry 4", "'id'"]),
        (DATABASE + [{"id": True, "path": "MET/9/0.jpg"}], VALSET, TESTSET, ["entry 4", "bool"]),
        (DATABASE + [{"id": 9, "path": 9}], VALSET, TESTSET, ["entry 4", "'path'"]),
        (DATABASE + [{"id": 9, "path": "a.jpg", "x": 1}], VALSET, TESTSET, ["entry 4", "'x'"]),
        ([], VALSET, TESTSET, ["MET_database.json", "no images"]),
        (
            DATABASE,
            VALSET + [{"path": "test_met/zz.jpg", "MET_id": 99}],
            TESTSET,
            ["valset.json entry 3", "'test_met/zz.jpg'", "MET_id 99"],
        ),
        (
            DATABASE,
            VALSET,
            TESTSET + [{"path": "test_met/x.jpg", "MET_id": 3.0}],
            ["testset.json entry 4", "MET_id"],
        ),
        (DATABASE, VALSET, TESTSET + [{"MET_id": 3}], ["testset.json entry 4", "missing", "path"]),
        (
            DATABASE,
            VALSET + [VALSET[1]],
            TESTSET,
            ["valset.json entry 3", "duplicate", "valset.json entry 1"],
        ),
        (
            DATABASE,
            VALSET,
            TESTSET + [VALSET[0]],
            ["testset.json entry 4", "duplicate", "valset.json entry 0"],
        ),
        (DATABASE + [{"id": 3, "path": "MET/7/0.jpg"}], VALSET, TESTSET, ["entry 4", "duplicate"]),
        (
            DATABASE,
            VALSET,
            TESTSET + [{"path": "/etc/passwd"}],
            ["testset.json entry 4", "absolute"],
        ),
        (DATABASE, VALSET, TESTSET + [{"path": "C:/x.jpg"}], ["testset.json entry 4", "absolute"]),
        (DATABASE, VALSET, TESTSET + [{"path": "test_met/../../x.jpg"}], ["entry 4", "'..'"]),
        (DATABASE, VALSET, TESTSET + [{"path": "test_met//x.jpg"}], ["entry 4", "normalised"]),
        (DATABASE, VALSET, TESTSET + [{"path": "test_met\\x.jpg"}], ["entry 4", "separators"]),
        (DATABASE, VALSET, TESTSET + [{"path": ""}], ["entry 4", "empty path"]),
    ],
)
def test_rejects_malformed_ground_truth_naming_the_entry(
    tmp_path: Path, database: Any, valset: Any, testset: Any, names: list[str]
) -> None:
    root = _write(tmp_path / "met", database, valset, testset)
    with pytest.raises(MetGroundTruthError) as error:
        load_met_ground_truth(root)
    for name in names:
        assert name in str(error.value)


def test_rejects_a_missing_file(valid: Path) -> None:
    (valid / "testset.json").unlink()
    with pytest.raises(MetGroundTruthError, match="testset.json: ground-truth file not found"):
        load_met_ground_truth(valid)


def test_missing_image_is_named_unless_images_are_not_checked(valid: Path) -> None:
    (valid / "images" / "test_noart" / "gg.jpg").unlink()
    with pytest.raises(MetGroundTruthError, match=r"testset.json entry 3 .*image not found"):
        load_met_ground_truth(valid)
    assert len(load_met_ground_truth(valid, check_images=False).test_paths) == 4


def test_rejects_a_symlink_that_leaves_the_images_folder(valid: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.jpg"
    Image.new("RGB", (4, 4)).save(outside)
    link = valid / "images" / "test_met" / "aa.jpg"
    link.unlink()
    link.symlink_to(outside)
    with pytest.raises(MetGroundTruthError, match=r"valset.json entry 0 .*outside the images"):
        load_met_ground_truth(valid)


def test_symlinked_images_folder_is_fine(valid: Path, tmp_path: Path) -> None:
    linked = tmp_path / "linked"
    linked.mkdir()
    for name in ("MET_database.json", "valset.json", "testset.json"):
        (linked / name).write_text((valid / name).read_text())
    (linked / "images").symlink_to(valid / "images", target_is_directory=True)
    assert load_met_ground_truth(linked).n_classes == 3


def test_database_must_be_a_file_name(valid: Path) -> None:
    with pytest.raises(MetGroundTruthError, match="file name"):
        load_met_ground_truth(valid, database="../MET_database.json")


def test_reports_val_test_class_overlap(tmp_path: Path) -> None:
    testset = TESTSET + [{"path": "test_met/hh.jpg", "MET_id": 7}]
    gt = load_met_ground_truth(_write(tmp_path / "met", DATABASE, VALSET, testset))
    assert gt.val_test_overlap == frozenset({7})


def test_table1_and_class_sizes_of_a_hand_written_ground_truth(valid: Path) -> None:
    table = met_table1(load_met_ground_truth(valid))
    assert table.loc["train", "met"] == 4 and table.loc["train", "classes"] == "3"
    assert table.loc["val", ["met", "other_art", "non_art"]].tolist() == [1, 1, 1]
    assert table.loc["val", "classes"] == "1 + 1"
    assert table.loc["test", ["met", "other_art", "non_art"]].tolist() == [3, 0, 1]
    assert table.loc["test", "classes"] == "2 + 1"
    counts = class_size_counts(load_met_ground_truth(valid))
    assert counts.loc[1, "train_classes"] == 2 and counts.loc[2, "train_classes"] == 1
    assert counts.loc[1, "query_classes"] == 2 and counts.loc[2, "query_classes"] == 1


def test_query_kind_follows_the_folder_rule() -> None:
    assert query_kind("test_met/a.jpg", 5) == "met"
    assert query_kind("test_other/a.jpg", -1) == "other_art"
    assert query_kind("val_noart/a.jpg", -1) == "non_art"
    with pytest.raises(ValueError, match="'misc/a.jpg'"):
        query_kind("misc/a.jpg", -1)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("gen") / "met"
    summary = generate_met_dataset(
        root,
        n_exhibits=25,
        seed=1,
        max_side=48,
        n_val_queries=3,
        n_test_queries=6,
        n_val_other_art=2,
        n_val_non_art=3,
        n_test_other_art=4,
        n_test_non_art=2,
    )
    return root, summary


def test_table1_matches_the_generator_summary(generated: tuple[Path, dict]) -> None:
    root, summary = generated
    table = met_table1(load_met_ground_truth(root))
    assert table.loc["train", "met"] == summary["n_train_images"]
    assert table.loc["train", "n_classes"] == summary["n_exhibits"]
    for split in ("val", "test"):
        for column in ("met", "other_art", "non_art"):
            assert table.loc[split, column] == summary[split][column]
        assert table.loc[split, "classes"] == f"{summary[split]['classes']} + 1"
    mini = met_table1(load_met_ground_truth(root, database="mini_MET_database.json"))
    assert mini.loc["train", "met"] == summary["mini_images"]
    assert mini.loc["train", "n_classes"] == summary["mini_classes"]


def test_figure5_from_generated_data(generated: tuple[Path, dict]) -> None:
    root, summary = generated
    gt = load_met_ground_truth(root)
    counts = class_size_counts(gt)
    assert counts["train_classes"].sum() == summary["n_exhibits"]
    assert (counts.index * counts["train_classes"]).sum() == summary["n_train_images"]
    n_queries = summary["val"]["met"] + summary["test"]["met"]
    assert (counts.index * counts["query_classes"]).sum() == n_queries
    assert counts.loc[1, "train_classes"] == pytest.approx(
        summary["single_image_class_share"] * summary["n_exhibits"]
    )
    figure = plot_class_sizes(gt)
    axes = figure.get_axes()
    assert len(axes) == 2 and all(axis.get_yscale() == "log" for axis in axes)
    heights = [patch.get_height() for patch in axes[0].patches]
    assert sum(heights) == summary["n_exhibits"]
    assert np.all(np.asarray(heights) > 0)
