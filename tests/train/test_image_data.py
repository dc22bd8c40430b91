"""helpers.train.image_data: the feature cache (hit, miss, invalidation), the decoded-image cache, tensor batches."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from helpers.core.files import DamagedCacheWarning
from helpers.core.seeding import seeded
from helpers.data.images import ImageError
from helpers.engine.inference import run_on_images
from helpers.models.image_model import REFERENCE_MEAN, REFERENCE_STD
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


def _compute(backbone, folder, ids, size=32):
    """What the notebook passes: the backbone run on the image files, only called on a cache miss."""
    return lambda: run_on_images(backbone, [folder / i for i in ids], size, batch_size=4)


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


@pytest.fixture
def paths(tmp_path):
    """Five JPEGs of different heights."""
    rng = np.random.default_rng(0)
    out = []
    for i in range(5):
        path = tmp_path / f"{i}.jpg"
        Image.fromarray(rng.integers(0, 256, (30 + 5 * i, 40, 3), dtype=np.uint8)).save(path)
        out.append(path)
    return out


def test_decode_once_then_read_back_and_truncated_cache_is_redone(paths, tmp_path):
    cache = imf.decoded_cache_path(tmp_path / "cache", "train", 16, "fp")
    images = imf.decode_images(paths, 16, cache_path=cache)
    assert images.shape == (5, 3, 16, 16) and images.dtype == torch.uint8
    assert torch.equal(imf.decode_images(paths[:0] + paths, 16, cache_path=cache), images)
    cache.write_bytes(cache.read_bytes()[:100])
    with pytest.warns(DamagedCacheWarning, match=cache.name):
        again = imf.decode_images(paths, 16, cache_path=cache)
    assert torch.equal(again, images)
    with pytest.warns(DamagedCacheWarning, match="shape"):  # a cache of another image count is not used
        assert imf.decode_images(paths[:3], 16, cache_path=cache).shape[0] == 3


def test_batches_cover_every_row_normalised_and_augmentation_varies():
    images = torch.randint(0, 256, (10, 3, 16, 16), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    targets = np.eye(18, dtype=np.uint8)[:10]
    plain = imf.TensorImageBatches(images, targets, 4, mean=REFERENCE_MEAN, std=REFERENCE_STD)
    assert len(plain) == 3
    xs, ys = zip(*plain)
    assert torch.allclose(torch.cat(xs), images.float() / 127.5 - 1, atol=1e-6)
    assert torch.equal(torch.cat(ys), torch.as_tensor(targets, dtype=torch.float32))
    assert xs[0].is_contiguous(memory_format=torch.channels_last)
    augmented = imf.TensorImageBatches(images, targets, 10, mean=REFERENCE_MEAN, std=REFERENCE_STD, shuffle=True,
                                      augmented=True)
    with seeded(0):
        x1, y1 = next(iter(augmented))
        x2, _ = next(iter(augmented))
    assert x1.shape == (10, 3, 16, 16) and not torch.equal(x1, x2)
    assert sorted(y1.argmax(1).tolist()) == list(range(10))  # shuffled, every row once


def test_augment_translation_keeps_content_and_shape():
    x = torch.zeros(64, 3, 16, 16)
    x[:, :, 6:10, 6:10] = 1.0
    with seeded(1):
        out = imf.augment(x)
    assert out.shape == x.shape
    centre = out.mean(dim=1).flatten(1).argmax(1)
    rows, cols = centre // 16, centre % 16
    assert (rows - 6).abs().max() <= 2 + 4 and (cols - 6).abs().max() <= 2 + 4  # shifted by at most 1/8 + block
    assert len(set(zip(rows.tolist(), cols.tolist()))) > 1  # not always the same shift


def test_reflect_mirrors_indices_without_repeating_the_edge():
    assert imf._reflect(torch.tensor([-2, -1, 0, 3, 4, 5]), 4).tolist() == [2, 1, 0, 3, 2, 1]


def test_shift_flip_is_the_same_on_uint8_and_float_and_keeps_the_dtype():
    images = torch.randint(0, 256, (16, 3, 16, 16), dtype=torch.uint8, generator=torch.Generator().manual_seed(2))
    with seeded(3):
        small = imf.shift_flip(images)
    with seeded(3):
        wide = imf.shift_flip(images.float())
    assert small.dtype == torch.uint8 and torch.equal(small.float(), wide)
    assert not torch.equal(small, images)


def test_shift_flip_flips_rows_and_shifts_by_at_most_an_eighth():
    ramp = torch.arange(16, dtype=torch.uint8).view(1, 1, 1, 16).expand(64, 3, 16, 16).contiguous()
    with seeded(4):
        out = imf.shift_flip(ramp)
    steps = out[:, 0, 0, 1:].int() - out[:, 0, 0, :-1].int()
    increasing, decreasing = (steps >= 0).float().mean(1) > 0.5, (steps <= 0).float().mean(1) > 0.5
    assert increasing.any() and decreasing.any()  # some images flipped, some not
    centre = out[:, 0, 0, 8].int()  # 8 + dx unflipped, 15 - (8 + dx) flipped, |dx| <= 16 // 8 = 2
    assert centre.min() >= 5 and centre.max() <= 10 and len(set(centre.tolist())) > 3


def test_normalise_matches_the_formula_and_jitter_works_in_place():
    images = torch.randint(0, 256, (4, 3, 8, 8), dtype=torch.uint8, generator=torch.Generator().manual_seed(5))
    mean, std = (0.1, 0.2, 0.3), (0.5, 0.25, 0.2)
    expected = (images.float() / 255 - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    x = imf.normalise(images, mean, std)
    assert torch.allclose(x, expected, atol=1e-5)
    with seeded(6):
        out = imf.jitter_(x)
    assert out is x and not torch.allclose(x, expected, atol=1e-3)
