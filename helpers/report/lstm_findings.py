"""Notebook 04's closing "What we found" paragraph, generated from the computed results only."""
from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.core.metrics import binarize
from helpers.core.profiles import LstmSettings
from helpers.report.lstm_figures import identical_to_baseline
from helpers.report.lstm_tables import BASELINE_SETTING, BOOTSTRAP_METRIC
from helpers.train.lstm_ablations import AblationResult
from helpers.train.lstm_final import FinalLstm

SLOWER = 1.5  # a training-time ratio above this is called out as slower


def _means(result: AblationResult, metric: str) -> pd.Series:
    data = result.tidy[result.tidy["metric"] == metric]
    return data.groupby("setting", sort=False)["value"].mean()


def _ablation_line(result: AblationResult, summary: pd.DataFrame) -> str:
    rows = summary[(summary["experiment"] == f"lstm_{result.name}") & (summary["setting"] != BASELINE_SETTING)]
    diff_col = f"{BOOTSTRAP_METRIC} minus reference"
    best = rows.loc[rows[f"{BOOTSTRAP_METRIC} mean"].idxmax()]
    text = f"{result.ablation.title}: best {best['setting']!r} (micro-F1 {best[f'{BOOTSTRAP_METRIC} mean']:.4f}"
    if best["setting"] == result.reference:
        text += ", the reference setting)"
    else:
        verdict = "a real difference" if bool(best["differs from reference"]) else "indistinguishable"
        text += (f", {best[diff_col]:+.4f} against the reference {result.reference!r}, 95% interval "
                 f"{best['95% interval low']:+.4f} to {best['95% interval high']:+.4f}: {verdict})")
    return text


def learning_rate_timing(result: AblationResult, settings: LstmSettings) -> str:
    """The training time of the largest learning rate against the reference's, read against the seed spread."""
    times, epochs = _means(result, "train_time_s"), _means(result, "best_epoch")
    largest = str(max(settings.ablation_learning_rates))
    if largest == result.reference or largest not in times:
        return ""
    data = result.tidy[result.tidy["metric"] == "train_time_s"].groupby("setting")["value"]
    spread = float((data.max() - data.min())[[largest, result.reference]].max())
    ratio = times[largest] / times[result.reference]
    text = (f"Training at learning rate {largest} took {times[largest]:.1f} s per run against "
            f"{times[result.reference]:.1f} s at the reference {result.reference} ({ratio:.1f}x) for the same "
            f"epochs and rows (best epochs {epochs[largest]:.1f} and {epochs[result.reference]:.1f} on average); "
            f"seeds of one setting differ by up to {spread:.1f} s. ")
    if abs(times[largest] - times[result.reference]) <= spread:
        text += "The difference is within that spread: these times do not separate the learning rates. "
    elif ratio > SLOWER:
        text += "It is slower by more than that spread. "
    elif ratio < 1 / SLOWER:
        text += "It is faster by more than that spread. "
    text += ("Denormal floats are flushed to zero while training, so saturated gates at a large learning rate do "
             "not slow the CPU's arithmetic (measured in helpers/train/lstm_runs.py); the reference run is trained "
             "once and reused by five ablations, so its time was measured at another moment than the others', "
             "which on a shared machine can matter more than the setting.")
    return text


def what_we_found(results: dict[str, AblationResult], summary: pd.DataFrame, final: FinalLstm,
                  baseline: dict[str, float], baseline_pred: np.ndarray, settings: LstmSettings,
                  full: LstmSettings) -> str:
    """Markdown list of findings; every number comes from the arguments (baseline: the trivial baseline's
    validation scores, baseline_pred its prediction)."""
    seeds = {seed: outcome.val_scores["micro_f1"] for seed, outcome in final.runs.items()}
    best_seed = max(seeds, key=seeds.get)
    avg = final.val_scores["micro_f1"]
    lines = [
        f"The final text model (average of {len(seeds)} LSTMs) reaches validation micro-F1 {avg:.4f} and "
        f"samples-F1 {final.val_scores['samples_f1']:.4f}, against {baseline['micro_f1']:.4f} and "
        f"{baseline['samples_f1']:.4f} for the trivial baseline; the average is "
        f"{'at least as good as' if avg >= seeds[best_seed] else 'below'} its best single run "
        f"(seed {best_seed}, {seeds[best_seed]:.4f}).",
    ]
    if np.array_equal(binarize(final.val_probs, final.config.cutoff), baseline_pred):
        lines.append("The final model's predictions are identical to the trivial baseline on every validation row: "
                     "it has learned only the most frequent label set (too few epochs or rows for this data).")
    if (settings.ablation_epochs, settings.ablation_max_rows) != (full.ablation_epochs, full.ablation_max_rows):
        rows = "every" if settings.ablation_max_rows is None else f"{settings.ablation_max_rows:,}"
        lines.append(f"The ablation runs trained {settings.ablation_epochs} epoch(s) on {rows} training rows "
                     f"(the reference: {full.ablation_epochs} epochs on every row), so differences partly reflect "
                     "how fast a setting learns.")
    lines += [_ablation_line(result, summary) + "." for result in results.values()]
    if "learning_rate" in results:
        timing = learning_rate_timing(results["learning_rate"], settings)
        if timing:
            lines.append(timing)
    same = [f"{result.ablation.title} {setting!r}" for result in results.values()
            for setting in identical_to_baseline(result)]
    if same:
        lines.append(f"Identical to the trivial baseline on every validation row and seed (nothing learned): "
                     f"{', '.join(same)}.")
    else:
        lines.append("No setting predicts exactly the trivial baseline everywhere.")
    return "\n".join(f"- {line}" for line in lines)
