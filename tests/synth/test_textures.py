"""Procedural texture primitives: exact mean tones, zero-mean fine textures, no coarse leakage."""

from __future__ import annotations

import numpy as np
import pytest

from artrec.synth import textures as tx


@pytest.mark.parametrize("softness", [0.1, 0.3, 0.6])
@pytest.mark.parametrize("coverage", [0.0, 0.02, 0.2, 0.5, 0.9, 0.99, 1.0])
def test_line_ink_mean_equals_coverage(coverage: float, softness: float) -> None:
    phase = np.linspace(0.0, 40.0, 40_001, dtype=np.float32)
    ink = tx.line_ink(phase, np.float32(coverage), softness)
    assert ink.min() >= 0.0 and ink.max() <= 1.0
    assert ink.mean() == pytest.approx(coverage, abs=2e-3)


def test_blank_paper_stays_blank() -> None:
    x, y = tx.grid(64, 48)
    ink = tx.hatching(x, y, 0.7, 5.0, np.float32(0.0))
    assert float(ink.max()) == 0.0


def test_crossed_hatching_covers_the_requested_tone() -> None:
    x, y = tx.grid(240, 240)
    for tone in (0.2, 0.6, 0.85):
        first, second = tx.split_coverage(np.full((240, 240), tone, np.float32), 0.4)
        ink = 1 - (1 - tx.hatching(x, y, 0.3, 6.0, first)) * (
            1 - tx.hatching(x, y, 1.5, 6.0, second)
        )
        assert ink.mean() == pytest.approx(tone, abs=0.03)


def test_wavy_lines_never_spread_wider_than_the_period() -> None:
    # Parallel wavy curves keep |grad phase| near or above 1/period (only the slow drift across
    # lines lowers it a little), so no region shows sparse lines that would survive downsampling.
    rng = np.random.default_rng(0)
    x, y = tx.grid(200, 150)
    period, angle = 6.0, 0.4
    offset = tx.wavy_offset(x, y, angle, 6 * period, 0.6 * period, rng)
    across = x * np.cos(angle) + y * np.sin(angle)
    grad_y, grad_x = np.gradient((across + offset) / period)
    density = np.sqrt(grad_x**2 + grad_y**2)[2:-2, 2:-2] * period
    assert density.min() > 0.85
    assert np.abs(offset).max() > 0.2 * period


def test_fine_textures_are_zero_mean() -> None:
    rng = np.random.default_rng(1)
    x, y = tx.grid(240, 240)
    assert abs(tx.weave(x, y, 6.0).mean()) < 0.02
    assert abs(tx.wood_grain(x, y, 6.0, 0.1, 0.0).mean()) < 0.02
    assert abs(tx.glints(x, y, 6.0, rng).mean()) < 1e-4


def test_blue_noise_has_less_coarse_power_than_value_noise() -> None:
    size, cell, block = 240, 4.0, 20
    white = tx.value_noise(size, size, size / cell, np.random.default_rng(2))
    blue = tx.blue_noise(size, size, cell, np.random.default_rng(2))
    assert 0.4 < blue.mean() < 0.6 and blue.min() >= 0 and blue.max() <= 1

    def block_spread(field: np.ndarray) -> float:
        blocks = field.reshape(size // block, block, size // block, block).mean(axis=(1, 3))
        return float(blocks.std() / field.std())

    assert block_spread(blue) < 0.5 * block_spread(white)


def test_noise_fields_are_deterministic_and_in_range() -> None:
    a = tx.fractal_noise(120, 80, 3.0, np.random.default_rng(3))
    b = tx.fractal_noise(120, 80, 3.0, np.random.default_rng(3))
    assert a.shape == (80, 120) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    assert a.min() >= 0 and a.max() <= 1 and a.mean() == pytest.approx(0.5, abs=0.05)


def test_smooth_keeps_the_mean_and_removes_detail() -> None:
    field = tx.value_noise(200, 100, 50.0, np.random.default_rng(4))
    smoothed = tx.smooth(field, 10.0)
    assert smoothed.shape == field.shape
    assert smoothed.mean() == pytest.approx(field.mean(), abs=0.01)
    assert smoothed.std() < 0.5 * field.std()


def test_draw_mask_fills_shapes_and_cuts_holes() -> None:
    mask = tx.draw_mask(
        100,
        80,
        [("rectangle", (10, 10, 90, 70), 1.0), ("ellipse", (40, 30, 60, 50), 0.0)],
        blur=0,
    )
    assert mask[20, 20] == 1.0 and mask[40, 50] == 0.0 and mask[5, 5] == 0.0
    with pytest.raises(ValueError, match="unknown shape"):
        tx.draw_mask(10, 10, [("star", (0, 0, 5, 5), 1.0)])


def test_flat_surface_is_lit_evenly() -> None:
    diffuse, specular = tx.shade(np.zeros((20, 30), np.float32), relief=10.0)
    assert np.ptp(diffuse) == 0 and np.ptp(specular) == 0
    assert 0 < diffuse[0, 0] < 1


def test_blend_and_ramp_stay_between_their_ends() -> None:
    base = tx.fill(4, 3, (0.0, 0.0, 0.0))
    half = tx.blend(base, (1.0, 0.5, 0.0), np.full((3, 4), 0.5, np.float32))
    np.testing.assert_allclose(half[1, 1], [0.5, 0.25, 0.0])
    colours = tx.ramp(np.array([[0.0, 1.0]], np.float32), (0.1, 0.2, 0.3), (0.9, 0.8, 0.7))
    np.testing.assert_allclose(colours[0], [[0.1, 0.2, 0.3], [0.9, 0.8, 0.7]], atol=1e-6)
    assert tx.to_uint8(np.array([[[-1.0, 0.5, 2.0]]])).tolist() == [[[0, 128, 255]]]
