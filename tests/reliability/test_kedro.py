"""What a user sees when a Kedro stage (``kedro run``, which ``dvc repro`` runs) meets bad input:
a non-zero exit, and a last line ``error: <file>: <problem>. Fix: <fix>`` instead of a traceback,
with the earlier good output untouched."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from artrec.curation.mame import MAME_LABELS
from artrec.errors import BadInputError
from artrec.hooks import install_error_summary

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
HEADER = "Image file,Medium,Museum,Museum-based instance ID,Subset,Width,Height,Product size,Aspect ratio\n"


def _project(root: Path) -> Path:
    """The files ``kedro run`` needs: configuration, parameters, the package (no data)."""
    root.mkdir()
    for name in ("params.yaml", "pyproject.toml"):
        shutil.copy(REPO / name, root / name)
    shutil.copytree(REPO / "conf", root / "conf")
    shutil.copytree(
        REPO / "src" / "artrec",
        root / "src" / "artrec",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    return root


def test_a_broken_csv_ends_kedro_run_with_one_clear_line(tmp_path: Path) -> None:
    project = _project(tmp_path / "project")
    raw = project / "data" / "01_raw" / "mame"
    raw.mkdir(parents=True)
    (raw / "MAMe_labels.csv").write_text("".join(f"{i},{n}\n" for i, n in enumerate(MAME_LABELS)))
    (raw / "MAMe_dataset.csv").write_text(
        HEADER + "1.jpg,Bronze,Met,1,trian,400.0,300.0,120000.0,1.3333\n"
    )
    earlier = project / "data" / "03_primary" / "mame" / "MAMe_dataset.csv"
    earlier.parent.mkdir(parents=True)
    earlier.write_text("the earlier good output\n")

    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "1", "DO_NOT_TRACK": "1"}
    env.pop("MLFLOW_TRACKING_URI", None)
    result = subprocess.run(
        [str(BIN / "kedro"), "run", "--pipeline", "curate_mame"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: {raw / 'MAMe_dataset.csv'}: line 2, column 'Subset'"), last
    assert "'trian' is not one of" in last and "Fix:" in last
    # a bad-input error is the whole story: Kedro's traceback is not printed
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert earlier.read_text() == "the earlier good output\n"


def test_the_summary_hook_prints_one_line_for_bad_input_and_keeps_other_tracebacks(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: list[BaseException] = []
    monkeypatch.setattr(sys, "excepthook", lambda kind, error, tb: seen.append(error))
    install_error_summary()
    install_error_summary()  # idempotent: wrapped once

    try:
        try:
            raise KeyError("x")
        except KeyError as cause:
            raise BadInputError("data/x.csv", "line 3 is wrong", "correct it") from cause
    except BadInputError as error:
        sys.excepthook(type(error), error, error.__traceback__)
    assert seen == []  # no traceback for bad input
    assert capsys.readouterr().err == "error: data/x.csv: line 3 is wrong. Fix: correct it\n"

    bug = ZeroDivisionError("division by zero\nmore detail")
    sys.excepthook(ZeroDivisionError, bug, None)
    assert seen == [bug]  # the original traceback printer still runs for a bug
    assert capsys.readouterr().err == "error: ZeroDivisionError: division by zero\n"
