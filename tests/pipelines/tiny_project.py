"""Make a throw-away copy of the project with the ``tiny`` profile and run commands in it."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def tool_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.update(KEDRO_DISABLE_TELEMETRY="1", DO_NOT_TRACK="1", PYTHONUNBUFFERED="1")
    env.update(
        GIT_AUTHOR_NAME="t",
        GIT_AUTHOR_EMAIL="t@t",
        GIT_COMMITTER_NAME="t",
        GIT_COMMITTER_EMAIL="t@t",
    )
    env.pop("MLFLOW_TRACKING_URI", None)
    env.update(extra)
    return env


def run(cmd: list[str], cwd: Path, timeout: float = 900, **env: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        cmd, cwd=cwd, env=tool_env(**env), capture_output=True, text=True, timeout=timeout
    )
    if result.returncode != 0:
        raise AssertionError(
            f"{' '.join(cmd)} failed ({result.returncode})\n--- stdout\n{result.stdout[-6000:]}"
            f"\n--- stderr\n{result.stderr[-6000:]}"
        )
    return result


def copy_project(repo: Path, dest: Path, profile: str = "tiny") -> Path:
    """Copy the files git knows (tracked or not ignored), as a fresh clone plus local edits would."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    for name in filter(None, listed):
        source = repo / name
        if source.is_file():
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    params = dest / "params.yaml"
    text = params.read_text()
    params.write_text(text.replace("\nprofile: default\n", f"\nprofile: {profile}\n", 1))
    # The copy has no `../shared` beside it unless we link one: keep the real Tate file reachable
    # so the label-map coverage path runs too.
    shared = (repo / ".." / "shared").resolve()
    if shared.is_dir() and not (dest.parent / "shared").exists():
        (dest.parent / "shared").symlink_to(shared)
    run(["git", "init", "-q"], dest)
    run(["git", "add", "-A"], dest)
    run(["git", "commit", "-qm", "copy"], dest)
    return dest


class BackgroundRepro:
    """``dvc repro`` of a tiny copy of the project, started early and waited for late.

    The repro is a chain of single-process stages (mostly Python start-up), so it leaves a core
    idle on a 2-core machine: ``tests/conftest.py`` starts it at the beginning of the session and
    moves the tests that need it to the end, so the rest of the suite runs beside it. The result
    is the same project the tests would get from ``run(["dvc", "repro"], ...)``.
    """

    def __init__(self, repo: Path, dest: Path) -> None:
        self.project = copy_project(repo, dest)
        self.log = dest.parent / "tiny_repro.log"
        self.started = time.perf_counter()
        with self.log.open("w") as log:
            # Its own process group, so an aborted session can stop every stage it started.
            self.process = subprocess.Popen(
                ["dvc", "repro"],
                cwd=self.project,
                env=tool_env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,
            )
        self.elapsed: float | None = None

    def wait(self, timeout: float = 1500) -> Path:
        """The reproduced project; fails with the end of ``dvc repro``'s output if it failed."""
        remaining = timeout - (time.perf_counter() - self.started)
        try:
            returncode = self.process.wait(timeout=max(remaining, 1))
        except subprocess.TimeoutExpired:
            self.stop()
            raise AssertionError(
                f"dvc repro took more than {timeout} s\n{self.log.read_text()[-6000:]}"
            ) from None
        if self.elapsed is None:
            self.elapsed = time.perf_counter() - self.started
        if returncode != 0:
            raise AssertionError(
                f"dvc repro failed ({returncode})\n--- output\n{self.log.read_text()[-12000:]}"
            )
        return self.project

    def stop(self) -> None:
        """Stop the repro (and its stages) if it still runs, e.g. when the session is aborted."""
        if self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)
