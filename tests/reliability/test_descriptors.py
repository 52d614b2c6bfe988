"""Hostile descriptor pickles at ``load_descriptor_pickle``/``check_descriptors`` and at the
``artrec evaluate-descriptors`` command: nothing in the file runs, and every problem is one line
on stderr with exit code 2."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
from pathlib import Path

import numpy as np
import pytest

from artrec import commands
from artrec.errors import BadInputError
from artrec.retrieval.descriptors import (
    UnsafePickleError,
    check_descriptors,
    load_descriptor_pickle,
)
from tests.reliability.hostile import artrec_cli, assert_one_line_error

N_TRAIN, N_VAL, N_TEST, DIM = 12, 4, 6, 8
ROWS = {"train_descriptors": N_TRAIN, "val_descriptors": N_VAL, "test_descriptors": N_TEST}


def _good() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {key: rng.normal(size=(rows, DIM)).astype(np.float32) for key, rows in ROWS.items()}


@pytest.fixture(scope="module")
def ground_truth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("met_gt")
    database = [{"id": i % 6, "path": f"MET/{i}.jpg"} for i in range(N_TRAIN)]
    valset = [{"path": f"test_met/v{i}.jpg", "MET_id": i % 6} for i in range(N_VAL - 1)]
    testset = [{"path": f"test_met/t{i}.jpg", "MET_id": i % 6} for i in range(N_TEST - 1)]
    (root / "MET_database.json").write_text(json.dumps(database))
    (root / "valset.json").write_text(json.dumps([*valset, {"path": "test_other/o.jpg"}]))
    (root / "testset.json").write_text(json.dumps([*testset, {"path": "test_noart/n.jpg"}]))
    return root


# ---- pickles that run code -----------------------------------------------------------------------
class _Reduces:
    def __init__(self, function, *args):
        self.function, self.args = function, args

    def __reduce__(self):
        return self.function, self.args


class _Custom:  # any class at all is refused, not only dangerous ones
    pass


def _calls(marker: Path) -> dict[str, object]:
    return {
        "os_system": _Reduces(os.system, f"touch {marker}"),
        "eval": _Reduces(eval, f"open({str(marker)!r}, 'w')"),
        "exec": _Reduces(exec, f"open({str(marker)!r}, 'w')"),
        "subprocess": _Reduces(subprocess.Popen, ["touch", str(marker)]),
        "import": _Reduces(__import__, "os"),
        "custom_class": _Custom(),
    }


@pytest.mark.parametrize("protocol", [0, 2, 4, 5])
@pytest.mark.parametrize(
    "payload", ["os_system", "eval", "exec", "subprocess", "import", "custom_class"]
)
def test_a_pickle_that_runs_code_is_refused_before_it_runs(
    tmp_path: Path, payload: str, protocol: int
) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "descriptors.pkl"
    content = {**_good(), "train_descriptors": _calls(marker)[payload]}
    path.write_bytes(pickle.dumps(content, protocol=protocol))
    with pytest.raises(UnsafePickleError) as caught:
        load_descriptor_pickle(path)
    assert isinstance(caught.value, pickle.UnpicklingError) and isinstance(
        caught.value, BadInputError
    )
    message = str(caught.value)
    assert "\n" not in message and str(path) in message and "refusing" in message
    assert not marker.exists()


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        # bytearray(2**31 - 1) and bytearray(10**12): a few bytes of pickle asking for gigabytes
        (b"\x80\x02cbuiltins\nbytearray\nJ\xff\xff\xff\x7f\x85R.", r"bytearray\(<size>\)"),
        (
            b"\x80\x02c__builtin__\nbytearray\n\x8a\x06\x00\x10\xa5\xd4\xe8\x00\x85R.",
            r"bytearray\(<size>\)",
        ),
        # _codecs.encode is admitted for protocol 2 bytes, with latin-1 only
        (
            b"\x80\x02c_codecs\nencode\nX\x04\x00\x00\x00dataX\x04\x00\x00\x00zlib\x86R.",
            "encoding 'zlib'",
        ),
    ],
    ids=["bytearray_bomb", "bytearray_bomb_py2_name", "codec_other_than_latin1"],
)
def test_admitted_globals_cannot_be_abused(tmp_path: Path, raw: bytes, words: str) -> None:
    path = tmp_path / "descriptors.pkl"
    path.write_bytes(raw)
    with pytest.raises(UnsafePickleError, match=words):
        load_descriptor_pickle(path)


# ---- broken files and bad values -------------------------------------------------------------------
def _write(path: Path, content: object) -> Path:
    path.write_bytes(content if isinstance(content, bytes) else pickle.dumps(content, protocol=4))
    return path


BAD_FILES: dict[str, tuple[object, str]] = {
    "empty": (b"", "truncated"),
    "truncated": (pickle.dumps(_good(), protocol=4)[:300], "truncated"),
    "not_a_pickle": (b"<html><body>404</body></html>", "not a valid pickle"),
    "random_bytes": (np.random.default_rng(1).bytes(2000), "pickle"),
    "a_list": ([np.zeros((2, 2))], "expected a dict"),
    "strings": ({**_good(), "val_descriptors": np.array([["a", "b"]])}, "not a numeric array"),
    "objects": (
        {**_good(), "val_descriptors": np.array([[{"x": 1}]], dtype=object)},
        "not a numeric array",
    ),
    "ragged": ({**_good(), "val_descriptors": [[1.0, 2.0], [3.0]]}, "not an array"),
    "nan": (
        {**_good(), "test_descriptors": np.full((N_TEST, DIM), np.nan, np.float32)},
        "NaN or infinite",
    ),
    "inf": ({**_good(), "train_descriptors": np.full((N_TRAIN, DIM), np.inf)}, "NaN or infinite"),
    "beyond_float32": (
        {**_good(), "val_descriptors": np.full((N_VAL, DIM), 1e300)},
        "float32 range",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_broken_files_and_bad_values_are_named(tmp_path: Path, case: str) -> None:
    content, words = BAD_FILES[case]
    path = _write(tmp_path / "descriptors.pkl", content)
    with pytest.raises(BadInputError) as caught:
        load_descriptor_pickle(path)
    message = str(caught.value)
    assert "\n" not in message and str(path) in message and words in message, message


SHAPES: dict[str, tuple[dict[str, np.ndarray], str]] = {
    "missing_key": (
        {k: v for k, v in _good().items() if k != "test_descriptors"},
        "lacks ['test_descriptors']",
    ),
    "one_dimensional": ({**_good(), "val_descriptors": np.zeros(N_VAL, np.float32)}, "shape (4,)"),
    "three_dimensional": (
        {**_good(), "val_descriptors": np.zeros((N_VAL, 2, 4), np.float32)},
        "shape (4, 2, 4)",
    ),
    "zero_columns": (
        {**_good(), "train_descriptors": np.zeros((N_TRAIN, 0), np.float32)},
        "shape (12, 0)",
    ),
    "dimensions_differ": (
        {**_good(), "test_descriptors": np.zeros((N_TEST, DIM + 1), np.float32)},
        "dimensions differ",
    ),
    "rows_do_not_match": (
        {**_good(), "train_descriptors": np.zeros((N_TRAIN - 1, DIM), np.float32)},
        "11 rows but",
    ),
    "no_rows": ({**_good(), "test_descriptors": np.zeros((0, DIM), np.float32)}, "0 rows but"),
}


@pytest.mark.parametrize("case", sorted(SHAPES))
def test_wrong_shapes_and_row_counts_are_named(
    tmp_path: Path, ground_truth: Path, case: str
) -> None:
    content, words = SHAPES[case]
    path = _write(tmp_path / "descriptors.pkl", content)
    with pytest.raises(BadInputError) as caught:
        check_descriptors(load_descriptor_pickle(path), ROWS, path, ground_truth)
    message = str(caught.value)
    assert "\n" not in message and str(path) in message and words in message, message


# ---- the command -------------------------------------------------------------------------------------
def _main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        commands.main(["evaluate-descriptors", *args])
    captured = capsys.readouterr()
    return int(exited.value.code), captured.out, captured.err


@pytest.mark.parametrize(
    "case",
    ["os_system", "nan", "truncated", "rows_do_not_match", "dimensions_differ", "missing_key"],
)
def test_the_command_ends_bad_pickles_with_one_line(
    tmp_path: Path, ground_truth: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "descriptors.pkl"
    if case == "os_system":
        _write(path, {**_good(), "train_descriptors": _calls(marker)["os_system"]})
    elif case in BAD_FILES:
        _write(path, BAD_FILES[case][0])
    else:
        _write(path, SHAPES[case][0])
    code, out, err = _main(
        capsys, "--descriptors", str(path), "--ground-truth", str(ground_truth), "--autotune"
    )
    assert code == 2 and out == ""
    assert_one_line_error(err, str(path), "Fix:")
    assert not marker.exists()


@pytest.mark.parametrize(
    ("arguments", "words"),
    [
        (["--k", "0", "--tau", "1"], "--k"),
        (["--k", "3", "--tau", "-1"], "--tau"),
        (["--k", "3", "--tau", "nan"], "--tau"),
        (["--k", "3", "--tau", "inf"], "--tau"),
        (["--autotune", "--dim", "0"], "--dim"),
    ],
)
def test_the_command_refuses_bad_numbers(
    tmp_path: Path,
    ground_truth: Path,
    capsys: pytest.CaptureFixture[str],
    arguments: list[str],
    words: str,
) -> None:
    path = _write(tmp_path / "descriptors.pkl", _good())
    code, _, err = _main(
        capsys, "--descriptors", str(path), "--ground-truth", str(ground_truth), *arguments
    )
    assert code == 2
    assert_one_line_error(err, words)


def test_the_command_names_a_broken_ground_truth(
    tmp_path: Path, ground_truth: Path, capsys
) -> None:
    broken = tmp_path / "gt"
    broken.mkdir()
    for name in ("MET_database.json", "valset.json"):
        (broken / name).write_bytes((ground_truth / name).read_bytes())
    (broken / "testset.json").write_text('[{"path": "test_met/t0.jpg", "MET_id": 1}, {"pa')
    path = _write(tmp_path / "descriptors.pkl", _good())
    code, _, err = _main(
        capsys, "--descriptors", str(path), "--ground-truth", str(broken), "--autotune"
    )
    assert code == 2
    assert_one_line_error(err, str(broken / "testset.json"), "truncated")


def test_the_real_command_line_prints_one_line_and_runs_nothing(
    tmp_path: Path, ground_truth: Path
) -> None:
    marker = tmp_path / "pwned"
    path = _write(
        tmp_path / "descriptors.pkl", {**_good(), "val_descriptors": _calls(marker)["eval"]}
    )
    result = artrec_cli(
        "evaluate-descriptors",
        "--descriptors",
        str(path),
        "--ground-truth",
        str(ground_truth),
        "--autotune",
    )
    assert result.returncode == 2 and result.stdout == ""
    assert_one_line_error(result.stderr, str(path), "refusing to load global")
    assert not marker.exists()


def test_a_good_pickle_still_evaluates(tmp_path: Path, ground_truth: Path, capsys) -> None:
    good = _write(tmp_path / "good.pkl", _good())
    arguments = ["--descriptors", str(good), "--ground-truth", str(ground_truth)]
    code, out, err = _main(capsys, *arguments, "--k", "1", "--tau", "1", "--raw")
    assert code == 0, err
    assert set(json.loads(out)) >= {"GAP", "GAP-", "ACC", "k", "tau"}
