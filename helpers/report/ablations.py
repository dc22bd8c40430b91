"""Box plots over seeds of a tidy experiment table, and the finding that says what they show.

Used by every ablation (CNN head experiments in notebook 03, LSTM ablations in notebook 04). A tidy
table has one row per (experiment, setting, seed, metric) with its value (helpers.train.experiments).
"""
from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from helpers.core.metrics import METRIC_NAMES, METRIC_TITLES
from helpers.report.figures import baseline_line

TIME_TITLES = {"train_time_s": "training time (s)", "test_time_s": "testing time (s)"}
MIN_SCORE_SPAN = 0.1  # a score axis spans at least this much, so that seed noise does not fill the panel
TICK_WIDTH = 11  # characters per line of a setting's tick label: longer names wrap instead of spilling over


def wrap_label(label: str, width: int = TICK_WIDTH) -> str:
    """A tick label wrapped at spaces into lines of at most `width` characters (existing line breaks kept)."""
    return "\n".join(textwrap.fill(line, width, break_long_words=False) or line for line in str(label).split("\n"))


def metric_title(metric: str) -> str:
    return METRIC_TITLES.get(metric) or TIME_TITLES.get(metric) or metric.replace("_", " ")


def _score_limits(values: Sequence[float]) -> tuple[float, float]:
    """A y-range holding every value (and the baseline), at least MIN_SCORE_SPAN wide, inside [0, 1] where it fits."""
    low, high = min(values), max(values)
    pad = max(MIN_SCORE_SPAN - (high - low), 0.0) / 2 + 0.06 * max(high - low, MIN_SCORE_SPAN)
    low, high = low - pad, high + pad
    if high > 1.0:
        low, high = low - (high - 1.0), 1.0
    if low < 0.0:
        low, high = 0.0, max(high - low, high)
    return low, high


def plot_seed_boxes(tidy: pd.DataFrame, metrics: Sequence[str], title: str, xlabel: str = "setting",
                    baseline: Mapping[str, float] | None = None,
                    baseline_label: str = "trivial baseline") -> plt.Figure:
    """One panel per metric: a box per setting over seeds with every seed drawn as a point.

    baseline: the trivial baseline's value per metric, drawn as a dashed line. Score axes are never
    zoomed below MIN_SCORE_SPAN and times start at 0, so noise between seeds is not magnified.
    """
    order_width = max(4.2, 1.1 * tidy["setting"].nunique())  # wide enough that wrapped tick labels never touch
    fig, axes = plt.subplots(1, len(metrics), figsize=(order_width * len(metrics), 4.0), squeeze=False)
    order = list(dict.fromkeys(tidy["setting"]))
    for ax, metric in zip(axes[0], metrics):
        data = tidy[tidy["metric"] == metric]
        sns.boxplot(data=data, x="setting", y="value", order=order, ax=ax, color="#a6cee3", width=0.55,
                    showfliers=False)  # the points below show every seed, outliers included
        sns.stripplot(data=data, x="setting", y="value", order=order, ax=ax, color="#1f4e79", size=4, jitter=0.08)
        values = list(data["value"])
        if baseline is not None and metric in baseline:
            baseline_line(ax, baseline[metric], label=baseline_label)
            values.append(baseline[metric])
        if metric in METRIC_NAMES and values:
            ax.set_ylim(*_score_limits(values))
        elif metric in TIME_TITLES:
            ax.set_ylim(bottom=0)
        ax.set_title(metric_title(metric))
        ax.set_xlabel(xlabel)
        ax.set_ylabel(metric_title(metric))
        ax.set_xticks(range(len(order)), [wrap_label(o) for o in order], fontsize=8 if len(order) > 3 else 9)
    n_seeds = tidy["seed"].nunique()
    fig.suptitle(f"{title} ({n_seeds} seed{'s' if n_seeds != 1 else ''} per setting)")
    fig.tight_layout()
    handles, labels = axes[0][0].get_legend_handles_labels()
    for ax in axes[0][1:]:  # one legend below the panels, never over the data
        more = ax.get_legend_handles_labels()
        handles += [h for h, label in zip(*more) if label not in labels]
        labels += [label for label in more[1] if label not in labels]
    if handles:
        fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=len(handles), frameon=False)
    return fig


def seed_spread(tidy: pd.DataFrame, metric: str) -> dict[str, float]:
    """How far the settings' means lie apart against how far seeds of one setting lie apart (on one metric).

    between: largest minus smallest mean over settings; within: the largest range (max - min over
    seeds) of any one setting; nan with a single seed.
    """
    data = tidy[tidy["metric"] == metric].groupby("setting", sort=False)["value"]
    means = data.mean()
    ranges = data.max() - data.min()
    n_seeds = int(data.size().min()) if len(means) else 0
    return {"between": float(means.max() - means.min()), "within": float(ranges.max()) if n_seeds > 1 else float("nan"),
            "best": str(means.idxmax()), "worst": str(means.idxmin()), "n_seeds": n_seeds}


def spread_finding(tidy: pd.DataFrame, metric: str) -> str:
    """One generated sentence: how far the settings' means and the seeds of one setting lie apart on this metric.

    A description only, never a verdict: a few seeds do not measure the noise, so whether two settings differ is
    left to an interval (the paired bootstrap over validation rows).
    """
    s = seed_spread(tidy, metric)
    name = metric_title(metric)
    head = (f"On {name}, the settings' means span {s['between']:.4f} "
            f"(best {s['best']!r}, worst {s['worst']!r})")
    if s["n_seeds"] < 2:
        return head + "; with one seed per setting the spread over seeds is not measured."
    return (head + f"; seeds of one setting lie up to {s['within']:.4f} apart ({s['n_seeds']} seeds per setting: "
            "too few to measure the noise, so this spread alone does not say whether settings differ).")


def paired_finding(differences: pd.DataFrame, reference: str, metric: str, *,
                   baseline: str = "trivial baseline") -> str:
    """The paired bootstrap's verdict in words: which settings differ from the reference setting (their interval
    excludes 0) and which are indistinguishable from it, then the reference against the trivial baseline.

    differences: columns setting, diff, low, high, significant (helpers.core.metrics.differences_to_reference).
    """
    name = metric_title(metric)
    others = differences[~differences["setting"].isin([reference, baseline])]
    significant = others[others["significant"]]
    parts = []
    if len(significant):
        listed = ", ".join(f"{row.setting!r} ({row.diff:+.4f}, 95% interval {row.low:+.4f} to {row.high:+.4f})"
                           for row in significant.itertuples())
        rest = len(others) - len(significant)
        parts.append(f"Against the reference setting {reference!r}, a paired bootstrap over validation rows finds a "
                     f"{name} difference for {listed}"
                     + (f"; {rest} other setting(s) are indistinguishable from it." if rest else "."))
    elif len(others):
        parts.append(f"Against the reference setting {reference!r}, a paired bootstrap over validation rows finds no "
                     f"setting whose {name} differs (every 95% interval contains 0): they are indistinguishable.")
    base = differences[differences["setting"] == baseline]
    if len(base):
        row = base.iloc[0]
        above = -row["diff"] > 0
        verdict = ("clearly above it" if above and row["significant"] else
                   "below it" if row["significant"] else "indistinguishable from it")
        parts.append(f"The reference setting lies {-row['diff']:+.4f} (95% interval {-row['high']:+.4f} to "
                     f"{-row['low']:+.4f}) against the trivial baseline on {name}: {verdict}.")
    return " ".join(parts)


def sweep_finding(title: str, tidy: pd.DataFrame, differences: pd.DataFrame, reference: str,
                  metric: str = "micro_f1") -> str:
    """One sweep in words: the spread of its settings and seeds, then the paired bootstrap against the reference."""
    return f"{title}: {spread_finding(tidy, metric)} {paired_finding(differences, reference, metric)}"
