"""Honest evaluation of fusion methods: cross-fitting on the validation rows, the choice, the final refit."""
from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from helpers.core.metrics import METRIC_NAMES, multilabel_scores
from helpers.fusion.inputs import FusionInputs
from helpers.fusion.methods import FittedFusion, FusionMethod, fit_fusion

Folds = Sequence[tuple[np.ndarray, np.ndarray]]


@dataclass
class CrossFit:
    """Out-of-fold results of one method: every row predicted by a fit that never saw it."""

    method: FusionMethod
    probs: np.ndarray
    pred: np.ndarray
    fits: list[FittedFusion]


def cross_fit(method: FusionMethod, y_true: np.ndarray, p_first: np.ndarray, p_second: np.ndarray,
              folds: Folds) -> CrossFit:
    """Fit on all folds but one, predict the held-out fold, for each fold; concatenate in row order."""
    probs = np.zeros(np.shape(p_first), dtype=np.float64)
    pred = np.zeros(np.shape(p_first), dtype=np.uint8)
    covered = np.zeros(len(probs), dtype=int)
    fits = []
    for fit_rows, held_rows in folds:
        fitted = fit_fusion(method, y_true[fit_rows], p_first[fit_rows], p_second[fit_rows])
        probs[held_rows] = fitted.proba(p_first[held_rows], p_second[held_rows])
        pred[held_rows] = fitted.predict(p_first[held_rows], p_second[held_rows])
        covered[held_rows] += 1
        fits.append(fitted)
    if not (covered == 1).all():
        raise ValueError("the folds must hold out every row exactly once")
    return CrossFit(method, probs, pred, fits)


def score_row(name: str, rule: str, y_true: np.ndarray, pred: np.ndarray, fallback: bool | None = None
              ) -> dict[str, object]:
    """One row of a method table: name, rule, all five metrics and the number of empty rows."""
    return {"method": name, "rule": rule, "fallback": fallback, **multilabel_scores(y_true, pred),
            "empty_rows": int((~np.asarray(pred).any(axis=1)).sum())}


def compare_methods(methods: Sequence[FusionMethod], y_true: np.ndarray, probabilities: Mapping[str, np.ndarray],
                    folds: Folds) -> tuple[pd.DataFrame, dict[str, CrossFit]]:
    """Cross-fit every method on its sources; table (one row per method, all five metrics out of fold) and fits.

    probabilities: {source: (rows, 18)} validation probabilities, e.g. FusionInputs.val.
    """
    rows, results = [], {}
    for method in methods:
        result = cross_fit(method, y_true, *method.pick(probabilities), folds)
        results[method.name] = result
        fallback = None if method.cutoffs == "row_f1" else method.fallback
        rows.append(score_row(method.name, method.describe(), y_true, result.pred, fallback))
    return pd.DataFrame(rows), results


def best_method(table: pd.DataFrame, methods: Sequence[FusionMethod], metric: str = "samples_f1") -> FusionMethod:
    """The method with the highest out-of-fold `metric` (ties: the earlier, simpler one); other rows ignored."""
    if metric not in METRIC_NAMES:
        raise ValueError(f"unknown metric {metric!r}")
    names = {m.name for m in methods}
    candidates = table[table["method"].isin(names)]
    name = candidates.loc[candidates[metric].idxmax(), "method"]
    return next(m for m in methods if m.name == name)


def toggled_fallback(method: FusionMethod) -> FusionMethod:
    """The same method with the empty-row fallback switched the other way (to show its effect in table11)."""
    suffix = " (no fallback)" if method.fallback else " (with fallback)"
    return replace(method, name=method.name + suffix, fallback=not method.fallback)


@dataclass
class FinalFusion:
    """The chosen method refitted on every validation row and applied to the test rows."""

    fitted: FittedFusion
    fit_s: float
    apply_s: float
    test_probs: np.ndarray
    test_pred: np.ndarray


def fit_final(method: FusionMethod, inputs: FusionInputs) -> FinalFusion:
    """Refit `method` on all validation rows, then predict the test rows (both timed)."""
    t0 = time.perf_counter()
    fitted = fit_fusion(method, inputs.Y_val, *method.pick(inputs.val))
    t1 = time.perf_counter()
    test_first, test_second = method.pick(inputs.test)
    test_probs = fitted.proba(test_first, test_second)
    test_pred = fitted.predict(test_first, test_second)
    return FinalFusion(fitted, t1 - t0, time.perf_counter() - t1, test_probs, test_pred)
