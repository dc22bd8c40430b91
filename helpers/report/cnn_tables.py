"""Notebook 03's tables: cached features, how each architecture is built (table06), what it scores and costs
(table07), and the backbone comparison (table27). Each score table carries the trivial baseline as a row."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from helpers.core.metrics import BASELINE_NAME, baseline_prediction, multilabel_scores, scores_at_cutoff
from helpers.models.size import MB, count_parameters
from helpers.train.cnn_outcome import ModelOutcome
from helpers.train.image_features import FeatureSet

REFERENCE_WAY = "B, backbone run every epoch (reference's way)"
SCORE_COLUMNS = ("val_micro_f1", "val_samples_f1", "val_macro_f1")


def baseline_scores(Y_train: np.ndarray, y_true: np.ndarray) -> dict[str, float]:
    """Every metric of the trivial baseline (the training rows' most frequent label set) on y_true's rows."""
    return multilabel_scores(y_true, baseline_prediction(Y_train, len(y_true)))


def weights_label(outcome: ModelOutcome) -> str:
    """What the model's weights started from, in words."""
    if outcome.trained_from_scratch:
        return "trained from scratch"
    return "pretrained (ImageNet)" if outcome.pretrained else "random init, frozen"


def feature_table(features: dict[str, FeatureSet]) -> pd.DataFrame:
    """One row per image set: how many images, whether read from the cache, extraction seconds and rate."""
    return pd.DataFrame([{"image set": name, "images": len(fs.image_ids), "from cache": fs.from_cache,
                          "extraction time (s)": fs.extract_s, "images per second": fs.images_per_s,
                          "cache file": fs.path.name} for name, fs in features.items()])


def cnn_performance_table(outcomes: Sequence[ModelOutcome], Y_train: np.ndarray, val_y: np.ndarray,
                          test_y: np.ndarray | None, reference_train_s: float | None = None,
                          reference_note: str = "") -> pd.DataFrame:
    """table07: every metric (validation, and test where labels exist), training / testing time, size;
    the trivial baseline as the first row and, when timed, architecture B the reference's way (extrapolated)."""
    base: dict[str, Any] = {"model": BASELINE_NAME, "weights": "none (predicts one label set)",
                            "pretrained_weights": False, "cutoff": np.nan}
    base.update({f"val_{k}": v for k, v in baseline_scores(Y_train, val_y).items()})
    if test_y is not None:
        base.update({f"test_{k}": v for k, v in baseline_scores(Y_train, test_y).items()})
    rows = [base]
    for o in outcomes:
        row: dict[str, Any] = {"model": o.name, "weights": weights_label(o), "pretrained_weights": o.pretrained,
                               "cutoff": o.cutoff}
        row.update({f"val_{k}": v for k, v in scores_at_cutoff(val_y, o.val_probs, o.cutoff).items()})
        if test_y is not None:
            row.update({f"test_{k}": v for k, v in scores_at_cutoff(test_y, o.test_probs, o.cutoff).items()})
        row.update({"train_time_s": o.train_time_s, "test_time_s": o.test_time_s, "size_mb": o.size_bytes / MB,
                    "extrapolated": False, "note": o.train_time_note})
        rows.append(row)
    if reference_train_s is not None:
        b = next(o for o in outcomes if o.arch == "B")
        rows.append({"model": REFERENCE_WAY, "weights": weights_label(b), "pretrained_weights": b.pretrained,
                     "train_time_s": reference_train_s, "size_mb": b.size_bytes / MB, "extrapolated": True,
                     "note": reference_note})
    return pd.DataFrame(rows)


def cnn_design_table(outcomes: Sequence[ModelOutcome]) -> pd.DataFrame:
    """table06: how each architecture is built and trained."""
    rows = []
    for o in outcomes:
        c, t = o.config, o.config["train_config"]
        dim = c.get("feature_dim")
        head = (" -> ".join(map(str, [dim, *c["head_hidden"], 18])) + f", ReLU, dropout {c['head_dropout']}"
                if o.arch == "B" else "classifier replaced by an 18-way layer")
        rows.append({
            "model": o.name, "backbone": c["backbone"], "weights": weights_label(o), "pretrained_weights": o.pretrained,
            "head": head, "trainable_parameters": count_parameters(o.model, trainable_only=True),
            "total_parameters": count_parameters(o.model), "image_size_px": c["image_size"],
            "preprocessing": c.get("preprocessing", "reference"), "augmentation": c.get("augment", False),
            "optimizer": t["optimizer"], "schedule": t.get("schedule", "constant"), "loss": t.get("loss", "bce"),
            "learning_rate": t["lr"], "epochs": t["epochs"], "best_epoch": o.fit.best_epoch,
            "batch_size": c.get("batch_size", c.get("head_batch_size")), "cutoff": t["cutoff"],
            "train_rows": c.get("train_rows", "all"),
        })
    return pd.DataFrame(rows)


def backbone_table(compare: pd.DataFrame, baseline: dict[str, float]) -> pd.DataFrame:
    """table27: one row per backbone (scores: mean over seeds, with the range over seeds), the baseline first."""
    keep = ["weights", "pretrained_weights", "feature_dim", "parameters", "float32_MB", "float16_MB",
            "features_per_s", "forward_per_s", "extraction_over_forward", "head_train_rows"]
    grouped = compare.groupby("backbone", sort=False)
    table = grouped[keep].first()
    for column in SCORE_COLUMNS:
        table[column] = grouped[column].mean()
        table[f"{column}_seed_range"] = grouped[column].max() - grouped[column].min()
    table["seeds"] = grouped["seed"].nunique()
    table = table.reset_index()
    base = {"backbone": BASELINE_NAME, "weights": "none", **{c: baseline[c.removeprefix("val_")]
                                                              for c in SCORE_COLUMNS}}
    return pd.concat([pd.DataFrame([base]), table], ignore_index=True)
