"""Shared fixtures. ``shared_dir`` is the read-only ``../shared`` folder beside the project.

The tiny end-to-end ``dvc repro`` (``tiny_project`` in tests/pipelines/test_end_to_end.py) is the
suite's longest step and runs one single-process stage after another: it starts in the background
when the session starts, and the tests that use it run last, so the rest of the suite runs beside
it instead of after it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pipelines.tiny_project import BackgroundRepro

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = (REPO_ROOT / ".." / "shared").resolve()
TINY_PROJECT = "tiny_project"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED_DIR.is_dir():
        pytest.skip("../shared is not present beside the project")
    return SHARED_DIR


def _needs_tiny_project(item: pytest.Item) -> bool:
    return TINY_PROJECT in getattr(item, "fixturenames", ())


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests on the tiny repro go last (stable order otherwise): they wait for it anyway."""
    items.sort(key=_needs_tiny_project)


@pytest.fixture(scope="session", autouse=True)
def tiny_repro(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BackgroundRepro | None]:
    """The background tiny ``dvc repro``, started with the session when a selected test needs it."""
    if not any(_needs_tiny_project(item) for item in request.session.items):
        yield None
        return
    repro = BackgroundRepro(REPO_ROOT, tmp_path_factory.mktemp("e2e") / "artrec")
    try:
        yield repro
    finally:
        repro.stop()
