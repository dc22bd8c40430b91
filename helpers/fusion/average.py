"""The reference study's fusion: a weighted average of the two models' probabilities, and its λ sweep."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from helpers.core.metrics import multilabel_scores
from helpers.fusion.cutoffs import DEFAULT_CUTOFF, apply_cutoffs

LAMBDA_GRID: tuple[float, ...] = tuple(np.round(np.linspace(0.0, 1.0, 11), 2).tolist())


def weighted_average(p_image: np.ndarray, p_text: np.ndarray, lam: float | np.ndarray) -> np.ndarray:
    """λ·P_img + (1 − λ)·P_text; λ is one number or one per label."""
    lam = np.asarray(lam, dtype=np.float64)
    return (lam * np.asarray(p_image, dtype=np.float64) + (1.0 - lam) * np.asarray(p_text, dtype=np.float64))


def lambda_sweep(y_true: np.ndarray, p_image: np.ndarray, p_text: np.ndarray,
                 lambdas: Sequence[float] = LAMBDA_GRID, cutoff: float = DEFAULT_CUTOFF) -> pd.DataFrame:
    """The reference's fusion over a λ grid: one global cut-off, no fallback, all five metrics per λ."""
    rows = []
    for lam in lambdas:
        pred = apply_cutoffs(weighted_average(p_image, p_text, lam), cutoff, fallback=False)
        rows.append({"lambda": float(lam), "cutoff": float(cutoff), **multilabel_scores(y_true, pred)})
    return pd.DataFrame(rows)


def sweep_predictions(p_image: np.ndarray, p_text: np.ndarray, lambdas: Sequence[float] = LAMBDA_GRID,
                      cutoff: float = DEFAULT_CUTOFF) -> dict[float, np.ndarray]:
    """The 0/1 predictions behind each row of lambda_sweep (for bootstrap intervals)."""
    return {float(lam): apply_cutoffs(weighted_average(p_image, p_text, lam), cutoff, fallback=False)
            for lam in lambdas}
