"""helpers.models.backbones, offline: names, weights, the torch cache, the one random-initialisation builder."""
from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn

from helpers.models import backbones as bb
from helpers.models.backbones import SCRATCH_NAME


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


def test_classifier_without_linear_layer_is_refused():
    with pytest.raises(ValueError, match="no fully connected classifier"):
        bb.feature_dim(nn.Sequential(nn.Conv2d(3, 4, 1)))


@pytest.mark.parametrize("name", ["resnet18", SCRATCH_NAME])
def test_create_backbone_is_seeded_and_leaves_the_callers_random_state(name):
    widths = (4, 8) if name == SCRATCH_NAME else ()
    with torch.random.fork_rng(devices=[]):  # what the builders did before seeding.seeded
        torch.manual_seed(7)
        expected = bb.ScratchResNet(widths) if name == SCRATCH_NAME else bb.get_model(name, weights=None)
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    model = bb.create_backbone(name, widths, init_seed=7)
    assert torch.equal(torch.random.get_rng_state(), before)
    state, want = model.state_dict(), expected.state_dict()
    assert list(state) == list(want) and all(torch.equal(state[k], want[k]) for k in want)
    assert not torch.equal(bb.create_backbone(name, widths, init_seed=8).state_dict()[list(want)[0]],
                           want[list(want)[0]])


def test_scratch_widths_reach_the_network_and_empty_means_the_defaults():
    assert bb.create_backbone(SCRATCH_NAME, (4, 8)).fc.in_features == 8
    assert bb.create_backbone(SCRATCH_NAME).fc.in_features == bb.DEFAULT_WIDTHS[-1]
    with pytest.raises(ValueError, match="unknown image backbone"):
        bb.create_backbone("resnt18")


def test_scratch_train_autocast_applies_only_in_training_mode():
    from helpers.models.backbones import ScratchResNet

    model = ScratchResNet((4, 8))
    x = torch.randn(2, 3, 16, 16)
    assert model.train()(x).dtype == torch.float32  # unset: float32
    model.train_autocast = torch.bfloat16
    assert model.train()(x).dtype == torch.bfloat16
    assert model.eval()(x).dtype == torch.float32  # inference follows the engine's policy
    assert "train_autocast" not in model.state_dict()
