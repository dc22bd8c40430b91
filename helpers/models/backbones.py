"""Image backbones by name (torchvision's registry and the from-scratch network), their weights and classifier.

- `ScratchResNet` (name `SCRATCH_NAME`): a small ResNet-like network for training from scratch when no
  pretrained weights are available. Standard residual design (He et al. 2016, the CIFAR variant): a 3x3 stem
  at full resolution, one basic block per stage, each halving the resolution and (by default) doubling the
  width, global average pooling and one linear classifier (`fc`, found and replaced like any torchvision
  backbone's). Its size suits small images (32-96 px) on a CPU.
- `create_backbone(name, widths, init_seed)`: the one place that builds a randomly initialised backbone of
  either kind (under `helpers.core.seeding.seeded`, so the caller's random state is untouched).
- `backbone_names()` lists torchvision's classification models and the from-scratch network;
  `check_backbone_name` rejects anything else, listing close matches.
- `load_backbone(name, weights)` builds the model with the requested ImageNet weights when they are in
  torch's cache or can be downloaded; otherwise it stops (full profile) naming the file and where to put
  it, or warns ONCE per process and returns a seeded random initialisation.
- `replace_classifier` finds the model's last fully connected layer, whatever its name (fc, classifier,
  heads, head), so that the feature dimension is discovered, never hard-coded.
"""
from __future__ import annotations

import contextlib
import difflib
import io
import warnings
from collections.abc import Sequence
from pathlib import Path

import torch
import torchvision
from torch import nn
from torchvision.models import WeightsEnum, get_model, get_model_weights, list_models

from helpers.core.labels import N_LABELS
from helpers.core.seeding import seeded

SCRATCH_NAME = "scratch_resnet"  # the name tables and configs use for this network
DEFAULT_WIDTHS = (32, 64, 128, 256)


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with batch norm and a shortcut (1x1 projection when the shape changes)."""

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
            nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False), nn.BatchNorm2d(c_out),
        )
        self.shortcut = (nn.Identity() if stride == 1 and c_in == c_out else
                         nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out)))
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.body(x) + self.shortcut(x))


class ScratchResNet(nn.Module):
    """Stem at full resolution + one residual block per width, each halving the resolution + pooling + fc."""

    def __init__(self, widths: Sequence[int] = DEFAULT_WIDTHS, n_labels: int = N_LABELS, dropout: float = 0.2):
        super().__init__()
        widths = tuple(int(w) for w in widths)
        self.stem = nn.Sequential(nn.Conv2d(3, widths[0], 3, 1, 1, bias=False), nn.BatchNorm2d(widths[0]),
                                  nn.ReLU(inplace=True))
        blocks, c_in = [], widths[0]
        for width in widths:
            blocks.append(BasicBlock(c_in, width, stride=2))
            c_in = width
        self.stages = nn.Sequential(*blocks)
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout))
        self.fc = nn.Linear(c_in, n_labels)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        for block in blocks:  # zero-init the last BN of each block: every block starts as the identity
            nn.init.zeros_(block.body[-1].weight)

        self.train_autocast: torch.dtype | None = None  # autocast dtype while training on the CPU; not saved

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Logits; in training mode on the CPU under `train_autocast` when it is set (bfloat16 mixed precision,
        which helpers.engine.fit leaves at float32 for every model: helpers.train.image_training turns it on
        for this network where the CPU has native bf16 units). Inference follows the engine's own policy."""
        if self.training and self.train_autocast is not None and images.device.type == "cpu":
            with torch.autocast("cpu", dtype=self.train_autocast):
                return self.fc(self.pool(self.stages(self.stem(images))))
        return self.fc(self.pool(self.stages(self.stem(images))))


REFERENCE_BACKBONE = "resnet34"  # the reference study's backbone
NO_WEIGHTS = ("", "none", "None")  # IMAGE_WEIGHTS values meaning: no pretrained weights, random initialisation
_warned: list[str] = []  # backbones whose weights were missing, in this process (the warning is given once)


class PretrainedWeightsError(RuntimeError):
    """Pretrained weights are required (full profile) but could not be loaded; the message says where to put them."""


class PretrainedWeightsWarning(UserWarning):
    """Continuing without pretrained weights because they could not be loaded."""


def backbone_names() -> list[str]:
    """Every classification model in torchvision's registry, and the from-scratch network."""
    return [*list_models(module=torchvision.models), SCRATCH_NAME]


def check_backbone_name(name: str) -> str:
    """The name itself when it is a known backbone; else ValueError listing the closest names."""
    names = backbone_names()
    if name in names:
        return name
    close = difflib.get_close_matches(name, names, n=5, cutoff=0.5)
    hint = f"did you mean {', '.join(close)}?" if close else "see torchvision.models.list_models()"
    raise ValueError(f"unknown image backbone {name!r}: {hint} ({len(names)} classification models available)")


def resolve_weights(name: str, weights: str) -> WeightsEnum | None:
    """The weights enum member for `weights` ("DEFAULT", "IMAGENET1K_V1", ...; "" / "none": None)."""
    check_backbone_name(name)
    if weights in NO_WEIGHTS or name == SCRATCH_NAME:
        return None
    enum = get_model_weights(name)
    try:
        return enum[weights] if weights != "DEFAULT" else enum.DEFAULT
    except KeyError:
        choices = ", ".join(["DEFAULT", *enum.__members__])
        raise ValueError(f"{name} has no weights {weights!r}; choose one of {choices} or 'none'") from None


def weights_tag(name: str, weights: WeightsEnum | None, pretrained: bool, init_seed: int = 0) -> str:
    """Names the backbone and its weights in cache keys and tables."""
    if pretrained and weights is not None:
        return f"{name}_{weights.name.lower()}"
    return f"{name}_random_init_seed{init_seed}"


def weights_cache_path(weights: WeightsEnum) -> Path:
    """Where torchvision's weights API keeps this weights file (follows TORCH_HOME)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name


def _pretrained_state(weights: WeightsEnum, download: bool = True) -> dict[str, torch.Tensor]:
    """The weights' state dict from torch's cache, downloading it there when missing and allowed (its messages
    hidden, so that an offline failure does not print a misleading "Downloading" line)."""
    cached = weights_cache_path(weights)
    if cached.is_file():
        return torch.load(cached, map_location="cpu", weights_only=True)
    if not download:
        raise FileNotFoundError(f"{cached} is not in torch's cache and this profile does not download")
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        state = torch.hub.load_state_dict_from_url(weights.url, map_location="cpu", progress=False,
                                                   weights_only=True)
    print(f"downloaded {weights.url} to {cached}", flush=True)
    return state


def create_backbone(name: str, widths: Sequence[int] = (), init_seed: int = 0) -> nn.Module:
    """A randomly initialised backbone with its classifier: the from-scratch network (with `widths`, empty: the
    defaults) or a torchvision model, built under `seeded(init_seed)` (the caller's random state is untouched)."""
    check_backbone_name(name)
    with seeded(init_seed):
        if name == SCRATCH_NAME:
            return ScratchResNet(tuple(widths) or DEFAULT_WIDTHS)
        return get_model(name, weights=None)


def load_backbone(name: str = REFERENCE_BACKBONE, weights: str = "DEFAULT", *, require_pretrained: bool = False,
                  init_seed: int = 0, download: bool = True) -> tuple[nn.Module, bool]:
    """(model with its ImageNet classifier, pretrained_used) for a registry name and a weights name.

    When the weights cannot be loaded (offline and not in torch's cache): require_pretrained raises
    PretrainedWeightsError naming the file to download and where to save it; otherwise one warning per
    process says so (the first time), and the model starts from a random initialisation seeded
    by init_seed (the global random state is left untouched). download=False reads torch's cache only.
    """
    enum = resolve_weights(name, weights)
    if enum is None:
        return create_backbone(name, init_seed=init_seed), False
    try:
        state = _pretrained_state(enum, download)
        model = get_model(name, weights=None)
        model.load_state_dict(state)
        return model, True
    except Exception as err:  # offline, blocked, corrupt or incompatible file: all end the same way
        reason = f"{type(err).__name__}: {err}"
        where = (f"download {enum.url} and save it as {weights_cache_path(enum)} "
                 "(or set TORCH_HOME to the folder holding hub/checkpoints/)")
        if require_pretrained:
            raise PretrainedWeightsError(f"{name} weights {enum.name} could not be loaded ({reason}). This profile "
                                         f"needs them: {where}, then run again.") from err
        if not _warned:
            message = (f"{name} weights {enum.name} could not be loaded ({reason.splitlines()[0][:160]}); "
                       f"continuing WITHOUT pretrained weights (every table says pretrained_weights=False; other "
                       f"backbones missing theirs are not warned about again). To use them: {where}.")
            warnings.warn(message, PretrainedWeightsWarning, stacklevel=2)
        _warned.append(name)
    return create_backbone(name, init_seed=init_seed), False


def _last_linear(model: nn.Module) -> tuple[nn.Module, str, nn.Linear]:
    """(parent module, attribute name, layer) of the last nn.Linear in the model: its classifier."""
    linears = [name for name, module in model.named_modules() if isinstance(module, nn.Linear)]
    if not linears:
        raise ValueError(f"{type(model).__name__} has no fully connected classifier to replace; "
                         "choose a backbone whose last layer is nn.Linear (most of torchvision's)")
    parent_name, _, attr = linears[-1].rpartition(".")
    parent = model.get_submodule(parent_name)
    return parent, attr, getattr(parent, attr)


def feature_dim(model: nn.Module) -> int:
    """Size of the features the model's classifier reads (discovered from the classifier itself)."""
    return _last_linear(model)[2].in_features


def replace_classifier(model: nn.Module, new: nn.Module | None = None) -> int:
    """Replace the classifier in place (None: identity, so the model outputs features); returns the feature size."""
    parent, attr, layer = _last_linear(model)
    setattr(parent, attr, new if new is not None else nn.Identity())
    return layer.in_features
