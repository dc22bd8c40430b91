"""The one weights-file format for every model (config + state_dict + what rebuilds it), and counting its size.

A weights file is a dict saved with torch.save and loaded with `weights_only=True` (tensors and plain
Python values only; a file that holds any other object is refused and nothing in it runs):

    {"format": "bimodal-weights", "format_version": 1, "kind": "lstm", "config": {...},
     "state_dict": {name: tensor}, "extra": {...}}

`kind` names what wrote it; the kinds written today are "cnn_image_model" (helpers.train.image_training),
"lstm" (helpers.train.lstm_training), "joint" (helpers.train.joint_training) and "fit_checkpoint" (the
training loop's resume state, helpers.engine.fit). `config` is everything its builder
(helpers.models.registry) needs to construct the module that `state_dict` fits; `extra` holds anything
else (training history, resume state, the dictionary of a text model).

Sizes: parameter counts, bytes of a state_dict at float32 or float16, and the one float32 -> float16 cast.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from helpers.core.files import atomic_path

FORMAT = "bimodal-weights"
FORMAT_VERSION = 1


class WeightsFileError(ValueError):
    """A weights file that is missing, damaged, of another kind or of an incompatible format."""


@dataclass
class WeightsFile:
    kind: str
    config: dict[str, Any]
    state_dict: dict[str, torch.Tensor]
    extra: dict[str, Any] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION


def save_weights(path: str | Path, *, kind: str, config: Mapping[str, Any], state_dict: Mapping[str, torch.Tensor],
                 extra: Mapping[str, Any] | None = None) -> Path:
    """Write a weights file atomically (a killed write leaves the previous file, never half of one)."""
    payload = {"format": FORMAT, "format_version": FORMAT_VERSION, "kind": kind, "config": dict(config),
               "state_dict": {k: v.detach().cpu() for k, v in state_dict.items()}, "extra": dict(extra or {})}
    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return path


def load_weights(path: str | Path, *, kind: str | None = None) -> WeightsFile:
    """Read a weights file on the CPU; WeightsFileError names the file and what is wrong with it."""
    path = Path(path)
    if not path.is_file():
        raise WeightsFileError(f"{path}: weights file not found")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # truncated, not a torch file, or holding objects that would need unpickling
        raise WeightsFileError(f"{path}: cannot be read as a weights file ({type(error).__name__}: {error}); "
                               "it is damaged or was not written by this project") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise WeightsFileError(f"{path}: not a weights file of this project (no '{FORMAT}' header)")
    version = payload.get("format_version")
    if version != FORMAT_VERSION:
        raise WeightsFileError(f"{path}: weights format version {version}, but this version of the project reads "
                               f"version {FORMAT_VERSION}; retrain the model or use the project version that wrote it")
    if kind is not None and payload.get("kind") != kind:
        raise WeightsFileError(f"{path}: holds a {payload.get('kind')!r} model, expected {kind!r}")
    return WeightsFile(kind=payload["kind"], config=payload["config"], state_dict=payload["state_dict"],
                       extra=payload.get("extra", {}), format_version=version)


MB = 1_000_000  # decimal megabytes, as file managers and the assignment count them


def to_half(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Copy of a state_dict with every floating tensor in float16 (integer buffers unchanged)."""
    return {k: v.half() if torch.is_floating_point(v) else v for k, v in state_dict.items()}


def tensor_bytes(state_dict: Mapping[str, torch.Tensor], half: bool = False) -> int:
    """Bytes of the tensors' data, floating tensors counted at float32 (or float16 when half)."""
    total = 0
    for value in state_dict.values():
        if not torch.is_tensor(value):
            continue
        if torch.is_floating_point(value):
            total += value.numel() * (2 if half else 4)
        else:
            total += value.numel() * value.element_size()
    return total


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (every one, or only those that require grad)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def model_bytes(model: nn.Module, half: bool = False) -> int:
    """Bytes of a model's state_dict tensors at float32 (or float16)."""
    return tensor_bytes(model.state_dict(), half=half)
