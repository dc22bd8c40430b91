"""engine.losses: each loss against its formula at the settings where it reduces to binary cross-entropy."""
from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from helpers.engine.losses import LOSS_NAMES, AsymmetricLoss, FocalLoss, make_loss


def logits_and_targets() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return torch.randn(16, 18, generator=g) * 3, (torch.rand(16, 18, generator=g) > 0.7).float()


def test_focal_with_gamma_zero_and_asymmetric_without_focusing_are_bce():
    logits, targets = logits_and_targets()
    bce = F.binary_cross_entropy_with_logits(logits, targets)
    assert FocalLoss(gamma=0.0)(logits, targets) == pytest.approx(float(bce), rel=1e-5)
    assert AsymmetricLoss(gamma_neg=0.0, gamma_pos=0.0, margin=0.0)(logits, targets) == pytest.approx(float(bce),
                                                                                                   rel=1e-4)


def test_focal_down_weights_easy_decisions():
    easy, hard = torch.tensor([[6.0]]), torch.tensor([[0.0]])
    target = torch.ones(1, 1)
    ratio_focal = FocalLoss()(easy, target) / FocalLoss()(hard, target)
    ratio_bce = F.binary_cross_entropy_with_logits(easy, target) / F.binary_cross_entropy_with_logits(hard, target)
    assert ratio_focal < ratio_bce / 100


def test_asymmetric_margin_zeroes_very_easy_negatives():
    assert float(AsymmetricLoss()(torch.tensor([[-5.0]]), torch.zeros(1, 1))) == 0.0  # p < 0.05: no loss
    assert float(AsymmetricLoss()(torch.tensor([[2.0]]), torch.zeros(1, 1))) > 0


def test_make_loss_knows_every_name_and_refuses_others():
    assert [type(make_loss(n)).__name__ for n in LOSS_NAMES] == ["BCEWithLogitsLoss", "FocalLoss", "AsymmetricLoss"]
    with pytest.raises(ValueError, match="unknown loss 'mse'"):
        make_loss("mse")
