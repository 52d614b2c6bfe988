import json

import numpy as np
import pytest

from artrec.utils.atomic import atomic_write, atomic_write_json, atomic_write_text


def test_atomic_write_replaces_whole_file(tmp_path):
    target = tmp_path / "out.txt"
    atomic_write_text(target, "old")
    atomic_write_text(target, "new content")
    assert target.read_text() == "new content"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_atomic_write_keeps_old_file_on_error(tmp_path):
    target = tmp_path / "out.txt"
    atomic_write_text(target, "old")
    with pytest.raises(RuntimeError), atomic_write(target, "w") as handle:
        handle.write("half")
        raise RuntimeError("crash mid-write")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_atomic_write_json_handles_numpy_scalars(tmp_path):
    target = tmp_path / "m.json"
    atomic_write_json(target, {"acc": np.float32(0.5), "n": np.int64(3)})
    assert json.loads(target.read_text()) == {"acc": 0.5, "n": 3}


def test_atomic_write_rejects_read_mode(tmp_path):
    with pytest.raises(ValueError), atomic_write(tmp_path / "x", "r"):
        pass
