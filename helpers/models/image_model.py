"""The two image architectures for any backbone, their preprocessing, and how they run on a device.

- Architecture A (`build_finetuned`): the backbone with its classifier replaced by an 18-way layer,
  every weight trained.
- Architecture B (`FrozenBackbone`): the backbone frozen (classifier removed, so it outputs its pooled
  features), then `FeatureHead` (3 fully connected layers, d -> 256 -> 128 -> 18, ReLU and dropout 0.4;
  d discovered from the backbone). helpers.train.image_data caches the features; the head trains on them.
Both output logits. `build_image_model(config)` rebuilds either from the config stored in its weights file.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torchvision import transforms
from torchvision.transforms._presets import ImageClassification

from helpers.core.labels import N_LABELS
from helpers.models.backbones import (
    DEFAULT_WIDTHS,
    SCRATCH_NAME,
    ScratchResNet,
    feature_dim,
    load_backbone,
    replace_classifier,
)

# ---- from models/image_models
PREPROCESSING = ("reference", "weights")
REFERENCE_MEAN = (0.5, 0.5, 0.5)  # reference: every channel normalised with mean 0.5, std 0.5, stretched to a square
REFERENCE_STD = (0.5, 0.5, 0.5)
IMAGENET_MEAN = (0.485, 0.456, 0.406)  # what ImageNet weights were trained with (used without weights too)
IMAGENET_STD = (0.229, 0.224, 0.225)
HEAD_HIDDEN = (256, 128)  # architecture B: d -> 256 -> 128 -> 18 (3 fully connected layers)
HEAD_DROPOUT = 0.4  # reference


def check_preprocessing(preprocessing: str) -> str:
    if preprocessing not in PREPROCESSING:
        raise ValueError(f"preprocessing must be one of {PREPROCESSING}, not {preprocessing!r}")
    return preprocessing


def normalisation(preprocessing: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """(mean, std) per channel for a preprocessing name."""
    return (REFERENCE_MEAN, REFERENCE_STD) if check_preprocessing(preprocessing) == "reference" else \
        (IMAGENET_MEAN, IMAGENET_STD)


def image_transform(size: int, preprocessing: str = "reference", augment: bool = False) -> transforms.Compose:
    """PIL image (already stretched to size x size, see helpers.data.images) -> normalised tensor.

    "reference": stretch to a square, mean/std 0.5. "weights": the ImageNet weights' own recipe
    (resize the shorter side to size * 256/224, centre crop to size, ImageNet mean/std); the caller
    then passes the image unstretched. Augmentation (architecture A): horizontal flip, a small random
    crop and scale, colour jitter.
    """
    mean, std = normalisation(preprocessing)
    if preprocessing == "weights" and not augment:
        return ImageClassification(crop_size=size, resize_size=round(size * 256 / 224), mean=mean, std=std)
    steps: list = [transforms.Resize((size, size), antialias=True)]
    if augment:
        steps += [
            transforms.RandomHorizontalFlip(),
            transforms.RandomResizedCrop(size, scale=(0.8, 1.0), ratio=(0.9, 1.1), antialias=True),
            transforms.ColorJitter(brightness=0.2, contrast=0.2, saturation=0.2, hue=0.02),
        ]
    steps += [transforms.ToTensor(), transforms.Normalize(mean, std)]
    return transforms.Compose(steps)


class FeatureHead(nn.Module):
    """Architecture B's trainable part: backbone features -> 3 FC layers with ReLU + dropout -> 18 logits.

    The features are standardised first with the training rows' mean and std (stored as buffers, so
    they travel in the weights file); this keeps one learning rate working for every backbone.
    """

    def __init__(self, in_dim: int, hidden: tuple[int, ...] = HEAD_HIDDEN, dropout: float = HEAD_DROPOUT,
                 n_labels: int = N_LABELS):
        super().__init__()
        self.register_buffer("mean", torch.zeros(in_dim))
        self.register_buffer("std", torch.ones(in_dim))
        layers: list[nn.Module] = []
        width = in_dim
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU(), nn.Dropout(dropout)]
            width = h
        layers.append(nn.Linear(width, n_labels))
        self.layers = nn.Sequential(*layers)

    def set_standardisation(self, features: torch.Tensor) -> None:
        """Store the per-feature mean and std of the training features."""
        features = features.float()
        self.mean.copy_(features.mean(0))
        self.std.copy_(features.std(0).clamp_min(1e-6))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.layers((features.float() - self.mean) / self.std)


def feature_extractor(backbone: nn.Module) -> nn.Module:
    """The backbone up to its pooled features (classifier removed), frozen and in eval mode."""
    replace_classifier(backbone)
    for p in backbone.parameters():
        p.requires_grad_(False)
    return backbone.eval()


def build_finetuned(backbone: nn.Module, n_labels: int = N_LABELS) -> nn.Module:
    """Architecture A: the backbone with its classifier replaced by an n_labels-way layer (every weight trained)."""
    replace_classifier(backbone, nn.Linear(feature_dim(backbone), n_labels))
    return backbone


class FrozenBackbone(nn.Module):
    """Architecture B end to end (images -> logits): frozen feature extractor + FeatureHead.

    The backbone stays in eval mode even when the module is put in training mode.
    """

    def __init__(self, extractor: nn.Module, head: FeatureHead):
        super().__init__()
        self.backbone = extractor
        self.head = head

    def train(self, mode: bool = True) -> FrozenBackbone:
        super().train(mode)
        self.backbone.eval()
        return self

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            features = self.backbone(images)
        return self.head(features)


def build_image_model(config: dict[str, Any]) -> nn.Module:
    """The untrained model a weights file's config describes (load its state_dict into it)."""
    if config["backbone"] == SCRATCH_NAME:
        backbone: nn.Module = ScratchResNet(config.get("widths", DEFAULT_WIDTHS))
    else:
        backbone = load_backbone(config["backbone"], "none")[0]
    if config["arch"] == "A":
        return build_finetuned(backbone)
    dim = feature_dim(backbone)
    head = FeatureHead(dim, tuple(config["head_hidden"]), config["head_dropout"])
    return FrozenBackbone(feature_extractor(backbone), head)


