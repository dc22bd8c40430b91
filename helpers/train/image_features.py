"""Images to tensors fast, frozen-backbone features computed once and cached on disk, throughput measurements.

The cache holds one file per (image set, image size, backbone weights, data fingerprint), so
changing any of them is a miss and recomputes; a file whose image IDs do not match the request
is recomputed too. Files are .npz (IDs + float32 features + extraction seconds), written
atomically and read without unpickling.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from helpers.core.atomic_io import atomic_path
from helpers.core.console import headless as is_headless
from helpers.core.labels import N_LABELS
from helpers.data.images import load_rgb_resized
from helpers.models.cnn import FEATURE_DIM, Precision, image_transform, inference_precision


class ImageRows(Dataset):
    """(image tensor, 0/1 target row) per image file; targets default to zeros (test images)."""

    def __init__(self, paths: Sequence[str | Path], size: int, targets: np.ndarray | None = None,
                 augment: bool = False):
        self.paths = [Path(p) for p in paths]
        self.size = size
        self.targets = None if targets is None else torch.as_tensor(np.asarray(targets), dtype=torch.float32)
        self.transform = image_transform(size, augment=augment)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        image = load_rgb_resized(self.paths[i], self.size)  # raises ImageError naming the file
        target = self.targets[i] if self.targets is not None else torch.zeros(N_LABELS)
        return self.transform(image), target


def image_loader(paths: Sequence[str | Path], size: int, targets: np.ndarray | None = None, *, batch_size: int = 64,
                 num_workers: int = 0, augment: bool = False, shuffle: bool = False,
                 device: torch.device | str = "cpu") -> DataLoader:
    """DataLoader of (images, targets) batches: decoding in worker processes, pinned memory on a GPU.

    Shuffling and augmentation draw from torch's global generator, which helpers.train.fit.fit
    reseeds every epoch, so runs are reproducible.
    """
    return DataLoader(ImageRows(paths, size, targets, augment), batch_size=batch_size, shuffle=shuffle,
                      num_workers=num_workers, pin_memory=torch.device(device).type == "cuda",
                      persistent_workers=False)


def prepare_for_inference(model: nn.Module, device: torch.device | str, precision: Precision) -> nn.Module:
    model = model.to(device).eval()
    return model.to(memory_format=torch.channels_last) if precision.channels_last else model


def _inputs(images: torch.Tensor, device: torch.device | str, precision: Precision) -> torch.Tensor:
    images = images.to(device, non_blocking=True)
    return images.contiguous(memory_format=torch.channels_last) if precision.channels_last else images


@torch.inference_mode()
def run_on_images(model: nn.Module, paths: Sequence[str | Path], size: int, *, batch_size: int = 64,
                  num_workers: int = 0, device: torch.device | str = "cpu", precision: Precision | None = None,
                  desc: str = "images") -> np.ndarray:
    """model(images) for every image file, in order, as float32 (n, outputs): batched, AMP where it pays."""
    precision = precision or inference_precision(device)
    model = prepare_for_inference(model, device, precision)
    loader = image_loader(paths, size, batch_size=batch_size, num_workers=num_workers, device=device)
    headless = is_headless()
    outputs = []
    for images, _ in tqdm(loader, desc=desc, unit="batch", disable=headless or len(loader) < 5, mininterval=2.0):
        with precision.autocast():
            outputs.append(model(_inputs(images, device, precision)).float().cpu())
    return torch.cat(outputs).numpy() if outputs else np.zeros((0, 0), dtype=np.float32)


@dataclass
class FeatureSet:
    """Backbone features of one image set, in the order of image_ids."""

    image_ids: np.ndarray
    features: np.ndarray  # (n, 512) float32
    extract_s: float  # seconds the extraction took when it was computed (also when loaded from the cache)
    from_cache: bool
    path: Path

    @property
    def images_per_s(self) -> float:
        return len(self.image_ids) / self.extract_s if self.extract_s > 0 else float("nan")


def feature_cache_path(cache_dir: str | Path, image_set: str, size: int, weights: str, fingerprint: str) -> Path:
    """One file per (image set, image size, weights, data): any change is a different file."""
    return Path(cache_dir) / f"{image_set}_{size}px_{weights}_{fingerprint}.npz"


def _read_cache(path: Path, image_ids: Sequence[str]) -> tuple[np.ndarray, float] | None:
    try:
        with np.load(path, allow_pickle=False) as data:
            ids, features, seconds = data["image_ids"], data["features"], float(data["extract_s"])
    except (OSError, ValueError, KeyError):
        return None  # unreadable or from an older layout: recompute
    if len(ids) != len(image_ids) or not np.array_equal(ids, np.asarray(image_ids, dtype=str)):
        return None
    if features.shape != (len(image_ids), FEATURE_DIM):
        return None
    return features.astype(np.float32), seconds


def cached_features(
    backbone: nn.Module | Callable[[], nn.Module], image_ids: Sequence[str], images_dir: str | Path, *,
    cache_dir: str | Path, image_set: str, size: int, weights: str, fingerprint: str, batch_size: int = 64,
    num_workers: int = 0, device: torch.device | str = "cpu", fresh: bool = False,
) -> FeatureSet:
    """512-d backbone features for the images, read from the cache or computed once and cached.

    backbone: the frozen feature extractor (helpers.models.cnn.feature_extractor), or a function
    returning it, so that a cache hit does not need to build it.
    """
    image_ids = [str(i) for i in image_ids]
    path = feature_cache_path(cache_dir, image_set, size, weights, fingerprint)
    if path.exists() and not fresh:
        cached = _read_cache(path, image_ids)
        if cached is not None:
            return FeatureSet(np.asarray(image_ids, dtype=str), cached[0], cached[1], True, path)
    model = backbone() if not isinstance(backbone, nn.Module) else backbone
    start = time.perf_counter()
    features = run_on_images(model, [Path(images_dir) / i for i in image_ids], size, batch_size=batch_size,
                             num_workers=num_workers, device=device, desc=f"{image_set} features")
    seconds = time.perf_counter() - start
    if features.shape != (len(image_ids), FEATURE_DIM):
        raise ValueError(f"the backbone produced features of shape {features.shape}, expected "
                         f"({len(image_ids)}, {FEATURE_DIM}); pass helpers.models.cnn.feature_extractor(resnet)")
    ids = np.asarray(image_ids, dtype=str)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            np.savez(handle, image_ids=ids, features=features.astype(np.float32), extract_s=np.float64(seconds),
                     size=np.int64(size), weights=np.asarray(weights))
    return FeatureSet(ids, features, seconds, False, path)


@torch.inference_mode()
def measure_forward_throughput(model: nn.Module, size: int, *, n_images: int = 200, batch_size: int = 32,
                               device: torch.device | str = "cpu", precision: Precision | None = None) -> float:
    """Images per second of the bare model on random tensors already in memory (the upper bound)."""
    precision = precision or inference_precision(device)
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


def measure_feature_throughput(model: nn.Module, paths: Sequence[str | Path], size: int, *, batch_size: int = 32,
                               num_workers: int = 0, device: torch.device | str = "cpu",
                               precision: Precision | None = None) -> float:
    """Images per second of the whole extraction: decode + resize + normalise + model, as cached_features runs it."""
    precision = precision or inference_precision(device)
    measure_forward_throughput(model, size, n_images=1, batch_size=min(4, batch_size), device=device,
                               precision=precision)  # the same warm-up as the bare measurement
    start = time.perf_counter()
    run_on_images(model, paths, size, batch_size=batch_size, num_workers=num_workers, device=device,
                  precision=precision, desc="throughput")
    _sync(device)
    return len(paths) / (time.perf_counter() - start)


def _sync(device: torch.device | str) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()
