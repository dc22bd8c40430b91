"""One caption LSTM run on notebook 02's cached captions: train (or resume, or reuse), predict, score.

Every run goes through helpers.train.fit.fit with a checkpoint under artifacts/checkpoints/lstm/
keyed by the data fingerprint, the encoded-text cache key, the model and training config and the
seed: an interrupted notebook resumes, an unchanged finished run is reused (the reference LSTM
appears in five ablations and is trained once), and run.fresh retrains each run once per session.
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from helpers.core.hashing import stable_hash
from helpers.core.metrics import baseline_prediction, multilabel_scores
from helpers.core.profiles import LstmSettings
from helpers.models.lstm import CaptionLSTM, LengthBuckets, LstmConfig, build_model
from helpers.train.fit import FitResult, TrainConfig, fit, predict_proba

if TYPE_CHECKING:
    from helpers.run import Run

PREDICT_BATCH = 2048  # captions per batch when predicting (no gradients: large batches are fastest)
_TRAINED_THIS_SESSION: set[str] = set()  # run.fresh retrains a shared run (e.g. the reference LSTM) only once


@dataclass(frozen=True)
class LstmRun:
    """Everything that defines one trained LSTM besides the data and the seed."""

    model: LstmConfig
    variant: str  # text preprocessing variant cached by notebook 02
    lr: float
    cutoff: float
    epochs: int
    batch_size: int
    patience: int | None = None  # None: every epoch; the best epoch on validation micro-F1 is kept either way
    max_train_rows: int | None = None  # None: every training row of the split


def reference_run(settings: LstmSettings, *, epochs: int, patience: int | None = None,
                  max_train_rows: int | None = None) -> LstmRun:
    """The reference LSTM (default LstmConfig, stemmed captions, the profile's learning rate and cut-off)."""
    return LstmRun(model=LstmConfig(), variant="standard", lr=settings.lr, cutoff=settings.cutoff, epochs=epochs,
                   batch_size=settings.batch_size, patience=patience, max_train_rows=max_train_rows)


@dataclass
class TrainedLstm:
    model: CaptionLSTM
    fit: FitResult
    checkpoint: Path


def _flush_denormals_is_on() -> bool:
    """Whether the CPU currently flushes denormal floats to zero (torch has no getter for it)."""
    return bool(torch.tensor([1e-39], dtype=torch.float32).mul(1.0).item() == 0.0)


@contextmanager
def flush_denormals() -> Iterator[None]:
    """Treat denormal floats as zero on the CPU while the block runs, then restore the previous mode.

    Why (issue 16): at learning rate 0.1 the LSTM's gates saturate (42 % of the first step's gate
    pre-activations beyond +-20, none at 0.001), so gradients get as small as 1e-20 and their squares
    in Adam's second moment, and products in the backward pass, fall below float32's normal range
    (1.2e-38): denormal numbers, which x86 CPUs process many times slower than normal floats. Measured
    on this project's 2-core machine (/tmp script: standard LSTM, 400 captions, batch 32, 2 threads, a
    state after 8 epochs, minimum of 7 repeats): one training epoch at lr 0.1 took 0.68 s without
    flushing and 0.38 s with it (at lr 0.001: 0.27 s / 0.18 s, the machine being shared); the Adam
    steps alone at lr 0.1 took 0.112 s and 0.049 s (lr 0.001: 0.036 s either way, within noise).
    Values that small cannot change a float32 weight, so flushing them changes no result that matters,
    and the learning-rate ablation (fig10) then times the learning rate, not an arithmetic slow path.
    No effect on GPUs.
    """
    previous = _flush_denormals_is_on()
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(previous)


def _train_rows(n_rows: int, max_rows: int | None) -> torch.Tensor:
    """Every row, or a fixed random subset (seed 0, same for every setting and seed) of max_rows rows."""
    if max_rows is None or max_rows >= n_rows:
        return torch.arange(n_rows)
    return torch.randperm(n_rows, generator=torch.Generator().manual_seed(0))[:max_rows].sort().values


def train_lstm(run: Run, encoded: Any, config: LstmRun, seed: int, desc: str = "LSTM") -> TrainedLstm:
    """Train (or resume, or reuse) one LSTM on encoded.train_*; best epoch chosen on encoded.val_* micro-F1.

    encoded is notebook 02's EncodedText for config.variant.
    """
    rows = _train_rows(len(encoded.train_tokens), config.max_train_rows)
    key = stable_hash([run.fingerprint, encoded.config.get("key", ""), encoded.vocab_size, config, seed])
    checkpoint = run.paths.checkpoints / "lstm" / f"{key}.pt"
    fresh = run.fresh and key not in _TRAINED_THIS_SESSION
    model = build_model(encoded.vocab_size, config.model, seed)
    train = LengthBuckets(encoded.train_tokens[rows], encoded.train_lengths[rows], encoded.train_Y[rows],
                          batch_size=config.batch_size, shuffle=True)
    val = LengthBuckets(encoded.val_tokens, encoded.val_lengths, encoded.val_Y, batch_size=PREDICT_BATCH)
    train_config = TrainConfig(epochs=config.epochs, lr=config.lr, cutoff=config.cutoff, patience=config.patience,
                               seed=seed)
    with flush_denormals():
        result = fit(model, train, val, train_config, device=run.device, checkpoint=checkpoint, key=key,
                     fresh=fresh, desc=desc)
    _TRAINED_THIS_SESSION.add(key)
    return TrainedLstm(model, result, checkpoint)


def predict(model: CaptionLSTM, tokens: torch.Tensor, lengths: torch.Tensor,
            device: torch.device | str = "cpu") -> tuple[np.ndarray, float]:
    """(probabilities (n, 18) in row order, seconds taken): the testing time."""
    start = time.perf_counter()
    with flush_denormals():
        probs = predict_proba(model, LengthBuckets(tokens, lengths, batch_size=PREDICT_BATCH), device)
    return probs, time.perf_counter() - start


def trivial_baseline(encoded: Any) -> tuple[np.ndarray, dict[str, float]]:
    """(prediction, scores) on the validation rows of the trivial baseline (the training rows' most frequent
    label set for every row): what a model that learned nothing scores."""
    val_Y = np.asarray(encoded.val_Y, dtype=np.uint8)
    pred = baseline_prediction(np.asarray(encoded.train_Y), len(val_Y))
    return pred, multilabel_scores(val_Y, pred)
