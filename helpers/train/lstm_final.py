"""The final text model and its hand-off to notebook 05: two LSTMs (two seeds) and their average.

Writes, for notebook 05 and the size budget: per-seed histories (names listed in the summary's
"histories"), one weights file per seed in float32 and one in float16 (paths relative to the output
folder in the summary's "weights"), the validation and test probabilities of the average ("lstm"),
and the summary with times, sizes, config and validation metrics.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from helpers.core.handoff import save_history, save_probabilities, save_summary
from helpers.core.metrics import scores_at_cutoff
from helpers.core.profiles import LstmSettings
from helpers.models.lstm import lstm_config
from helpers.models.size import model_bytes, to_half
from helpers.models.weights_file import save_weights
from helpers.train.lstm_runs import LstmRun, TrainedLstm, predict, reference_run, train_lstm

if TYPE_CHECKING:
    from helpers.run import Run

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


def _save_model_weights(run: Run, name: str, trained: TrainedLstm, vocab_size: int, config: LstmRun) -> list[Path]:
    """<name>.pt (float32) and <name>_fp16.pt, in the one weights file format; returns both paths."""
    state = trained.model.state_dict()
    model_config = lstm_config(vocab_size, config.model)
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
        weights += _save_model_weights(run, history_name, trained, encoded.vocab_size, config)
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
        "config": asdict(config), "vocab_size": encoded.vocab_size, "text_variant": config.variant,
        "seeds": list(runs), "best_epochs": [r.trained.fit.best_epoch for r in runs.values()],
        "val_metrics": val_scores, "cutoff": config.cutoff,
        "histories": [r.history_name for r in runs.values()],
        "weights": [str(path.relative_to(run.paths.out_dir)) for path in weights],
    }
    save_summary(run.paths, MODEL_NAME, summary)
    return FinalLstm(config, runs, val_avg, test_avg, val_scores, summary)
