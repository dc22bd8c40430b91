"""Notebook 04's figures: the ablation box plots (fig08-fig12, fig14) with the sentence under each, and the
final model's learning curves (fig30), titled by what happened (early stopping or the epoch cap)."""
from __future__ import annotations

from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from helpers.report.ablation_plots import metric_title, plot_seed_boxes, spread_sentence
from helpers.report.figures import baseline_line
from helpers.report.lstm_tables import BASELINE_SETTING, BOOTSTRAP_METRIC, ablation_table, reference_differences
from helpers.train.lstm_ablations import AblationResult
from helpers.train.lstm_final import FinalLstm

if TYPE_CHECKING:
    from helpers.run import Run

ABLATION_PANELS = ("hamming_accuracy", "micro_f1", "train_time_s", "test_time_s")


def plot_ablation(result: AblationResult) -> plt.Figure:
    """The reference's four box plots over seeds: accuracy (per-label, as Keras' binary accuracy), micro-F1,
    training time and testing time; the trivial baseline dashed on the score panels."""
    ablation = result.ablation
    return plot_seed_boxes(result.tidy, ABLATION_PANELS, ablation.title, xlabel=ablation.xlabel,
                           baseline=result.baseline, baseline_label=BASELINE_SETTING)


def identical_to_baseline(result: AblationResult) -> list[str]:
    """Settings whose every seed predicts exactly the trivial baseline's label set on every validation row."""
    return [setting for setting, pred in result.predictions.items()
            if bool(np.all(pred == result.baseline_pred[None]))]


def ablation_sentence(result: AblationResult, differences: pd.DataFrame | None = None) -> str:
    """What the figure shows, generated: seed spread vs differences, bootstrap against the reference, baseline."""
    metric = BOOTSTRAP_METRIC
    differences = reference_differences(result, metric) if differences is None else differences
    others = differences[~differences["setting"].isin([result.reference, BASELINE_SETTING])]
    significant = others[others["significant"]]
    parts = [spread_sentence(result.tidy, metric)]
    if len(significant):
        listed = ", ".join(f"{row.setting!r} ({row.diff:+.4f}, 95% interval {row.low:+.4f} to {row.high:+.4f})"
                           for row in significant.itertuples())
        rest = len(others) - len(significant)
        parts.append(f"Against the reference setting {result.reference!r}, a paired bootstrap over validation rows "
                     f"finds a {metric_title(metric)} difference for {listed}"
                     + (f"; {rest} other setting(s) are indistinguishable from it." if rest else "."))
    elif len(others):
        parts.append(f"Against the reference setting {result.reference!r}, a paired bootstrap over validation rows "
                     f"finds no setting whose {metric_title(metric)} differs (every 95% interval contains 0).")
    reference_mean = result.tidy[(result.tidy["metric"] == metric) & (result.tidy["setting"] == result.reference)]
    reference_score = float(reference_mean["value"].mean())
    gap = reference_score - result.baseline[metric]
    parts.append(f"The reference setting's mean {metric_title(metric)} ({reference_score:.4f}) lies {abs(gap):.4f} "
                 f"{'above' if gap > 0 else 'below'} the trivial baseline ({result.baseline[metric]:.4f})"
                 + ("." if gap > 0 else ": it has not learned even what the most frequent label set gives."))
    same = identical_to_baseline(result)
    if same:
        parts.append(f"{', '.join(repr(s) for s in same)} predict(s) exactly the trivial baseline's label set on "
                     "every validation row for every seed: nothing was learned there.")
    return " ".join(parts)


def save_ablation(run: Run, result: AblationResult) -> tuple[plt.Figure, str]:
    """Write the ablation's tidy table (with the baseline rows) and its figure; return the figure and its sentence."""
    run.save_table(ablation_table(result), result.ablation.table)
    fig = plot_ablation(result)
    run.save_fig(fig, result.ablation.figure)
    return fig, ablation_sentence(result)


def run_status(history: pd.DataFrame, best_epoch: int, max_epochs: int) -> str:
    """What ended one run: early stopping, or the epoch cap (while still improving, or not)."""
    last = int(history["epoch"].max())
    if last < max_epochs:
        return f"early stopping at epoch {last} (best {best_epoch})"
    if best_epoch == last:
        return f"epoch cap {max_epochs} reached while still improving"
    return f"epoch cap {max_epochs} reached (best epoch {best_epoch})"


def plot_learning_curves(final: FinalLstm, baseline_micro_f1: float) -> plt.Figure:
    """Training loss and validation micro-F1 per epoch for each seed; the kept (best) epoch marked."""
    fig, (loss_ax, f1_ax) = plt.subplots(1, 2, figsize=(11, 4.2))
    statuses = []
    for i, (seed, outcome) in enumerate(final.runs.items()):
        history, best_epoch, color = outcome.trained.fit.history, outcome.trained.fit.best_epoch, f"C{i}"
        statuses.append(run_status(history, best_epoch, final.config.epochs))
        loss_ax.plot(history["epoch"], history["train_loss"], marker="o", color=color, label=f"seed {seed}: training")
        loss_ax.plot(history["epoch"], history["val_loss"], marker="o", linestyle="--", color=color,
                     label=f"seed {seed}: validation")
        f1_ax.plot(history["epoch"], history["val_micro_f1"], marker="o", color=color, label=f"seed {seed}")
        best = history[history["epoch"] == best_epoch]
        f1_ax.scatter(best["epoch"], best["val_micro_f1"], s=140, facecolors="none", edgecolors=color,
                      linewidths=2, label=f"seed {seed}: kept epoch {best_epoch}")
    baseline_line(f1_ax, baseline_micro_f1, label=BASELINE_SETTING)
    f1_ax.set_ylim(0, 1)
    loss_ax.set(title="Binary cross-entropy", xlabel="epoch", ylabel="loss (mean per label)")
    f1_ax.set(title="Validation micro-F1", xlabel="epoch", ylabel="micro-F1")
    for ax in (loss_ax, f1_ax):
        ax.legend(fontsize=8)
        ax.xaxis.get_major_locator().set_params(integer=True)
    fig.suptitle("Final caption LSTM: " + learning_curves_title(list(final.runs), statuses), fontsize=11)
    fig.tight_layout()
    return fig


def learning_curves_title(seeds: list[int], statuses: list[str]) -> str:
    """Says what ended the runs: every run stopped early, every run hit the cap while improving, or each one."""
    detail = "; ".join(f"seed {seed}: {status}" for seed, status in zip(seeds, statuses))
    if all(s.startswith("early stopping") for s in statuses):
        return f"every run stopped early\n{detail}"
    if all("still improving" in s for s in statuses):
        return f"epoch cap reached while still improving (no early stop)\n{detail}"
    return detail
