"""The transfer-learning paper's networks (trunk, global average pooling, new soft-max layer):
started from the project's MAMe network, from theta-hat, from scratch, and, as in the paper
profile, from ImageNet weights read from local files (no network access)."""

from __future__ import annotations

from pathlib import Path

import pytest
import timm
import torch
from safetensors.torch import save_file

from artrec.models.factory import (
    TransferClassifier,
    build_backbone_trunk,
    build_classifier,
    build_transfer_classifier,
    he_uniform_,
)
from artrec.models.weights import torchvision_weights_file


def _mame_state() -> dict:
    torch.manual_seed(1)
    model = build_classifier("resnet18", 10, width_mult=0.125, batch_norm=False)
    for p in model.parameters():  # away from the zero-initialised Fixup layers
        p.data.normal_(0, 0.05)
    return {"arch": "resnet18", "width_mult": 0.125, "state_dict": model.state_dict()}


def test_theta_from_the_mame_network_keeps_its_trunk_and_gets_a_new_head() -> None:
    state = _mame_state()
    model = build_transfer_classifier(
        "resnet18", 7, state["state_dict"], width_mult=0.125, batch_norm=False
    )
    assert isinstance(model, TransferClassifier) and model.fc.out_features == 7
    assert torch.equal(
        model.trunk.layer4[1].conv2.weight, state["state_dict"]["layer4.1.conv2.weight"]
    )
    x = torch.randn(2, 3, 48, 48)
    assert model.features(x).shape == (2, 64) and model(x).shape == (2, 7)


def test_theta_hat_loads_another_transfer_classifiers_trunk() -> None:
    tuned = build_transfer_classifier(
        "resnet18", 12, _mame_state()["state_dict"], width_mult=0.125, batch_norm=False
    )
    started = build_transfer_classifier(
        "resnet18", 5, tuned.state_dict(), width_mult=0.125, batch_norm=False
    )
    assert started.fc.out_features == 5
    for (name, a), b in zip(
        tuned.trunk.state_dict().items(), started.trunk.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b), name


def test_he_uniform_from_scratch() -> None:
    model = he_uniform_(
        build_transfer_classifier("resnet18", 4, None, width_mult=0.125, batch_norm=False)
    )
    weight = model.trunk.layer1[0].conv1.weight
    bound = (6.0 / weight[0].numel()) ** 0.5
    assert weight.abs().max() <= bound and weight.abs().max() > 0.8 * bound
    assert (model.trunk.layer1[0].conv1.bias == 0).all()


def _round_trip(model: torch.nn.Module, trunk: torch.nn.Module) -> None:
    reference = model.state_dict()
    for name, tensor in trunk.state_dict().items():
        assert torch.equal(tensor, reference[name]), name


def test_resnet50_from_a_torchvision_weights_name_and_a_local_file(tmp_path: Path) -> None:
    torch.manual_seed(2)
    source = build_classifier("resnet50", 1000, batch_norm=True)
    file = torchvision_weights_file("ResNet50_Weights.IMAGENET1K_V1", tmp_path)
    torch.save(source.state_dict(), file)  # where torchvision would have downloaded it
    trunk, channels = build_backbone_trunk(
        "resnet50", "ResNet50_Weights.IMAGENET1K_V1", weights_dir=tmp_path
    )
    assert channels == 2048
    _round_trip(source, trunk)


def test_vgg19_from_a_torchvision_weights_name(tmp_path: Path) -> None:
    # At 1/16 width to keep the file small; the loading path is the paper profile's.
    torch.manual_seed(3)
    source = build_classifier("vgg19", 1000, width_mult=1 / 16)
    torch.save(
        source.state_dict(), torchvision_weights_file("VGG19_Weights.IMAGENET1K_V1", tmp_path)
    )
    model = build_transfer_classifier(
        "vgg19",
        9,
        "VGG19_Weights.IMAGENET1K_V1",
        width_mult=1 / 16,
        batch_norm=False,
        weights_dir=tmp_path,
    )
    assert model.fc.in_features == 32  # 512 / 16: the paper's chi of VGG19 at full width
    _round_trip(source, model.trunk)


def test_inception_v3_takes_torchvision_weights_by_name(tmp_path: Path) -> None:
    import torchvision

    torch.manual_seed(4)
    source = torchvision.models.inception_v3(weights=None, aux_logits=True, init_weights=False)
    torch.save(
        source.state_dict(),
        torchvision_weights_file("Inception_V3_Weights.IMAGENET1K_V1", tmp_path),
    )
    trunk, channels = build_backbone_trunk(
        "inception_v3", "Inception_V3_Weights.IMAGENET1K_V1", weights_dir=tmp_path
    )
    assert channels == 2048
    _round_trip(source, trunk)  # every trunk tensor (the auxiliary classifier is left out)


def test_xception_from_a_local_safetensors_file(tmp_path: Path) -> None:
    torch.manual_seed(5)
    source = timm.create_model("legacy_xception", pretrained=False)
    file = tmp_path / "legacy_xception.tf_in1k.safetensors"
    save_file({k: v.contiguous() for k, v in source.state_dict().items()}, str(file))
    model = build_transfer_classifier("xception", 3, file)
    assert model.fc.in_features == 2048
    _round_trip(source, model.trunk)
    model.eval()
    assert model(torch.randn(1, 3, 96, 96)).shape == (1, 3)


def test_a_mismatched_weights_file_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "wrong.pt"
    torch.save(build_classifier("resnet18", 1000).state_dict(), file)
    with pytest.raises(ValueError, match="cannot load weights"):
        build_transfer_classifier("xception", 3, file)
