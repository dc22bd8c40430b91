"""Notebook 04's encoder comparison: the LSTM pair beside the pretrained caption encoder, frozen and fine-tuned.

Every row is scored on the same validation rows at the same cut-off (the LSTM's, 0.5): micro-, samples- and
macro-F1, the samples-F1 difference to the LSTM pair with its paired-bootstrap interval, parameters, MB at
float32 / float16, training time and captions per second. `encoder_finding` says what the table shows, calling a
difference real only when its interval excludes zero, and a run that stopped at its epoch cap unconverged.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from helpers.core.handoff import load_probabilities, load_summary
from helpers.core.metrics import BASELINE_NAME, baseline_prediction, binarize, multilabel_scores, paired_bootstrap
from helpers.fusion.inputs import align_probabilities
from helpers.models.text_encoder import shown_source
from helpers.train.encoder_training import EncoderRuns

if TYPE_CHECKING:
    from helpers.run import Run

TABLE_NAME = "table37_text_encoders"
LSTM_ROW = "LSTM pair (notebook 04's final text model)"
BASELINE_ROW = "trivial baseline"
COMPARED = "samples_f1"


def _stopped(epochs_run: int, cap: int) -> str:
    return "unconverged (epoch cap)" if epochs_run >= cap else "early stopping"


def encoder_comparison_table(runs: EncoderRuns, lstm_val_ids: np.ndarray, lstm_val_probs: np.ndarray,
                             lstm_summary: Mapping[str, Any], baseline_val: np.ndarray, n_test: int, *,
                             n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """One row per model (baseline, LSTM pair, each encoder run) on the encoder runs' validation rows."""
    cutoff = float(lstm_summary.get("cutoff", 0.5))
    lstm_probs = align_probabilities(runs.val_ids, lstm_val_ids, lstm_val_probs, "lstm val probabilities")
    reference = binarize(lstm_probs, cutoff)
    lstm_bytes = float(lstm_summary.get("size_bytes", 0))
    lstm_test_s = float(lstm_summary.get("test_time_s", 0.0))
    rows = [(BASELINE_ROW, np.asarray(baseline_val, dtype=np.uint8), {}),
            (LSTM_ROW, reference, {
                "parameters": int(lstm_bytes // 4), "MB float32": lstm_bytes / 1e6, "MB float16": lstm_bytes / 2e6,
                "training s": float(lstm_summary.get("train_time_s", np.nan)),
                "inference captions/s": n_test / lstm_test_s if lstm_test_s > 0 else np.nan,
                "stopped": "early stopping or cap: see fig30"})]
    for name, result in runs.runs.items():
        epochs_cap = runs.summary["runs"][name]["epoch cap"]
        rows.append((name + (" (handed over)" if name == runs.chosen else ""), binarize(result.val_probs, cutoff), {
            "parameters": result.n_parameters, "MB float32": result.mb_float32, "MB float16": result.mb_float16,
            "training s": result.train_time_s, "train captions/s": result.train_captions_per_s,
            "inference captions/s": result.infer_captions_per_s,
            "stopped": _stopped(len(result.history), int(epochs_cap))}))
    table = []
    for name, pred, extra in rows:
        scores = multilabel_scores(runs.Y_val, pred)
        row = {"model": name, "micro_f1": scores["micro_f1"], "samples_f1": scores["samples_f1"],
               "macro_f1": scores["macro_f1"]}
        if name != LSTM_ROW:
            test = paired_bootstrap(runs.Y_val, pred, reference, COMPARED, n_boot=n_boot, seed=seed)
            row.update(diff_vs_lstm=test["diff"], diff_low=test["low"], diff_high=test["high"],
                       verdict="real" if test["significant"] else "indistinguishable")
        else:
            row.update(diff_vs_lstm=0.0, diff_low=0.0, diff_high=0.0, verdict="reference")
        table.append({**row, **extra})
    out = pd.DataFrame(table)
    for column in ("train captions/s", "stopped"):
        if column in out:
            out[column] = out[column].fillna("" if column == "stopped" else np.nan)
    return out


def encoder_finding(table: pd.DataFrame, runs: EncoderRuns, source: str) -> str:
    """What the comparison shows, from its numbers: each encoder run against the LSTM pair, the hand-over, size."""
    lines = [f"Caption encoder `{shown_source(source)}` on {len(runs.Y_val):,} validation rows, every model "
             "at the LSTM's cut-off; "
             f"{BASELINE_NAME} beside them:"]
    base = table.loc[table["model"] == BASELINE_ROW, COMPARED].iloc[0]
    lstm = table.loc[table["model"] == LSTM_ROW, COMPARED].iloc[0]
    for _, row in table.iterrows():
        if row["model"] in (BASELINE_ROW, LSTM_ROW):
            continue
        if row["verdict"] == "real":
            verdict = "better than" if row["diff_vs_lstm"] > 0 else "worse than"
        else:
            verdict = "indistinguishable from"
        caveat = "; **unconverged** (it stopped at its epoch cap)" if str(row["stopped"]).startswith("unconv") else ""
        lines.append(f"- **{row['model']}**: samples-F1 {row[COMPARED]:.4f} against the LSTM pair's {lstm:.4f} "
                     f"(difference {row['diff_vs_lstm']:+.4f}, 95 % interval {row['diff_low']:+.4f} to "
                     f"{row['diff_high']:+.4f}): {verdict} the LSTM pair; {int(row['parameters']):,} parameters, "
                     f"{row['MB float16']:.3g} MB in float16, {row['training s']:.0f} s of training{caveat}.")
    lines.append(f"- The trivial baseline scores {base:.4f} samples-F1. Handed over to notebook 05 as the source "
                 f"`encoder`: **{runs.chosen}** (the higher validation samples-F1 of the two encoder runs).")
    return "\n".join(lines)


def compare_with_lstm(run: Run, runs: EncoderRuns, n_boot: int = 1000) -> tuple[pd.DataFrame, str]:
    """(table37, its finding): the encoder runs against notebook 04's handed-over LSTM pair on this run's rows."""
    lstm_ids, lstm_val = load_probabilities(run.paths, "lstm", "val")
    baseline = baseline_prediction(run.dataset.Y[run.split[0]], len(runs.val_ids))
    table = encoder_comparison_table(runs, lstm_ids, lstm_val, load_summary(run.paths, "lstm"), baseline,
                                     len(run.dataset.test), n_boot=n_boot, seed=run.seed)
    return table, encoder_finding(table, runs, runs.summary["source"])
