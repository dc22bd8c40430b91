"""Images as tensors for training: decoded once into a cached uint8 tensor, augmented batches, cached backbone features.

Training from scratch runs many epochs over the same images; decoding and resizing each JPEG every
epoch would cost more than the small network itself. So the images are decoded once at the training
size into an (n, 3, size, size) uint8 array (3 bytes a pixel: 6,000 images at 64 px take 74 MB),
cached as .npy keyed by the image set, the size and the data fingerprint. `TensorImageBatches` draws
normalised batches from it with the standard augmentation for small images (CIFAR-style), applied to
whole batches: a random horizontal flip and a random translation of up to 1/8 of the side (reflected at the
border), both as index gathers on the uint8 batch before the float conversion, then a random brightness /
contrast change of up to 20 % in place on the float batch. Random numbers come from
torch's global generator, which helpers.engine.fit.fit reseeds every epoch.

Frozen-backbone features (`cached_features`, `FeatureSet`) are computed once and cached: one file per
(image set, image size, backbone and weights, preprocessing, data fingerprint), so changing any of them is
a miss and recomputes; a file whose image IDs or shape do not match the request is recomputed too. Files
are .npz (IDs + float32 features + extraction seconds) and the decoded images .npy, written atomically and
read without unpickling through helpers.core.files.read_cached, so a damaged file is set aside with a
warning naming it and recomputed.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from helpers.core.files import atomic_path, read_cached
from helpers.data.images import load_rgb_resized


class _DecodedRows(Dataset):
    def __init__(self, paths: Sequence[str | Path], size: int):
        self.paths, self.size = [Path(p) for p in paths], size

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> torch.Tensor:
        image = np.asarray(load_rgb_resized(self.paths[i], self.size), dtype=np.uint8)  # ImageError names the file
        return torch.from_numpy(image.transpose(2, 0, 1).copy())


def decoded_cache_path(cache_dir: str | Path, image_set: str, size: int, fingerprint: str) -> Path:
    return Path(cache_dir) / f"decoded_{image_set}_{size}px_{fingerprint}.npy"


def decode_images(paths: Sequence[str | Path], size: int, *, cache_path: str | Path | None = None,
                  num_workers: int = 0, batch_size: int = 256) -> torch.Tensor:
    """(n, 3, size, size) uint8 tensor of the images (stretched to a square), in order; cached when a path is given."""
    expected = (len(paths), 3, size, size)

    def read(path: Path) -> np.ndarray:
        array = np.load(path, allow_pickle=False)
        if array.shape != expected or array.dtype != np.uint8:
            raise ValueError(f"holds a {array.dtype} array of shape {array.shape}, expected uint8 {expected}")
        return array

    if cache_path is not None:
        cached = read_cached(cache_path, read, "decoded image cache")
        if cached is not None:
            return torch.from_numpy(cached)
    loader = DataLoader(_DecodedRows(paths, size), batch_size=batch_size, num_workers=num_workers)
    images = torch.cat(list(loader)) if len(paths) else torch.zeros(expected, dtype=torch.uint8)
    if cache_path is not None:
        with atomic_path(Path(cache_path)) as tmp:
            with open(tmp, "wb") as handle:
                np.save(handle, images.numpy())
    return images


def normalise(images: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """uint8 (n, 3, h, w) -> float32, per-channel (x / 255 - mean) / std (one conversion, then in place)."""
    scale = (1.0 / (255.0 * torch.tensor(std, dtype=torch.float32))).view(1, 3, 1, 1)
    bias = (-torch.tensor(mean, dtype=torch.float32) / torch.tensor(std, dtype=torch.float32)).view(1, 3, 1, 1)
    return images.to(torch.float32).mul_(scale).add_(bias)


def _reflect(index: torch.Tensor, size: int) -> torch.Tensor:
    """Indices outside [0, size) mirrored back inside (reflect padding without the edge repeated)."""
    index = index.abs()
    return torch.where(index > size - 1, 2 * (size - 1) - index, index)


def shift_flip(images: torch.Tensor) -> torch.Tensor:
    """Random horizontal flip and translation (up to 1/8 of the side, reflected at the border) of a batch of any
    dtype, as two gathers: on uint8 batches this moves a quarter of the bytes of the float version."""
    n, c, h, w = images.shape
    flip = torch.rand(n) < 0.5
    pad = max(h // 8, 1)
    dy, dx = torch.randint(-pad, pad + 1, (n,)), torch.randint(-pad, pad + 1, (n,))
    rows = _reflect(dy.view(n, 1) + torch.arange(h).view(1, h), h)
    cols = _reflect(dx.view(n, 1) + torch.arange(w).view(1, w), w)
    cols = torch.where(flip.view(n, 1), w - 1 - cols, cols)
    images = images.gather(2, rows.view(n, 1, h, 1).expand(n, c, h, w))
    return images.gather(3, cols.view(n, 1, 1, w).expand(n, c, h, w))


def jitter_(images: torch.Tensor) -> torch.Tensor:
    """Random contrast and brightness change (up to 20 %, brightness in units of each image's std) of a float
    batch, in place."""
    n = images.shape[0]
    mean = images.mean(dim=(1, 2, 3), keepdim=True)
    contrast = 1 + (torch.rand(n, 1, 1, 1) - 0.5) * 0.4
    brightness = (torch.rand(n, 1, 1, 1) - 0.5) * 0.4 * images.std(dim=(1, 2, 3), keepdim=True)
    return images.sub_(mean).mul_(contrast).add_(mean + brightness)


def augment(images: torch.Tensor) -> torch.Tensor:
    """Random flip, translation (up to 1/8 of the side) and brightness/contrast (up to 20 %) of a float batch."""
    return jitter_(shift_flip(images))


def batch_indices(n: int, batch_size: int, shuffle: bool) -> Iterator[torch.Tensor]:
    """Row indices of each batch of n in-memory rows, in order or shuffled with torch's global generator (fit
    seeds it every epoch); the one batching rule of the tensor batch iterators."""
    order = torch.randperm(n) if shuffle else torch.arange(n)
    for start in range(0, n, batch_size):
        yield order[start:start + batch_size]


class TensorImageBatches:
    """Re-iterable (images, targets) batches from a uint8 image tensor: normalised, optionally augmented and
    shuffled (torch's global generator), in channels_last layout when asked (faster convolutions)."""

    def __init__(self, images: torch.Tensor, targets: np.ndarray | torch.Tensor | None, batch_size: int, *,
                 mean: Sequence[float], std: Sequence[float], shuffle: bool = False, augmented: bool = False,
                 channels_last: bool = True):
        self.images = images
        n = len(images)
        self.targets = (torch.zeros(n, 1) if targets is None else torch.as_tensor(np.asarray(targets),
                                                                                   dtype=torch.float32))
        self.batch_size, self.mean, self.std = batch_size, tuple(mean), tuple(std)
        self.shuffle, self.augmented, self.channels_last = shuffle, augmented, channels_last

    def __len__(self) -> int:
        return (len(self.images) + self.batch_size - 1) // self.batch_size

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for idx in batch_indices(len(self.images), self.batch_size, self.shuffle):
            x = self.images[idx]
            if self.augmented:
                x = shift_flip(x)  # on the uint8 batch, before the float conversion
            if self.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)  # float ops below keep the layout
            x = normalise(x, self.mean, self.std)
            if self.augmented:
                x = jitter_(x)
            yield x, self.targets[idx]


@dataclass
class FeatureSet:
    """Backbone features of one image set, in the order of image_ids."""

    image_ids: np.ndarray
    features: np.ndarray  # (n, feature dimension) float32
    extract_s: float  # seconds the extraction took when it was computed (also when loaded from the cache)
    from_cache: bool
    path: Path

    @property
    def images_per_s(self) -> float:
        return len(self.image_ids) / self.extract_s if self.extract_s > 0 else float("nan")


def feature_cache_path(cache_dir: str | Path, image_set: str, size: int, weights: str, fingerprint: str) -> Path:
    """One file per (image set, image size, backbone + weights + preprocessing tag, data): any change is a new file."""
    return Path(cache_dir) / f"{image_set}_{size}px_{weights}_{fingerprint}.npz"


def _cache_reader(image_ids: Sequence[str], dim: int) -> Callable[[Path], tuple[np.ndarray, float]]:
    expected_ids = np.asarray(image_ids, dtype=str)

    def read(path: Path) -> tuple[np.ndarray, float]:
        with np.load(path, allow_pickle=False) as data:
            ids, features, seconds = data["image_ids"], data["features"], float(data["extract_s"])
        if len(ids) != len(expected_ids) or not np.array_equal(ids, expected_ids):
            raise ValueError("its image IDs are not those of this data set")
        if features.shape != (len(expected_ids), dim):
            raise ValueError(f"features of shape {features.shape}, expected ({len(expected_ids)}, {dim})")
        return features.astype(np.float32), seconds

    return read


def cached_features(
    compute: Callable[[], np.ndarray], image_ids: Sequence[str], *, dim: int, cache_dir: str | Path, image_set: str,
    size: int, weights: str, fingerprint: str, fresh: bool = False,
) -> FeatureSet:
    """(n, dim) backbone features for the images, read from the cache or computed once by compute() and cached.

    compute runs the frozen backbone (helpers.engine.inference.run_on_images on the image files, or
    features_from_tensor on decoded images); it is only called on a cache miss.
    """
    image_ids = [str(i) for i in image_ids]
    ids = np.asarray(image_ids, dtype=str)
    path = feature_cache_path(cache_dir, image_set, size, weights, fingerprint)
    cached = None if fresh else read_cached(path, _cache_reader(image_ids, dim), "cached image features")
    if cached is not None:
        return FeatureSet(ids, cached[0], cached[1], True, path)
    start = time.perf_counter()
    features = np.asarray(compute(), dtype=np.float32)
    seconds = time.perf_counter() - start
    if features.shape != (len(image_ids), dim):
        raise ValueError(f"the backbone produced features of shape {features.shape}, expected "
                         f"({len(image_ids)}, {dim}); pass the frozen extractor "
                         "(helpers.models.image_model.feature_extractor)")
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            np.savez(handle, image_ids=ids, features=features, extract_s=np.float64(seconds),
                     size=np.int64(size), weights=np.asarray(weights))
    return FeatureSet(ids, features, seconds, False, path)
