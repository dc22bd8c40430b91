"""helpers.engine.inference: image loaders, the loop on image files, and its throughput measurements (fake clock);
helpers.engine.device's precision and loader policy."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from helpers.core.labels import N_LABELS
from helpers.engine import inference as inf

SECONDS_PER_IMAGE = 0.5  # what the fake clock charges the fake backbone for each image


class Clock:
    """A fake time.perf_counter that only moves when the fake backbone runs (or the test moves it)."""

    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class TimedBackbone(nn.Module):
    """A 16-d 'backbone' whose forward costs SECONDS_PER_IMAGE per image on the fake clock."""

    def __init__(self, clock: Clock):
        super().__init__()
        self.clock = clock
        self.proj = nn.Linear(3, 16)

    def forward(self, x):
        self.clock.now += SECONDS_PER_IMAGE * len(x)
        return self.proj(x.float().mean(dim=(2, 3)))


@pytest.fixture
def clock(monkeypatch):
    fake = Clock()
    monkeypatch.setattr(inf.time, "perf_counter", fake)
    return fake


def test_loader_batches_normalised_images_and_targets(images):
    folder, ids = images
    targets = np.eye(N_LABELS, dtype=np.uint8)[:6]
    loader = inf.image_loader([folder / i for i in ids], 24, targets, batch_size=4)
    x, y = next(iter(loader))
    assert x.shape == (4, 3, 24, 24) and y.shape == (4, N_LABELS)
    assert x.min() >= -1 and x.max() <= 1 and torch.equal(y, torch.as_tensor(targets[:4], dtype=torch.float32))
    x_test, y_test = next(iter(inf.image_loader([folder / i for i in ids], 24, batch_size=6)))
    assert y_test.sum() == 0


def test_forward_throughput_counts_images_over_the_timed_batches_only(clock):
    model = TimedBackbone(clock)
    rate = inf.measure_forward_throughput(model, 8, n_images=8, batch_size=4)
    assert rate == pytest.approx(1 / SECONDS_PER_IMAGE)  # the warm-up batch is not timed


def test_feature_throughput_splits_start_up_from_the_steady_state(images, clock, monkeypatch):
    folder, ids = images
    decode = inf.load_rgb_resized
    first = [True]

    def slow_first_decode(path, size):  # a start-up cost: the first image takes 3 s to arrive
        if first[0]:
            clock.now += 3.0
            first[0] = False
        return decode(path, size)

    monkeypatch.setattr(inf, "load_rgb_resized", slow_first_decode)
    result = inf.measure_feature_throughput(TimedBackbone(clock), [folder / i for i in ids], 8, batch_size=2)
    assert result["startup_s"] == pytest.approx(3.0 + 2 * SECONDS_PER_IMAGE)  # until the first batch of 2 is done
    assert result["images_per_s"] == pytest.approx(1 / SECONDS_PER_IMAGE)  # the 4 images after it
    assert np.isnan(inf.measure_feature_throughput(TimedBackbone(clock), [], 8)["images_per_s"])


def test_real_resnet_features_in_order(images):
    from torchvision.models import resnet18

    from helpers.models.image_model import feature_extractor

    folder, ids = images
    backbone = feature_extractor(resnet18(weights=None))
    out = inf.run_on_images(backbone, [folder / i for i in ids], 32, batch_size=4)
    assert out.shape == (6, 512) and np.isfinite(out).all()
    single = inf.run_on_images(backbone, [folder / ids[3]], 32)
    assert np.allclose(single[0], out[3], atol=1e-4)  # batching does not mix rows


