"""Decoded-image cache and augmented tensor batches (the from-scratch recipe's input)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from helpers.core.files import DamagedCacheWarning
from helpers.models.image_model import REFERENCE_MEAN, REFERENCE_STD
from helpers.train import image_data as it


@pytest.fixture
def paths(tmp_path):
    rng = np.random.default_rng(0)
    out = []
    for i in range(5):
        path = tmp_path / f"{i}.jpg"
        Image.fromarray(rng.integers(0, 256, (30 + 5 * i, 40, 3), dtype=np.uint8)).save(path)
        out.append(path)
    return out


def test_decode_once_then_read_back_and_truncated_cache_is_redone(paths, tmp_path):
    cache = it.decoded_cache_path(tmp_path / "cache", "train", 16, "fp")
    images = it.decode_images(paths, 16, cache_path=cache)
    assert images.shape == (5, 3, 16, 16) and images.dtype == torch.uint8
    assert torch.equal(it.decode_images(paths[:0] + paths, 16, cache_path=cache), images)
    cache.write_bytes(cache.read_bytes()[:100])
    with pytest.warns(DamagedCacheWarning, match=cache.name):
        again = it.decode_images(paths, 16, cache_path=cache)
    assert torch.equal(again, images)
    with pytest.warns(DamagedCacheWarning, match="shape"):  # a cache of another image count is not used
        assert it.decode_images(paths[:3], 16, cache_path=cache).shape[0] == 3


def test_batches_cover_every_row_normalised_and_augmentation_varies():
    torch.manual_seed(0)
    images = torch.randint(0, 256, (10, 3, 16, 16), dtype=torch.uint8)
    targets = np.eye(18, dtype=np.uint8)[:10]
    plain = it.TensorImageBatches(images, targets, 4, mean=REFERENCE_MEAN, std=REFERENCE_STD)
    assert len(plain) == 3
    xs, ys = zip(*plain)
    assert torch.allclose(torch.cat(xs), images.float() / 127.5 - 1, atol=1e-6)
    assert torch.equal(torch.cat(ys), torch.as_tensor(targets, dtype=torch.float32))
    assert xs[0].is_contiguous(memory_format=torch.channels_last)
    augmented = it.TensorImageBatches(images, targets, 10, mean=REFERENCE_MEAN, std=REFERENCE_STD, shuffle=True,
                                      augmented=True)
    x1, y1 = next(iter(augmented))
    x2, _ = next(iter(augmented))
    assert x1.shape == (10, 3, 16, 16) and not torch.equal(x1, x2)
    assert sorted(y1.argmax(1).tolist()) == list(range(10))  # shuffled, every row once


def test_augment_translation_keeps_content_and_shape():
    torch.manual_seed(1)
    x = torch.zeros(64, 3, 16, 16)
    x[:, :, 6:10, 6:10] = 1.0
    out = it.augment(x)
    assert out.shape == x.shape
    centre = out.mean(dim=1).flatten(1).argmax(1)
    rows, cols = centre // 16, centre % 16
    assert (rows - 6).abs().max() <= 2 + 4 and (cols - 6).abs().max() <= 2 + 4  # shifted by at most 1/8 + block
    assert len(set(zip(rows.tolist(), cols.tolist()))) > 1  # not always the same shift
