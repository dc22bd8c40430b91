"""Fusion figures and their generated headlines: the λ sweep (fig40, table05) and the methods (fig41, table11).

Differences carry paired-bootstrap intervals (columns diff, diff_low, diff_high, significant from
helpers.fusion.tables.with_intervals); a difference whose interval contains 0 is drawn hollow.
"""
from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from helpers.core.metrics import METRIC_TITLES
from helpers.report.figures import baseline_line

INDISTINGUISHABLE = "interval contains 0 (indistinguishable)"


def plot_lambda_sweep(sweep: pd.DataFrame, baseline: dict[str, float] | None = None) -> plt.Figure:
    """Micro- and samples-F1 against λ; hollow points: samples-F1 not distinguishable from λ = 0.5."""
    fig, ax = plt.subplots(figsize=(7, 4.3))
    for k, metric in enumerate(("micro_f1", "samples_f1")):
        ax.plot(sweep["lambda"], sweep[metric], color=f"C{k}", label=METRIC_TITLES[metric])
        if metric == "samples_f1" and "significant" in sweep:
            same = ~sweep["significant"].astype(bool)
            ax.plot(sweep.loc[~same, "lambda"], sweep.loc[~same, metric], "o", color=f"C{k}")
            ax.plot(sweep.loc[same, "lambda"], sweep.loc[same, metric], "o", mfc="white", color=f"C{k}",
                    label=f"samples-F1 vs λ=0.5: {INDISTINGUISHABLE}")
        else:
            ax.plot(sweep["lambda"], sweep[metric], "o", color=f"C{k}")
    ax.axvspan(0.35, 0.65, color="grey", alpha=0.15, label="λ the reference tried (0.4-0.6)")
    if baseline is not None:
        baseline_line(ax, baseline["samples_f1"], label="trivial baseline (samples-F1)")
    ax.set_ylim(0, 1)
    ax.set(xlabel="λ (weight of the image model; 0 = text only, 1 = image only)",
           ylabel="score on validation rows (0-1)", title=f"Weighted average, cut-off {sweep['cutoff'].iloc[0]:g}")
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    return fig


def _shape(values: np.ndarray) -> str:
    steps = np.diff(values)
    if (steps <= 1e-12).all():
        return "falls steadily from λ=0 to λ=1"
    if (steps >= -1e-12).all():
        return "rises steadily from λ=0 to λ=1"
    best = int(np.argmax(values))
    if 0 < best < len(values) - 1:
        return "peaks inside the range"
    return "is not monotone but is highest at an end"


def lambda_headline(sweep: pd.DataFrame) -> str:
    """The sweep's shape, its best λ and (from the intervals) whether it beats the reference's λ = 0.5."""
    t = sweep.set_index("lambda")
    best = sweep.loc[sweep["samples_f1"].idxmax()]
    lam = float(best["lambda"])
    text_only, image_only = t.loc[0.0, "samples_f1"], t.loc[1.0, "samples_f1"]
    parts = [f"Samples-F1 {_shape(sweep['samples_f1'].to_numpy())}; its best λ is {lam:g} (samples-F1 "
             f"{best['samples_f1']:.3f}, micro-F1 {best['micro_f1']:.3f}); text alone (λ=0) gives "
             f"{text_only:.3f} and image alone (λ=1) {image_only:.3f}."]
    if lam in (0.0, 1.0):
        stronger, weaker = ("text", "image") if lam == 0.0 else ("image", "text")
        parts.append(f"The best λ is at an end because the {stronger} model alone beats every mix: the {weaker} "
                     f"model is {abs(text_only - image_only):.3f} worse, and at one cut-off of 0.5 averaging it in "
                     "pulls the stronger model's confident probabilities towards the weaker's.")
    if "diff_low" in sweep and lam != 0.5:
        row = t.loc[lam]
        verdict = ("more than row noise" if row["significant"] else "within row noise (the interval contains 0)")
        parts.append(f"Against the reference's λ=0.5 the best λ differs by {row['diff']:+.3f} samples-F1 (95 % "
                     f"paired bootstrap {row['diff_low']:+.3f} to {row['diff_high']:+.3f}): {verdict}.")
    parts.append("λ here is read off the same rows it is scored on, as in the reference; table11 scores fitted "
                 "rules out of fold.")
    return " ".join(parts)


def plot_fusion_methods(table: pd.DataFrame, chosen: str, reference: str, baseline: str | None = None
                        ) -> plt.Figure:
    """Left: out-of-fold scores per method from 0 (baseline dashed); right: samples-F1 minus the reference
    with its 95 % paired-bootstrap interval (hollow: the interval contains 0). Chosen method in bold."""
    metrics = ["micro_f1", "samples_f1", "macro_f1"]
    shown = table[table["method"] != baseline] if baseline is not None else table
    methods = list(shown["method"])
    y = np.arange(len(methods))
    fig, (ax, ax_diff) = plt.subplots(1, 2, figsize=(14, 0.32 * len(methods) + 2.2), sharey=True,
                                      gridspec_kw={"width_ratios": [1.3, 1]})
    height = 0.8 / len(metrics)
    t = shown.set_index("method")
    for k, metric in enumerate(metrics):
        ax.barh(y + (k - 1) * height, t.loc[methods, metric], height=height, label=METRIC_TITLES[metric])
    if baseline is not None:
        baseline_line(ax, float(table.set_index("method").loc[baseline, "samples_f1"]),
                      label="trivial baseline (samples-F1)", orientation="v")
    ax.set_xlim(0, 1)
    ax.set_yticks(y, methods, fontsize=8)
    ax.invert_yaxis()
    ax.set(xlabel="score on out-of-fold validation rows (0-1)", title="Fusion methods (bold: chosen)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.6 / (0.32 * len(methods) + 2.2) - 0.02), ncol=2,
              fontsize=8)
    diff = t.loc[methods]
    err = np.vstack([diff["diff"] - diff["diff_low"], diff["diff_high"] - diff["diff"]])
    ax_diff.errorbar(diff["diff"], y, xerr=err, fmt="none", ecolor="0.4", capsize=2)
    sig = diff["significant"].astype(bool).to_numpy()
    is_ref = np.array([m == reference for m in methods])
    ax_diff.plot(diff["diff"][sig], y[sig], "o", color="C1", label="interval excludes 0")
    ax_diff.plot(diff["diff"][~sig & ~is_ref], y[~sig & ~is_ref], "o", color="C1", mfc="white",
                 label=INDISTINGUISHABLE)
    ax_diff.plot(np.zeros(int(is_ref.sum())), y[is_ref], "D", color="black", label="the reference itself")
    ax_diff.axvline(0, color="black", lw=0.8)
    if baseline is not None:
        base = table.set_index("method").loc[baseline]
        baseline_line(ax_diff, float(base["diff"]), label="trivial baseline", orientation="v")
    ax_diff.set(xlabel="samples-F1 minus the reference's (95 % paired bootstrap interval)",
                title=textwrap.fill(f"Difference to the reference: {reference}", 60))
    ax_diff.legend(loc="upper center", bbox_to_anchor=(0.5, -0.6 / (0.32 * len(methods) + 2.2) - 0.02), ncol=2,
                   fontsize=8)
    for tick in ax.get_yticklabels():
        if tick.get_text() == chosen:
            tick.set_fontweight("bold")
    fig.tight_layout()
    return fig


def fusion_headline(table: pd.DataFrame, chosen: str, image: str, text: str, reference: str, folds: int) -> str:
    """The chosen method, its gain over the better single model and over the reference, with the interval."""
    t = table.set_index("method")
    row = t.loc[chosen]
    better = image if t.loc[image, "samples_f1"] >= t.loc[text, "samples_f1"] else text
    best_single = float(t.loc[better, "samples_f1"])
    verdict = ("more than row noise" if row["significant"]
               else "an interval that contains 0: indistinguishable from the reference on these rows")
    return (f"Chosen by out-of-fold samples-F1 (the competition metric, {folds}-fold cross-fitting on the validation "
            f"rows): **{chosen}**, samples-F1 {row['samples_f1']:.3f}, micro-F1 {row['micro_f1']:.3f}, macro-F1 "
            f"{row['macro_f1']:.3f}; the better single model ({better}) reaches samples-F1 {best_single:.3f} "
            f"({row['samples_f1'] - best_single:+.3f}). Against the reference ({reference}) it gains "
            f"{row['diff']:+.3f} samples-F1 (95 % paired bootstrap {row['diff_low']:+.3f} to {row['diff_high']:+.3f}), "
            f"{verdict}.")
