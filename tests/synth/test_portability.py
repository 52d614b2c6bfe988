"""Machine independence: the same bytes with this CPU's SIMD and FMA code paths switched off."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.synth.portability import cpu_features_off_env, differing_files, generate_in_subprocess


@pytest.mark.timeout(300)
def test_plain_cpu_paths_write_identical_files(
    sample_set_digests: dict[str, str], tmp_path: Path
) -> None:
    # numpy SIMD kernels, OpenBLAS kernels, glibc's FMA/AVX libm and libjpeg-turbo SIMD off.
    plain = generate_in_subprocess(tmp_path / "plain", cpu_features_off_env())
    assert len(plain) == len(sample_set_digests) > 100
    assert differing_files(sample_set_digests, plain) == []
