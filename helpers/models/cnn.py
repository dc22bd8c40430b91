"""ResNet-34 image models: weight loading with a clear offline fallback, transforms, both architectures.

- Architecture A (`FineTunedResNet`): ResNet-34 from ImageNet weights, last layer replaced by an
  18-way layer, every weight trained; optional standard augmentation.
- Architecture B (`FrozenResNet`): ResNet-34 frozen, then `FeatureHead` (3 fully connected layers,
  512 -> 256 -> 128 -> 18, ReLU and dropout 0.4 between them). The backbone runs once per image
  (helpers.train.image_features caches its 512-d features), the head trains on the cache.
Both output logits; the sigmoid and its cut-off are applied by helpers.train.fit / helpers.core.metrics.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torchvision import transforms
from torchvision.models import ResNet, ResNet34_Weights, resnet34

from helpers.core.labels import N_LABELS
from helpers.models.size import tensor_bytes

IMAGENET_WEIGHTS = ResNet34_Weights.IMAGENET1K_V1
FEATURE_DIM = 512  # ResNet-34's pooled feature size
NORM_MEAN = (0.5, 0.5, 0.5)  # reference: every channel normalised with mean 0.5, std 0.5
NORM_STD = (0.5, 0.5, 0.5)
HEAD_HIDDEN = (256, 128)  # architecture B: 512 -> 256 -> 128 -> 18 (3 fully connected layers)
HEAD_DROPOUT = 0.4  # reference


class PretrainedWeightsError(RuntimeError):
    """ImageNet weights are required (full profile) but could not be loaded; the message says where to put them."""


class PretrainedWeightsWarning(UserWarning):
    """Continuing from random initialisation because ImageNet weights could not be loaded."""


def weights_cache_path() -> Path:
    """Where torchvision's weights API keeps the ResNet-34 ImageNet file (follows TORCH_HOME)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(IMAGENET_WEIGHTS.url).name


def weights_tag(pretrained: bool, init_seed: int = 0) -> str:
    """Names the backbone weights in cache keys and tables."""
    return "imagenet1k_v1" if pretrained else f"random_init_seed{init_seed}"


def _imagenet_state_dict() -> dict[str, torch.Tensor]:
    """The ImageNet state dict from torchvision's cache, downloading it there when missing."""
    cached = weights_cache_path()
    if cached.is_file():
        return torch.load(cached, map_location="cpu", weights_only=True)
    return torch.hub.load_state_dict_from_url(IMAGENET_WEIGHTS.url, map_location="cpu", progress=True,
                                              weights_only=True)


def load_resnet34(pretrained: bool = True, require_pretrained: bool = False, init_seed: int = 0) -> tuple[ResNet, bool]:
    """ResNet-34 with ImageNet weights when they can be loaded; returns (model, pretrained_used).

    When they cannot (no internet and nothing in the cache): require_pretrained raises
    PretrainedWeightsError naming the file to download and where to put it; otherwise a
    visible warning is printed and the model starts from a random initialisation seeded by
    init_seed (the global random state is left untouched).
    """
    if pretrained:
        try:
            state = _imagenet_state_dict()
            model = resnet34(weights=None)
            model.load_state_dict(state)
            return model, True
        except Exception as err:  # offline, blocked, corrupt or incompatible file: all end the same way
            reason = f"{type(err).__name__}: {err}"
            where = (f"download {IMAGENET_WEIGHTS.url} and save it as {weights_cache_path()} "
                     "(or set TORCH_HOME to the folder holding hub/checkpoints/)")
            if require_pretrained:
                raise PretrainedWeightsError(
                    f"ResNet-34 ImageNet weights could not be loaded ({reason}). This profile needs them: "
                    f"{where}, then run again.") from err
            message = (f"ResNet-34 ImageNet weights could not be loaded ({reason}); continuing from a RANDOM "
                       f"initialisation, so image results will be far below the reference. To use them: {where}.")
            print("\n" + "!" * 100 + f"\nWARNING: {message}\n" + "!" * 100 + "\n", flush=True)
            warnings.warn(message, PretrainedWeightsWarning, stacklevel=2)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(init_seed)
        model = resnet34(weights=None)
    return model, False


def image_transform(size: int, augment: bool = False) -> transforms.Compose:
    """PIL image -> normalised tensor: stretch to size x size (no crop), [optional augmentation], mean/std 0.5.

    Augmentation (architecture A): horizontal flip, a small random crop and scale, colour jitter.
    """
    steps: list = [transforms.Resize((size, size), antialias=True)]
    if augment:
        steps += [
            transforms.RandomHorizontalFlip(),
            transforms.RandomResizedCrop(size, scale=(0.8, 1.0), ratio=(0.9, 1.1), antialias=True),
            transforms.ColorJitter(brightness=0.2, contrast=0.2, saturation=0.2, hue=0.02),
        ]
    steps += [transforms.ToTensor(), transforms.Normalize(NORM_MEAN, NORM_STD)]
    return transforms.Compose(steps)


class FineTunedResNet(nn.Module):
    """Architecture A: every ResNet-34 weight trained, last layer replaced by an 18-way layer."""

    def __init__(self, backbone: ResNet, n_labels: int = N_LABELS):
        super().__init__()
        backbone.fc = nn.Linear(backbone.fc.in_features, n_labels)
        self.net = backbone

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images)


class FeatureHead(nn.Module):
    """Architecture B's trainable part: 512-d backbone features -> 3 FC layers with ReLU + dropout -> 18 logits.

    The features are standardised first with the training rows' mean and std (stored as buffers,
    so they travel in the checkpoint); this keeps one learning rate working for pretrained and
    random-init features alike.
    """

    def __init__(self, in_dim: int = FEATURE_DIM, hidden: tuple[int, ...] = HEAD_HIDDEN,
                 dropout: float = HEAD_DROPOUT, n_labels: int = N_LABELS):
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


def feature_extractor(backbone: ResNet) -> ResNet:
    """The backbone up to its pooled 512-d features (last layer removed), frozen and in eval mode."""
    backbone.fc = nn.Identity()
    for p in backbone.parameters():
        p.requires_grad_(False)
    return backbone.eval()


class FrozenResNet(nn.Module):
    """Architecture B end to end (images -> logits): frozen backbone + FeatureHead.

    Used to predict from images and to time the reference's way of training (backbone run
    every epoch). The backbone stays in eval mode even when the module is put in training mode.
    """

    def __init__(self, backbone: ResNet, head: FeatureHead):
        super().__init__()
        self.backbone = feature_extractor(backbone)
        self.head = head

    def train(self, mode: bool = True) -> FrozenResNet:
        super().train(mode)
        self.backbone.eval()
        return self

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            features = self.backbone(images)
        return self.head(features)


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def state_size_bytes(model: nn.Module) -> int:
    """Bytes of every tensor needed to predict (parameters and buffers), as saved in float32."""
    return tensor_bytes(model.state_dict())


@dataclass(frozen=True)
class Precision:
    """How inference runs on a device: autocast dtype (None: float32) and memory format."""

    device_type: str
    autocast_dtype: torch.dtype | None
    channels_last: bool

    @property
    def label(self) -> str:
        dtype = str(self.autocast_dtype).replace("torch.", "") if self.autocast_dtype else "float32"
        return f"{self.device_type} {dtype}{', channels_last' if self.channels_last else ''}"

    def autocast(self) -> torch.autocast:
        return torch.autocast(self.device_type, dtype=self.autocast_dtype or torch.float32,
                              enabled=self.autocast_dtype is not None)


def cpu_supports_fast_bf16() -> bool:
    """True when the CPU has native bf16 matrix instructions (AMX or AVX512-BF16); otherwise bf16 is slower."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return any(flag in flags for flag in ("amx_bf16", "avx512_bf16"))


def inference_precision(device: torch.device | str) -> Precision:
    """bf16/fp16 autocast + channels_last on CUDA; bf16 on CPU only where it is fast; else float32."""
    device = torch.device(device)
    if device.type == "cuda":
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return Precision("cuda", dtype, True)
    if device.type == "cpu":
        return Precision("cpu", torch.bfloat16 if cpu_supports_fast_bf16() else None, True)
    return Precision(device.type, None, False)
