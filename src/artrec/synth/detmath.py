"""Deterministic float64 transcendental functions: the same bits on every x86-64 and arm64 CPU.

Why this exists: the synthetic generators must write byte-identical files for a seed on any
machine, but numpy's transcendental ufuncs (``np.exp``, ``np.sin``, ``np.power``...) dispatch at
run time to SIMD kernels (AVX2/FMA, AVX512/SVML, NEON) that round differently in the last bit,
``np.einsum`` and ``np.linalg`` go through BLAS kernels chosen per CPU, and glibc's ``math.sin``,
``math.exp``... pick FMA or non-FMA variants per CPU. A last-bit difference now and then crosses
a rounding boundary of an 8-bit pixel, and the JPEG changes.

Everything here is built only from operations IEEE 754 rounds correctly, which give the same
result on every machine: ``+ - * /``, ``sqrt``, ``floor``, ``rint``, ``abs``, comparisons,
``ldexp``/``frexp`` and numpy's element-wise ufuncs for them (each ufunc call rounds its result
separately, so nothing is fused into an FMA). The algorithms are the classic fdlibm ones
(Cody-Waite range reduction, then a minimax polynomial): accurate to about one unit in the last
place, which is plenty; determinism is the point. Arguments are evaluated in float64; float32
arrays come back as float32 (rounded once at the end), other inputs as float64. Arrays and
Python floats are both accepted; a scalar argument gives a numpy scalar.

What the generators keep from outside this module, and why it is machine-independent:

- PCG64 draws (integers, ``random``, ``uniform``, ``choice``, ``permutation``) are integer
  arithmetic plus one correctly rounded multiply-add in C compiled without FMA contraction.
- ``rng.normal`` is numpy's ziggurat: 99% of draws are one multiply. The rest call libm's
  ``exp``/``log1p`` only to accept or reject a candidate; a one-ulp libm difference changes the
  decision only if the uniform draw lands within one ulp of the threshold (probability about
  1e-16 per call), so it is kept rather than replaced by a slower hand-written sampler.
- numpy reductions (``sum``, ``mean``, ``std``, ``cumsum``), ``gradient``, ``quantile``,
  ``searchsorted``, ``linspace`` and ``clip`` are sequences of correctly rounded operations in a
  fixed order.
- Pillow's 8-bit operations are integer or fixed-point: ``resize`` (fixed-point coefficients,
  integer accumulation), ``GaussianBlur``/``BoxBlur`` (integer box passes), ``alpha_composite``,
  ``paste`` with a mask, ``convert``, ``MaxFilter``; ``ImageDraw`` rounds float coordinates to
  pixels; ``ImageFont.load_default`` renders with FreeType's 26.6 fixed point. ``transform``
  (PERSPECTIVE, BICUBIC) interpolates 8-bit pixels in double precision and truncates to a byte.
  Pillow has no run-time CPU dispatch (its x86-64 wheels are built for the baseline ISA), so all
  of these give the same bytes on every x86-64 machine. On arm64 a compiler may fuse a multiply
  and an add in Pillow's double-precision code; that can change a byte only when a value lies
  within about 1e-16 of a rounding boundary, which integer-valued pixels almost never do.
  ``Image.blend`` is not used: its float32 ``a + alpha * (b - a)`` hits exact ties often.
  Float ("F" mode) resizing is done with numpy in ``textures.resize_float`` for the same reason.
- libjpeg-turbo's encoder (quality setting, 4:2:0, integer DCT) gives the same bytes with and
  without its SIMD code.

``tests/synth/portability.py`` runs the generators with numpy's SIMD kernels, OpenBLAS's
optimised kernels, glibc's FMA/AVX variants and libjpeg-turbo's SIMD switched off and checks
that every file is identical to a default run.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

ArrayLike = np.ndarray | float | Sequence[float]

# ln(2) split so that k * _LN2_HI is exact for |k| < 2**11 (fdlibm e_exp.c, e_log.c).
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_INV_LN2 = 1.44269504088896338700e00
# exp(r) = 1 + r + r * c / (2 - c), c from this Remez polynomial in r * r (fdlibm e_exp.c).
_EXP_P = (
    1.66666666666666019037e-01,
    -2.77777777770155933842e-03,
    6.61375632143793436117e-05,
    -1.65339022054652515390e-06,
    4.13813679705723846039e-08,
)
# log(1 + f) = f - f^2 / 2 + s * (f^2 / 2 + R(s^2)), s = f / (2 + f) (fdlibm e_log.c).
_LOG_LG = (
    6.666666666666735130e-01,
    3.999999999940941908e-01,
    2.857142874366239149e-01,
    2.222219843214978396e-01,
    1.818357216161805012e-01,
    1.531383769920937332e-01,
    1.479819860511658591e-01,
)
# pi in three pieces of 33 significant bits: m * piece is exact for half-integers |m| < 2**19
# (twice the pi / 2 pieces of fdlibm e_rem_pio2.c).
_INV_PI = 3.18309886183790691216e-01
_PI_1 = 3.14159265346825122833e00
_PI_2 = 1.21542010126079319532e-10
_PI_3 = 4.04453249742233291160e-21
# sin(r) = r + r^3 * S(r^2) for |r| <= pi / 2: Taylor terms up to r^23 (truncation below 1e-20).
_SIN_TAYLOR = tuple((-1) ** (n + 1) / math.factorial(2 * n + 3) for n in range(11))
# atan: |x| is reduced around 0, 0.5, 1, 1.5 or infinity; hi + lo = atan(centre) (fdlibm s_atan.c).
_ATAN_BREAKS = np.array([7 / 16, 11 / 16, 19 / 16, 39 / 16])
_ATAN_HI = np.array(
    [
        0.0,
        4.63647609000806093515e-01,
        7.85398163397448278999e-01,
        9.82793723247329054082e-01,
        1.57079632679489655800e00,
    ]
)
_ATAN_LO = np.array(
    [
        0.0,
        2.26987774529616870924e-17,
        3.06161699786838301793e-17,
        1.39033110312309984516e-17,
        6.12323399573676603587e-17,
    ]
)
_ATAN_T = (
    3.33333333333329318027e-01,
    -1.99999999998764832476e-01,
    1.42857142725034663711e-01,
    -1.11111104054623557880e-01,
    9.09088713343650656196e-02,
    -7.69187620504482999495e-02,
    6.66107313738753120669e-02,
    -5.83357013379057348645e-02,
    4.97687799461593236017e-02,
    -3.65315727442169155270e-02,
    1.62858201153657823623e-02,
)
_PI = 3.1415926535897931160e00
_PI_LO = 1.2246467991473531772e-16


# --------------------------------------------------------------------------------------------
# Evaluation: float64 kernels applied chunk by chunk

# Arrays are evaluated in chunks of this many elements: the two dozen temporaries of a chunk
# stay in the CPU cache, which makes the kernels several times faster than on whole images.
_CHUNK = 16384


def _result_dtype(*args: ArrayLike) -> np.dtype:
    """float32 if every floating argument is float32 (Python floats do not count), else float64."""
    arrays = [a if np.isscalar(a) or hasattr(a, "dtype") else np.asarray(a) for a in args]
    return np.dtype(np.float32) if np.result_type(*arrays) == np.float32 else np.dtype(np.float64)


def _apply(kernel: Callable[..., np.ndarray], *args: ArrayLike) -> np.ndarray:
    """Evaluate the float64 element-wise ``kernel`` over the broadcast ``args``, chunk by chunk.

    The result is rounded once to float32 if every floating argument is float32, else it is
    float64; a 0-d result becomes a numpy scalar.
    """
    dtype = _result_dtype(*args)
    arrays = np.broadcast_arrays(*(np.asarray(a) for a in args))
    out = np.empty(arrays[0].shape, dtype)
    flat_out = out.reshape(-1)
    flat_args = [a.reshape(-1) for a in arrays]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        for start in range(0, flat_out.size, _CHUNK):
            chunk = [np.asarray(a[start : start + _CHUNK], dtype=np.float64) for a in flat_args]
            flat_out[start : start + _CHUNK] = kernel(*chunk)
    return out[()] if out.ndim == 0 else out


def _horner(z: np.ndarray, coefficients: Sequence[float]) -> np.ndarray:
    """c[0] + z * (c[1] + z * (c[2] + ...)), one correctly rounded ufunc step at a time."""
    total = np.full_like(z, coefficients[-1])
    for c in reversed(coefficients[:-1]):
        total *= z
        total += c
    return total


# --------------------------------------------------------------------------------------------
# exp, log, power


def _exp64(x: np.ndarray) -> np.ndarray:
    # x = k ln2 + r, |r| <= ln2 / 2; clipping keeps k an ordinary integer and still gives
    # 0 below -746 and inf above 710 (ldexp rounds or overflows those exactly).
    clipped = np.clip(x, -1100.0, 1100.0)
    k = np.rint(clipped * _INV_LN2)
    hi = clipped - k * _LN2_HI
    lo = k * _LN2_LO
    r = hi - lo
    t = r * r
    c = r - t * _horner(t, _EXP_P)
    y = 1.0 - ((lo - (r * c) / (2.0 - c)) - hi)
    # Two steps so that 2**k never overflows on its own when y * 2**k does not.
    half = np.floor(k * 0.5)
    y = np.ldexp(np.ldexp(y, half.astype(np.int32)), (k - half).astype(np.int32))
    nan = np.isnan(x)
    return np.where(nan, np.nan, y) if nan.any() else y


def _log64(x: np.ndarray) -> np.ndarray:
    # x = 2**k * m with sqrt(1/2) <= m < sqrt(2); then log(m) = log(1 + f) by a polynomial.
    mantissa, exponent = np.frexp(x)
    small = mantissa < math.sqrt(0.5)
    mantissa = mantissa * (1.0 + small)  # doubling is exact (and cheaper than np.where)
    k = exponent - small.astype(np.float64)
    f = mantissa - 1.0
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    t1 = w * _horner(w, _LOG_LG[1::2])
    t2 = z * _horner(w, _LOG_LG[0::2])
    r = t2 + t1
    hfsq = 0.5 * f * f
    result = k * _LN2_HI - ((hfsq - (s * (hfsq + r) + k * _LN2_LO)) - f)
    if not ((x > 0.0) & (x < np.inf)).all():
        result = np.where(x == 0.0, -np.inf, result)
        result = np.where(x == np.inf, np.inf, result)
        result = np.where((x < 0.0) | np.isnan(x), np.nan, result)
    return result


def _power64(base: np.ndarray, exponent: np.ndarray) -> np.ndarray:
    result = _exp64(exponent * _log64(base))
    zero = exponent == 0.0
    return np.where(zero, 1.0, result) if zero.any() else result


def exp(x: ArrayLike) -> np.ndarray:
    """e ** x, identical on every CPU (fdlibm algorithm, error below one ulp)."""
    return _apply(_exp64, x)


def log(x: ArrayLike) -> np.ndarray:
    """Natural logarithm, identical on every CPU (-inf at 0, nan below 0)."""
    return _apply(_log64, x)


def power(base: ArrayLike, exponent: ArrayLike) -> np.ndarray:
    """``base ** exponent`` for ``base >= 0`` as exp(exponent * log(base)), identical on every CPU.

    Relative error about ``|exponent * log(base)|`` ulps, fine for the moderate values of the
    generators. Write small integer powers as products (``x * x``): those are correctly rounded.
    """
    return _apply(_power64, base, exponent)


def integer_power(base: ArrayLike, exponent: int) -> np.ndarray:
    """``base ** exponent`` for an integer ``exponent >= 0`` by repeated squaring, in base's dtype.

    Every step is one correctly rounded product, so it is identical on every CPU, and a handful
    of products is far cheaper than exp(exponent * log(base)).
    """
    if exponent < 0 or int(exponent) != exponent:
        raise ValueError(f"exponent must be a non-negative integer, got {exponent!r}")
    square = np.asarray(base)
    if not np.issubdtype(square.dtype, np.floating):
        square = square.astype(np.float64)
    result = np.ones_like(square)
    remaining = int(exponent)
    while remaining:
        if remaining & 1:
            result = result * square
        remaining >>= 1
        if remaining:
            square = square * square
    return result[()] if result.ndim == 0 else result


# --------------------------------------------------------------------------------------------
# sin, cos


def _sin_cos(x: np.ndarray, phase: float) -> np.ndarray:
    """sin(x + phase * pi / 2) for phase 0 (sine) or 1 (cosine).

    x + phase * pi / 2 = k * pi + r with |r| <= pi / 2, so the result is (-1)^k sin(r); r is
    found as x - (k - phase / 2) * pi with pi in three exact pieces. Accurate (two ulps) for
    |x| below about 1e5; larger arguments still give identical, if less accurate, results.
    """
    finite = np.isfinite(x)
    all_finite = bool(finite.all())
    if not all_finite:
        x = np.where(finite, x, 0.0)
    k = np.rint(x * _INV_PI + 0.5 * phase)
    multiple = k - 0.5 * phase
    r = ((x - multiple * _PI_1) - multiple * _PI_2) - multiple * _PI_3
    z = r * r
    sin_r = r + (z * r) * _horner(z, _SIN_TAYLOR)
    odd = k - 2.0 * np.floor(k * 0.5)
    result = sin_r * (1.0 - 2.0 * odd)  # multiplying by +-1 is exact
    return result if all_finite else np.where(finite, result, np.nan)


def _sine64(x: np.ndarray) -> np.ndarray:
    return _sin_cos(x, 0.0)


def _cosine64(x: np.ndarray) -> np.ndarray:
    return _sin_cos(x, 1.0)


def sin(x: ArrayLike) -> np.ndarray:
    """Sine (radians), identical on every CPU."""
    return _apply(_sine64, x)


def cos(x: ArrayLike) -> np.ndarray:
    """Cosine (radians), identical on every CPU."""
    return _apply(_cosine64, x)


# --------------------------------------------------------------------------------------------
# arctan2, arcsin


def _atan_abs(a: np.ndarray) -> np.ndarray:
    """atan(a) for a >= 0 (inf gives pi / 2)."""
    region = np.searchsorted(_ATAN_BREAKS, a, side="right")
    t = np.select(
        [region == 0, region == 1, region == 2, region == 3],
        [a, (2.0 * a - 1.0) / (2.0 + a), (a - 1.0) / (a + 1.0), (a - 1.5) / (1.0 + 1.5 * a)],
        -1.0 / a,
    )
    z = t * t
    w = z * z
    s1 = z * _horner(w, _ATAN_T[0::2])
    s2 = w * _horner(w, _ATAN_T[1::2])
    return _ATAN_HI[region] - ((t * (s1 + s2) - _ATAN_LO[region]) - t)


def _atan2_64(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    z = _atan_abs(np.abs(y / x))
    z = np.where((y == 0.0) & (x == 0.0), 0.0, z)
    # Left half-plane as in fdlibm e_atan2.c: pi - z keeps pi's low bits.
    left = (x < 0.0) | ((x == 0.0) & np.signbit(x) & (y == 0.0))
    result = np.where(left, _PI - (z - _PI_LO), z)
    return np.where(np.signbit(y), -result, result)


def _arcsin64(x: np.ndarray) -> np.ndarray:
    result = _atan2_64(x, np.sqrt((1.0 - x) * (1.0 + x)))
    return np.where(np.abs(x) > 1.0, np.nan, result)


def arctan2(y: ArrayLike, x: ArrayLike) -> np.ndarray:
    """Angle of the point (x, y) in [-pi, pi], identical on every CPU."""
    return _apply(_atan2_64, y, x)


def arcsin(x: ArrayLike) -> np.ndarray:
    """Inverse sine for |x| <= 1 (nan outside), identical on every CPU."""
    return _apply(_arcsin64, x)


# --------------------------------------------------------------------------------------------
# Lengths, interpolation, linear systems


def hypot(x: ArrayLike, y: ArrayLike) -> np.ndarray:
    """sqrt(x * x + y * y), in float32 if both are float32 (no overflow protection needed here).

    Only correctly rounded operations, so it needs no float64 kernel.
    """
    dtype = _result_dtype(x, y)
    x_array, y_array = np.asarray(x, dtype=dtype), np.asarray(y, dtype=dtype)
    result = np.sqrt(x_array * x_array + y_array * y_array)
    return result[()] if result.ndim == 0 else result


def norm(vector: ArrayLike) -> float:
    """Euclidean length of a short vector, its squares summed in order (no BLAS)."""
    total = 0.0
    for value in np.asarray(vector, dtype=np.float64).ravel().tolist():
        total += value * value
    return math.sqrt(total)


def interp(x: ArrayLike, xp: ArrayLike, fp: ArrayLike) -> np.ndarray:
    """Piecewise-linear interpolation like ``np.interp`` (``xp`` increasing, ends held), float64.

    ``f0 + slope * (x - x0)`` is evaluated in separate, correctly rounded steps, so no compiler
    can fuse it into a multiply-add.
    """
    x64 = np.asarray(x, dtype=np.float64)
    xp64, fp64 = np.asarray(xp, dtype=np.float64), np.asarray(fp, dtype=np.float64)
    j = np.clip(np.searchsorted(xp64, x64, side="right") - 1, 0, xp64.size - 2)
    x0, x1, f0, f1 = xp64[j], xp64[j + 1], fp64[j], fp64[j + 1]
    result = f0 + (f1 - f0) / (x1 - x0) * (x64 - x0)
    result = np.where(x64 <= xp64[0], fp64[0], result)
    result = np.where(x64 >= xp64[-1], fp64[-1], result)
    return result[()] if result.ndim == 0 else result


def solve(matrix: ArrayLike, rhs: ArrayLike) -> np.ndarray:
    """Solve a small linear system by Gaussian elimination with partial pivoting (no LAPACK).

    Python float arithmetic, one correctly rounded operation at a time, in a fixed order.
    """
    rows = np.asarray(matrix, dtype=np.float64).tolist()
    values = np.asarray(rhs, dtype=np.float64).tolist()
    n = len(rows)
    if any(len(row) != n for row in rows) or len(values) != n:
        raise ValueError(f"solve needs an n x n matrix and n values, got {n} rows")
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(rows[r][col]))
        if rows[pivot][col] == 0.0:
            raise np.linalg.LinAlgError("singular matrix")
        rows[col], rows[pivot] = rows[pivot], rows[col]
        values[col], values[pivot] = values[pivot], values[col]
        for r in range(col + 1, n):
            factor = rows[r][col] / rows[col][col]
            for c in range(col, n):
                rows[r][c] -= factor * rows[col][c]
            values[r] -= factor * values[col]
    solution = [0.0] * n
    for r in reversed(range(n)):
        total = values[r]
        for c in range(r + 1, n):
            total -= rows[r][c] * solution[c]
        solution[r] = total / rows[r][r]
    return np.asarray(solution)
