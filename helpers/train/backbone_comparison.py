"""The backbone comparison of notebook 03 (table27, fig27): which image network to use, measured on this run's rows.

- With pretrained weights (`compare_backbones`): each registry backbone (torchvision's registry) loaded with the
  requested weights (a random initialisation, said so, where they cannot be loaded), its classifier removed,
  its features of a subset of training rows and every validation row cached like the main model's, and
  architecture B's head trained on them over the profile's seeds: size, speed and scores.
- Without them (`compare_scratch_networks`): frozen random networks would all score the trivial baseline, so the
  profile's small ResNet, one half as wide and one a stage shallower are each trained from scratch in a short run
  (architecture A, every weight), each scored against the baseline and, by a paired bootstrap over the validation
  rows, against the profile's network.
- `backbone_comparison` picks between the two from the run's BackboneChoice.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from torch import nn

from helpers.core.files import stable_hash
from helpers.core.metrics import binarize, paired_bootstrap, scores_at_cutoff
from helpers.core.seeding import seeded
from helpers.engine.fit import TrainConfig, fit
from helpers.engine.inference import measure_forward_throughput, predict_proba, run_on_images
from helpers.models.backbones import SCRATCH_NAME, check_backbone_name, load_backbone, resolve_weights, weights_tag
from helpers.models.image_model import FeatureHead, feature_extractor
from helpers.models.weights import MB, count_parameters, model_bytes
from helpers.train.head_experiments import HeadTrainer, float_tensor
from helpers.train.image_data import cached_features
from helpers.train.image_training import (
    BackboneChoice,
    DecodedImages,
    ScratchRecipe,
    decoded_images,
    image_checkpoint,
    tensor_batches,
)

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
        model, pretrained = load_backbone(name, weights, require_pretrained=False, download=not run.profile.offline)
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
        with seeded():  # counted, never trained: drawn from a fork of the caller's state, which stays as it was
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


def scratch_variants(widths: Sequence[int]) -> dict[str, tuple[int, ...]]:
    """The from-scratch networks the offline backbone comparison trains: the profile's, half as wide, one stage
    shallower (standard width / depth ablations of a ResNet, each a fraction of the profile network's cost)."""
    widths = tuple(int(w) for w in widths)
    variants = {"the profile's network": widths, "half width": tuple(max(w // 2, 1) for w in widths)}
    if len(widths) > 1:
        variants["one stage fewer"] = widths[:-1]
    return variants


def compare_scratch_networks(run: Run, recipe: ScratchRecipe, images: DecodedImages, *, epochs: int,
                             max_rows: int | None, bootstrap_samples: int = 1000) -> pd.DataFrame:
    """The backbone comparison without pretrained weights: each network of scratch_variants trained from scratch
    (architecture A, every weight) for `epochs` on the comparison's training rows (max_rows, seeded as
    head_experiments.comparison_rows) at the run's seed, scored on every validation row, with a paired
    bootstrap of its validation micro-F1 against the profile's network. Columns as compare_backbones' (one
    row per network), plus train_s, convergence and the interval ("vs_profile_low", "vs_profile_high")."""
    data, (train_rows, val_rows) = run.dataset, run.split
    rows = comparison_rows(train_rows, max_rows)
    val_y = data.Y[val_rows]
    out, predictions = [], {}
    for label, widths in scratch_variants(recipe.widths).items():
        variant = replace(recipe, widths=widths, epochs=epochs, patience=None, image_size=images.train.shape[-1])
        model = variant.build(run.seed, run.device, label_prior=data.Y[rows].mean(axis=0))
        config = variant.train_config(run.seed)
        facts = {"batch_size": variant.batch_size, "rows_hash": stable_hash(rows.tolist()),
                 "fingerprint": run.fingerprint, "train_autocast": str(model.train_autocast),
                 "output_bias": "label prior"}
        checkpoint, fit_key, _ = image_checkpoint("cnn_scratch_compare", run.paths.checkpoints,
                                                  variant.model_config(), facts, config)
        result = fit(model, tensor_batches(images.train[rows], data.Y[rows], variant.batch_size, train=True),
                     tensor_batches(images.train[val_rows], val_y, 512), config, device=run.device,
                     checkpoint=checkpoint, key=fit_key, fresh=run.fresh,
                     desc=f"from scratch {'-'.join(map(str, widths))} ({label})")
        model.train_autocast = None
        probs = predict_proba(model, tensor_batches(images.train[val_rows], val_y, 512), run.device)
        predictions[label] = binarize(probs, config.cutoff)
        forward = measure_forward_throughput(model, variant.image_size, n_images=256, batch_size=64,
                                             device=run.device)
        out.append({"backbone": f"{SCRATCH_NAME} {'-'.join(map(str, widths))} ({label})",
                    "weights": f"none (trained from scratch, {epochs} epochs at {variant.image_size} px)",
                    "pretrained_weights": False, "image_size": variant.image_size,
                    "seed": run.seed, "feature_dim": widths[-1], "parameters": count_parameters(model),
                    "float32_MB": model_bytes(model) / MB, "float16_MB": model_bytes(model, half=True) / MB,
                    "features_per_s": np.nan, "forward_per_s": forward, "extraction_over_forward": np.nan,
                    "head_train_rows": len(rows), "train_s": result.train_time_s,
                    "convergence": "stopped early" if result.stopped_early else f"unconverged ({epochs}-epoch cap)",
                    **{f"val_{k}": v for k, v in scores_at_cutoff(val_y, probs, config.cutoff).items()}})
    reference = predictions["the profile's network"]
    for row, (label, pred) in zip(out, predictions.items(), strict=True):
        test = paired_bootstrap(val_y, pred, reference, "micro_f1", n_boot=bootstrap_samples, seed=run.seed)
        row.update({"vs_profile_diff": test["diff"], "vs_profile_low": test["low"], "vs_profile_high": test["high"],
                    "vs_profile_real": bool(test["significant"]) if label != "the profile's network" else False})
    return pd.DataFrame(out)


def backbone_comparison(run: Run, choice: BackboneChoice, names: Sequence[str], *, weights: str, config: TrainConfig,
                        preprocessing: str = "reference") -> pd.DataFrame:
    """table27's rows: without pretrained weights (the image model was trained from scratch), from-scratch networks
    of a few widths and depths (compare_scratch_networks; random frozen backbones would all score the baseline);
    with weights, each registry backbone as architecture B (head_experiments.compare_backbones)."""
    cnn = run.profile.cnn
    if choice.from_scratch and choice.images is not None:
        size = cnn.scratch_compare_image_size or choice.recipe.image_size
        images = choice.images if size == choice.images.train.shape[-1] else decoded_images(run, size,
                                                                                           cnn.num_workers)
        return compare_scratch_networks(run, choice.recipe, images, epochs=cnn.scratch_compare_epochs,
                                        max_rows=cnn.scratch_compare_rows,
                                        bootstrap_samples=run.profile.fusion.bootstrap_samples)
    return compare_backbones(run, names, weights=weights, size=cnn.image_size, config=config, seeds=cnn.seeds,
                             max_rows=cnn.backbone_max_rows, batch_size=cnn.batch_size,
                             head_batch_size=cnn.head_batch_size, num_workers=cnn.num_workers,
                             preprocessing=preprocessing)
