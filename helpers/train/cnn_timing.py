"""What architecture B's caching saves, and whether image decoding starves the backbone.

- `reference_epoch_seconds`: one head epoch the reference's way (every image decoded and run through the
  frozen backbone every epoch), timed on a few images and extrapolated to every training row.
- `throughput_report`: the bare backbone on tensors already in memory against the whole extraction
  pipeline (decode + resize + normalise + backbone), in its steady state, with the start-up apart.
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch
from torch import nn

from helpers.core.profiles import CnnSettings
from helpers.models.image_models import FeatureHead, FrozenBackbone, choose_precision
from helpers.train.image_features import image_loader, measure_feature_throughput, measure_forward_throughput

if TYPE_CHECKING:
    from helpers.run import Run


def reference_epoch_seconds(extractor: nn.Module, feature_dim: int, paths: Sequence[str | Path],
                            targets: np.ndarray, size: int, *, total_rows: int, batch_size: int = 64,
                            num_workers: int = 0, device: torch.device | str = "cpu", seed: int = 0,
                            preprocessing: str = "reference") -> float:
    """Seconds one training epoch over total_rows images takes the reference's way: decoding every image
    and running the frozen backbone every epoch, then a head step. Timed on `paths`, extrapolated."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = FrozenBackbone(extractor, FeatureHead(feature_dim)).to(device)
        optimizer = torch.optim.Adam(model.head.parameters(), lr=1e-3)
        loss_fn = nn.BCEWithLogitsLoss()
        model.train()
        loader = image_loader(paths, size, targets, batch_size=batch_size, num_workers=num_workers, shuffle=True,
                              device=device, preprocessing=preprocessing)
        start = time.perf_counter()
        for images, y in loader:
            loss = loss_fn(model(images.to(device)), y.to(device))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        seconds = time.perf_counter() - start
    return seconds * total_rows / max(len(paths), 1)


def throughput_report(run: Run, extractor: nn.Module, settings: CnnSettings, size: int, *, backbone_name: str,
                      preprocessing: str = "reference") -> pd.DataFrame:
    """One row: bare forward img/s, extraction pipeline img/s (steady state), its start-up seconds, the ratio."""
    precision = choose_precision(run.device)
    paths = run.dataset.train_image_paths()[: settings.throughput_images]
    batch = min(settings.batch_size, len(paths))
    forward = measure_forward_throughput(extractor, size, n_images=len(paths), batch_size=batch,
                                         device=run.device, precision=precision)
    pipeline = measure_feature_throughput(extractor, paths, size, batch_size=batch,
                                          num_workers=settings.num_workers, device=run.device, precision=precision,
                                          preprocessing=preprocessing)
    return pd.DataFrame([{
        "backbone": backbone_name, "image size (px)": size, "images": len(paths), "precision": precision.label,
        "DataLoader workers": settings.num_workers, "CPU threads": torch.get_num_threads(),
        "bare forward (img/s)": forward, "extraction pipeline (img/s)": pipeline["images_per_s"],
        "pipeline start-up (s)": pipeline["startup_s"], "pipeline / forward": pipeline["images_per_s"] / forward}])
