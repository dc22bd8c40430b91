"""The image model: its typed config (`ImageModelConfig`), its two architectures for any backbone, their preprocessing.

- `ImageModelConfig`: everything that rebuilds and feeds one image model (architecture, backbone, widths of the
  from-scratch network, image size, preprocessing, head); `to_state()` / `from_state()` are what its weights
  file stores, and `build_image_model(config)` / `build_feature_extractor(config)` build from it.
- Architecture A (`build_finetuned`): the backbone with its classifier replaced by an 18-way layer, every
  weight trained (the from-scratch network already ends in an 18-way `fc`, kept as it is).
- Architecture B (`FrozenBackbone`): the backbone frozen (classifier removed, so it outputs its pooled
  features), then `FeatureHead` (3 fully connected layers, d -> 256 -> 128 -> 18, ReLU and dropout 0.4;
  d discovered from the backbone). helpers.train.image_data caches the features; the head trains on them.
Both output logits.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING, asdict, dataclass, fields
from typing import Any

import torch
from torch import nn
from torchvision import transforms
from torchvision.transforms._presets import ImageClassification

from helpers.core.labels import N_LABELS
from helpers.core.seeding import seeded
from helpers.models.backbones import SCRATCH_NAME, create_backbone, feature_dim, replace_classifier

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


@dataclass(frozen=True)
class ImageModelConfig:
    """What rebuilds and feeds one image model (not how or on what it was trained: those are run facts)."""

    arch: str  # "A" (every weight trained) or "B" (frozen backbone + FeatureHead)
    backbone: str  # a torchvision registry name, or SCRATCH_NAME for the from-scratch network
    image_size: int
    widths: tuple[int, ...] = ()  # the from-scratch network's stage widths; () for torchvision backbones
    pretrained: bool = False  # the backbone started from ImageNet weights
    trained_from_scratch: bool = False
    preprocessing: str = "reference"  # see PREPROCESSING
    head_hidden: tuple[int, ...] = HEAD_HIDDEN  # architecture B's head
    head_dropout: float = HEAD_DROPOUT
    augment: bool = False  # training-time augmentation (architecture A)

    def __post_init__(self) -> None:
        if self.arch not in ("A", "B"):
            raise ValueError(f"arch must be 'A' or 'B', not {self.arch!r}")
        check_preprocessing(self.preprocessing)
        object.__setattr__(self, "widths", tuple(int(w) for w in self.widths))
        object.__setattr__(self, "head_hidden", tuple(int(h) for h in self.head_hidden))

    @property
    def mean(self) -> tuple[float, ...]:
        """Per-channel normalisation mean of its preprocessing."""
        return normalisation(self.preprocessing)[0]

    @property
    def std(self) -> tuple[float, ...]:
        return normalisation(self.preprocessing)[1]

    def to_state(self) -> dict[str, Any]:
        """Plain values (lists, not tuples), as a weights file stores them."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> ImageModelConfig:
        """The config a weights file stored; ValueError naming any unknown or missing key."""
        names = {f.name for f in fields(cls)}
        required = {f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING}
        unknown, missing = sorted(set(state) - names), sorted(required - set(state))
        if unknown or missing:
            raise ValueError(f"image model config: unknown keys {unknown}, missing keys {missing} "
                             f"(expected {sorted(names)})")
        return cls(**{k: tuple(v) if k in ("widths", "head_hidden") else v for k, v in state.items()})


def build_image_model(config: ImageModelConfig, *, seed: int = 0) -> nn.Module:
    """The untrained model a config describes, built under `seeded(seed)` (load a state_dict into it).

    Architecture A: the backbone with an 18-way classifier (the from-scratch network's own `fc`; a
    torchvision backbone's classifier replaced); B: FrozenBackbone(frozen backbone, FeatureHead).
    The backbone is a random initialisation: pretrained weights come from the loaded state_dict.
    """
    with seeded(seed):
        backbone = create_backbone(config.backbone, config.widths, init_seed=seed)
        if config.arch == "A":
            return backbone if config.backbone == SCRATCH_NAME else build_finetuned(backbone)
        head = FeatureHead(feature_dim(backbone), config.head_hidden, config.head_dropout)
        return FrozenBackbone(feature_extractor(backbone), head)


def build_feature_extractor(config: ImageModelConfig, *, seed: int = 0) -> nn.Module:
    """The config's backbone without its classifier, frozen and in eval mode (architecture B's input)."""
    return feature_extractor(create_backbone(config.backbone, config.widths, init_seed=seed))
