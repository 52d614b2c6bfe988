"""The synthetic sample set, generated once per test session (see ``portability.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.synth.portability import file_digests, write_sample_set


@pytest.fixture(scope="session")
def sample_set_digests(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """SHA-256 of every file of the small sample set, generated in this process."""
    root: Path = tmp_path_factory.mktemp("sample_set")
    write_sample_set(root)
    return file_digests(root)
