"""The benchmark's image stages (helpers.bench): decoding and feature extraction, architecture B's head the
reference's way against cached features, and the backbone comparison. Sizes, epochs and batch sizes come from
the profiles: the full profile's (the reference study's) for the first two, the chosen profile's list for the last."""
from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np
import torch

from helpers.core.profiles import get_profile

if TYPE_CHECKING:
    from helpers.bench import BenchContext

REFERENCE_CNN = get_profile("full").cnn  # the reference's image size, head epochs and batch sizes


def _backbone(ctx: BenchContext) -> torch.nn.Module:
    """The reference's backbone (ImageNet weights where available), frozen, without its classifier."""
    if "backbone" not in ctx.shared:
        from helpers.models.backbones import REFERENCE_BACKBONE, feature_dim, load_backbone
        from helpers.models.image_models import feature_extractor

        model, pretrained = load_backbone(REFERENCE_BACKBONE, require_pretrained=False)
        ctx.shared["feature_dim"] = feature_dim(model)
        ctx.shared["backbone"] = feature_extractor(model)
        ctx.shared["pretrained"] = pretrained
    return ctx.shared["backbone"]


def stage_images(ctx: BenchContext) -> dict[str, float]:
    """Decoding + resizing alone, the bare reference-backbone forward, and the project's feature extraction."""
    from helpers.train.image_features import image_loader, measure_feature_throughput, measure_forward_throughput

    size, batch = REFERENCE_CNN.image_size, REFERENCE_CNN.batch_size
    paths = ctx.image_paths(ctx.image_sample)
    start = time.perf_counter()
    for _ in image_loader(paths, size, batch_size=batch, num_workers=ctx.workers, device=ctx.device):
        pass
    decode = len(paths) / (time.perf_counter() - start)
    model = _backbone(ctx)
    forward = measure_forward_throughput(model, size, n_images=len(paths), batch_size=batch, device=ctx.device)
    pipeline = measure_feature_throughput(model, paths, size, batch_size=batch, num_workers=ctx.workers,
                                          device=ctx.device)
    ctx.shared["feature_img_per_s"] = pipeline["images_per_s"]
    return {"decode_resize_img_per_s": decode, "bare_forward_img_per_s": forward,
            "feature_pipeline_img_per_s": pipeline["images_per_s"], "feature_pipeline_startup_s": pipeline["startup_s"],
            "feature_vs_forward": pipeline["images_per_s"] / forward, "images_sampled": len(paths),
            "pretrained_weights": float(ctx.shared["pretrained"])}


def stage_cnn_head(ctx: BenchContext) -> dict[str, float]:
    """Architecture B for the reference's head epochs: the reference's way (backbone every epoch) vs cached
    features."""
    from helpers.models.image_models import FeatureHead
    from helpers.train.cnn_head import FeatureBatches
    from helpers.train.cnn_timing import reference_epoch_seconds
    from helpers.train.fit import TrainConfig, fit
    from helpers.train.image_features import measure_feature_throughput

    size, batch, epochs = REFERENCE_CNN.image_size, REFERENCE_CNN.batch_size, REFERENCE_CNN.head_epochs
    n_rows = len(ctx.dataset.train)
    paths = ctx.image_paths(min(ctx.image_sample, n_rows))
    targets = ctx.dataset.Y[: len(paths)].astype(np.float32)
    model = _backbone(ctx)
    dim = ctx.shared["feature_dim"]
    reference_epoch = reference_epoch_seconds(model, dim, paths, targets, size, total_rows=n_rows, batch_size=batch,
                                              num_workers=ctx.workers, device=ctx.device)
    reference_total = epochs * reference_epoch

    rate = ctx.shared.get("feature_img_per_s") or measure_feature_throughput(
        model, paths, size, batch_size=batch, num_workers=ctx.workers, device=ctx.device)["images_per_s"]
    extract_s = n_rows / rate  # the backbone runs once per image
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n_rows, dim, generator=g).abs()  # timing only: the head's cost does not depend on the values
    y = torch.from_numpy(ctx.dataset.Y.astype(np.float32))
    result = fit(FeatureHead(dim), FeatureBatches(x, y, REFERENCE_CNN.head_batch_size, shuffle=True), None,
                 TrainConfig(epochs=epochs), device=ctx.device, desc="head on cached features")
    ours_total = extract_s + result.train_time_s
    return {"head_reference_epoch_s": reference_epoch, "head_reference_all_epochs_s": reference_total,
            "head_cached_all_epochs_s": result.train_time_s, "head_epochs": float(epochs),
            "head_feature_extraction_s": extract_s, "head_cache_speedup": reference_total / ours_total,
            "head_cache_speedup_training_only": reference_total / result.train_time_s}


def stage_backbones(ctx: BenchContext) -> dict[str, float]:
    """Every backbone of the profile's comparison list: parameters, bare forward, feature extraction (steady state)
    and their ratio, at the profile's image size."""
    from helpers.models.backbones import load_backbone
    from helpers.models.image_models import feature_extractor
    from helpers.models.size import count_parameters
    from helpers.train.image_features import measure_feature_throughput, measure_forward_throughput

    cnn = get_profile(ctx.profile).cnn
    paths = ctx.image_paths(ctx.image_sample)
    out: dict[str, float] = {"backbones_image_size_px": float(cnn.image_size)}
    for name in cnn.backbones:
        model, pretrained = load_backbone(name, require_pretrained=False)
        extractor = feature_extractor(model)
        forward = measure_forward_throughput(extractor, cnn.image_size, n_images=len(paths),
                                             batch_size=cnn.batch_size, device=ctx.device)
        pipeline = measure_feature_throughput(extractor, paths, cnn.image_size, batch_size=cnn.batch_size,
                                              num_workers=ctx.workers, device=ctx.device)
        out.update({f"{name}_parameters": float(count_parameters(extractor)), f"{name}_forward_img_per_s": forward,
                    f"{name}_features_img_per_s": pipeline["images_per_s"],
                    f"{name}_features_vs_forward": pipeline["images_per_s"] / forward,
                    f"{name}_pretrained_weights": float(pretrained)})
    return out
