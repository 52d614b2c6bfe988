"""The synthetic generators write the same bytes for a seed on every machine and every commit.

The committed digests are those of this machine. If a change to a generator is meant to change
its output, regenerate them with

    uv run --frozen python -m tests.synth.portability generate /tmp/sample > tests/synth/sample_set_digests.json

and say so in the commit message: every dataset built from the generators changes with them.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.synth.portability import differing_files

DIGESTS_FILE = Path(__file__).with_name("sample_set_digests.json")


def test_sample_set_matches_the_committed_digests(sample_set_digests: dict[str, str]) -> None:
    committed = json.loads(DIGESTS_FILE.read_text())
    assert differing_files(committed, sample_set_digests) == []
