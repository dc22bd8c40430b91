"""Every artifact one notebook hands to another, named in this one place.

Probabilities: artifacts/probabilities/<model>_<split>.npz with `image_ids` and `probs` (n, 18) float32.
Summaries:     artifacts/results/<model>_summary.json (times, size, config, metrics, and what the producer
               wrote: "weights" (paths relative to the output folder) and "histories" (names for load_history)).
Histories:     artifacts/results/<name>_history.csv (one row per epoch, best epoch marked).
Encoded text:  artifacts/text/<variant>.pt (notebook 02 -> 04), see encoded_captions_path.
Predictor:     artifacts/predictor.pt (notebook 05 -> helpers.predictor.predictor), see predictor_path.

A consumer reads names from the producer's summary and never re-derives them (a training seed or a
backbone choice changes them). A missing hand-off names the notebook to run first.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from helpers.core.config import RunPaths
from helpers.core.files import atomic_path, read_json, write_json
from helpers.core.labels import N_LABELS

SPLITS = ("val", "test")
PRODUCERS = {  # which notebook writes each model's hand-off
    "text": "02_text_preprocessing", "cnn": "03_cnn_training", "lstm": "04_lstm_training",
    "encoder": "04_lstm_training", "fusion": "05_ensembling",
}


class HandoffMissing(FileNotFoundError):
    """A file that an earlier notebook hands over is not there (or cannot be read)."""


def producer(model: str) -> str:
    """The notebook that writes a model's hand-off ("lstm_seed3" -> 04_lstm_training)."""
    return PRODUCERS.get(model.split("_")[0], "the notebook that trains it")


def _missing(path: Path, model: str) -> HandoffMissing:
    return HandoffMissing(f"{path} is missing: run notebook {producer(model)} first, with the same DATA_DIR and "
                          "OUT_DIR (and the same SEED)")


def encoded_captions_path(paths: RunPaths, variant: str) -> Path:
    """Notebook 02's encoded captions of one preprocessing variant."""
    return paths.text_cache / f"{variant}.pt"


def predictor_path(paths: RunPaths) -> Path:
    """Notebook 05's single predictor file (everything needed to label new images and captions)."""
    return paths.artifacts / "predictor.pt"


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
        raise _missing(path, model)
    try:
        with np.load(path, allow_pickle=False) as data:
            return data["image_ids"], data["probs"]
    except (OSError, ValueError, KeyError) as error:
        raise HandoffMissing(f"{path} cannot be read ({type(error).__name__}: {error}): rerun notebook "
                             f"{producer(model)}") from None


def save_summary(paths: RunPaths, model: str, summary: dict[str, Any]) -> Path:
    return write_json(paths.results / f"{model}_summary.json", summary)


def load_summary(paths: RunPaths, model: str) -> dict[str, Any]:
    path = paths.results / f"{model}_summary.json"
    if not path.exists():
        raise _missing(path, model)
    try:
        return read_json(path)
    except (OSError, ValueError) as error:
        raise HandoffMissing(f"{path} cannot be read ({error}): rerun notebook {producer(model)}") from None


def save_history(paths: RunPaths, model: str, history: pd.DataFrame, best_epoch: int) -> Path:
    table = history.copy()
    table["best"] = table["epoch"] == best_epoch
    path = paths.results / f"{model}_history.csv"
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)
    return path


def load_history(paths: RunPaths, model: str) -> pd.DataFrame:
    """A training history by the name its producer lists in its summary's "histories"."""
    path = paths.results / f"{model}_history.csv"
    if not path.exists():
        raise _missing(path, model)
    return pd.read_csv(path)
