"""helpers.models.image_model: ImageModelConfig, both architectures for every backbone, the one builder, transforms."""
from __future__ import annotations

import pytest
import torch

from helpers.core.labels import N_LABELS
from helpers.models import backbones as bb
from helpers.models import image_model as im
from helpers.models.backbones import SCRATCH_NAME
from helpers.models.image_model import ImageModelConfig

TINY = ("resnet18", "mobilenet_v3_small", "efficientnet_b0", SCRATCH_NAME)


def _config(**changes) -> ImageModelConfig:
    base = dict(arch="B", backbone=SCRATCH_NAME, image_size=16, widths=(4, 8), trained_from_scratch=True,
                head_hidden=(6, 5), head_dropout=0.1)
    return ImageModelConfig(**{**base, **changes})


def test_config_round_trips_through_plain_state():
    config = _config(preprocessing="weights", augment=True, pretrained=True)
    state = config.to_state()
    assert state["widths"] == [4, 8] and state["head_hidden"] == [6, 5]  # lists: what weights_only loading accepts
    assert all(not isinstance(v, tuple) for v in state.values())
    assert ImageModelConfig.from_state(state) == config
    assert ImageModelConfig.from_state({"arch": "A", "backbone": "resnet18", "image_size": 32}).head_hidden == \
        im.HEAD_HIDDEN


def test_config_refuses_unknown_and_missing_keys_and_bad_values():
    state = _config().to_state()
    with pytest.raises(ValueError, match="backbone_name"):
        ImageModelConfig.from_state({**state, "backbone_name": SCRATCH_NAME})  # the old alias keys
    without = {k: v for k, v in state.items() if k != "image_size"}
    with pytest.raises(ValueError, match="image_size"):
        ImageModelConfig.from_state(without)
    with pytest.raises(ValueError, match="arch"):
        _config(arch="C")
    with pytest.raises(ValueError, match="preprocessing"):
        _config(preprocessing="imagenet")


def test_mean_and_std_follow_the_preprocessing():
    assert (_config().mean, _config().std) == (im.REFERENCE_MEAN, im.REFERENCE_STD)
    weights = _config(preprocessing="weights")
    assert (weights.mean, weights.std) == (im.IMAGENET_MEAN, im.IMAGENET_STD)


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

    rebuilt = im.build_image_model(ImageModelConfig(arch="B", backbone=name, image_size=32))
    rebuilt.load_state_dict(model_b.state_dict())  # the config rebuilds exactly this model
    extractor_only = im.build_feature_extractor(ImageModelConfig(arch="B", backbone=name, image_size=32))
    extractor_only.load_state_dict(extractor.state_dict())
    assert not extractor_only.training and extractor_only(images).shape == (2, dim)
    if name != SCRATCH_NAME:  # the from-scratch network keeps its own 18-way fc (see the next test)
        im.build_image_model(ImageModelConfig(arch="A", backbone=name, image_size=32)).load_state_dict(
            model_a.state_dict())


def test_from_scratch_a_is_the_network_itself_seeded_as_before():
    with torch.random.fork_rng(devices=[]):  # how train_from_scratch built it before ImageModelConfig
        torch.manual_seed(3)
        expected = bb.ScratchResNet((4, 8))
    torch.manual_seed(99)
    before = torch.random.get_rng_state()
    model = im.build_image_model(_config(arch="A"), seed=3)
    assert torch.equal(torch.random.get_rng_state(), before)  # the caller's random state is untouched
    assert isinstance(model, bb.ScratchResNet)
    want = expected.state_dict()
    assert all(torch.equal(model.state_dict()[k], want[k]) for k in want) and set(model.state_dict()) == set(want)


@pytest.mark.parametrize("arch", ["A", "B"])
def test_a_trained_state_loads_into_the_model_its_saved_config_builds(arch):
    config = _config(arch=arch)
    trained = im.build_image_model(config, seed=1)
    with torch.no_grad():  # "training": every weight moves away from any initialisation
        for tensor in trained.state_dict().values():
            if torch.is_floating_point(tensor):
                tensor.add_(torch.randn(tensor.shape, generator=torch.Generator().manual_seed(5)) * 0.1)
    if arch == "B":
        trained.head.set_standardisation(torch.randn(20, 8, generator=torch.Generator().manual_seed(2)))
    rebuilt = im.build_image_model(ImageModelConfig.from_state(config.to_state()), seed=0)
    rebuilt.load_state_dict(trained.state_dict())
    images = torch.randn(3, 3, 16, 16, generator=torch.Generator().manual_seed(4))
    trained.eval(), rebuilt.eval()
    assert torch.equal(rebuilt(images), trained(images))
    assert not torch.equal(im.build_image_model(config, seed=0).eval()(images), trained(images))


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
