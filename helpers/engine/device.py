"""The device and precision policy: which device a model computes on, in which precision, with which loader settings.

`pick_device` turns a preference ("auto", "cpu", "cuda", "cuda:1") into a torch.device; `available_device`
does the same but refuses a device this machine does not have (the command lines check their --device with
it before any work). `choose_precision` is the one mixed-precision rule (bfloat16 or float16 autocast on CUDA,
float32 training on the CPU), `loader_options` the DataLoader settings per device, and `describe_machine`
what a measurement ran on.
"""
from __future__ import annotations

import os
import platform
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch


def pick_device(preference: str = "auto") -> torch.device:
    """'auto' -> cuda when available, else cpu; anything else is passed to torch.device."""
    if preference == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(preference)


def available_device(preference: str) -> torch.device:
    """pick_device(preference), or ValueError saying why this machine cannot compute on it.

    Refused: a name torch does not know, "cuda" (or "cuda:N") without CUDA or without GPU N, "mps" without
    Apple's Metal backend. "auto" and "cpu" are always available.
    """
    try:
        device = pick_device(preference)
    except (RuntimeError, ValueError):
        raise ValueError(f"{preference!r} is not a device name; use auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise ValueError(f"{preference!r}: this machine has no CUDA GPU (torch {torch.__version__}); "
                             "use auto or cpu")
        if device.index is not None and device.index >= count:
            raise ValueError(f"{preference!r}: this machine has {count} CUDA GPU(s), numbered 0 to {count - 1}")
    elif device.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"{preference!r}: Apple's Metal (mps) backend is not available here; use auto or cpu")
    elif device.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"{preference!r}: only auto, cpu, cuda[:N] and mps are supported")
    return device


def describe_machine(device: torch.device | str | None = None) -> dict[str, Any]:
    """What a measurement ran on: CPU model and cores, Python, torch and its threads, the device and its GPU."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    device = pick_device() if device is None else torch.device(device)
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(), "device": str(device),
            "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None}


@dataclass(frozen=True)
class Precision:
    """How a model runs on a device: autocast dtype (None: float32), gradient scaling, memory format."""

    device_type: str
    autocast_dtype: torch.dtype | None
    channels_last: bool

    @property
    def needs_grad_scaler(self) -> bool:
        """float16 training needs loss scaling (bfloat16 and float32 do not)."""
        return self.autocast_dtype == torch.float16

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


def choose_precision(device: torch.device | str, *, training: bool = False,
                     cuda_bf16: bool | None = None) -> Precision:
    """CUDA: bfloat16 autocast where supported, else float16 (with a GradScaler when training), channels_last.
    CPU: float32 for training (unchanged); for inference bfloat16 only where the CPU has native bf16 units.

    cuda_bf16: whether the GPU supports bfloat16 (None: ask torch.cuda).
    """
    device = torch.device(device)
    if device.type == "cuda":
        bf16 = torch.cuda.is_bf16_supported() if cuda_bf16 is None else cuda_bf16
        return Precision("cuda", torch.bfloat16 if bf16 else torch.float16, True)
    if device.type == "cpu":
        fast_bf16 = not training and cpu_supports_fast_bf16()
        return Precision("cpu", torch.bfloat16 if fast_bf16 else None, True)
    return Precision(device.type, None, False)


def loader_options(device: torch.device | str, num_workers: int, *, reused: bool = False) -> dict[str, Any]:
    """DataLoader settings per device: pinned memory and persistent workers (for loaders iterated every epoch)
    only on CUDA, so the CPU path is the plain one."""
    cuda = torch.device(device).type == "cuda"
    return {"num_workers": num_workers, "pin_memory": cuda, "persistent_workers": cuda and reused and num_workers > 0}


def configure_device(device: torch.device | str) -> None:
    """cudnn.benchmark on CUDA (input sizes are fixed, so the fastest kernels are picked once); nothing on CPU."""
    if torch.device(device).type == "cuda":
        torch.backends.cudnn.benchmark = True


def autocast_dtype(device: torch.device) -> torch.dtype | None:
    """Mixed precision for training (choose_precision): bfloat16 on CUDA where supported, else float16;
    None (float32) on the CPU."""
    return choose_precision(device, training=True).autocast_dtype


def _flush_denormals_is_on() -> bool:
    """Whether the CPU currently flushes denormal floats to zero (torch has no getter for it)."""
    return bool(torch.tensor([1e-39], dtype=torch.float32).mul(1.0).item() == 0.0)


def flush_denormals_in_every_thread() -> bool:
    """Flush denormal floats to zero in this thread and in every CPU worker thread torch starts from now on; True
    where the CPU supports it (x86 with SSE3). Called when the engine is imported.

    torch.set_flush_denormal sets the calling thread's mode only; the intra-op worker threads take the mode of the
    thread that starts them, at the first parallel operation. Set inside a training call (as `flush_denormals`
    alone does), it missed the second of two threads: measured on the demo data, an LSTM epoch at learning rate 0.1
    grew from 0.55 to 2.4 s as the gates saturated, against a steady 0.43 s with the mode set before the first
    parallel operation. Values below 1.2e-38 cannot change a float32 weight, so no result moves by more than that.
    """
    return bool(torch.set_flush_denormal(True))


FLUSHES_DENORMALS = flush_denormals_in_every_thread()


@contextmanager
def flush_denormals() -> Iterator[None]:
    """Treat denormal floats as zero on the CPU while the block runs, then restore the previous mode.

    Why: at a large learning rate (0.1) the LSTM's gates saturate, so gradients, their squares in Adam's
    second moment and products in the backward pass fall below float32's normal range (1.2e-38). x86 CPUs
    process such denormal numbers many times slower than normal floats (issue 16 measured an epoch at lr 0.1
    nearly twice as slow without flushing). Values that small cannot change a float32 weight, so flushing
    them changes no result, and the learning-rate ablation (fig10) times the learning rate, not an
    arithmetic slow path. No effect on GPUs.
    """
    previous = _flush_denormals_is_on()
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(previous)
