"""What the model notebooks hand to the fusion notebook: probabilities, training summaries and histories.

Probabilities: artifacts/probabilities/<model>_<split>.npz with `image_ids` and `probs` (n, 18) float32.
Summaries:     artifacts/results/<model>_summary.json (times, size, config, metrics).
Histories:     artifacts/results/<model>_history.csv (one row per epoch, best epoch marked).
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from helpers.core.atomic_io import atomic_path, read_json, write_json
from helpers.core.config import RunPaths
from helpers.core.labels import N_LABELS

SPLITS = ("val", "test")


def _probs_path(paths: RunPaths, model: str, split: str) -> Path:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, not {split!r}")
    return paths.probabilities / f"{model}_{split}.npz"


def save_probabilities(paths: RunPaths, model: str, split: str, image_ids: Sequence[str], probs: np.ndarray) -> Path:
    probs = np.asarray(probs, dtype=np.float32)
    if probs.shape != (len(image_ids), N_LABELS):
        raise ValueError(f"probabilities of shape {probs.shape} do not match {len(image_ids)} rows x {N_LABELS} labels")
    path = _probs_path(paths, model, split)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            np.savez(handle, image_ids=np.asarray(image_ids, dtype=str), probs=probs)
    return path


def load_probabilities(paths: RunPaths, model: str, split: str) -> tuple[np.ndarray, np.ndarray]:
    """(image_ids, probs); a clear error says which notebook to run when the file is missing."""
    path = _probs_path(paths, model, split)
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run the notebook that trains the {model!r} model first")
    with np.load(path, allow_pickle=False) as data:
        return data["image_ids"], data["probs"]


def save_summary(paths: RunPaths, model: str, summary: dict[str, Any]) -> Path:
    return write_json(paths.results / f"{model}_summary.json", summary)


def load_summary(paths: RunPaths, model: str) -> dict[str, Any]:
    path = paths.results / f"{model}_summary.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run the notebook that trains the {model!r} model first")
    return read_json(path)


def save_history(paths: RunPaths, model: str, history: pd.DataFrame, best_epoch: int) -> Path:
    table = history.copy()
    table["best"] = table["epoch"] == best_epoch
    path = paths.results / f"{model}_history.csv"
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)
    return path


def load_history(paths: RunPaths, model: str) -> pd.DataFrame:
    return pd.read_csv(paths.results / f"{model}_history.csv")
