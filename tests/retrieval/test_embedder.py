import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from artrec.retrieval.embedder import (
    MAME_MEAN,
    MAME_STD,
    MULTI_SCALE,
    Embedder,
    ResizeLongerSide,
    inference_transform,
)
from artrec.retrieval.whitening import learn_pca_whitening


def _tiny_embedder(**kwargs):
    torch.manual_seed(0)
    trunk = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2), nn.ReLU())
    return Embedder(trunk, 8, **kwargs).eval()


def test_single_scale_descriptor_is_l2_normalised_gem_of_the_trunk():
    embedder = _tiny_embedder()
    x = torch.randn(2, 3, 32, 24)
    with torch.no_grad():
        out = embedder(x)
        features = embedder.trunk(x).clamp(min=1e-6)
        expected = F.normalize(features.pow(3).mean(dim=(2, 3)).pow(1 / 3), dim=-1)
    torch.testing.assert_close(out, expected)
    assert embedder.output_dim == 8


def test_multiscale_is_normalised_sum_over_antialiased_downsamplings():
    embedder = _tiny_embedder()
    x = torch.randn(1, 3, 40, 30)
    with torch.no_grad():
        total = embedder(x)
        for r in MULTI_SCALE[1:]:
            scaled = F.interpolate(x, scale_factor=r, mode="bilinear", antialias=True)
            total = total + embedder(scaled)
        torch.testing.assert_close(embedder.multiscale(x), F.normalize(total, dim=-1))
        torch.testing.assert_close(embedder.multiscale(x, (1.0,)), embedder(x))


def test_projector_initialised_from_whitening_applies_it():
    embedder = _tiny_embedder(projector_dim=4)
    assert embedder.output_dim == 4
    x = torch.rand(30, 3, 16, 16)
    with torch.no_grad():
        base = _tiny_embedder()(x).numpy()
    pcaw = learn_pca_whitening(base, dim=6)
    embedder.init_projector(pcaw)
    with torch.no_grad():
        out = embedder(x).numpy()
    torch.testing.assert_close(
        torch.from_numpy(out), torch.from_numpy(pcaw.apply(base)), atol=1e-4, rtol=1e-4
    )
    assert embedder.output_dim == 6


def test_resize_caps_the_longer_side_only():
    resize = ResizeLongerSide(500)
    assert resize(Image.new("RGB", (800, 400))).size == (500, 250)
    assert resize(Image.new("RGB", (300, 1000))).size == (150, 500)
    small = Image.new("RGB", (300, 200))
    assert resize(small) is small


def test_inference_transform_normalises_with_given_statistics():
    image = Image.new("RGB", (10, 6), color=(255, 0, 255))
    tensor = inference_transform(500, MAME_MEAN, MAME_STD)(image)
    assert type(tensor) is torch.Tensor
    assert tensor.shape == (3, 6, 10)
    torch.testing.assert_close(tensor[:, 0, 0], torch.tensor([1.0, -1.0, 1.0]))
