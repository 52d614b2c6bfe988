import pytest
import torch

from artrec.retrieval.gem import GeM, gem


def test_p1_is_average_pooling_and_large_p_approaches_max():
    x = torch.rand(2, 3, 5, 4) + 0.1
    torch.testing.assert_close(gem(x, p=1.0), x.mean(dim=(2, 3)))
    torch.testing.assert_close(gem(x, p=200.0), x.amax(dim=(2, 3)), rtol=0.05, atol=0)
    assert gem(x, p=3.0).shape == (2, 3)


def test_p3_matches_definition():
    x = torch.rand(1, 2, 3, 3)
    expected = x.clamp(min=1e-6).pow(3).mean(dim=(2, 3)).pow(1 / 3)
    torch.testing.assert_close(GeM(p=3.0)(x), expected)


def test_learnable_p_gets_a_gradient_and_fixed_p_does_not():
    learnable, fixed = GeM(learnable=True), GeM(learnable=False)
    assert [n for n, _ in learnable.named_parameters()] == ["p"]
    assert list(fixed.parameters()) == []
    learnable(torch.rand(1, 4, 2, 2) + 0.1).sum().backward()
    assert learnable.p.grad is not None and learnable.p.grad.abs() > 0
    assert "p" in fixed.state_dict()


def test_rejects_bad_input():
    with pytest.raises(ValueError):
        GeM(p=0)
    with pytest.raises(ValueError, match="B, C, H, W"):
        gem(torch.rand(3, 4))
