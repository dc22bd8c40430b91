"""Counting a model's parameters and bytes, and the one float32 -> float16 cast of its weights."""
from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

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
