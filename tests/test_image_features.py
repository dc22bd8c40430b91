"""Feature extraction and its on-disk cache: hit, miss, invalidation; loaders; throughput measurements."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from helpers.core.files import DamagedCacheWarning
from helpers.core.labels import N_LABELS
from helpers.data.images import ImageError
from helpers.train import image_data as imf

FEATURE_DIM = 16


class CountingBackbone(nn.Module):
    """A stand-in for a frozen backbone (FEATURE_DIM-d output) that counts its calls."""

    def __init__(self):
        super().__init__()
        self.calls = 0
        self.proj = nn.Linear(3, FEATURE_DIM)

    def forward(self, x):
        self.calls += 1
        return self.proj(x.float().mean(dim=(2, 3)))


@pytest.fixture
def images(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    rng = np.random.default_rng(0)
    ids = []
    for i in range(6):
        name = f"{i}.jpg"
        Image.fromarray(rng.integers(0, 256, (40 + 10 * i, 60, 3), dtype=np.uint8)).save(folder / name)
        ids.append(name)
    return folder, ids


def _compute(backbone, folder, ids, size=32):
    """What the notebook passes: the backbone run on the image files, only called on a cache miss."""
    return lambda: imf.run_on_images(backbone, [folder / i for i in ids], size, batch_size=4)


def _features(images, backbone, tmp_path, ids=None, **overrides):
    folder, all_ids = images
    ids = all_ids if ids is None else ids
    kwargs = dict(dim=FEATURE_DIM, cache_dir=tmp_path / "cache", image_set="train", size=32, weights="w1",
                  fingerprint="fp")
    kwargs.update(overrides)
    compute = backbone if not isinstance(backbone, nn.Module) else _compute(backbone, folder, ids, kwargs["size"])
    return imf.cached_features(compute, ids, **kwargs)


def test_cache_miss_then_hit_returns_the_same_features(images, tmp_path):
    backbone = CountingBackbone()
    first = _features(images, backbone, tmp_path)
    assert not first.from_cache and backbone.calls == 2  # 6 images, batches of 4
    assert first.features.shape == (6, FEATURE_DIM) and first.features.dtype == np.float32
    second = _features(images, lambda: pytest.fail("a cache hit must not run the backbone"), tmp_path)
    assert second.from_cache and second.path == first.path
    assert np.array_equal(second.features, first.features)
    assert second.extract_s == pytest.approx(first.extract_s)
    assert list(second.image_ids) == images[1]


@pytest.mark.parametrize("change", [{"size": 48}, {"weights": "w2"}, {"fingerprint": "other"}, {"image_set": "test"}])
def test_changing_size_weights_or_data_is_a_miss(images, tmp_path, change):
    first = _features(images, CountingBackbone(), tmp_path)
    backbone = CountingBackbone()
    other = _features(images, backbone, tmp_path, **change)
    assert not other.from_cache and backbone.calls > 0 and other.path != first.path


def test_cache_with_other_ids_or_fresh_or_corrupt_file_recomputes(images, tmp_path):
    folder, ids = images
    backbone = CountingBackbone()
    first = _features(images, backbone, tmp_path)
    with pytest.warns(DamagedCacheWarning, match="image IDs"):
        reordered = _features(images, backbone, tmp_path, ids=ids[::-1])
    assert not reordered.from_cache and np.allclose(reordered.features, first.features[::-1], atol=1e-5)
    assert not _features(images, CountingBackbone(), tmp_path, fresh=True).from_cache
    with pytest.raises(ValueError, match="shape"):
        _features(images, lambda: np.zeros((6, 3)), tmp_path, weights="w9")


def test_truncated_cache_is_set_aside_and_recomputed(images, tmp_path):
    first = _features(images, CountingBackbone(), tmp_path)
    data = first.path.read_bytes()
    first.path.write_bytes(data[: len(data) // 2])  # a full disk or a killed sync
    backbone = CountingBackbone()
    with pytest.warns(DamagedCacheWarning, match=first.path.name):
        again = _features(images, backbone, tmp_path)
    assert not again.from_cache and backbone.calls > 0
    assert first.path.with_name(first.path.name + ".damaged").exists()
    assert _features(images, CountingBackbone(), tmp_path).from_cache  # rewritten whole


def test_corrupt_image_error_names_the_file(images, tmp_path):
    folder, ids = images
    (folder / ids[2]).write_bytes(b"\xff\xd8 not really a jpeg")
    with pytest.raises(ImageError, match=ids[2]):
        _features(images, CountingBackbone(), tmp_path)
    assert not list((tmp_path / "cache").glob("*.npz"))  # nothing half-written


def test_loader_batches_normalised_images_and_targets(images):
    folder, ids = images
    targets = np.eye(N_LABELS, dtype=np.uint8)[:6]
    loader = imf.image_loader([folder / i for i in ids], 24, targets, batch_size=4)
    x, y = next(iter(loader))
    assert x.shape == (4, 3, 24, 24) and y.shape == (4, N_LABELS)
    assert x.min() >= -1 and x.max() <= 1 and torch.equal(y, torch.as_tensor(targets[:4], dtype=torch.float32))
    x_test, y_test = next(iter(imf.image_loader([folder / i for i in ids], 24, batch_size=6)))
    assert y_test.sum() == 0


def test_real_resnet_features_and_throughput(images):
    from torchvision.models import resnet18

    from helpers.models.image_model import feature_extractor

    folder, ids = images
    backbone = feature_extractor(resnet18(weights=None))
    pipeline = imf.measure_feature_throughput(backbone, [folder / i for i in ids], 32, batch_size=2)
    assert set(pipeline) == {"startup_s", "images_per_s"} and pipeline["startup_s"] >= 0
    assert np.isfinite(pipeline["images_per_s"])  # steady state measured over the batches after the first
    out = imf.run_on_images(backbone, [folder / i for i in ids], 32, batch_size=4)
    assert out.shape == (6, 512) and np.isfinite(out).all()
