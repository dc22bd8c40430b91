"""Handing notebook 03's chosen image model to notebook 05: probabilities, summary, history, one weights file.

The weights file (helpers.models.weights_file, kind "cnn_image_model") holds everything needed to
predict from an image, with the config that rebuilds it (helpers.models.image_models.build_image_model).
The summary lists what was written: "weights" (paths relative to the output folder), "histories"
(names for helpers.core.handoff.load_history) and "feature_cache" (the cached backbone features of
train.csv and test.csv, which the joint model of notebook 05 trains on).
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from helpers.core.handoff import save_history, save_probabilities, save_summary
from helpers.core.metrics import scores_at_cutoff
from helpers.models.image_models import normalisation
from helpers.models.weights_file import save_weights
from helpers.train.cnn_outcome import ModelOutcome
from helpers.train.image_features import FeatureSet

if TYPE_CHECKING:
    from helpers.run import Run

WEIGHTS_KIND = "cnn_image_model"
HISTORY_NAME = "cnn"


def weights_config(outcome: ModelOutcome) -> dict[str, Any]:
    """The outcome's config plus what a predictor needs to rebuild and feed it (registry name, widths, mean/std)."""
    config = dict(outcome.config)
    mean, std = normalisation(config.get("preprocessing", "reference"))
    config.update({"backbone_name": config["backbone"], "mean": list(mean), "std": list(std),
                   "backbone_config": {"widths": config["widths"]} if "widths" in config else {}})
    return config


def save_outcome(run: Run, outcome: ModelOutcome, val_y: np.ndarray, features: tuple[FeatureSet, FeatureSet],
                 extra: dict[str, Any] | None = None) -> Path:
    """Write the chosen model's hand-off; returns the weights file's path."""
    train_rows, val_rows = run.split
    data = run.dataset
    weights_path = run.paths.checkpoints / f"cnn_final_{outcome.arch}.pt"
    config = weights_config(outcome)
    save_weights(weights_path, kind=WEIGHTS_KIND, config=config, state_dict=outcome.model.state_dict())
    save_probabilities(run.paths, "cnn", "val", data.train["ImageID"].to_numpy()[val_rows], outcome.val_probs)
    save_probabilities(run.paths, "cnn", "test", data.test["ImageID"].to_numpy(), outcome.test_probs)
    save_history(run.paths, HISTORY_NAME, outcome.fit.history, outcome.fit.best_epoch)
    save_summary(run.paths, "cnn", {
        "model": outcome.name, "arch": outcome.arch, "pretrained": outcome.pretrained,
        "trained_from_scratch": outcome.trained_from_scratch,
        "train_time_s": outcome.train_time_s, "train_time_note": outcome.train_time_note,
        "test_time_s": outcome.test_time_s, "size_bytes": outcome.size_bytes,
        "weights": [str(weights_path.relative_to(run.paths.out_dir))], "histories": [HISTORY_NAME],
        "feature_cache": [features[0].path.name, features[1].path.name],
        "config": config, "cutoff": outcome.cutoff, "best_epoch": outcome.fit.best_epoch,
        "val_metrics": scores_at_cutoff(val_y, outcome.val_probs, outcome.cutoff), **(extra or {}),
    })
    return weights_path
