"""Training the caption LSTM on notebook 02's cached captions: single runs, the ablations, the final model.

Every run goes through helpers.train.fit.fit with a checkpoint under artifacts/checkpoints/lstm/
keyed by the data fingerprint, the encoded-text cache key, the model and training config and the
seed: an interrupted notebook resumes, an unchanged finished run is reused (the standard model
appears in five ablations and is trained once), and run.fresh retrains each run once per session.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from helpers.core.atomic_io import atomic_path
from helpers.core.handoff import save_history, save_probabilities, save_summary
from helpers.core.hashing import stable_hash
from helpers.core.metrics import METRIC_NAMES, METRIC_TITLES, binarize, multilabel_scores
from helpers.core.profiles import LstmSettings
from helpers.models.lstm import (
    ARCHITECTURES,
    REFERENCE_VOCAB_SIZE,
    CaptionLSTM,
    LengthBuckets,
    LstmConfig,
    build_model,
    cast_state,
    parameter_count,
    state_dict_bytes,
    stored_size_bytes,
)
from helpers.train.experiments import plot_seed_boxes, run_experiments
from helpers.train.fit import FitResult, TrainConfig, fit, predict_proba

PREDICT_BATCH = 2048
ABLATION_PANELS = ("hamming_accuracy", "micro_f1", "train_time_s", "test_time_s")
_TRAINED_THIS_SESSION: set[str] = set()  # run.fresh retrains a shared run (e.g. the standard model) only once


@dataclass(frozen=True)
class LstmRun:
    """Everything that defines one trained LSTM besides the data and the seed."""

    model: LstmConfig = LstmConfig()
    variant: str = "standard"  # text preprocessing variant cached by notebook 02
    lr: float = 1e-3
    cutoff: float = 0.5
    epochs: int = 20
    patience: int | None = None  # None: every epoch; the best epoch on validation micro-F1 is kept either way
    batch_size: int = 256
    max_train_rows: int | None = None  # None: every training row of the split


@dataclass
class TrainedLstm:
    model: CaptionLSTM
    fit: FitResult
    checkpoint: Path


def ablation_base(settings: LstmSettings) -> LstmRun:
    """The reference LSTM as trained in every ablation of this profile."""
    return LstmRun(epochs=settings.ablation_epochs, batch_size=settings.batch_size,
                   max_train_rows=settings.ablation_max_rows)


def final_run_config(settings: LstmSettings) -> LstmRun:
    """The final text model: reference design, early stopping on validation micro-F1, every training row."""
    return LstmRun(epochs=settings.final_max_epochs, patience=settings.patience, batch_size=settings.batch_size)


def _train_rows(n_rows: int, max_rows: int | None) -> torch.Tensor:
    """Every row, or a fixed random subset (seed 0, same for every setting and seed) of max_rows rows."""
    if max_rows is None or max_rows >= n_rows:
        return torch.arange(n_rows)
    return torch.randperm(n_rows, generator=torch.Generator().manual_seed(0))[:max_rows].sort().values


def train_lstm(run, encoded, config: LstmRun, seed: int, desc: str = "LSTM") -> TrainedLstm:
    """Train (or resume, or reuse) one LSTM on encoded.train_*; best epoch chosen on encoded.val_* micro-F1."""
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
    result = fit(model, train, val, train_config, device=run.device, checkpoint=checkpoint, key=key, fresh=fresh,
                 desc=desc)
    _TRAINED_THIS_SESSION.add(key)
    return TrainedLstm(model, result, checkpoint)


def predict(model: CaptionLSTM, tokens: torch.Tensor, lengths: torch.Tensor,
            device: torch.device | str = "cpu") -> tuple[np.ndarray, float]:
    """(probabilities (n, 18) in row order, seconds taken): the testing time."""
    start = time.perf_counter()
    probs = predict_proba(model, LengthBuckets(tokens, lengths, batch_size=PREDICT_BATCH), device)
    return probs, time.perf_counter() - start


def score(y_true: np.ndarray | torch.Tensor, probs: np.ndarray, cutoff: float = 0.5) -> dict[str, float]:
    """The five named metrics at one cut-off."""
    return multilabel_scores(np.asarray(y_true), binarize(probs, cutoff))


# ---------------------------------------------------------------------------------------------
# ablations


@dataclass(frozen=True)
class Ablation:
    figure: str  # figNN_what
    table: str  # tableNN_what: the tidy results
    title: str
    xlabel: str
    settings: Callable[[LstmRun], dict[str, LstmRun]]


ABLATIONS: dict[str, Ablation] = {
    "architecture": Ablation(
        "fig08_lstm_architecture", "table30_lstm_ablation_architecture", "LSTM architecture", "architecture",
        lambda base: {name.replace("_", " ").replace("first last", "first+last"): replace(base, model=model)
                      for name, model in ARCHITECTURES.items()}),
    "cutoff": Ablation(
        "fig09_lstm_cutoff", "table31_lstm_ablation_cutoff", "LSTM probability cut-off", "cut-off",
        lambda base: {str(c): replace(base, cutoff=c) for c in (0.25, 0.5, 0.75)}),
    "learning_rate": Ablation(
        "fig10_lstm_learning_rate", "table32_lstm_ablation_learning_rate", "LSTM learning rate (Adam)",
        "learning rate", lambda base: {str(lr): replace(base, lr=lr) for lr in (0.1, 0.01, 0.001)}),
    "embedding_dim": Ablation(
        "fig11_lstm_embedding_dim", "table33_lstm_ablation_embedding_dim", "LSTM embedding dimension",
        "embedding dimension",
        lambda base: {str(d): replace(base, model=replace(base.model, embed_dim=d)) for d in (32, 64, 128)}),
    "hidden_dim": Ablation(
        "fig12_lstm_hidden_dim", "table34_lstm_ablation_hidden_dim", "LSTM hidden dimension", "hidden dimension",
        lambda base: {str(d): replace(base, model=replace(base.model, hidden_dim=d)) for d in (64, 128, 256)}),
    "preprocessing": Ablation(
        "fig14_lstm_preprocessing", "table35_lstm_ablation_preprocessing", "Caption preprocessing",
        "preprocessing",
        lambda base: {title: replace(base, variant=variant) for title, variant in (
            ("standard", "standard"), ("with stop words", "stopwords"), ("no stemming", "nostem"),
            ("lemmatized", "lemma"))}),
}


def run_lstm_ablation(run, name: str, load_encoded: Callable[[str], object]) -> pd.DataFrame:
    """Train every setting of one ablation with every seed of the profile; tidy results (also cached).

    Scores are on the validation rows: the five metrics at the setting's cut-off, the training time
    (optimisation only, all epochs) and the testing time (predicting every validation row).
    load_encoded(variant) returns notebook 02's EncodedText for that preprocessing variant.
    """
    ablation = ABLATIONS[name]
    settings = ablation.settings(ablation_base(run.profile.lstm))

    def train_and_score(config: LstmRun, seed: int) -> dict[str, float]:
        encoded = load_encoded(config.variant)
        trained = train_lstm(run, encoded, config, seed, desc=f"{name} seed {seed}")
        probs, test_s = predict(trained.model, encoded.val_tokens, encoded.val_lengths, run.device)
        return {**score(encoded.val_Y, probs, config.cutoff), "train_time_s": trained.fit.train_time_s,
                "test_time_s": test_s, "best_epoch": trained.fit.best_epoch}

    text_keys = sorted({load_encoded(config.variant).config.get("key", "") for config in settings.values()})
    return run_experiments(f"lstm_{name}", settings, run.profile.lstm.seeds, train_and_score,
                           run.paths.results / "experiments", key=stable_hash([run.fingerprint, text_keys]),
                           fresh=run.fresh)


def plot_ablation(tidy: pd.DataFrame, name: str) -> plt.Figure:
    """The reference's four box plots over seeds: accuracy (per-label, as Keras' binary accuracy), micro-F1,
    training time and testing time."""
    ablation = ABLATIONS[name]
    return plot_seed_boxes(tidy, ABLATION_PANELS, ablation.title, xlabel=ablation.xlabel)


def save_ablation(run, tidy: pd.DataFrame, name: str) -> plt.Figure:
    """Write the ablation's tidy table and its figure; return the figure for display."""
    ablation = ABLATIONS[name]
    run.save_table(tidy, ablation.table)
    fig = plot_ablation(tidy, name)
    run.save_fig(fig, ablation.figure)
    return fig


def profile_reductions(settings: LstmSettings, full: LstmSettings = LstmSettings()) -> str:
    """What this profile trains, next to the reference's (full profile's) settings."""
    def rows(value: int | None) -> str:
        return "every training row" if value is None else f"{value:,} training rows"

    return "\n".join([
        f"ablation runs: {settings.ablation_epochs} epochs (reference {full.ablation_epochs}), "
        f"{len(settings.seeds)} seed(s) {list(settings.seeds)} (reference {len(full.seeds)}), "
        f"{rows(settings.ablation_max_rows)} (reference: {rows(full.ablation_max_rows)}), "
        f"batch {settings.batch_size}",
        f"final model: at most {settings.final_max_epochs} epochs (reference {full.final_max_epochs}), "
        f"patience {settings.patience} (reference {full.patience}), every training row, batch {settings.batch_size}",
    ])


def ablation_summary(tidies: list[pd.DataFrame]) -> pd.DataFrame:
    """Mean and standard deviation over seeds of every metric, one row per (experiment, setting)."""
    tidy = pd.concat(tidies, ignore_index=True)
    grouped = tidy.groupby(["experiment", "setting", "metric"], sort=False)["value"]
    table = grouped.agg(["mean", "std"]).reset_index()
    wide = table.pivot_table(index=["experiment", "setting"], columns="metric", values=["mean", "std"], sort=False)
    wide.columns = [f"{metric} {stat}" for stat, metric in wide.columns]
    order = [f"{m} {s}" for m in (*METRIC_NAMES, "train_time_s", "test_time_s") for s in ("mean", "std")]
    return wide[[c for c in order if c in wide.columns]].reset_index()


# ---------------------------------------------------------------------------------------------
# sizes, design, final model


def size_table(vocab_size: int) -> pd.DataFrame:
    """Stored size (float32 state_dict, torch.save, MB = 10^6 bytes) of every architecture,
    for this run's dictionary and for the reference's 4,793 entries, beside the reference's figures."""
    reference_mb = {"standard": 4.1, "bidirectional": 5.7, "two_layers": 6.2}
    rows = []
    for name, config in ARCHITECTURES.items():
        rows.append({
            "architecture": name,
            "parameters (this dictionary)": parameter_count(vocab_size, config),
            "size MB (this dictionary)": stored_size_bytes(vocab_size, config) / 1e6,
            "size MB fp16 (this dictionary)": stored_size_bytes(vocab_size, config, torch.float16) / 1e6,
            "size MB (4,793 entries)": stored_size_bytes(REFERENCE_VOCAB_SIZE, config) / 1e6,
            "reference MB (4,793 entries)": reference_mb.get(name, float("nan")),
        })
    return pd.DataFrame(rows)


def design_table(config: LstmRun, vocab_size: int) -> pd.DataFrame:
    """The final text model's layers and training settings, one row each."""
    m = config.model
    rows = [
        ("dictionary", f"{vocab_size} entries (index 0 padding, 1 out-of-vocabulary)"),
        ("embedding", f"{m.embed_dim} dimensions"),
        ("LSTM", f"{m.num_layers} layer(s), hidden size {m.hidden_dim}, "
                 f"{'bidirectional' if m.bidirectional else 'forward only'}, readout at the last real token"),
        ("dropout", f"{m.dropout} on the LSTM features"),
        ("output", f"{m.n_labels} linear heads (one per label), sigmoid"),
        ("loss", "binary cross-entropy"),
        ("optimiser", f"Adam, learning rate {config.lr}"),
        ("batch", f"{config.batch_size} captions, grouped by length"),
        ("epochs", f"at most {config.epochs}, early stopping after {config.patience} epochs without "
                   "a better validation micro-F1"),
        ("cut-off", f"{config.cutoff}"),
        ("text", f"variant {config.variant!r}"),
        ("parameters", f"{parameter_count(vocab_size, m):,}"),
    ]
    return pd.DataFrame(rows, columns=["component", "setting"])


@dataclass
class FinalLstm:
    runs: dict[int, TrainedLstm]  # seed -> trained model
    val_probs: np.ndarray  # average of the seeds' sigmoid outputs
    test_probs: np.ndarray
    performance: pd.DataFrame  # table09
    summary: dict


def train_final_lstm(run, encoded, config: LstmRun, seeds: tuple[int, int]) -> FinalLstm:
    """Two LSTMs (two seeds) with early stopping, and their average: the "lstm" model handed to notebook 05.

    Saves per-seed histories (lstm_seed<N>), float32 and float16 weights, validation and test
    probabilities of the average, and a summary with times, sizes, config and validation metrics.
    """
    runs, rows, val_parts, test_parts, weights = {}, [], [], [], []
    total_train = total_test = 0.0
    total_bytes = 0
    for seed in seeds:
        trained = train_lstm(run, encoded, config, seed, desc=f"final LSTM seed {seed}")
        runs[seed] = trained
        save_history(run.paths, f"lstm_seed{seed}", trained.fit.history, trained.fit.best_epoch)
        val_probs, val_s = predict(trained.model, encoded.val_tokens, encoded.val_lengths, run.device)
        test_probs, test_s = predict(trained.model, encoded.test_tokens, encoded.test_lengths, run.device)
        val_parts.append(val_probs)
        test_parts.append(test_probs)
        weights += _save_weights(run.paths.checkpoints / f"lstm_seed{seed}", trained.model)
        size = state_dict_bytes(trained.model)
        total_train += trained.fit.train_time_s
        total_test += test_s
        total_bytes += size
        rows.append({"model": f"LSTM seed {seed}", **score(encoded.val_Y, val_probs, config.cutoff),
                     "best epoch": trained.fit.best_epoch, "training time (s)": trained.fit.train_time_s,
                     "testing time (s)": test_s, "size (MB)": size / 1e6})
    val_avg, test_avg = np.mean(val_parts, axis=0), np.mean(test_parts, axis=0)
    val_scores = score(encoded.val_Y, val_avg, config.cutoff)
    rows.append({"model": f"average of {len(seeds)} LSTMs", **val_scores, "best epoch": np.nan,
                 "training time (s)": total_train, "testing time (s)": total_test, "size (MB)": total_bytes / 1e6})
    performance = pd.DataFrame(rows).rename(columns={m: f"validation {METRIC_TITLES[m]}" for m in METRIC_NAMES})

    save_probabilities(run.paths, "lstm", "val", encoded.val_ids, val_avg)
    save_probabilities(run.paths, "lstm", "test", encoded.test_ids, test_avg)
    summary = {
        "model": "lstm", "description": f"average of {len(seeds)} caption LSTMs (seeds {list(seeds)})",
        "train_time_s": total_train, "test_time_s": total_test, "size_bytes": total_bytes,
        "config": asdict(config), "vocab_size": encoded.vocab_size, "text_variant": config.variant,
        "seeds": list(seeds), "best_epochs": [r.fit.best_epoch for r in runs.values()],
        "val_metrics": val_scores, "cutoff": config.cutoff, "weights": [str(p) for p in weights],
    }
    save_summary(run.paths, "lstm", summary)
    return FinalLstm(runs, val_avg, test_avg, performance, summary)


def plot_learning_curves(final: FinalLstm) -> plt.Figure:
    """Training loss and validation micro-F1 per epoch for each seed; the kept (best) epoch marked."""
    fig, (loss_ax, f1_ax) = plt.subplots(1, 2, figsize=(10, 3.8))
    for i, (seed, trained) in enumerate(final.runs.items()):
        history, color = trained.fit.history, f"C{i}"
        loss_ax.plot(history["epoch"], history["train_loss"], marker="o", color=color, label=f"seed {seed}: training")
        loss_ax.plot(history["epoch"], history["val_loss"], marker="o", linestyle="--", color=color,
                     label=f"seed {seed}: validation")
        f1_ax.plot(history["epoch"], history["val_micro_f1"], marker="o", color=color, label=f"seed {seed}")
        best = history[history["epoch"] == trained.fit.best_epoch]
        f1_ax.scatter(best["epoch"], best["val_micro_f1"], s=140, facecolors="none", edgecolors=color,
                      linewidths=2, label=f"seed {seed}: kept epoch {trained.fit.best_epoch}")
    loss_ax.set(title="Binary cross-entropy", xlabel="epoch", ylabel="loss (mean per label)")
    f1_ax.set(title="Validation micro-F1 (early stopping)", xlabel="epoch", ylabel="micro-F1")
    for ax in (loss_ax, f1_ax):
        ax.legend(fontsize=8)
        ax.xaxis.get_major_locator().set_params(integer=True)
    fig.suptitle("Final caption LSTM: learning curves")
    fig.tight_layout()
    return fig


def _save_weights(stem: Path, model: CaptionLSTM) -> list[Path]:
    """stem.pt (float32 state_dict) and stem_fp16.pt, written atomically; returns both paths."""
    out = []
    for suffix, dtype in (("", torch.float32), ("_fp16", torch.float16)):
        path = stem.parent / f"{stem.name}{suffix}.pt"
        with atomic_path(path) as tmp:
            torch.save(cast_state(model, dtype), tmp)
        out.append(path)
    return out


def load_weights(path: str | Path, vocab_size: int, config: LstmConfig = LstmConfig()) -> CaptionLSTM:
    """A saved LSTM (float32 or float16 state_dict) back as a float32 model; nothing is unpickled."""
    model = CaptionLSTM(vocab_size, config)
    state = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    return model.eval()
