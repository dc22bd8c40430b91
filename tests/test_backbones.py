"""Backbones from torchvision's registry, offline: names, weights, both architectures, precision switches."""
from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn

from helpers.core.labels import N_LABELS
from helpers.models import backbones as bb
from helpers.models import image_model as im
from helpers.models.backbones import SCRATCH_NAME

TINY = ("resnet18", "mobilenet_v3_small", "efficientnet_b0", SCRATCH_NAME)


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """An empty torch cache, a download that fails as it does without internet, and a fresh warn-once state."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))

    def no_network(*args, **kwargs):
        print('Downloading: "https://download.pytorch.org/models/x.pth"')  # what torch.hub prints first
        raise OSError("<urlopen error [Errno -3] Temporary failure in name resolution>")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_network)
    monkeypatch.setattr(bb, "_warned", [])
    return tmp_path


def test_unknown_backbone_lists_close_matches():
    with pytest.raises(ValueError, match="resnet34"):
        bb.check_backbone_name("resnt34")
    assert bb.check_backbone_name("convnext_tiny") == "convnext_tiny"
    with pytest.raises(ValueError, match="DEFAULT"):
        bb.resolve_weights("resnet18", "IMAGENET9K")
    assert bb.resolve_weights("resnet18", "none") is None
    assert bb.resolve_weights("resnet18", "DEFAULT").name == "IMAGENET1K_V1"


def test_offline_warns_once_without_a_download_line_and_is_seeded(offline, capsys):
    with pytest.warns(bb.PretrainedWeightsWarning, match="WITHOUT pretrained weights"):
        model, pretrained = bb.load_backbone("resnet18", init_seed=3)
    assert pretrained is False
    with warnings.catch_warnings(record=True) as again:
        warnings.simplefilter("always")
        other, _ = bb.load_backbone("resnet18", init_seed=3)
        bb.load_backbone("mobilenet_v3_small")
    assert not [w for w in again if issubclass(w.category, bb.PretrainedWeightsWarning)]
    assert "Downloading" not in capsys.readouterr().out
    assert torch.equal(model.conv1.weight, other.conv1.weight)


def test_offline_full_profile_stops_naming_the_file_and_url(offline):
    weights = bb.resolve_weights("resnet18", "DEFAULT")
    with pytest.raises(bb.PretrainedWeightsError) as err:
        bb.load_backbone("resnet18", require_pretrained=True)
    assert str(bb.weights_cache_path(weights)) in str(err.value)
    assert weights.url in str(err.value)
    assert str(offline) in str(bb.weights_cache_path(weights))  # follows TORCH_HOME


def test_weights_load_from_the_torch_cache_without_network(offline):
    weights = bb.resolve_weights("resnet18", "DEFAULT")
    state = bb.load_backbone("resnet18", "none", init_seed=5)[0].state_dict()
    path = bb.weights_cache_path(weights)
    path.parent.mkdir(parents=True)
    torch.save(state, path)
    model, pretrained = bb.load_backbone("resnet18", require_pretrained=True)
    assert pretrained is True
    assert torch.equal(model.conv1.weight, state["conv1.weight"])


@pytest.mark.parametrize("name", TINY)
def test_both_architectures_for_every_backbone_at_32_px(name):
    images = torch.randn(2, 3, 32, 32)
    model_a = im.build_finetuned(bb.load_backbone(name, "none")[0]).eval()
    assert model_a(images).shape == (2, N_LABELS)
    assert all(p.requires_grad for p in model_a.parameters())

    backbone = bb.load_backbone(name, "none")[0]
    dim = bb.feature_dim(backbone)
    extractor = im.feature_extractor(backbone)
    assert extractor(images).shape == (2, dim)  # the discovered size is what the backbone outputs
    model_b = im.FrozenBackbone(extractor, im.FeatureHead(dim)).train()
    assert model_b(images).shape == (2, N_LABELS)
    assert not extractor.training  # stays in eval mode when B trains
    assert all(not p.requires_grad for p in extractor.parameters())

    config_b = {"arch": "B", "backbone": name, "head_hidden": list(im.HEAD_HIDDEN), "head_dropout": im.HEAD_DROPOUT}
    rebuilt = im.build_image_model(config_b)
    rebuilt.load_state_dict(model_b.state_dict())  # the config rebuilds exactly this model
    rebuilt_a = im.build_image_model({"arch": "A", "backbone": name})
    rebuilt_a.load_state_dict(model_a.state_dict())


def test_classifier_without_linear_layer_is_refused():
    with pytest.raises(ValueError, match="no fully connected classifier"):
        bb.feature_dim(nn.Sequential(nn.Conv2d(3, 4, 1)))


def test_precision_cpu_path_is_plain_and_cuda_choice_follows_capability():
    cpu = im.choose_precision("cpu", training=True)
    assert cpu.autocast_dtype is None and not cpu.needs_grad_scaler
    assert im.choose_precision("cpu").autocast_dtype in (None, torch.bfloat16)
    assert (im.choose_precision("cpu").autocast_dtype is torch.bfloat16) == im.cpu_supports_fast_bf16()
    old = im.choose_precision("cuda", cuda_bf16=False)  # e.g. a T4: no bfloat16
    assert old.autocast_dtype is torch.float16 and old.needs_grad_scaler and old.channels_last
    new = im.choose_precision("cuda", cuda_bf16=True)
    assert new.autocast_dtype is torch.bfloat16 and not new.needs_grad_scaler
    assert im.loader_options("cpu", 2, reused=True) == {"num_workers": 2, "pin_memory": False,
                                                        "persistent_workers": False}
    assert im.loader_options("cuda", 2, reused=True)["persistent_workers"] is True
    assert im.loader_options("cuda", 0, reused=True)["persistent_workers"] is False


def test_weights_preprocessing_crops_and_uses_imagenet_statistics():
    from PIL import Image
    image = Image.new("RGB", (80, 40), (255, 255, 255))
    x = im.image_transform(32, "weights")(image)
    assert x.shape == (3, 32, 32)
    assert torch.allclose(x[:, 0, 0], (1 - torch.tensor(im.IMAGENET_MEAN)) / torch.tensor(im.IMAGENET_STD), atol=1e-3)
    y = im.image_transform(32, "reference")(image.resize((32, 32)))
    assert torch.allclose(y, torch.ones_like(y))
    with pytest.raises(ValueError, match="preprocessing"):
        im.image_transform(32, "imagenet")
