"""Training caption LSTMs on notebook 02's cached captions: one run (train, resume or reuse; predict; score)
and the final text model handed to notebook 05 (two seeds and their average).

Every run goes through helpers.engine.fit.fit with a checkpoint under artifacts/checkpoints/lstm/, named
by helpers.engine.fit.checkpoint_path from the data fingerprint, the encoded-text cache key, the model
and training config and the seed: an interrupted notebook resumes, an unchanged finished run is reused
(the reference LSTM appears in five ablations and is trained once), and run.fresh retrains each run once
per session. Predictions go through the engine's inference loop (helpers.engine.inference.predict_proba).

The final text model writes, for notebook 05 and the size budget: per-seed histories (names listed in the summary's
"histories"), one weights file per seed in float32 and one in float16 (paths relative to the output
folder in the summary's "weights"), the validation and test probabilities of the average ("lstm"),
and the summary with times, sizes, config and validation metrics.
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from helpers.core.handoff import save_history, save_probabilities, save_summary
from helpers.core.metrics import baseline_prediction, multilabel_scores, scores_at_cutoff
from helpers.core.profiles import LstmSettings
from helpers.engine.device import flush_denormals
from helpers.engine.fit import FitResult, TrainConfig, checkpoint_path, fit
from helpers.engine.inference import CAPTION_BATCH, predict_captions
from helpers.models.lstm import CaptionLSTM, LengthBuckets, LstmConfig, build_lstm
from helpers.models.weights import model_bytes, save_weights, to_half

if TYPE_CHECKING:
    from helpers.run import Run


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
    min_epochs: int = 0  # patience counts only from this epoch on (a slow start is not a plateau)
    max_train_rows: int | None = None  # None: every training row of the split
    score_cutoff: float | None = None  # the cut-off ablation: the model trained at `cutoff`, scored at this one

    @property
    def applied_cutoff(self) -> float:
        """The cut-off that turns this run's probabilities into labels when it is scored."""
        return self.cutoff if self.score_cutoff is None else self.score_cutoff


def reference_run(settings: LstmSettings, *, epochs: int, patience: int | None = None,
                  max_train_rows: int | None = None) -> LstmRun:
    """The reference LSTM (default LstmConfig, stemmed captions, the profile's learning rate and cut-off)."""
    return LstmRun(model=LstmConfig(), variant="standard", lr=settings.lr, cutoff=settings.cutoff, epochs=epochs,
                   batch_size=settings.batch_size, patience=patience, min_epochs=settings.min_epochs,
                   max_train_rows=max_train_rows)


@dataclass
class TrainedLstm:
    model: CaptionLSTM
    fit: FitResult
    checkpoint: Path


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
    model_config = replace(config.model, vocab_size=encoded.vocab_size)
    train_config = TrainConfig(epochs=config.epochs, lr=config.lr, cutoff=config.cutoff, patience=config.patience,
                               min_epochs=config.min_epochs, seed=seed)
    identity = {"data": run.fingerprint, "text": encoded.config.get("key", ""), "variant": config.variant,
                "batch_size": config.batch_size, "max_train_rows": config.max_train_rows, **model_config.to_state()}
    checkpoint = checkpoint_path(run.paths.checkpoints / "lstm", "lstm", identity, train_config)
    key = checkpoint.stem
    fresh = run.fresh and key not in _TRAINED_THIS_SESSION
    model = build_lstm(model_config, seed)
    train = LengthBuckets(encoded.train_tokens[rows], encoded.train_lengths[rows], encoded.train_Y[rows],
                          batch_size=config.batch_size, shuffle=True)
    val = LengthBuckets(encoded.val_tokens, encoded.val_lengths, encoded.val_Y, batch_size=CAPTION_BATCH)
    with flush_denormals():
        result = fit(model, train, val, train_config, device=run.device, checkpoint=checkpoint, key=key,
                     fresh=fresh, desc=desc)
    _TRAINED_THIS_SESSION.add(key)
    return TrainedLstm(model, result, checkpoint)


def predict(model: CaptionLSTM, tokens: torch.Tensor, lengths: torch.Tensor,
            device: torch.device | str = "cpu") -> tuple[np.ndarray, float]:
    """(probabilities (n, 18) in row order, seconds taken): the testing time.

    The engine's one inference loop (predict_proba) over length-bucketed batches kept in data order.
    """
    start = time.perf_counter()
    probs = predict_captions(model, tokens, lengths, device)
    return probs, time.perf_counter() - start


def trivial_baseline(encoded: Any) -> tuple[np.ndarray, dict[str, float]]:
    """(prediction, scores) on the validation rows of the trivial baseline (the training rows' most frequent
    label set for every row): what a model that learned nothing scores."""
    val_Y = np.asarray(encoded.val_Y, dtype=np.uint8)
    pred = baseline_prediction(np.asarray(encoded.train_Y), len(val_Y))
    return pred, multilabel_scores(val_Y, pred)


MODEL_NAME = "lstm"  # the name notebook 05 reads the probabilities and the summary under


def final_run_config(settings: LstmSettings) -> LstmRun:
    """The final text model: reference design, early stopping on validation micro-F1, every training row."""
    return reference_run(settings, epochs=settings.final_max_epochs, patience=settings.patience)


@dataclass
class SeedOutcome:
    trained: TrainedLstm
    val_scores: dict[str, float]
    test_time_s: float
    size_bytes: int  # float32 tensors of the state_dict
    history_name: str


@dataclass
class FinalLstm:
    config: LstmRun
    runs: dict[int, SeedOutcome]  # seed -> its model and numbers
    val_probs: np.ndarray  # average of the seeds' sigmoid outputs
    test_probs: np.ndarray
    val_scores: dict[str, float]  # of the average
    summary: dict[str, Any]


def _save_model_weights(run: Run, name: str, trained: TrainedLstm, config: LstmRun) -> list[Path]:
    """<name>.pt (float32) and <name>_fp16.pt, in the one weights file format; returns both paths."""
    state = trained.model.state_dict()
    model_config = trained.model.config.to_state()
    extra = {"text_variant": config.variant, "cutoff": config.cutoff, "best_epoch": trained.fit.best_epoch}
    return [save_weights(run.paths.checkpoints / f"{name}{suffix}.pt", kind="lstm", config=model_config,
                         state_dict=weights, extra=extra)
            for suffix, weights in (("", state), ("_fp16", to_half(state)))]


def train_final_lstm(run: Run, encoded: Any, config: LstmRun, seeds: Sequence[int]) -> FinalLstm:
    """Train (or reuse) one LSTM per seed with early stopping, average their probabilities, hand off the result."""
    runs: dict[int, SeedOutcome] = {}
    val_parts, test_parts, weights = [], [], []
    for seed in seeds:
        trained = train_lstm(run, encoded, config, seed, desc=f"final LSTM seed {seed}")
        history_name = f"{MODEL_NAME}_seed{seed}"
        save_history(run.paths, history_name, trained.fit.history, trained.fit.best_epoch)
        val_probs, _ = predict(trained.model, encoded.val_tokens, encoded.val_lengths, run.device)
        test_probs, test_s = predict(trained.model, encoded.test_tokens, encoded.test_lengths, run.device)
        val_parts.append(val_probs)
        test_parts.append(test_probs)
        weights += _save_model_weights(run, history_name, trained, config)
        runs[seed] = SeedOutcome(trained, scores_at_cutoff(encoded.val_Y, val_probs, config.cutoff), test_s,
                                 model_bytes(trained.model), history_name)
    val_avg, test_avg = np.mean(val_parts, axis=0), np.mean(test_parts, axis=0)
    val_scores = scores_at_cutoff(encoded.val_Y, val_avg, config.cutoff)
    save_probabilities(run.paths, MODEL_NAME, "val", encoded.val_ids, val_avg)
    save_probabilities(run.paths, MODEL_NAME, "test", encoded.test_ids, test_avg)
    summary = {
        "model": MODEL_NAME, "description": f"average of {len(runs)} caption LSTMs (seeds {list(runs)})",
        "train_time_s": sum(r.trained.fit.train_time_s for r in runs.values()),
        "test_time_s": sum(r.test_time_s for r in runs.values()),
        "size_bytes": sum(r.size_bytes for r in runs.values()),
        "config": asdict(replace(config, model=replace(config.model, vocab_size=encoded.vocab_size))),
        "vocab_size": encoded.vocab_size, "text_variant": config.variant,
        "seeds": list(runs), "best_epochs": [r.trained.fit.best_epoch for r in runs.values()],
        "val_metrics": val_scores, "cutoff": config.cutoff,
        "histories": [r.history_name for r in runs.values()],
        "weights": [str(path.relative_to(run.paths.out_dir)) for path in weights],
    }
    save_summary(run.paths, MODEL_NAME, summary)
    return FinalLstm(config, runs, val_avg, test_avg, val_scores, summary)
