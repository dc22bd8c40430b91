"""The backbone comparison: for each registry name, its size, its speed and architecture B's validation scores.

Each candidate is loaded with the requested weights (a random initialisation, said so, where they cannot be
loaded), its classifier removed; its features of a subset of training rows and every validation row are
cached like the main model's, and architecture B's head is trained on them over the profile's seeds.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from torch import nn

from helpers.core.hashing import stable_hash
from helpers.models.backbones import check_backbone_name, load_backbone, resolve_weights, weights_tag
from helpers.models.image_models import FeatureHead, feature_extractor
from helpers.models.size import MB, count_parameters, model_bytes
from helpers.train.cnn_head import HeadTrainer, float_tensor
from helpers.train.fit import TrainConfig
from helpers.train.image_features import cached_features, measure_forward_throughput, run_on_images

if TYPE_CHECKING:
    from helpers.run import Run


def comparison_rows(train_rows: np.ndarray, max_rows: int | None, seed: int = 0) -> np.ndarray:
    """The training rows the comparison's heads learn from: all, or a seeded subset of max_rows (sorted)."""
    if max_rows is None or max_rows >= len(train_rows):
        return np.asarray(train_rows)
    return np.sort(np.random.default_rng(seed).choice(train_rows, size=max_rows, replace=False))


def compare_backbones(run: Run, names: Sequence[str], *, weights: str, size: int, config: TrainConfig,
                      seeds: Sequence[int], max_rows: int | None, batch_size: int, head_batch_size: int,
                      num_workers: int, preprocessing: str = "reference") -> pd.DataFrame:
    """One row per (backbone, seed): sizes, features/s, bare forward/s, their ratio, validation scores."""
    data, (train_rows, val_rows) = run.dataset, run.split
    rows = comparison_rows(train_rows, max_rows)
    used = np.concatenate([rows, val_rows])
    paths = np.asarray(data.train_image_paths(), dtype=object)[used]
    ids = data.train["ImageID"].to_numpy()[used]
    out: list[dict[str, Any]] = []
    for name in names:
        check_backbone_name(name)
        model, pretrained = load_backbone(name, weights, require_pretrained=False)
        tag = f"{weights_tag(name, resolve_weights(name, weights), pretrained)}_{preprocessing}"
        extractor = feature_extractor(model)
        dim = int(run_on_images(extractor, paths[:1], size, preprocessing=preprocessing).shape[1])
        compute = partial(run_on_images, extractor, paths, size, batch_size=batch_size, num_workers=num_workers,
                          device=run.device, desc=f"{name} features", preprocessing=preprocessing)
        features = cached_features(
            compute, ids, dim=dim, cache_dir=run.paths.feature_cache, image_set=f"compare{len(used)}", size=size,
            weights=tag, fingerprint=run.fingerprint, fresh=run.fresh)
        forward = measure_forward_throughput(extractor, size, n_images=min(len(used), 4 * batch_size),
                                             batch_size=min(batch_size, 32), device=run.device)
        whole = nn.Sequential(extractor, FeatureHead(dim))
        x, y = features.features, data.Y[used]
        n = len(rows)
        trainer = HeadTrainer(train_x=float_tensor(x[:n]), train_y=float_tensor(y[:n]), val_x=float_tensor(x[n:]),
                              val_y=y[n:],
                              test_x=float_tensor(x[n:n + 1]), checkpoint_dir=run.paths.checkpoints,
                              results_dir=run.paths.results, batch_size=head_batch_size, device=run.device,
                              fresh=run.fresh, key=stable_hash([run.fingerprint, features.path.name, n]))
        for seed in seeds:
            scores = trainer.val_scores(replace(config, seed=seed))
            out.append({"backbone": name, "weights": weights if pretrained else "none (random init)",
                        "pretrained_weights": pretrained, "seed": seed, "feature_dim": dim,
                        "parameters": count_parameters(whole), "float32_MB": model_bytes(whole) / MB,
                        "float16_MB": model_bytes(whole, half=True) / MB,
                        "features_per_s": features.images_per_s, "forward_per_s": forward,
                        "extraction_over_forward": features.images_per_s / forward,
                        "features_from_cache": features.from_cache, "head_train_rows": n,
                        **{f"val_{k}": v for k, v in scores.items()}})
    return pd.DataFrame(out)
