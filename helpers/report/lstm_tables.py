"""Notebook 04's tables: stored sizes (table03), ablation results (table30-35) and their summary with
paired bootstrap intervals (table36), the final model's design (table08) and performance (table09)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.core.metrics import METRIC_NAMES, METRIC_TITLES, paired_bootstrap
from helpers.models.lstm import ARCHITECTURES, REFERENCE_VOCAB_SIZE, CaptionLSTM
from helpers.models.size import MB, count_parameters, model_bytes
from helpers.train.experiments import TIDY_COLUMNS
from helpers.train.lstm_ablations import AblationResult
from helpers.train.lstm_final import FinalLstm
from helpers.train.lstm_runs import LstmRun

BASELINE_SETTING = "trivial baseline"  # the row / legend name of helpers.core.metrics.baseline_prediction
REFERENCE_MB = {"standard": 4.1, "bidirectional": 5.7, "two_layers": 6.2}  # the study's stored sizes
BOOTSTRAP_METRIC = "micro_f1"  # the study's F1, the metric of the ablation figures


def size_table(vocab_size: int) -> pd.DataFrame:
    """Size (float32 tensors, MB = 10^6 bytes) of every architecture, for this run's dictionary and for the
    reference's 4,793 entries, beside the reference's figures."""
    rows = []
    for name, config in ARCHITECTURES.items():
        mine, reference = CaptionLSTM(vocab_size, config), CaptionLSTM(REFERENCE_VOCAB_SIZE, config)
        rows.append({
            "architecture": name,
            "parameters (this dictionary)": count_parameters(mine),
            "size MB (this dictionary)": model_bytes(mine) / MB,
            "size MB fp16 (this dictionary)": model_bytes(mine, half=True) / MB,
            "size MB (4,793 entries)": model_bytes(reference) / MB,
            "reference MB (4,793 entries)": REFERENCE_MB.get(name, float("nan")),
        })
    return pd.DataFrame(rows)


def ablation_table(result: AblationResult) -> pd.DataFrame:
    """The tidy results of one ablation with the trivial baseline's five scores as rows (no seed: it is not trained)."""
    experiment = result.tidy["experiment"].iloc[0]
    baseline = pd.DataFrame([{"experiment": experiment, "setting": BASELINE_SETTING, "seed": pd.NA, "metric": metric,
                              "value": value} for metric, value in result.baseline.items()], columns=TIDY_COLUMNS)
    table = pd.concat([result.tidy, baseline], ignore_index=True)
    table["seed"] = table["seed"].astype("Int64")
    return table


def reference_differences(result: AblationResult, metric: str = BOOTSTRAP_METRIC, n_boot: int = 1000,
                          seed: int = 0) -> pd.DataFrame:
    """Per setting (and the baseline): metric difference to the reference setting with its paired bootstrap interval.

    Predictions of all seeds are stacked (seed s of a setting paired with seed s of the reference), so the
    difference is the mean over seeds and the resampled rows are validation rows of every seed.
    """
    n_seeds = next(iter(result.predictions.values())).shape[0]
    truth = np.concatenate([result.val_Y] * n_seeds)
    reference = result.predictions[result.reference].reshape(-1, result.val_Y.shape[1])
    candidates = {setting: p.reshape(-1, result.val_Y.shape[1]) for setting, p in result.predictions.items()}
    candidates[BASELINE_SETTING] = np.concatenate([result.baseline_pred] * n_seeds)
    rows = []
    for setting, pred in candidates.items():
        if setting == result.reference:
            rows.append({"setting": setting, "diff": 0.0, "low": 0.0, "high": 0.0, "significant": False})
            continue
        rows.append({"setting": setting, **paired_bootstrap(truth, pred, reference, metric=metric, n_boot=n_boot,
                                                             seed=seed)})
    return pd.DataFrame(rows)


def ablation_summary(results: list[AblationResult], metric: str = BOOTSTRAP_METRIC) -> pd.DataFrame:
    """Mean and standard deviation over seeds of every metric, one row per (experiment, setting), the trivial
    baseline as a row per experiment, and each row's paired bootstrap difference to the experiment's reference."""
    parts = []
    for result in results:
        tidy = ablation_table(result)
        grouped = tidy.groupby(["experiment", "setting", "metric"], sort=False)["value"]
        table = grouped.agg(["mean", "std"]).reset_index()
        wide = table.pivot_table(index=["experiment", "setting"], columns="metric", values=["mean", "std"],
                                 sort=False, dropna=False)
        wide.columns = [f"{m} {stat}" for stat, m in wide.columns]
        order = [f"{m} {s}" for m in (*METRIC_NAMES, "train_time_s", "test_time_s") for s in ("mean", "std")]
        wide = wide[[c for c in order if c in wide.columns]].reset_index()
        wide.insert(2, "reference setting", result.reference)
        diffs = reference_differences(result, metric).rename(columns={
            "diff": f"{metric} minus reference", "low": "95% interval low", "high": "95% interval high",
            "significant": "differs from reference"})
        parts.append(wide.merge(diffs, on="setting", how="left"))
    return pd.concat(parts, ignore_index=True)


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
        ("parameters", f"{count_parameters(CaptionLSTM(vocab_size, m)):,}"),
    ]
    return pd.DataFrame(rows, columns=["component", "setting"])


def performance_table(final: FinalLstm, baseline: dict[str, float]) -> pd.DataFrame:
    """Validation scores, best epoch, times and size of each seed's LSTM, of their average and of the baseline."""
    rows = [{"model": f"LSTM seed {seed}", **outcome.val_scores, "best epoch": outcome.trained.fit.best_epoch,
             "training time (s)": outcome.trained.fit.train_time_s, "testing time (s)": outcome.test_time_s,
             "size (MB)": outcome.size_bytes / MB} for seed, outcome in final.runs.items()]
    rows.append({"model": f"average of {len(final.runs)} LSTMs", **final.val_scores, "best epoch": np.nan,
                 "training time (s)": final.summary["train_time_s"], "testing time (s)": final.summary["test_time_s"],
                 "size (MB)": final.summary["size_bytes"] / MB})
    rows.append({"model": BASELINE_SETTING, **baseline, "best epoch": np.nan, "training time (s)": 0.0,
                 "testing time (s)": 0.0, "size (MB)": 0.0})
    return pd.DataFrame(rows).rename(columns={m: f"validation {METRIC_TITLES[m]}" for m in METRIC_NAMES})
