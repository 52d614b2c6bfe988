import pytest
import timm
import torch
import torchvision
from torch import nn

from artrec.models.factory import HEAD_PREFIXES, build_backbone_trunk, build_classifier
from artrec.models.weights import (
    fold_batchnorm,
    initialise_weights,
    is_scratch,
    read_checkpoint,
    torchvision_weights_file,
)


def build_classifier_with_report(arch, num_classes, init, weights_dir=None, bn_mode="fold", **kw):
    """``build_classifier`` with what its weight load did: the same load on a scratch model."""
    model = build_classifier(arch, num_classes, **kw)
    return model, initialise_weights(model, init, HEAD_PREFIXES[arch], weights_dir, bn_mode)


def _randomise_batchnorm(model: nn.Module) -> nn.Module:
    """Give every BN non-trivial statistics and affine parameters, so folding is really tested."""
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.normal_(0.0, 0.5)
                module.running_var.uniform_(0.5, 2.0)
                module.weight.uniform_(0.5, 1.5)
                module.bias.normal_(0.0, 0.2)
    return model.eval()


@pytest.fixture(scope="module")
def imagenet_resnet18() -> nn.Module:
    torch.manual_seed(0)
    return _randomise_batchnorm(torchvision.models.resnet18())


def test_folded_bn_free_resnet18_computes_torchvision_eval_function(tmp_path, imagenet_resnet18):
    path = tmp_path / "resnet18.pt"
    torch.save(imagenet_resnet18.state_dict(), path)
    model, report = build_classifier_with_report("resnet18", num_classes=1000, init=str(path))
    assert not any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    assert len(report.folded_batchnorms) == 20 and report.reinitialised == []
    x = torch.randn(2, 3, 64, 80)
    with torch.no_grad():
        expected = imagenet_resnet18(x)
        actual = model.eval()(x)
    assert torch.allclose(actual, expected, atol=1e-4, rtol=1e-4)


def test_fold_batchnorm_replaces_bn_tensors_by_conv_biases():
    state = _randomise_batchnorm(torchvision.models.resnet18()).state_dict()
    folded = fold_batchnorm(state)
    assert not any("running_mean" in k or k.startswith("bn1.") for k in folded)
    assert "conv1.bias" in folded and "layer2.0.downsample.0.bias" in folded
    assert "layer2.0.downsample.1.weight" not in folded
    scale = state["bn1.weight"] / torch.sqrt(state["bn1.running_var"] + 1e-5)
    assert torch.allclose(
        folded["conv1.weight"], state["conv1.weight"] * scale[:, None, None, None]
    )
    expected_bias = state["bn1.bias"] - state["bn1.running_mean"] * scale
    assert torch.allclose(folded["conv1.bias"], expected_bias)


def test_torchvision_weights_name_loads_from_local_weights_dir(tmp_path, imagenet_resnet18):
    expected_file = torchvision_weights_file("ResNet18_Weights.IMAGENET1K_V1", tmp_path)
    assert expected_file.name == "resnet18-f37072fd.pth"
    torch.save(imagenet_resnet18.state_dict(), expected_file)
    model, report = build_classifier_with_report(
        "resnet18", num_classes=29, init="ResNet18_Weights.IMAGENET1K_V1", weights_dir=tmp_path
    )
    assert report.reinitialised == ["fc.bias", "fc.weight"]
    assert model.fc.out_features == 29
    trunk_ours = nn.Sequential(*list(model.children())[:-1]).eval()
    trunk_ref = nn.Sequential(*list(imagenet_resnet18.children())[:-1])
    x = torch.randn(1, 3, 48, 48)
    with torch.no_grad():
        assert torch.allclose(trunk_ours(x), trunk_ref(x), atol=1e-4, rtol=1e-4)


def test_torchvision_weights_found_through_torch_home(tmp_path, monkeypatch, imagenet_resnet18):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    target = tmp_path / "hub" / "checkpoints" / "resnet18-f37072fd.pth"
    target.parent.mkdir(parents=True)
    torch.save(imagenet_resnet18.state_dict(), target)
    model = build_classifier(
        "resnet18", num_classes=1000, init="ResNet18_Weights.IMAGENET1K_V1", batch_norm=True
    )
    assert torch.equal(model.layer1[0].bn1.running_var, imagenet_resnet18.layer1[0].bn1.running_var)


def test_missing_torchvision_file_without_network_names_where_to_put_it(tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    with pytest.raises(RuntimeError, match="resnet18-f37072fd.pth"):
        build_classifier("resnet18", 3, init="ResNet18_Weights.IMAGENET1K_V1", weights_dir=tmp_path)


@pytest.mark.parametrize("wrap", ["bare", "model", "state_dict", "data_parallel"])
def test_local_checkpoint_formats(tmp_path, wrap):
    torch.manual_seed(1)
    source = build_classifier("vgg11", num_classes=6, width_mult=1 / 16)
    state = source.state_dict()
    if wrap == "data_parallel":
        payload = {f"module.{k}": v for k, v in state.items()}
    elif wrap == "bare":
        payload = state
    else:
        payload = {wrap: state, "epoch": 3}
    torch.save(payload, tmp_path / "ckpt.pt")
    model = build_classifier("vgg11", num_classes=6, width_mult=1 / 16, init=tmp_path / "ckpt.pt")
    for key, value in model.state_dict().items():
        assert torch.equal(value, state[key]), key


def test_vgg_checkpoint_with_other_class_count_reinitialises_only_the_head(tmp_path):
    torch.manual_seed(2)
    source = build_classifier("vgg11", num_classes=1000, width_mult=1 / 16)
    torch.save(source.state_dict(), tmp_path / "imagenet_like.pt")
    model, report = build_classifier_with_report(
        "vgg11", num_classes=29, width_mult=1 / 16, init=tmp_path / "imagenet_like.pt"
    )
    assert report.reinitialised == ["classifier.6.bias", "classifier.6.weight"]
    assert torch.equal(model.features[0].weight, source.features[0].weight)
    assert torch.equal(model.classifier[3].weight, source.classifier[3].weight)
    assert model.classifier[6].weight.shape == (29, 256)


def test_mismatched_trunk_keys_fail_and_are_named(tmp_path):
    state = build_classifier("vgg11", num_classes=5, width_mult=1 / 16).state_dict()
    state["features.99.weight"] = torch.zeros(1)
    del state["features.3.bias"]
    torch.save(state, tmp_path / "bad.pt")
    with pytest.raises(ValueError) as error:
        build_classifier("vgg11", num_classes=5, width_mult=1 / 16, init=tmp_path / "bad.pt")
    assert "features.99.weight" in str(error.value) and "features.3.bias" in str(error.value)


def test_width_mismatch_fails_with_shapes(tmp_path):
    torch.save(build_classifier("resnet18", 5, width_mult=1 / 8).state_dict(), tmp_path / "w.pt")
    with pytest.raises(ValueError, match="shape mismatch"):
        build_classifier("resnet18", 5, width_mult=1 / 16, init=tmp_path / "w.pt")


def test_drop_mode_discards_batchnorm_and_keeps_zero_biases(tmp_path):
    source = _randomise_batchnorm(
        build_classifier("resnet18", 4, width_mult=1 / 16, batch_norm=True)
    )
    torch.save(source.state_dict(), tmp_path / "bn.pt")
    model, report = build_classifier_with_report(
        "resnet18", 4, width_mult=1 / 16, init=tmp_path / "bn.pt", bn_mode="drop"
    )
    assert len(report.dropped) == 20 * 5
    assert torch.equal(model.conv1.weight, source.conv1.weight)
    assert torch.count_nonzero(model.conv1.bias) == 0


def test_scratch_specs_and_bad_specs():
    assert is_scratch(None) and is_scratch("scratch") and not is_scratch("x.pt")
    _, report = build_classifier_with_report("resnet18", 3, "scratch", width_mult=1 / 16)
    assert report is None
    with pytest.raises(ValueError, match="neither"):
        build_classifier("resnet18", 3, width_mult=1 / 16, init="no/such/file.pt")
    with pytest.raises(ValueError, match="unknown torchvision weights"):
        build_classifier("resnet18", 3, init="ResNet18_Weights.NOT_A_RELEASE")


def test_checkpoint_with_non_tensor_entries_is_rejected(tmp_path):
    torch.save({"conv1.weight": torch.zeros(1), "note": "hello"}, tmp_path / "odd.pt")
    with pytest.raises(ValueError, match="not tensors"):
        read_checkpoint(tmp_path / "odd.pt")


def test_timm_trunk_loads_local_weights_and_ignores_classifier(tmp_path):
    from safetensors.torch import save_file

    torch.manual_seed(3)
    full = _randomise_batchnorm(timm.create_model("resnet18.a1_in1k", pretrained=False))
    save_file(full.state_dict(), str(tmp_path / "model.safetensors"))
    trunk, channels = build_backbone_trunk("resnet18.a1_in1k", init=tmp_path / "model.safetensors")
    assert channels == 512
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(trunk.eval()(x), full.forward_features(x), atol=1e-5)
