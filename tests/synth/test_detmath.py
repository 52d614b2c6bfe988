"""detmath: accurate against numpy and libm, and pinned to exact bits (its whole point)."""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pytest

from artrec.synth import detmath as dm

RNG = np.random.default_rng(20240607)
SMALL_ANGLES = RNG.uniform(-10.0, 10.0, 20_000)
LARGE_ANGLES = RNG.uniform(-5e4, 5e4, 20_000)
EXPONENTS = RNG.uniform(-700.0, 700.0, 20_000)
POSITIVES = np.exp(RNG.uniform(-700.0, 700.0, 20_000))
UNIT = RNG.uniform(-1.0, 1.0, 20_000)


def assert_close(actual: np.ndarray, expected: np.ndarray, rtol: float = 1e-13) -> None:
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=1e-15)


@pytest.mark.parametrize("angles", [SMALL_ANGLES, LARGE_ANGLES], ids=["small", "large"])
def test_sin_and_cos_match_numpy(angles: np.ndarray) -> None:
    assert_close(dm.sin(angles), np.sin(angles))
    assert_close(dm.cos(angles), np.cos(angles))


def test_exp_log_and_power_match_numpy() -> None:
    assert_close(dm.exp(EXPONENTS), np.exp(EXPONENTS))
    assert_close(dm.log(POSITIVES), np.log(POSITIVES))
    near_one = 1.0 + UNIT * 1e-6
    assert_close(dm.log(near_one), np.log(near_one))
    bases, powers = np.abs(UNIT), RNG.uniform(-3.0, 80.0, UNIT.size)
    assert_close(dm.power(bases, powers), np.power(bases, powers), rtol=1e-13 * 100)


def test_inverse_trigonometry_and_lengths_match_numpy() -> None:
    assert_close(dm.arcsin(UNIT), np.arcsin(UNIT))
    y, x = RNG.normal(size=(2, 20_000)) * np.exp(RNG.uniform(-5, 5, (2, 20_000)))
    assert_close(dm.arctan2(y, x), np.arctan2(y, x))
    assert_close(dm.hypot(x, y), np.hypot(x, y))
    assert dm.norm([2.0, 3.0, 6.0]) == 7.0
    assert dm.norm(np.array([0.3, -0.4])) == pytest.approx(0.5, rel=1e-15)


def test_special_values_follow_numpy() -> None:
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        specials = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 710.0, -746.0])
        np.testing.assert_array_equal(dm.exp(specials), np.exp(specials))
        logs = np.concatenate([specials, [1.0, -1.0]])
        np.testing.assert_array_equal(dm.log(logs), np.log(logs))
        np.testing.assert_array_equal(dm.sin(specials[:5]), np.sin(specials[:5]))
        np.testing.assert_array_equal(dm.cos(specials[:5]), np.cos(specials[:5]))
        signed = np.array([0.0, -0.0, 1.0, -1.0])
        y, x = np.meshgrid(signed, signed)
        np.testing.assert_array_equal(dm.arctan2(y, x), np.arctan2(y, x))
    assert dm.power(0.0, 0.0) == 1.0
    assert dm.power(0.0, 2.5) == 0.0
    assert dm.power(2.0, 10.0) == 1024.0
    assert math.isnan(dm.arcsin(1.5))


def test_interp_and_solve_match_numpy() -> None:
    xp, fp = np.sort(RNG.uniform(0, 10, 9)), RNG.normal(size=9)
    x = RNG.uniform(-1, 11, 1000)
    assert_close(dm.interp(x, xp, fp), np.interp(x, xp, fp))
    matrix, rhs = RNG.normal(size=(8, 8)), RNG.normal(size=8)
    assert_close(dm.solve(matrix, rhs), np.linalg.solve(matrix, rhs), rtol=1e-10)
    with pytest.raises(np.linalg.LinAlgError):
        dm.solve([[1.0, 2.0], [2.0, 4.0]], [1.0, 1.0])


def test_types_follow_the_arguments() -> None:
    assert isinstance(dm.sin(1.0), np.float64)
    assert isinstance(dm.exp(np.float32(1.0)), np.float32)
    angles32 = SMALL_ANGLES.astype(np.float32)
    result = dm.cos(angles32.reshape(100, 200))
    assert result.dtype == np.float32 and result.shape == (100, 200)
    # float32 results are the float64 ones rounded once.
    np.testing.assert_array_equal(
        result.ravel(), dm.cos(angles32.astype(np.float64)).astype(np.float32)
    )
    assert dm.power(angles32, 2.5).dtype == np.float32
    assert dm.power(angles32, np.float64(2.5)).dtype == np.float64
    assert dm.hypot([3.0], [4.0]).dtype == np.float64


# Exact bits (float.hex) on every machine; a change here changes every synthetic image.
PINNED = [
    ("exp", (1.0,), "0x1.5bf0a8b14576ap+1"),
    ("exp", (-0.5,), "0x1.368b2fc6f960ap-1"),
    ("exp", (-700.25,), "0x1.af5fe9a485c8ep-1011"),
    ("log", (10.0,), "0x1.26bb1bbb55516p+1"),
    ("log", (0.999,), "-0x1.064670d979b73p-10"),
    ("sin", (1.0,), "0x1.aed548f090ceep-1"),
    ("sin", (100.0,), "-0x1.03425b78c4db8p-1"),
    ("sin", (1e5,), "0x1.24daa9c527e96p-5"),
    ("cos", (-3.0,), "-0x1.fae04be85e5d3p-1"),
    ("cos", (0.75,), "0x1.769fec655211fp-1"),
    ("power", (0.3, 20.0), "0x1.32b36796d601cp-35"),
    ("power", (7.0, -1.6), "0x1.6c1c42f238bb3p-5"),
    ("arcsin", (-0.99,), "-0x1.6de3c6f33d51dp+0"),
    ("arctan2", (-3.0, -4.0), "-0x1.3fc176b7a8560p+1"),
    ("arctan2", (5.0, -0.1), "0x1.973e40dbaed15p+0"),
    ("hypot", (3.0, 5.0), "0x1.752e50db3a3a2p+2"),
]


@pytest.mark.parametrize(("name", "args", "bits"), PINNED)
def test_pinned_values(name: str, args: tuple[float, ...], bits: str) -> None:
    assert float(getattr(dm, name)(*args)).hex() == bits


def test_pinned_arrays() -> None:
    x = np.linspace(-1000, 1000, 100_001)
    results = np.concatenate(
        [
            dm.sin(x),
            dm.cos(x),
            dm.exp(x / 100),
            dm.log(np.abs(x) + 1e-3),
            dm.arctan2(x, x[::-1] + 0.5),
            dm.power(np.abs(x) / 1000, 3.7),
        ]
    )
    digest = hashlib.sha256(results.tobytes()).hexdigest()
    assert digest == "12913ad3e0d97556f888e09d6e0311c08db2d1d21a6df4207229f969d46217dc"
    digest32 = hashlib.sha256(dm.sin(x.astype(np.float32)).tobytes()).hexdigest()
    assert digest32 == "723b9a29dffaf1d74756ca7172845e0a6454bd809546f6aa9b0eb78ebd537202"
