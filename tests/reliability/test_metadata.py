"""Hostile metadata: the official MAMe CSVs, raw museum records, the Met ground-truth JSON.

Every case ends in a :class:`BadInputError` whose one-line message names the file (and the line
or entry), the problem and the fix, or, where curation has a rule for it (unknown medium,
duplicate, missing field), in a record dropped with that reason.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from artrec.curation.labelmap import LabelMap
from artrec.curation.mame import (
    DUPLICATE,
    MAME_COLUMNS,
    MAME_LABELS,
    MISSING_FIELD,
    UNMAPPED,
    UNREADABLE,
    curate_museum_records,
    load_museum_records,
    load_official_mame,
)
from artrec.datasets.met import MetGroundTruthError, load_met_ground_truth
from artrec.errors import BadInputError
from tests.reliability.hostile import noise_jpeg

LABEL_MAP = Path(__file__).resolve().parents[2] / "conf" / "base" / "mame_label_map.yml"
HEADER = ",".join(MAME_COLUMNS)
ROWS = [
    "1.jpg,Bronze,Metropolitan Museum of Art,1,train,400.0,300.0,120000.0,1.3333",
    "2.jpg,Bronze,Los Angeles County Museum of Art,2,val,300.0,400.0,120000.0,0.75",
    "3.jpg,Etching,The Cleveland Museum of Art,3,test,500.0,500.0,250000.0,1.0",
]


def _one_line(error: BaseException, *needles: str) -> str:
    message = str(error)
    assert "\n" not in message and "Fix:" in message, message
    for needle in needles:
        assert needle in message, (needle, message)
    return message


# ---- the official MAMe metadata ------------------------------------------------------------------
def _official(folder: Path, dataset: bytes | str, labels: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    if labels is None:
        labels = "".join(f"{i},{name}\n" for i, name in enumerate(MAME_LABELS))
    (folder / "MAMe_labels.csv").write_text(labels)
    data = dataset.encode() if isinstance(dataset, str) else dataset
    (folder / "MAMe_dataset.csv").write_bytes(data)
    return folder


def _csv(rows: list[str] = ROWS, header: str = HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


def _replace(row: int, column: str, value: str) -> str:
    cells = [r.split(",") for r in ROWS]
    cells[row][MAME_COLUMNS.index(column)] = value
    return _csv([",".join(c) for c in cells])


CSV_CASES: dict[str, tuple[bytes | str, str]] = {
    # wrong or missing columns
    "missing_column": (
        _csv([r.rsplit(",", 1)[0] for r in ROWS], HEADER.rsplit(",", 1)[0]),
        "columns",
    ),
    "renamed_column": (_csv(header=HEADER.replace("Subset", "Split")), "columns"),
    "extra_column": (_csv([r + ",x" for r in ROWS], HEADER + ",Note"), "columns"),
    "reordered_columns": (
        _csv(header=HEADER.replace("Width,Height", "Height,Width")),
        "differ from the official",
    ),
    "empty_file": (b"", "cannot read"),
    "header_only": (HEADER + "\n", "lists no images"),
    # bad values
    "negative_width": (_replace(0, "Width", "-400.0"), "line 2, column 'Width'"),
    "zero_height": (_replace(1, "Height", "0"), "line 3, column 'Height'"),
    "text_in_a_number": (_replace(2, "Product size", "big"), "line 4, column 'Product size'"),
    "fractional_pixels": (_replace(0, "Width", "400.5"), "whole number"),
    "inconsistent_product": (_replace(0, "Product size", "1.0"), "not Width x Height"),
    "inconsistent_aspect": (_replace(0, "Aspect ratio", "9.0"), "not Width / Height"),
    "unknown_medium": (_replace(1, "Medium", "Plastic"), "'Plastic' is not a label"),
    "unknown_subset": (_replace(2, "Subset", "trian"), "'trian' is not one of"),
    "empty_museum": (_replace(0, "Museum", ""), "is empty"),
    "duplicated_file": (_replace(1, "Image file", "1.jpg"), "'1.jpg' appears twice"),
    # paths escaping the data folder
    "parent_path": (_replace(0, "Image file", "../../etc/passwd"), "inside the images folder"),
    "absolute_path": (_replace(0, "Image file", "/etc/passwd"), "inside the images folder"),
    "nested_parent_path": (_replace(0, "Image file", "a/../../x.jpg"), "inside the images folder"),
    "windows_parent_path": (_replace(0, "Image file", "..\\x.jpg"), "inside the images folder"),
    # broken files
    "truncated": (_csv()[: len(_csv()) - 25], "line 4"),
    "invalid_utf8": (_csv().encode().replace(b"Cleveland", b"Cl\xffveland"), "cannot read"),
    "binary_garbage": (bytes(range(256)) * 20, "cannot read"),
    "unterminated_quote": (_csv() + '4.jpg,"Bronze,x\n', "cannot read"),
}


@pytest.mark.parametrize("case", sorted(CSV_CASES))
def test_official_mame_csv_refuses_each_case(tmp_path: Path, case: str) -> None:
    content, words = CSV_CASES[case]
    folder = _official(tmp_path / "mame", content)
    with pytest.raises(BadInputError) as caught:
        load_official_mame(folder)
    _one_line(caught.value, str(folder / "MAMe_dataset.csv"), words)


def test_the_valid_official_csv_loads(tmp_path: Path) -> None:
    dataset, labels = load_official_mame(_official(tmp_path / "mame", _csv()))
    assert len(dataset) == 3 and labels == list(MAME_LABELS)


def test_an_image_file_linking_out_of_the_images_folder_is_refused(tmp_path: Path) -> None:
    folder = _official(tmp_path / "mame", _csv())
    images = folder / "data"
    images.mkdir()
    (tmp_path / "secret.jpg").write_bytes(noise_jpeg())
    (images / "1.jpg").symlink_to(tmp_path / "secret.jpg")
    (images / "2.jpg").write_bytes(noise_jpeg())
    (images / "3.jpg").write_bytes(noise_jpeg())
    with pytest.raises(BadInputError) as caught:
        load_official_mame(folder, images)
    _one_line(caught.value, "'1.jpg'", "outside")


def test_missing_images_are_counted_and_named(tmp_path: Path) -> None:
    folder = _official(tmp_path / "mame", _csv())
    (folder / "data").mkdir()
    (folder / "data" / "1.jpg").write_bytes(noise_jpeg())
    with pytest.raises(BadInputError) as caught:
        load_official_mame(folder, folder / "data")
    _one_line(caught.value, "2 of 3 images", "2.jpg", "MAMe_data.zip")


LABEL_CASES: dict[str, tuple[str, str]] = {
    "missing_label": (
        "".join(f"{i},{n}\n" for i, n in enumerate(MAME_LABELS[:-1])),
        "labels differ",
    ),
    "duplicate_label": ("0,Bronze\n1,Bronze\n", "duplicate label names ['Bronze']"),
    "bad_index": ("0,Bronze\n2,Etching\n", "line 2: index '2', expected 1"),
    "three_columns": ("0,Bronze,x\n", "two columns"),
    "empty_name": ("0, \n", "empty label name"),
    "invalid_utf8": ("0,Bronze\n", "cannot read"),
}


@pytest.mark.parametrize("case", sorted(LABEL_CASES))
def test_official_mame_labels_refuse_each_case(tmp_path: Path, case: str) -> None:
    labels, words = LABEL_CASES[case]
    folder = _official(tmp_path / "mame", _csv(), labels)
    if case == "invalid_utf8":
        (folder / "MAMe_labels.csv").write_bytes(b"0,Bro\xffnze\n")
    with pytest.raises(BadInputError) as caught:
        load_official_mame(folder)
    _one_line(caught.value, str(folder / "MAMe_labels.csv"), words)


# ---- raw museum records (the synthetic museums, or any crawl in that layout) ----------------------
RECORDS_HEADER = "Image file,Museum,Museum-based instance ID,Medium\n"


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "cannot read"),
        (
            b"Image file,Museum,Medium\n1.jpg,Met,Bronze\n",
            "lacks the column(s) ['Museum-based instance ID']",
        ),
        ((RECORDS_HEADER + "1.jpg,Met,1,Bron\xffze\n").encode("latin-1"), "cannot read"),
        ((RECORDS_HEADER + '1.jpg,Met,1,"Bronze\n').encode(), "cannot read"),
    ],
    ids=["empty", "missing_column", "invalid_utf8", "unterminated_quote"],
)
def test_museum_records_file_refuses_each_case(tmp_path: Path, content: bytes, words: str) -> None:
    path = tmp_path / "museum_records.csv"
    path.write_bytes(content)
    with pytest.raises(BadInputError) as caught:
        load_museum_records(path)
    _one_line(caught.value, str(path), words)


def test_museum_records_with_bad_values_are_dropped_with_their_reason(tmp_path: Path) -> None:
    images = tmp_path / "data"
    images.mkdir()
    for name in ("a.jpg", "b.jpg", "c.jpg", "d.jpg"):
        (images / name).write_bytes(noise_jpeg(seed=len(name) + ord(name[0])))
    (tmp_path / "secret.jpg").write_bytes(noise_jpeg())
    (images / "link.jpg").symlink_to(tmp_path / "secret.jpg")
    path = tmp_path / "museum_records.csv"
    path.write_text(
        RECORDS_HEADER
        + "a.jpg,Met,1,Bronze\n"
        + "b.jpg,Met,2,Bronze\n"
        + "c.jpg,Met,3,Bronze\n"
        + "d.jpg,Met,4,Plastic and glitter\n"  # unknown medium
        + "a.jpg,Met,5,Bronze\n"  # duplicated file
        + "e.jpg,,6,Bronze\n"  # missing museum
        + "../secret.jpg,Met,7,Bronze\n"  # leaves the data folder
        + "/etc/passwd,Met,8,Bronze\n"  # absolute
        + "link.jpg,Met,9,Bronze\n"  # a link leading out of the data folder
    )
    result = curate_museum_records(
        load_museum_records(path),
        images_dir=images,
        label_map=LabelMap.load(LABEL_MAP),
        class_order=["Bronze"],
        min_product_size=0,
        drop_greyscale=False,
        min_images_per_class=2,
        split_sizes={"train": 1, "val": 0},
        seed=0,
    )
    reasons = {
        (row["Image file"], row["Museum-based instance ID"]): row["reason"]
        for _, row in result.dropped.iterrows()
    }
    assert reasons[("d.jpg", "4")] == UNMAPPED
    assert reasons[("a.jpg", "5")] == DUPLICATE
    assert reasons[("e.jpg", "6")] == MISSING_FIELD
    for name, key in (("../secret.jpg", "7"), ("/etc/passwd", "8"), ("link.jpg", "9")):
        assert reasons[(name, key)] == UNREADABLE
    detail = result.dropped.set_index("Image file").at["link.jpg", "detail"]
    assert "outside" in detail
    assert sorted(result.dataset["Image file"]) == ["a.jpg", "b.jpg", "c.jpg"]


def test_records_without_required_columns_name_them() -> None:
    with pytest.raises(BadInputError, match="Museum-based instance ID"):
        curate_museum_records(
            pd.DataFrame({"Image file": ["a.jpg"], "Museum": ["Met"], "Medium": ["Bronze"]}),
            images_dir=Path("."),
            label_map=LabelMap.load(LABEL_MAP),
            class_order=["Bronze"],
            min_product_size=0,
            drop_greyscale=False,
            min_images_per_class=2,
            split_sizes={"train": 1, "val": 0},
            seed=0,
        )


# ---- the Met ground truth ---------------------------------------------------------------------------
DATABASE = [{"id": 1, "path": "MET/1/0.jpg"}, {"id": 2, "path": "MET/2/0.jpg"}]
VALSET = [{"path": "test_met/v.jpg", "MET_id": 1}, {"path": "test_other/o.jpg"}]
TESTSET = [{"path": "test_met/t.jpg", "MET_id": 2}, {"path": "test_noart/n.jpg"}]


def _met(root: Path, database=DATABASE, valset=VALSET, testset=TESTSET) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, content in (
        ("MET_database.json", database),
        ("valset.json", valset),
        ("testset.json", testset),
    ):
        data = content if isinstance(content, bytes) else json.dumps(content).encode()
        (root / name).write_bytes(data)
    for entry in (*DATABASE, *VALSET, *TESTSET):
        image = root / "images" / entry["path"]
        image.parent.mkdir(parents=True, exist_ok=True)
        image.write_bytes(noise_jpeg(32, 32))
    return root


def _with(entries: list[dict], **changes) -> list[dict]:
    return [*entries[:-1], {**entries[-1], **changes}]


MET_CASES: dict[str, tuple[dict, str, str]] = {
    # (files to replace, file named in the message, words)
    "unknown_met_id": (
        {"valset": _with(VALSET, MET_id=99)},
        "valset.json entry 1",
        "MET_id 99 is not an exhibit id",
    ),
    "missing_path_key": (
        {"testset": [*TESTSET, {"MET_id": 1}]},
        "testset.json entry 2",
        "missing key(s) ['path']",
    ),
    "missing_id_key": (
        {"database": [*DATABASE, {"path": "MET/3/0.jpg"}]},
        "MET_database.json entry 2",
        "missing key(s) ['id']",
    ),
    "unexpected_key": (
        {"database": _with(DATABASE, colour="red")},
        "MET_database.json entry 1",
        "unexpected key(s) ['colour']",
    ),
    "id_as_text": (
        {"database": _with(DATABASE, id="2")},
        "MET_database.json entry 1",
        "'id' must be int",
    ),
    "id_as_float": (
        {"valset": _with(VALSET, MET_id=1.0)},
        "valset.json entry 1",
        "'MET_id' must be int",
    ),
    "id_as_bool": (
        {"database": _with(DATABASE, id=True)},
        "MET_database.json entry 1",
        "'id' must be int",
    ),
    "path_as_number": (
        {"testset": _with(TESTSET, path=5)},
        "testset.json entry 1",
        "'path' must be str",
    ),
    "entry_not_an_object": (
        {"testset": [*TESTSET, "x.jpg"]},
        "testset.json entry 2",
        "expected a JSON object",
    ),
    "duplicate_in_database": (
        {"database": [*DATABASE, DATABASE[0]]},
        "MET_database.json entry 2",
        "duplicate path",
    ),
    "duplicate_across_splits": (
        {"testset": [*TESTSET, VALSET[0]]},
        "testset.json entry 2",
        "already listed as valset.json entry 0",
    ),
    "empty_database": ({"database": []}, "MET_database.json", "lists no images"),
    "empty_valset": ({"valset": []}, "valset.json", "query list is empty"),
    "empty_testset": ({"testset": []}, "testset.json", "query list is empty"),
    "not_a_list": ({"valset": {"path": "x"}}, "valset.json", "expected a JSON list"),
    "truncated_json": ({"testset": json.dumps(TESTSET).encode()[:-7]}, "testset.json", "truncated"),
    "invalid_utf8": (
        {"valset": json.dumps(VALSET).encode().replace(b"test_other", b"test_\xffther")},
        "valset.json",
        "not UTF-8",
    ),
    "html_instead_of_json": (
        {"database": b"<html><body>404</body></html>"},
        "MET_database.json",
        "not valid JSON",
    ),
    "deeply_nested": ({"database": b"[" * 100_000 + b"]" * 100_000}, "MET_database.json", "JSON"),
    "parent_path": (
        {"testset": _with(TESTSET, path="test_noart/../../x.jpg")},
        "testset.json entry 1",
        "leaves the images folder",
    ),
    "absolute_path": (
        {"testset": _with(TESTSET, path="/etc/passwd")},
        "testset.json entry 1",
        "absolute path",
    ),
    "windows_path": (
        {"testset": _with(TESTSET, path="test_noart\\n.jpg")},
        "testset.json entry 1",
        "'/' separators",
    ),
    "not_normalised": (
        {"testset": _with(TESTSET, path="test_noart/./n.jpg")},
        "testset.json entry 1",
        "not normalised",
    ),
}


@pytest.mark.parametrize("case", sorted(MET_CASES))
def test_met_ground_truth_refuses_each_case(tmp_path: Path, case: str) -> None:
    changes, where, words = MET_CASES[case]
    arguments = {"database": DATABASE, "valset": VALSET, "testset": TESTSET, **changes}
    root = _met(tmp_path / "met", **arguments)
    with pytest.raises(MetGroundTruthError) as caught:
        load_met_ground_truth(root, check_images=False)
    message = _one_line(caught.value, where, words)
    assert str(root) in message


@pytest.mark.parametrize(
    ("break_it", "words"),
    [
        (lambda root, outside: (root / "images" / "MET/1/0.jpg").unlink(), "image not found"),
        (
            lambda root, outside: [
                (root / "images" / "MET/1/0.jpg").unlink(),
                (root / "images" / "MET/1/0.jpg").symlink_to(outside),
            ],
            "outside the images folder",
        ),
        (lambda root, outside: (root / "images" / "MET/1/0.jpg").write_bytes(b""), "empty"),
        (lambda root, outside: (root / "testset.json").unlink(), "ground-truth file not found"),
    ],
    ids=["missing_image", "image_linking_out", "empty_image", "missing_file"],
)
def test_met_image_folder_problems_are_named(
    tmp_path: Path, break_it: Callable[[Path, Path], object], words: str
) -> None:
    root = _met(tmp_path / "met")
    outside = tmp_path / "outside.jpg"
    outside.write_bytes(noise_jpeg())
    break_it(root, outside)
    with pytest.raises(MetGroundTruthError) as caught:
        load_met_ground_truth(root)
    _one_line(caught.value, words)


def test_the_valid_met_ground_truth_loads(tmp_path: Path) -> None:
    truth = load_met_ground_truth(_met(tmp_path / "met"))
    assert truth.train_paths == ("MET/1/0.jpg", "MET/2/0.jpg") and truth.n_classes == 2
