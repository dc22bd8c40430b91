"""Experiments over settings and seeds: tidy results and box plots over seeds.

A tidy result has one row per (experiment, setting, seed, metric) with its value, so every
figure can be redrawn from the CSV and every number says which config and seed produced it.
Each finished (setting, seed) result is stored as JSON keyed by its config and the data, so
an interrupted sweep resumes where it stopped and an unchanged one is not recomputed.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from helpers.core.atomic_io import read_json, write_json
from helpers.core.hashing import stable_hash
from helpers.core.metrics import METRIC_TITLES

TIME_TITLES = {"train_time_s": "training time (s)", "test_time_s": "testing time (s)"}


def run_experiments(
    experiment: str,
    settings: dict[str, Any],
    seeds: Sequence[int],
    train_and_score: Callable[[Any, int], dict[str, float]],
    cache_dir: str | Path,
    key: str = "",
    fresh: bool = False,
) -> pd.DataFrame:
    """Call train_and_score(config, seed) -> {metric: value} for every setting and seed.

    settings maps a readable setting name (the x-axis label) to its config (a dataclass or
    JSON-able value); key should hold the data fingerprint. Returns the tidy table.
    """
    rows = []
    for setting, config in settings.items():
        for seed in seeds:
            path = Path(cache_dir) / experiment / f"{stable_hash([key, config, seed])}.json"
            if path.exists() and not fresh:
                scores = read_json(path)["scores"]
            else:
                scores = train_and_score(config, seed)
                write_json(path, {"experiment": experiment, "setting": setting, "seed": seed,
                                  "config": config, "scores": scores})
            rows += [{"experiment": experiment, "setting": setting, "seed": seed, "metric": metric,
                      "value": float(value)} for metric, value in scores.items()]
    return pd.DataFrame(rows, columns=["experiment", "setting", "seed", "metric", "value"])


def metric_title(metric: str) -> str:
    return METRIC_TITLES.get(metric) or TIME_TITLES.get(metric) or metric.replace("_", " ")


def plot_seed_boxes(tidy: pd.DataFrame, metrics: Sequence[str], title: str, xlabel: str = "setting") -> plt.Figure:
    """One panel per metric: a box per setting over seeds, each seed drawn as a point."""
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 3.8), squeeze=False)
    order = list(dict.fromkeys(tidy["setting"]))
    for ax, metric in zip(axes[0], metrics):
        data = tidy[tidy["metric"] == metric]
        sns.boxplot(data=data, x="setting", y="value", order=order, ax=ax, color="#a6cee3", width=0.55,
                    showfliers=False)
        sns.stripplot(data=data, x="setting", y="value", order=order, ax=ax, color="#1f4e79", size=4, jitter=0.08)
        ax.set_title(metric_title(metric))
        ax.set_xlabel(xlabel)
        ax.set_ylabel(metric_title(metric))
        ax.tick_params(axis="x", rotation=20 if max(len(str(o)) for o in order) > 8 else 0)
    n_seeds = tidy["seed"].nunique()
    fig.suptitle(f"{title} ({n_seeds} seed{'s' if n_seeds != 1 else ''} per setting)")
    fig.tight_layout()
    return fig
