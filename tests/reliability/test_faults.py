"""Faults: kill -9 in the middle of training, descriptor extraction, archive extraction and
``dvc repro``, then a rerun: the result equals an uninterrupted run and no half-written file is
ever taken as complete. A full disk gives a one-line error and the previous file survives.

The killed programs are short scripts on tiny data run in subprocesses; each is slowed down (a
sleep per item) just enough for the kill to land mid-run, and each test checks that it did.
"""

from __future__ import annotations

import errno
import os
import runpy
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from artrec.errors import DiskFullError
from artrec.images.preprocess import ResizeSpec, preprocess_dataset
from artrec.ingest import archive as archive_module
from artrec.ingest.archive import safe_extract
from artrec.utils.atomic import atomic_write_text
from tests.reliability.hostile import noise_jpeg

ENV = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1", "DVC_NO_ANALYTICS": "1"}
BIN = Path(sys.executable).parent


def _script(path: Path, body: str) -> Path:
    path.write_text(textwrap.dedent(body))
    return path


def _kill_when(
    command: list[str], ready: Callable[[], bool], cwd: Path, timeout: float = 120
) -> None:
    """Start ``command``, SIGKILL its whole process group once ``ready()``; it must still run."""
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=ENV,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + timeout
    while not ready():
        if process.poll() is not None:
            raise AssertionError(
                f"{command} ended before the kill: {process.stderr.read()[-3000:]}"
            )
        if time.monotonic() > deadline:
            os.killpg(process.pid, signal.SIGKILL)
            raise AssertionError(f"{command}: nothing to kill at after {timeout} s")
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL, process.returncode


def _run(command: list[str], cwd: Path, timeout: float = 180) -> subprocess.CompletedProcess:
    result = subprocess.run(
        command, cwd=cwd, env=ENV, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, f"{command}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


# ---- training ---------------------------------------------------------------------------------------
# The scripts define ``run(...)``: the test calls it in-process (without the per-item delay) for the
# uninterrupted reference, and runs the file as a program for the run that is killed and resumed,
# which saves one interpreter start-up (torch, seconds on a busy machine).
TRAIN = """
    import sys, time
    import torch
    from torch import nn
    from torch.utils.data import DataLoader, Dataset
    from artrec.training.loop import train_classifier

    class Slow(Dataset):
        def __init__(self, n, seed, delay):
            generator = torch.Generator().manual_seed(seed)
            self.x = torch.randn(n, 8, generator=generator)
            self.y = (self.x[:, 0] > 0).long()
            self.delay = delay
        def __len__(self):
            return len(self.x)
        def __getitem__(self, i):
            time.sleep(self.delay)  # so that a kill lands inside an epoch
            return self.x[i], self.y[i]

    def run(checkpoint_dir, delay):
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            torch.manual_seed(0)
            model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))
            generator = torch.Generator()
            train = DataLoader(Slow(32, 1, delay), batch_size=8, shuffle=True, generator=generator)
            val = DataLoader(Slow(16, 2, delay), batch_size=8)
            result = train_classifier(
                model, train, val, epochs=4, lr=0.01, checkpoint_dir=checkpoint_dir, seed=0,
                progress=False,
            )
        finally:
            torch.set_num_threads(threads)
        timing = [c for c in result.history.columns if "seconds" in c or "per_s" in c]
        return {
            "history": result.history.drop(columns=timing).to_dict("list"),
            "best_epoch": result.best_epoch,
            "best": result.best_state_dict,
            "last": model.state_dict(),
        }

    if __name__ == "__main__":
        torch.save(run(sys.argv[1], 0.01), sys.argv[2])
"""


def test_training_killed_mid_epoch_resumes_to_the_uninterrupted_result(tmp_path: Path) -> None:
    script = _script(tmp_path / "train.py", TRAIN)
    checkpoint = tmp_path / "ckpt" / "checkpoint.pt"
    command = [sys.executable, str(script), str(tmp_path / "ckpt"), str(tmp_path / "out.pt")]
    _kill_when(command, checkpoint.exists, tmp_path)
    # What the kill left is a complete checkpoint (written atomically) and no result.
    state = torch.load(checkpoint, weights_only=True)
    assert 1 <= state["epoch"] < 4 and not (tmp_path / "out.pt").exists()
    _run(command, tmp_path)

    resumed = torch.load(tmp_path / "out.pt", weights_only=True)
    uninterrupted = runpy.run_path(str(script))["run"](tmp_path / "reference", 0.0)
    assert resumed["history"] == uninterrupted["history"]
    assert resumed["best_epoch"] == uninterrupted["best_epoch"]
    for key in ("best", "last"):
        for name, tensor in uninterrupted[key].items():
            assert torch.equal(resumed[key][name], tensor), (key, name)


# ---- descriptor extraction ------------------------------------------------------------------------
EXTRACT = """
    import sys, time
    import numpy as np
    import torch
    from torch import nn
    from torch.utils.data import Dataset
    from artrec.retrieval.embedder import Embedder
    from artrec.retrieval.extract import extract_descriptors

    class Slow(Dataset):
        def __init__(self, delay):
            self.images = torch.rand(12, 3, 16, 16, generator=torch.Generator().manual_seed(0))
            self.delay = delay
        def __len__(self):
            return len(self.images)
        def __getitem__(self, i):
            time.sleep(self.delay)
            return self.images[i], i

    def run(cache, delay):
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            torch.manual_seed(0)
            embedder = Embedder(nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()), 4)
            return extract_descriptors(
                embedder, Slow(delay), batch_size=2, chunk_size=2, out_dir=cache, progress=False
            )
        finally:
            torch.set_num_threads(threads)

    if __name__ == "__main__":
        result = run(sys.argv[1], 0.15)
        np.save(sys.argv[2], result.descriptors)
        np.save(sys.argv[3], result.ids)
"""


def test_extraction_killed_mid_run_resumes_to_the_uninterrupted_result(tmp_path: Path) -> None:
    script = _script(tmp_path / "extract.py", EXTRACT)
    cache = tmp_path / "cache"
    command = [
        sys.executable,
        str(script),
        str(cache),
        str(tmp_path / "desc.npy"),
        str(tmp_path / "ids.npy"),
    ]
    _kill_when(command, lambda: (cache / "chunks" / "chunk_00000.npy").exists(), tmp_path)
    # Every chunk under its final name is complete; the final arrays do not exist yet.
    finished = sorted((cache / "chunks").glob("chunk_*[0-9].npy"))
    assert finished and len(finished) < 6
    for path in finished:
        assert np.load(path, allow_pickle=False).shape == (2, 4)
    assert not (cache / "descriptors.npy").exists()
    _run(command, tmp_path)

    uninterrupted = runpy.run_path(str(script))["run"](None, 0.0)
    np.testing.assert_array_equal(np.load(tmp_path / "desc.npy"), uninterrupted.descriptors)
    np.testing.assert_array_equal(np.load(tmp_path / "ids.npy"), uninterrupted.ids)


# ---- archive extraction -------------------------------------------------------------------------------
EXTRACT_ARCHIVE = """
    import contextlib, sys, time
    from pathlib import Path
    from artrec.ingest import archive
    from artrec.utils.atomic import atomic_write

    @contextlib.contextmanager
    def slow_atomic_write(path, mode="wb"):
        with atomic_write(path, mode) as handle:
            yield handle
            time.sleep(0.05)  # the member's bytes are in the temporary file, not yet renamed

    archive.atomic_write = slow_atomic_write
    archive.safe_extract(Path(sys.argv[1]), Path(sys.argv[2]))
"""


def test_archive_extraction_killed_mid_run_resumes_to_the_complete_archive(tmp_path: Path) -> None:
    members = {f"data/{i:03d}.bin": np.random.default_rng(i).bytes(20_000) for i in range(40)}
    path = tmp_path / "a.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    target = tmp_path / "out"
    script = _script(tmp_path / "unpack.py", EXTRACT_ARCHIVE)
    _kill_when(
        [sys.executable, str(script), str(path), str(target)],
        lambda: (target / "data" / "001.bin").exists(),
        tmp_path,
    )
    present = [p for p in (target / "data").iterdir() if not p.name.startswith(".")]
    assert 0 < len(present) < len(members)
    for file in present:  # nothing under a member's name is half-written
        assert file.read_bytes() == members[f"data/{file.name}"]
    safe_extract(path, target)
    assert {f"data/{p.name}": p.read_bytes() for p in (target / "data").iterdir()} == members


# ---- dvc repro -------------------------------------------------------------------------------------------
STAGE = """
    import time
    from artrec.utils.atomic import atomic_write_text
    for i in range(5):
        atomic_write_text(f"out/part{i}.txt", f"part {i}\\n" * 1000)
        time.sleep(0.3)
    atomic_write_text("out/done.txt", "done\\n")
"""


def test_dvc_repro_killed_mid_stage_reruns_to_the_uninterrupted_result(tmp_path: Path) -> None:
    dvc = str(BIN / "dvc")
    project = tmp_path / "project"
    project.mkdir()
    _script(project / "stage.py", STAGE)
    (project / "dvc.yaml").write_text(
        f"stages:\n  slow:\n    cmd: {sys.executable} stage.py\n    deps: [stage.py]\n    outs: [out]\n"
    )
    _run([dvc, "init", "--no-scm", "-q"], project)
    _kill_when([dvc, "repro"], lambda: (project / "out" / "part0.txt").exists(), project)
    # The killed stage was never recorded as done: no lock entry, the output is incomplete.
    assert not (project / "dvc.lock").exists()
    assert not (project / "out" / "done.txt").exists()
    _run([dvc, "repro"], project)
    expected = {f"part{i}.txt": f"part {i}\n" * 1000 for i in range(5)} | {"done.txt": "done\n"}
    assert {p.name: p.read_text() for p in (project / "out").iterdir()} == expected
    status = _run([dvc, "status"], project).stdout
    assert "up to date" in status, status


# ---- a full disk --------------------------------------------------------------------------------------------
@pytest.fixture
def full_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every fsync fails with ENOSPC, as on a full disk (writes are flushed before the rename)."""

    def no_space(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", no_space)


def _full_disk_message(error: BaseException, path: Path) -> None:
    message = str(error)
    assert isinstance(error, DiskFullError) and isinstance(error, OSError)
    assert error.errno == errno.ENOSPC
    assert "\n" not in message and str(path) in message and "no space left" in message, message
    assert "free disk space" in message


def test_a_full_disk_keeps_the_previous_file(tmp_path: Path, full_disk) -> None:
    path = tmp_path / "table.csv"
    path.write_text("the earlier good output\n")
    with pytest.raises(DiskFullError) as caught:
        atomic_write_text(path, "new content\n" * 1000)
    _full_disk_message(caught.value, path)
    assert "previous version is unchanged" in str(caught.value)
    assert path.read_text() == "the earlier good output\n"
    assert [p.name for p in tmp_path.iterdir()] == ["table.csv"]  # no temporary file left


def test_a_full_disk_stops_preprocessing_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "a.jpg"
    source.write_bytes(noise_jpeg())
    out = tmp_path / "out"
    fsync, calls = os.fsync, []

    def full_after_the_journal(fd: int) -> None:
        # The write's small resume journal (artrec.utils.partitions) still fits; the image not.
        calls.append(fd)
        if len(calls) > 1:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        fsync(fd)

    monkeypatch.setattr(os, "fsync", full_after_the_journal)
    with pytest.raises(DiskFullError) as caught:
        preprocess_dataset(
            [("a.jpg", source)], out, ResizeSpec("fixed", 16), workers=1, progress=False
        )
    _full_disk_message(caught.value, out / "a.jpg")
    assert not (out / "a.jpg").exists()


def test_a_full_disk_during_extraction_is_not_called_a_damaged_archive(
    tmp_path: Path, full_disk
) -> None:
    path = tmp_path / "a.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("x.csv", "a,b\n" * 100)
    target = tmp_path / "out"
    target.mkdir()
    (target / "earlier.csv").write_text("kept\n")
    with pytest.raises(DiskFullError) as caught:
        safe_extract(path, target)
    _full_disk_message(caught.value, target / "x.csv")
    assert sorted(p.name for p in target.iterdir()) == ["earlier.csv"]
    assert archive_module  # the module under test


def test_a_full_disk_during_a_download_keeps_the_partial_file(tmp_path: Path, full_disk) -> None:
    from artrec.ingest.download import download, partial_path

    source = tmp_path / "source.zip"
    source.write_bytes(b"x" * 10_000)
    dest = tmp_path / "dl" / "source.zip"
    with pytest.raises(DiskFullError) as caught:
        download(str(source), dest, None, progress=False)
    _full_disk_message(caught.value, partial_path(dest))
    assert "resumes" in str(caught.value) and not dest.exists()


def test_dvc_is_on_the_path_of_this_environment() -> None:
    assert shutil.which("dvc", path=str(BIN)), "the dvc kill test needs the project's dvc"
