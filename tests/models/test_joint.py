"""helpers.models.joint: the config's state round trip, and a build that is seeded without touching the caller's RNG."""
from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from helpers.models.joint import JointConfig, JointModel, build_joint

VOCAB = 30


def test_config_state_is_plain_and_reads_back_equal():
    config = JointConfig(vocab_size=VOCAB, fusion="gated", image_dim=256, width=16, bidirectional=True)
    state = config.to_state()
    assert all(isinstance(v, (int, float, str, bool)) for v in state.values())
    assert JointConfig.from_state(state) == config
    assert build_joint(state, seed=1).config == config  # a state mapping builds the same model


def test_config_state_with_unknown_or_missing_keys_is_refused_naming_them():
    with pytest.raises(ValueError, match=r"unknown keys \['colour'\]"):
        JointConfig.from_state({**JointConfig(vocab_size=VOCAB).to_state(), "colour": 1})
    with pytest.raises(ValueError, match=r"missing key \['vocab_size'\]"):
        JointConfig.from_state({"fusion": "concat"})


def test_a_seed_gives_the_weights_of_that_seed_and_leaves_the_callers_generators_alone():
    config = JointConfig(vocab_size=VOCAB, width=8, embed_dim=8, lstm_hidden=8)
    torch.manual_seed(7)
    expected = JointModel(config).state_dict()  # what the builder drew when it reseeded the global generator
    torch.manual_seed(123), np.random.seed(123), random.seed(123)
    before = torch.get_rng_state(), np.random.get_state()[1].copy(), random.getstate()
    model = build_joint(config, seed=7)
    assert torch.equal(torch.get_rng_state(), before[0])
    assert np.array_equal(np.random.get_state()[1], before[1]) and random.getstate() == before[2]
    for key, value in expected.items():
        assert torch.equal(model.state_dict()[key], value), key
    assert not torch.equal(build_joint(config, seed=8).image[0].weight, model.image[0].weight)
    # no seed: drawn from the caller's state without advancing it, so the same weights twice
    assert torch.equal(build_joint(config).image[0].weight, build_joint(config).image[0].weight)
    assert torch.equal(torch.get_rng_state(), before[0])


def test_features_are_as_wide_as_the_backbone_says():
    model = build_joint(JointConfig(vocab_size=VOCAB, image_dim=256, width=8), seed=0).eval()
    tokens, lengths = torch.randint(1, VOCAB, (3, 5)), torch.tensor([5, 2, 1])
    assert model(torch.randn(3, 256), tokens, lengths).shape == (3, 18)
    with pytest.raises(RuntimeError):
        model(torch.randn(3, 512), tokens, lengths)


def _batch(n: int = 6, image_dim: int = 8):
    generator = torch.Generator().manual_seed(0)
    tokens = torch.randint(1, VOCAB, (n, 5), generator=generator)
    return torch.randn(n, image_dim, generator=generator), tokens, torch.full((n,), 5), torch.ones(n, 18) * 0.0


def test_branch_losses_are_added_only_when_asked_for_and_only_in_training():
    from torch import nn

    image, tokens, lengths, y = _batch()
    loss_fn = nn.BCEWithLogitsLoss()
    plain = build_joint(JointConfig(vocab_size=VOCAB, fusion="gated", image_dim=8, width=4), seed=0).train()
    plain(image, tokens, lengths)
    assert plain.auxiliary_loss(loss_fn, y) is None  # aux_weight 0: the fused output's loss alone
    model = build_joint(JointConfig(vocab_size=VOCAB, fusion="gated", image_dim=8, width=4, aux_weight=0.5), seed=0)
    model.train()
    model(image, tokens, lengths)
    extra = model.auxiliary_loss(loss_fn, y)
    img, cap = model.branches(image, tokens, lengths)
    expected = 0.5 * (loss_fn(model.image_logits(img), y) + loss_fn(model.caption_logits(cap), y))
    torch.testing.assert_close(extra, expected, atol=1e-2, rtol=0)  # dropout draws differ between the two passes
    assert model.auxiliary_loss(loss_fn, y) is None  # used once per forward pass
    model.eval()
    model(image, tokens, lengths)
    assert model.auxiliary_loss(loss_fn, y) is None  # inference never keeps branch outputs
    with pytest.raises(ValueError, match="gated"):
        JointModel(JointConfig(vocab_size=VOCAB, fusion="concat", aux_weight=1.0))
    assert JointConfig.from_state({k: v for k, v in model.config.to_state().items() if k != "aux_weight"}
                                  ).aux_weight == 0.0  # a file written before the option reads back


def test_fit_adds_a_models_auxiliary_loss():
    from helpers.engine.fit import TrainConfig, fit

    image, tokens, lengths, y = _batch(16)
    batches = [(image, tokens, lengths, y)]
    losses = {}
    for weight in (0.0, 1.0):
        model = build_joint(JointConfig(vocab_size=VOCAB, fusion="gated", image_dim=8, width=4, aux_weight=weight,
                                        dropout=0.0), seed=0)
        result = fit(model, batches, None, TrainConfig(epochs=1, lr=0.0), desc="aux")
        losses[weight] = float(result.history["train_loss"].iloc[0])
    assert losses[1.0] > losses[0.0] * 2  # the two branch losses (each about as large as the fused one) are added
