"""Experiments over settings and seeds, as tidy results cached per (setting, seed).

A tidy result has one row per (experiment, setting, seed, metric) with its value, so every
figure can be redrawn from the CSV and every number says which config and seed produced it.
Each finished (setting, seed) result is stored as JSON keyed by its config and the data, so
an interrupted sweep resumes where it stopped and an unchanged one is not recomputed; a damaged
result file is set aside (helpers.core.files.read_cached) and that run is recomputed.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from helpers.core.files import read_cached, read_json, stable_hash, write_json

TIDY_COLUMNS = ["experiment", "setting", "seed", "metric", "value"]


def result_path(cache_dir: str | Path, experiment: str, key: str, config: Any, seed: int) -> Path:
    """Where one (setting, seed) result is cached; files derived from the same run sit beside it."""
    return Path(cache_dir) / experiment / f"{stable_hash([key, config, seed])}.json"


def _read_scores(path: Path) -> dict[str, float]:
    scores = read_json(path)["scores"]
    if not isinstance(scores, dict) or not all(isinstance(v, (int, float)) for v in scores.values()):
        raise ValueError("'scores' is not a mapping of metric names to numbers")
    return scores


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
            path = result_path(cache_dir, experiment, key, config, seed)
            scores = None if fresh else read_cached(path, _read_scores, f"{experiment} result")
            if scores is None:
                scores = train_and_score(config, seed)
                write_json(path, {"experiment": experiment, "setting": setting, "seed": seed,
                                  "config": config, "scores": scores})
            rows += [{"experiment": experiment, "setting": setting, "seed": seed, "metric": metric,
                      "value": float(value)} for metric, value in scores.items()]
    return pd.DataFrame(rows, columns=TIDY_COLUMNS)
