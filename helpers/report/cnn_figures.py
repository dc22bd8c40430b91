"""Notebook 03's figures: validation F1 per head epoch (fig18), architectures A and B side by side (fig25),
the backbone comparison (fig27). Every score axis shows the trivial baseline as a dashed line and is never
zoomed below helpers.report.ablation_plots.MIN_SCORE_SPAN, so seed noise does not look like an effect."""
from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullFormatter

from helpers.core.metrics import METRIC_TITLES
from helpers.report.ablation_plots import MIN_SCORE_SPAN
from helpers.report.figures import baseline_line

BUDGET_MB = 100.0  # the assignment's limit on the stored model


def _score_ylim(ax: plt.Axes, values: list[float]) -> None:
    values = [v for v in values if np.isfinite(v)]
    if not values:
        return
    low, high = min(values), max(values)
    pad = max(MIN_SCORE_SPAN - (high - low), 0) / 2 + 0.05
    ax.set_ylim(max(0.0, low - pad), min(1.0, high + pad) if high + pad > 0.2 else 0.2)


def _plain_number(value: float, _pos: int | None = None) -> str:
    """Seconds without scientific notation: 12,345 / 123 / 1.2 / 0.12."""
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}" if value >= 1 else f"{value:.2g}"


def plot_epoch_curves(curves: pd.DataFrame, title: str, baseline: float) -> plt.Figure:
    """Validation micro-F1 per epoch: mean over seeds with the min-max band, each seed thinly, the baseline."""
    fig, ax = plt.subplots(figsize=(7.5, 4.4))
    stats = curves.groupby("epoch")["val_micro_f1"].agg(["mean", "min", "max"])
    for seed, part in curves.groupby("seed"):
        ax.plot(part["epoch"], part["val_micro_f1"], lw=0.8, alpha=0.5, label=f"seed {seed}")
    ax.plot(stats.index, stats["mean"], color="black", lw=2, label="mean over seeds")
    ax.fill_between(stats.index, stats["min"], stats["max"], color="grey", alpha=0.25, label="min-max over seeds")
    best = stats["mean"].idxmax()
    ax.axvline(best, color="tab:red", ls=":", lw=1.2, label=f"best mean epoch ({best})")
    baseline_line(ax, baseline)
    _score_ylim(ax, [*curves["val_micro_f1"], baseline])
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(f"validation {METRIC_TITLES['micro_f1']}")
    ax.set_title(title)
    fig.tight_layout()
    fig.legend(*ax.get_legend_handles_labels(), loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=4,
               frameon=False, fontsize=8)
    return fig


def plot_architectures(table: pd.DataFrame, baseline: float) -> plt.Figure:
    """fig25: validation micro-F1 (with the baseline), training time (log scale; the extrapolated reference bar
    hatched and labelled), and the size of each distinct model (B trained either way is one model)."""
    models = table[table["pretrained_weights"].notna() & table["train_time_s"].notna()]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.8))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    wrap = lambda names: [textwrap.fill(str(m), 20) for m in names]  # noqa: E731

    scored = models[models["val_micro_f1"].notna()]
    ax = axes[0]
    bars = ax.bar(range(len(scored)), scored["val_micro_f1"], color=colors[:len(scored)])
    ax.bar_label(bars, labels=[f"{v:.3f}" for v in scored["val_micro_f1"]], fontsize=8)
    baseline_line(ax, baseline)
    _score_ylim(ax, [0.0, *scored["val_micro_f1"], baseline])
    ax.set_xticks(range(len(scored)), wrap(scored["model"]), fontsize=8)
    ax.set_ylabel(f"validation {METRIC_TITLES['micro_f1']}")
    ax.set_title("validation micro-F1")
    ax.legend(fontsize=8, loc="lower right")

    ax = axes[1]
    times = models["train_time_s"].to_numpy(dtype=float)
    extrapolated = models["extrapolated"].fillna(False).to_numpy(dtype=bool)
    bars = ax.bar(range(len(times)), times, color=[colors[i % len(colors)] for i in range(len(times))])
    for bar, extra in zip(bars, extrapolated, strict=True):
        if extra:
            bar.set_hatch("//")
            bar.set_alpha(0.6)
    ax.bar_label(bars, labels=[_plain_number(t) + (" s\n(extrapolated)" if e else " s")
                               for t, e in zip(times, extrapolated, strict=True)], fontsize=8)
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(FuncFormatter(_plain_number))
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_ylim(bottom=10 ** np.floor(np.log10(max(times.min(), 1e-3))) / 10, top=times.max() * 8)  # bars visible
    ax.set_xticks(range(len(times)), wrap(models["model"]), fontsize=8)
    ax.set_ylabel("training time (s, log scale)")
    ax.set_title("training time")
    if extrapolated.any():
        ax.legend(handles=[Patch(facecolor="white", edgecolor="black", hatch="//",
                                 label="timed on a few images, extrapolated")], fontsize=8, loc="upper left")

    ax = axes[2]
    sizes = models.drop_duplicates("size_mb")
    bars = ax.bar(range(len(sizes)), sizes["size_mb"], color=colors[:len(sizes)])
    ax.bar_label(bars, labels=[f"{v:.1f} MB" if v >= 1 else f"{v:.2f} MB" for v in sizes["size_mb"]], fontsize=8)
    ax.set_xticks(range(len(sizes)), wrap(sizes["model"]), fontsize=8)
    ax.set_ylabel("model size (MB, float32)")
    ax.set_title("size of each distinct model (float32)")
    ax.margins(y=0.2)
    fig.suptitle("Image models: architecture A (every weight trained) vs B (frozen backbone + 3 FC layers)")
    fig.tight_layout()
    return fig


def plot_backbones(table: pd.DataFrame, baseline: dict[str, float]) -> plt.Figure:
    """fig27: architecture-B validation scores per backbone (mean, range over seeds, baseline), size at float32 and
    float16 against the 100 MB budget, and features per second."""
    rows = table[table["parameters"].notna()]
    x = np.arange(len(rows))
    names = [textwrap.fill(f"{b}\n({'pretrained' if p else 'random init'})", 18)
             for b, p in zip(rows["backbone"], rows["pretrained_weights"], strict=True)]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.8))
    ax = axes[0]
    for k, (metric, offset) in enumerate((("micro_f1", -0.2), ("macro_f1", 0.2))):
        column = f"val_{metric}"
        ax.bar(x + offset, rows[column], width=0.4, yerr=rows[f"{column}_seed_range"] / 2, capsize=3,
               label=f"{METRIC_TITLES[metric]} (mean; bar: range over seeds)", color=f"C{k}")
        baseline_line(ax, baseline[metric], label=f"trivial baseline, {METRIC_TITLES[metric]}")
        ax.lines[-1].set_color(f"C{k}")
    _score_ylim(ax, [0.0, *rows["val_micro_f1"], *rows["val_macro_f1"], baseline["micro_f1"]])
    ax.set_xticks(x, names, fontsize=8)
    ax.set_ylabel("validation score")
    ax.set_title("architecture B on each backbone")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, frameon=False)
    ax = axes[1]
    ax.bar(x - 0.2, rows["float32_MB"], width=0.4, label="float32")
    ax.bar(x + 0.2, rows["float16_MB"], width=0.4, label="float16")
    ax.axhline(BUDGET_MB, color="tab:red", ls="--", lw=1, label=f"budget ({BUDGET_MB:g} MB)")
    ax.set_xticks(x, names, fontsize=8)
    ax.set_ylabel("model size (MB)")
    ax.set_title("size (backbone + head)")
    ax.legend(fontsize=8)
    ax = axes[2]
    bars = ax.bar(x, rows["features_per_s"], color="C2")
    ax.bar_label(bars, labels=[f"{v:,.0f}" for v in rows["features_per_s"]], fontsize=8)
    ax.set_xticks(x, names, fontsize=8)
    ax.set_ylabel("images per second (decode + backbone)")
    ax.set_title("feature extraction speed")
    ax.margins(y=0.15)
    fig.suptitle("Backbone comparison (torchvision registry)")
    fig.tight_layout()
    return fig
