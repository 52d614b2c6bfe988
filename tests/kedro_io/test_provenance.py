"""ProvenanceRecordsDataset: one JSON record per pipeline, written atomically, checked on load."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from artrec.errors import BadInputError, find_artrec_error, one_line_message
from artrec.kedro_io import ProvenanceRecordsDataset
from artrec.reporting.provenance import make_record


def _record(pipeline: str, session: str = "s") -> dict:
    run = {"session": session, "mlflow_run_id": "r", "git_revision": "abc", "started": "t"}
    return make_record(pipeline, run, {"out": f"data/{pipeline}.csv"})


def test_records_round_trip_sorted_by_pipeline(tmp_path: Path) -> None:
    dataset = ProvenanceRecordsDataset(str(tmp_path / "09_provenance"))
    assert dataset.load() == [] and not dataset.exists()
    for name in ("train_vgg11_lrfs", "embed", "preprocess_hrvs"):
        dataset.save(_record(name))
    assert [r["pipeline"] for r in dataset.load()] == [
        "embed",
        "preprocess_hrvs",
        "train_vgg11_lrfs",
    ]
    assert dataset.load_record("embed") == _record("embed")
    assert dataset.load_record("knn") is None
    dataset.save(_record("embed", session="s2"))  # replaced, no temporary file left behind
    assert dataset.load_record("embed")["runs"][0]["session"] == "s2"
    assert sorted(p.name for p in (tmp_path / "09_provenance").iterdir()) == [
        "embed.json",
        "preprocess_hrvs.json",
        "train_vgg11_lrfs.json",
    ]


@pytest.mark.parametrize("name", ["../escape", "a/b", "", ".hidden"])
def test_a_record_name_is_never_a_path(tmp_path: Path, name: str) -> None:
    dataset = ProvenanceRecordsDataset(str(tmp_path / "records"))
    with pytest.raises(Exception, match="not usable as a record name"):
        dataset.save(_record(name))
    assert not (tmp_path / "escape.json").exists()


def test_a_malformed_record_is_not_saved(tmp_path: Path) -> None:
    dataset = ProvenanceRecordsDataset(str(tmp_path))
    with pytest.raises(Exception, match="not a provenance record"):
        dataset.save({"pipeline": "x", "runs": []})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b'{"pipeline": "knn", "runs": [', "not a provenance record: Expecting"),
        (b"\xff\xfe", "not a provenance record"),
        (json.dumps({"pipeline": "knn"}).encode(), "not a provenance record: lacks the key(s)"),
    ],
    ids=["truncated", "not_utf8", "missing_keys"],
)
def test_a_damaged_record_is_refused_in_one_line(
    tmp_path: Path, content: bytes, words: str
) -> None:
    (tmp_path / "knn.json").write_bytes(content)
    with pytest.raises(Exception) as caught:  # noqa: B017 - Kedro wraps it in a DatasetError
        ProvenanceRecordsDataset(str(tmp_path)).load()
    # the one line `kedro run` ends with (artrec.hooks.ErrorSummaryHook)
    assert isinstance(find_artrec_error(caught.value), BadInputError)
    message = one_line_message(caught.value)
    assert message.startswith(f"{tmp_path / 'knn.json'}: {words}"), message
    assert "Fix:" in message and "\n" not in message
