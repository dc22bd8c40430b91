"""Multi-label losses on logits: binary cross-entropy (the reference) and two for unbalanced labels.

- "bce":        mean binary cross-entropy over every (row, label).
- "focal":      focal loss (Lin et al. 2017), gamma 2: down-weights easy decisions, mostly the many
                easy negatives of rare labels.
- "asymmetric": asymmetric loss (Ridnik et al. 2021), gamma- 4, gamma+ 0, probability margin 0.05 on
                negatives: focuses harder on negatives than on positives.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

LOSS_NAMES = ("bce", "focal", "asymmetric")


class FocalLoss(nn.Module):
    def __init__(self, gamma: float = 2.0):
        super().__init__()
        self.gamma = gamma

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        bce = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
        p_true = torch.exp(-bce)  # probability given to the true class of each decision
        return ((1 - p_true) ** self.gamma * bce).mean()


class AsymmetricLoss(nn.Module):
    def __init__(self, gamma_neg: float = 4.0, gamma_pos: float = 0.0, margin: float = 0.05):
        super().__init__()
        self.gamma_neg, self.gamma_pos, self.margin = gamma_neg, gamma_pos, margin

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        p = torch.sigmoid(logits)
        p_neg = (p - self.margin).clamp(min=0)  # shifted probability: very easy negatives count 0
        loss_pos = targets * (1 - p) ** self.gamma_pos * torch.log(p.clamp(min=1e-8))
        loss_neg = (1 - targets) * p_neg ** self.gamma_neg * torch.log((1 - p_neg).clamp(min=1e-8))
        return -(loss_pos + loss_neg).mean()


def make_loss(name: str) -> nn.Module:
    if name == "bce":
        return nn.BCEWithLogitsLoss()
    if name == "focal":
        return FocalLoss()
    if name == "asymmetric":
        return AsymmetricLoss()
    raise ValueError(f"unknown loss {name!r}; choose one of {', '.join(LOSS_NAMES)}")
