"""Names kept for modules that still import them from here (the predictor); new code uses
helpers.models.image_models and helpers.models.backbones, where they now live."""
from __future__ import annotations

import torch
from torch import nn

from helpers.core.labels import N_LABELS
from helpers.models.image_models import HEAD_DROPOUT, HEAD_HIDDEN, FeatureHead
from helpers.models.image_models import REFERENCE_MEAN as NORM_MEAN
from helpers.models.image_models import REFERENCE_STD as NORM_STD

__all__ = ["HEAD_DROPOUT", "HEAD_HIDDEN", "NORM_MEAN", "NORM_STD", "FeatureHead", "FineTunedResNet"]


class FineTunedResNet(nn.Module):
    """A torchvision ResNet with an n_labels-way last layer, wrapped (state keys 'net.*'); files written before the
    backbone registry hold this layout."""

    def __init__(self, backbone: nn.Module, n_labels: int = N_LABELS):
        super().__init__()
        backbone.fc = nn.Linear(backbone.fc.in_features, n_labels)
        self.net = backbone

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images)
