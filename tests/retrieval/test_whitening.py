import numpy as np
import pytest
import torch

from artrec.retrieval.whitening import (
    apply_pca_whitening,
    as_linear_layer,
    learn_pca_whitening,
    load_whitening,
    save_whitening,
)


def _descriptors(n=400, d=12, seed=0):
    rng = np.random.default_rng(seed)
    mixing = rng.normal(size=(d, d)) * np.linspace(3, 0.1, d)
    x = rng.normal(size=(n, d)) @ mixing + rng.normal(size=d)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def test_full_whitening_gives_identity_covariance():
    x = _descriptors()
    pcaw = learn_pca_whitening(x, shrinkage=1.0, dim=None)
    projected = (x.astype(np.float64) - pcaw.mean) @ pcaw.projection.T.astype(np.float64)
    covariance = projected.T @ projected / len(x)
    np.testing.assert_allclose(covariance, np.eye(x.shape[1]), atol=2e-3)
    assert np.all(np.diff(pcaw.eigenvalues) <= 0)  # components by decreasing variance


def test_output_is_l2_normalised_float32_with_reduced_dimension():
    x = _descriptors()
    pcaw = learn_pca_whitening(x, dim=5)
    whitened = apply_pca_whitening(x, pcaw)
    assert whitened.shape == (len(x), 5)
    assert whitened.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(whitened, axis=1), 1.0, rtol=1e-5)


def test_dimension_is_capped_by_samples_and_input_dimension():
    assert learn_pca_whitening(_descriptors(n=400, d=12), dim=512).output_dim == 12
    assert learn_pca_whitening(_descriptors(n=6, d=12), dim=512).output_dim == 6


def test_shrinkage_zero_is_a_rotation_that_keeps_similarities():
    x = _descriptors()
    pcaw = learn_pca_whitening(x, shrinkage=0.0, dim=None)
    centred = x - pcaw.mean
    rotated = centred @ pcaw.projection.T
    np.testing.assert_allclose(rotated @ rotated.T, centred @ centred.T, atol=1e-4)


def test_linear_layer_equals_whitening_before_normalisation():
    x = _descriptors()
    pcaw = learn_pca_whitening(x, dim=8)
    layer = as_linear_layer(pcaw)
    with torch.no_grad():
        out = layer(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(out, (x - pcaw.mean) @ pcaw.projection.T, rtol=1e-4, atol=1e-4)
    normalised = out / np.linalg.norm(out, axis=1, keepdims=True)
    np.testing.assert_allclose(normalised, apply_pca_whitening(x, pcaw), atol=1e-5)


def test_save_load_roundtrip(tmp_path):
    pcaw = learn_pca_whitening(_descriptors(), shrinkage=0.5, dim=4)
    path = tmp_path / "pcaw.npz"
    save_whitening(pcaw, path)
    loaded = load_whitening(path)
    np.testing.assert_array_equal(loaded.projection, pcaw.projection)
    np.testing.assert_array_equal(loaded.mean, pcaw.mean)
    assert loaded.shrinkage == 0.5
    assert [p.name for p in tmp_path.iterdir()] == ["pcaw.npz"]


def test_learning_is_deterministic_and_sign_fixed():
    x = _descriptors()
    a, b = learn_pca_whitening(x), learn_pca_whitening(x[::-1].copy())
    np.testing.assert_allclose(a.projection, b.projection, rtol=1e-3, atol=1e-4)


def test_bad_input_is_rejected():
    with pytest.raises(ValueError, match="2-D"):
        learn_pca_whitening(np.zeros(5))
    pcaw = learn_pca_whitening(_descriptors(d=12))
    with pytest.raises(ValueError, match="dimension"):
        apply_pca_whitening(np.zeros((2, 3), np.float32), pcaw)
