"""The one inference loop: a model's sigmoid outputs (or features) over batches, images on disk, or image tensors.

`predict_proba` runs any model on (inputs..., targets) batches under the device's precision policy
(helpers.engine.device.choose_precision); `run_on_images` decodes image files (ImageRows, image_loader)
and runs a network on them; `features_from_tensor` does the same on decoded uint8 tensors. The
throughput measurements time these same loops.
"""
from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from helpers.core.console import headless as is_headless
from helpers.core.labels import N_LABELS
from helpers.data.images import load_rgb, load_rgb_resized
from helpers.engine.device import Precision, autocast_dtype, choose_precision, flush_denormals, loader_options
from helpers.models.image_model import check_preprocessing, image_transform
from helpers.models.lstm import LengthBuckets

CAPTION_BATCH = 2048  # captions per batch when predicting (no gradients: large batches are fastest)


def to_device(batch: tuple, device: torch.device) -> tuple:
    return tuple(t.to(device, non_blocking=True) if torch.is_tensor(t) else t for t in batch)


@torch.inference_mode()
def predict_proba(
    model: nn.Module, batches: Iterable[tuple], device: torch.device | str = "cpu", with_targets: bool = False
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Sigmoid outputs for every batch, concatenated; optionally the targets too."""
    device = torch.device(device)
    model.eval()
    dtype = autocast_dtype(device)
    probs, targets = [], []
    for batch in batches:
        batch = to_device(tuple(batch), device)
        with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
            logits = model(*batch[:-1])
        probs.append(torch.sigmoid(logits.float()).cpu())
        targets.append(batch[-1].cpu())
    p = torch.cat(probs).numpy() if probs else np.zeros((0, 0), dtype=np.float32)
    if with_targets:
        return p, (torch.cat(targets).numpy() if targets else np.zeros_like(p))
    return p


# ---- from train/image_features
class ImageRows(Dataset):
    """(image tensor, 0/1 target row) per image file; targets default to zeros (test images).

    "reference" preprocessing stretches every image to size x size while decoding (fast draft decode);
    "weights" keeps the aspect ratio and lets the weights' transform resize and crop.
    """

    def __init__(self, paths: Sequence[str | Path], size: int, targets: np.ndarray | None = None,
                 augment: bool = False, preprocessing: str = "reference"):
        self.paths = [Path(p) for p in paths]
        self.size = size
        self.stretch = check_preprocessing(preprocessing) == "reference" or augment
        self.targets = None if targets is None else torch.as_tensor(np.asarray(targets), dtype=torch.float32)
        self.transform = image_transform(size, preprocessing, augment=augment)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        path = self.paths[i]  # both loaders raise ImageError naming the file
        image = load_rgb_resized(path, self.size) if self.stretch else load_rgb(path)
        target = self.targets[i] if self.targets is not None else torch.zeros(N_LABELS)
        return self.transform(image), target


def image_loader(paths: Sequence[str | Path], size: int, targets: np.ndarray | None = None, *, batch_size: int = 64,
                 num_workers: int = 0, augment: bool = False, shuffle: bool = False,
                 device: torch.device | str = "cpu", preprocessing: str = "reference",
                 reused: bool = False) -> DataLoader:
    """DataLoader of (images, targets) batches: decoding in worker processes; on a GPU pinned memory, and
    persistent workers for a loader iterated every epoch (reused=True).

    Shuffling and augmentation draw from torch's global generator, which helpers.engine.fit.fit
    reseeds every epoch, so runs are reproducible.
    """
    return DataLoader(ImageRows(paths, size, targets, augment, preprocessing), batch_size=batch_size,
                      shuffle=shuffle, **loader_options(device, num_workers, reused=reused))


def prepare_for_inference(model: nn.Module, device: torch.device | str, precision: Precision) -> nn.Module:
    model = model.to(device).eval()
    return model.to(memory_format=torch.channels_last) if precision.channels_last else model


def _inputs(images: torch.Tensor, device: torch.device | str, precision: Precision) -> torch.Tensor:
    images = images.to(device, non_blocking=True)
    return images.contiguous(memory_format=torch.channels_last) if precision.channels_last else images


@torch.inference_mode()
def run_on_images(model: nn.Module, paths: Sequence[str | Path], size: int, *, batch_size: int = 64,
                  num_workers: int = 0, device: torch.device | str = "cpu", precision: Precision | None = None,
                  desc: str = "images", preprocessing: str = "reference") -> np.ndarray:
    """model(images) for every image file, in order, as float32 (n, outputs): batched, AMP where it pays."""
    precision = precision or choose_precision(device)
    model = prepare_for_inference(model, device, precision)
    loader = image_loader(paths, size, batch_size=batch_size, num_workers=num_workers, device=device,
                          preprocessing=preprocessing)
    headless = is_headless()
    outputs = []
    for images, _ in tqdm(loader, desc=desc, unit="batch", disable=headless or len(loader) < 5, mininterval=2.0):
        with precision.autocast():
            outputs.append(model(_inputs(images, device, precision)).float().cpu())
    return torch.cat(outputs).numpy() if outputs else np.zeros((0, 0), dtype=np.float32)


@torch.inference_mode()
def features_from_tensor(model: nn.Module, batches: Iterable[tuple[torch.Tensor, torch.Tensor]], *,
                         device: torch.device | str = "cpu") -> np.ndarray:
    """model(images) for already-decoded image batches (helpers.train.image_data), as float32 (n, outputs)."""
    precision = choose_precision(device)
    model = prepare_for_inference(model, device, precision)
    outputs = []
    for images, _ in batches:
        with precision.autocast():
            outputs.append(model(_inputs(images, device, precision)).float().cpu())
    return torch.cat(outputs).numpy() if outputs else np.zeros((0, 0), dtype=np.float32)


@torch.inference_mode()
def measure_forward_throughput(model: nn.Module, size: int, *, n_images: int = 200, batch_size: int = 32,
                               device: torch.device | str = "cpu", precision: Precision | None = None) -> float:
    """Images per second of the bare model on random tensors already in memory (the upper bound)."""
    precision = precision or choose_precision(device)
    model = prepare_for_inference(model, device, precision)
    batch = _inputs(torch.randn(batch_size, 3, size, size), device, precision)
    with precision.autocast():
        model(batch[: min(4, batch_size)])  # warm-up: kernel selection, allocations
    _sync(device)
    done, start = 0, time.perf_counter()
    while done < n_images:
        with precision.autocast():
            model(batch)
        done += batch_size
    _sync(device)
    return done / (time.perf_counter() - start)


@torch.inference_mode()
def measure_feature_throughput(model: nn.Module, paths: Sequence[str | Path], size: int, *, batch_size: int = 32,
                               num_workers: int = 0, device: torch.device | str = "cpu",
                               precision: Precision | None = None,
                               preprocessing: str = "reference") -> dict[str, float]:
    """The whole extraction (decode + resize + normalise + model, as cached_features runs it), timed in two parts:
    `startup_s` until the first batch is done (DataLoader workers starting, first decodes) and `images_per_s`
    over the batches after it (the steady state, which is what a long extraction runs at)."""
    precision = precision or choose_precision(device)
    model = prepare_for_inference(model, device, precision)
    measure_forward_throughput(model, size, n_images=1, batch_size=min(4, batch_size), device=device,
                               precision=precision)  # the same warm-up as the bare measurement
    loader = image_loader(paths, size, batch_size=batch_size, num_workers=num_workers, device=device,
                          preprocessing=preprocessing)
    start = time.perf_counter()
    first_done, first_n, done = None, 0, 0
    for images, _ in loader:
        with precision.autocast():
            model(_inputs(images, device, precision))
        _sync(device)
        done += len(images)
        if first_done is None:
            first_done, first_n = time.perf_counter(), done
    end = time.perf_counter()
    if first_done is None:
        return {"startup_s": 0.0, "images_per_s": float("nan")}
    steady = (done - first_n) / (end - first_done) if done > first_n else done / (end - start)
    return {"startup_s": first_done - start, "images_per_s": steady}


def _sync(device: torch.device | str) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def predict_captions(model: nn.Module, tokens: torch.Tensor, lengths: torch.Tensor,
                     device: torch.device | str = "cpu") -> np.ndarray:
    """A caption model's probabilities (n, 18) in row order: predict_proba over length-bucketed batches kept in
    data order, with denormal floats flushed (helpers.engine.device.flush_denormals). Notebook 04, notebook 05's
    inputs and the predictor all predict captions through this one function."""
    with flush_denormals():
        return predict_proba(model, LengthBuckets(tokens, lengths, batch_size=CAPTION_BATCH), device)
