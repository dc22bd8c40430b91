"""One trained image model as notebook 03 compares it and hands it on, and the choice between models."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from torch import nn

from helpers.core.metrics import scores_at_cutoff
from helpers.models.size import model_bytes
from helpers.train.fit import FitResult


@dataclass
class ModelOutcome:
    """One trained image model, ready to compare and hand to notebook 05."""

    name: str  # e.g. "A: fine-tuned resnet34"
    arch: str  # "A" or "B"
    model: nn.Module  # what predicts from images (B: frozen backbone + head)
    fit: FitResult
    val_probs: np.ndarray
    test_probs: np.ndarray
    train_time_s: float
    test_time_s: float
    pretrained: bool
    config: dict[str, Any]  # rebuilds the model (helpers.models.image_models.build_image_model) + train_config
    train_time_note: str = ""

    @property
    def cutoff(self) -> float:
        return float(self.config["train_config"]["cutoff"])

    @property
    def size_bytes(self) -> int:
        """Bytes of every tensor needed to predict from an image (parameters and buffers) at float32."""
        return model_bytes(self.model)

    @property
    def trained_from_scratch(self) -> bool:
        return bool(self.config.get("trained_from_scratch", False))


def choose_by_validation(outcomes: Sequence[ModelOutcome], val_y: np.ndarray) -> ModelOutcome:
    """The model with the best validation micro-F1 (test rows are never looked at)."""
    return max(outcomes, key=lambda o: scores_at_cutoff(val_y, o.val_probs, o.cutoff)["micro_f1"])
