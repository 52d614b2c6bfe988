"""Run identity helpers of artrec.tracking (no MLflow server needed)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from artrec.tracking import (
    dvc_hash_of,
    dvc_out_hashes,
    git_state,
    run_tags,
    variant_of,
    variant_params,
)


def test_variant_identity():
    assert variant_of(["mame", "vgg11_hrvs"]) == "vgg11_hrvs"
    assert variant_of(["mame", "vgg11_hrvs", "resnet18_lrfs"]) is None
    assert variant_of(["met"]) is None
    assert variant_params("resnet18_hrvs_bucketed") == {
        "arch": "resnet18",
        "input": "hrvs",
        "method": "bucketed",
    }
    assert variant_params("vgg11_lrfs")["method"] == "paper"
    with pytest.raises(ValueError):
        variant_params("knn")


def test_run_tags(tmp_path, monkeypatch):
    monkeypatch.setenv("DVC_STAGE", "train_mame@vgg11-hrvs")
    monkeypatch.setenv("DVC_EXP_NAME", "seedy-fern")
    tags = run_tags(tmp_path, {"profile": "tiny", "data": {"mame": {"source": "synthetic"}}})
    assert tags["profile"] == "tiny" and tags["data.mame.source"] == "synthetic"
    assert tags["dvc.stage"] == "train_mame@vgg11-hrvs"
    assert tags["dvc.exp_name"] == "seedy-fern" and tags["artrec.repro"] == "exp:seedy-fern"
    assert "git.commit" not in tags  # not a git checkout


def test_git_state_ignores_dvc_lock(tmp_path):
    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
            cwd=tmp_path,
            check=True,
            capture_output=True,
        )

    git("init", "-q")
    (tmp_path / "dvc.lock").write_text("a\n")
    (tmp_path / "code.py").write_text("a\n")
    git("add", "-A")
    git("commit", "-qm", "c")
    (tmp_path / "dvc.lock").write_text("b\n")
    assert git_state(tmp_path)["git.dirty"] == "false"
    (tmp_path / "code.py").write_text("b\n")
    state = git_state(tmp_path)
    assert state["git.dirty"] == "true" and len(state["git.commit"]) == 40


def test_dvc_hashes(tmp_path):
    (tmp_path / "dvc.lock").write_text(
        "schema: '2.0'\nstages:\n  s:\n    cmd: x\n    outs:\n"
        "    - path: data/03_primary/mame\n      md5: abc.dir\n"
        "    - path: data/03_primary/mame_extra.csv\n      md5: def\n"
    )
    hashes = dvc_out_hashes(tmp_path)
    assert dvc_hash_of(tmp_path / "data/03_primary/mame/MAMe_dataset.csv", tmp_path, hashes) == (
        "data/03_primary/mame",
        "abc.dir",
    )
    assert dvc_hash_of(tmp_path / "data/03_primary/mame_extra.csv", tmp_path, hashes)[1] == "def"
    assert dvc_hash_of(tmp_path / "data/elsewhere", tmp_path, hashes) is None
    assert dvc_out_hashes(Path(tmp_path / "missing")) == {}
