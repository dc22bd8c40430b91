"""Result tables of the fusion stage: paired-bootstrap intervals, the trivial baseline row, table10."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from helpers.core.metrics import BASELINE_NAME, paired_bootstrap
from helpers.fusion.crossfit import FinalFusion, score_row
from helpers.fusion.methods import FusionMethod

INTERVAL_COLUMNS = ("diff", "diff_low", "diff_high", "significant")


def baseline_row(y_true: np.ndarray, baseline_pred: np.ndarray) -> dict[str, object]:
    """The trivial baseline as a method-table row (helpers.core.metrics.baseline_prediction's label set)."""
    return score_row(BASELINE_NAME, "the training rows' most frequent label set on every row, no model",
                     y_true, baseline_pred)


def with_intervals(table: pd.DataFrame, y_true: np.ndarray, predictions: Mapping[str, np.ndarray], reference: str,
                   metric: str = "samples_f1", n_boot: int = 1000, seed: int = 0, key: str = "method"
                   ) -> pd.DataFrame:
    """table plus the difference in `metric` to the reference row and its 95 % paired-bootstrap interval.

    predictions: {table[key] value: 0/1 predictions on the same rows as y_true}. Columns added:
    diff, diff_low, diff_high, significant (the interval excludes 0); the reference row gets 0.
    """
    if reference not in predictions:
        raise KeyError(f"no predictions for the reference {reference!r}")
    out = table.copy()
    rows = []
    for name in out[key]:
        if name == reference:
            rows.append({"diff": 0.0, "low": 0.0, "high": 0.0, "significant": False})
            continue
        rows.append(paired_bootstrap(y_true, predictions[name], predictions[reference], metric=metric,
                                     n_boot=n_boot, seed=seed))
    out["diff"] = [r["diff"] for r in rows]
    out["diff_low"] = [r["low"] for r in rows]
    out["diff_high"] = [r["high"] for r in rows]
    out["significant"] = [bool(r["significant"]) for r in rows]
    out.attrs["difference"] = f"{metric} minus the reference ({reference}); 95 % paired bootstrap over rows"
    return out


def describe_lambda(lam: np.ndarray) -> str:
    """'0.6' for one global λ, 'per label: 0.2-0.9 (mean 0.55)' otherwise."""
    lam = np.asarray(lam)
    if np.allclose(lam, lam[0]):
        return f"{lam[0]:g}"
    return f"per label: {lam.min():g}-{lam.max():g} (mean {lam.mean():.2f})"


def describe_fusion(method: FusionMethod, final: FinalFusion) -> str:
    """The λ column of table10 for the final fusion: λ, or what replaces it."""
    if method.combine in ("image", "text"):
        return f"1 ({method.sources[0]} alone)" if method.combine == "image" else f"0 ({method.sources[1]} alone)"
    learned = "learned (logistic); fallback λ " if final.fitted.learned.any() else ""
    return learned + describe_lambda(final.fitted.lam)


def sources_needed(method: FusionMethod) -> list[str]:
    """The probability sources a method actually reads (a single-source rule reads one)."""
    if method.combine == "image":
        return [method.sources[0]]
    if method.combine == "text":
        return [method.sources[1]]
    return list(method.sources)


def ensemble_performance_table(scores: Mapping[str, Mapping[str, float]], components: Mapping[str, Sequence[str]],
                               summaries: Mapping[str, Mapping[str, Any]], budget: pd.DataFrame,
                               lambdas: Mapping[str, str], fusion_seconds: Mapping[str, tuple[float, float]]
                               ) -> pd.DataFrame:
    """table10: each model and fusion with its F1s, total training / testing time, λ and size.

    scores: {row name: metrics} on the same validation rows; components: {row name: models it needs
    (keys of summaries and of budget["model"])}; lambdas: {row name: λ text};
    fusion_seconds: {row name: (fit s, apply s)} for rows that fit a fusion. Times and sizes of a
    fusion include every model it needs (everything needed to predict). A row without components
    (the trivial baseline) has no time and no size.
    """
    size32 = budget.groupby("model")["float32_MB"].sum()
    size16 = budget.groupby("model")["float16_MB"].sum()
    table = []
    for name, metrics in scores.items():
        models = list(components.get(name, ()))
        fit_s, apply_s = fusion_seconds.get(name, (0.0, 0.0))
        present = bool(models)
        table.append({
            "model": name, **{k: metrics[k] for k in ("micro_f1", "samples_f1", "macro_f1", "exact_match",
                                                      "hamming_accuracy")},
            "train_time_min": (sum(summaries[m]["train_time_s"] for m in models) + fit_s) / 60 if present else np.nan,
            "test_time_s": sum(summaries[m]["test_time_s"] for m in models) + apply_s if present else np.nan,
            "lambda": lambdas.get(name, ""),
            "size_MB_float32": float(sum(size32.get(m, 0.0) for m in models)) if present else np.nan,
            "size_MB_float16": float(sum(size16.get(m, 0.0) for m in models)) if present else np.nan,
        })
    return pd.DataFrame(table)
