"""Fusion of the image and text models' sigmoid outputs, cut-off search and the empty-row fallback.

The reference study averaged the two probability vectors, P = λ·P_img + (1 − λ)·P_text, with one
global cut-off of 0.5. Here a fusion *method* is a small frozen config (how to combine, how to
choose cut-offs, whether to fall back on the most probable label for an empty row); `fit_fusion`
fits it on some rows and returns a `FittedFusion` holding only numpy arrays (saved as .npz,
nothing pickled). `cross_fit` scores a method on rows that played no part in fitting it.

Combine rules:
- image / text:   one model alone (λ = 1 / λ = 0);
- average:        one global λ chosen on the fit rows (grid LAMBDA_GRID);
- label_average:  one λ per label, chosen jointly with that label's cut-off;
- logistic:       per-label logistic regression on [logit(p_img), logit(p_txt)] of that label;
- logistic_all:   per-label logistic regression on all 36 logits (both models, every label), which
                  lets label co-occurrence help; a tiny learned fusion layer (36 -> 18).
Labels with a single class on the fit rows fall back to the global λ average.
Cut-off rules: fixed (0.5), global (one cut-off maximising the objective), label (per-label
cut-off maximising that label's F1).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from helpers.core.atomic_io import atomic_path
from helpers.core.labels import N_LABELS
from helpers.core.metrics import METRIC_NAMES, multilabel_scores

if TYPE_CHECKING:
    from helpers.run import Run

LAMBDA_GRID: tuple[float, ...] = tuple(np.round(np.linspace(0.0, 1.0, 11), 2).tolist())
CUTOFF_GRID: tuple[float, ...] = tuple(np.round(np.arange(0.05, 0.951, 0.05), 2).tolist())
DEFAULT_CUTOFF = 0.5
COMBINES = ("image", "text", "average", "label_average", "logistic", "logistic_all")
CUTOFF_RULES = ("fixed", "global", "label")
OBJECTIVES = ("micro_f1", "samples_f1")
_EPS = 1e-6


# --------------------------------------------------------------------------------------------
# Inputs: both models' probabilities, aligned by ImageID
# --------------------------------------------------------------------------------------------
@dataclass
class FusionInputs:
    """Both base models' probabilities on the validation rows (with truth) and the test rows."""

    val_ids: np.ndarray
    Y_val: np.ndarray  # (n_val, 18) truth
    val_image: np.ndarray
    val_text: np.ndarray
    test_ids: np.ndarray
    test_image: np.ndarray
    test_text: np.ndarray


def align_probabilities(expected_ids: Sequence[str], ids: Sequence[str], probs: np.ndarray, what: str) -> np.ndarray:
    """Reorder `probs` (rows named by `ids`) into the order of `expected_ids`.

    Raises ValueError naming missing and unexpected ImageIDs when the two sets differ.
    """
    expected = [str(i) for i in expected_ids]
    ids = [str(i) for i in ids]
    position = {image_id: row for row, image_id in enumerate(ids)}
    problems = []
    if len(position) != len(ids):
        dup = sorted({i for i in ids if ids.count(i) > 1})[:10]
        problems.append(f"duplicate ImageIDs {dup}")
    missing = [i for i in expected if i not in position]
    extra = sorted(set(ids) - set(expected))
    if missing:
        problems.append(f"{len(missing)} expected ImageID(s) missing, e.g. {missing[:10]}")
    if extra:
        problems.append(f"{len(extra)} unexpected ImageID(s), e.g. {extra[:10]}")
    if problems:
        raise ValueError(f"{what}: " + "; ".join(problems) + ". The probabilities were written for other rows "
                         "(another data set or split): rerun the notebook that produced them with the same "
                         "DATA_DIR and OUT_DIR.")
    return np.asarray(probs, dtype=np.float32)[[position[i] for i in expected]]


def load_fusion_inputs(run: Run, image_model: str = "cnn", text_model: str = "lstm") -> FusionInputs:
    """Load both models' validation and test probabilities and align them with run.split and test.csv."""
    from helpers.core.handoff import load_probabilities

    data = run.dataset
    val_rows = run.split[1]
    val_ids = data.train["ImageID"].to_numpy()[val_rows]
    test_ids = data.test["ImageID"].to_numpy()
    arrays = {}
    for model, notebook in ((image_model, "03_cnn_training"), (text_model, "04_lstm_training")):
        for split, expected in (("val", val_ids), ("test", test_ids)):
            try:
                ids, probs = load_probabilities(run.paths, model, split)
            except FileNotFoundError as err:
                raise FileNotFoundError(f"{err} (notebook {notebook}, same DATA_DIR / OUT_DIR)") from None
            arrays[model, split] = align_probabilities(expected, ids, probs, f"{model} {split} probabilities")
    return FusionInputs(
        val_ids=val_ids, Y_val=data.Y[val_rows], val_image=arrays[image_model, "val"],
        val_text=arrays[text_model, "val"], test_ids=test_ids, test_image=arrays[image_model, "test"],
        test_text=arrays[text_model, "test"],
    )


# --------------------------------------------------------------------------------------------
# Building blocks: weighted average, fast scores, cut-off search, fallback
# --------------------------------------------------------------------------------------------
def weighted_average(p_image: np.ndarray, p_text: np.ndarray, lam: float | np.ndarray) -> np.ndarray:
    """λ·P_img + (1 − λ)·P_text; λ is one number or one per label."""
    lam = np.asarray(lam, dtype=np.float64)
    return (lam * np.asarray(p_image, dtype=np.float64) + (1.0 - lam) * np.asarray(p_text, dtype=np.float64))


def ensure_nonempty(pred: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Rows with no predicted label get their most probable label (an empty row scores 0 samples-F1)."""
    pred = np.array(pred, dtype=np.uint8, copy=True)
    empty = ~pred.any(axis=1)
    if empty.any():
        pred[np.flatnonzero(empty), np.argmax(np.asarray(probs)[empty], axis=1)] = 1
    return pred


def apply_cutoffs(probs: np.ndarray, cutoffs: float | np.ndarray, fallback: bool) -> np.ndarray:
    """0/1 predictions (probability >= cut-off), with the empty-row fallback if asked."""
    pred = (np.asarray(probs) >= np.asarray(cutoffs)).astype(np.uint8)
    return ensure_nonempty(pred, probs) if fallback else pred


def fast_score(y_true: np.ndarray, y_pred: np.ndarray, objective: str) -> float:
    """micro-F1 or samples-F1 without sklearn's overhead (same numbers; used inside searches)."""
    y = np.asarray(y_true, dtype=bool)
    p = np.asarray(y_pred, dtype=bool)
    tp = (y & p).sum(axis=1)
    size = y.sum(axis=1) + p.sum(axis=1)
    if objective == "micro_f1":
        return float(2 * tp.sum() / size.sum()) if size.sum() else 0.0
    if objective == "samples_f1":
        return float(np.mean(np.where(size > 0, 2 * tp / np.maximum(size, 1), 0.0))) if len(y) else 0.0
    raise ValueError(f"unknown objective {objective!r}; use one of {OBJECTIVES}")


def label_f1_grid(y_true: np.ndarray, probs: np.ndarray, grid: Sequence[float] = CUTOFF_GRID) -> np.ndarray:
    """Per-label F1 at every cut-off of the grid: array (18, len(grid))."""
    y = np.asarray(y_true, dtype=bool)[:, :, None]
    pred = np.asarray(probs)[:, :, None] >= np.asarray(grid)[None, None, :]
    tp = (pred & y).sum(axis=0)
    denom = pred.sum(axis=0) + y.sum(axis=0)
    return np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0)


def _pick_best(scores: np.ndarray, grid: np.ndarray, prefer: float) -> tuple[int, float]:
    """Index of the best score; ties go to the grid value closest to `prefer` (stable, deterministic)."""
    best = scores.max()
    candidates = np.flatnonzero(scores >= best - 1e-12)
    index = int(candidates[np.argmin(np.abs(grid[candidates] - prefer))])
    return index, float(best)


def best_label_cutoffs(y_true: np.ndarray, probs: np.ndarray, grid: Sequence[float] = CUTOFF_GRID) -> np.ndarray:
    """One cut-off per label maximising that label's F1 on these rows.

    A label without a positive on these rows (its F1 is 0 everywhere) keeps the default 0.5.
    """
    grid = np.asarray(grid, dtype=np.float64)
    f1 = label_f1_grid(y_true, probs, grid)
    cutoffs = np.full(f1.shape[0], DEFAULT_CUTOFF)
    for j in range(f1.shape[0]):
        if f1[j].max() > 0:
            cutoffs[j] = grid[_pick_best(f1[j], grid, DEFAULT_CUTOFF)[0]]
    return cutoffs


def best_global_cutoff(y_true: np.ndarray, probs: np.ndarray, objective: str = "micro_f1",
                       fallback: bool = False, grid: Sequence[float] = CUTOFF_GRID) -> tuple[float, float]:
    """(cut-off, score): the one cut-off for every label that maximises the objective on these rows."""
    grid = np.asarray(grid, dtype=np.float64)
    scores = np.array([fast_score(y_true, apply_cutoffs(probs, c, fallback), objective) for c in grid])
    index, best = _pick_best(scores, grid, DEFAULT_CUTOFF)
    return float(grid[index]), best


def lambda_sweep(y_true: np.ndarray, p_image: np.ndarray, p_text: np.ndarray,
                 lambdas: Sequence[float] = LAMBDA_GRID, cutoff: float = DEFAULT_CUTOFF) -> pd.DataFrame:
    """The reference's fusion over a λ grid: one global cut-off, no fallback, all five metrics per λ."""
    rows = []
    for lam in lambdas:
        pred = apply_cutoffs(weighted_average(p_image, p_text, lam), cutoff, fallback=False)
        rows.append({"lambda": float(lam), "cutoff": float(cutoff), **multilabel_scores(y_true, pred)})
    return pd.DataFrame(rows)


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), _EPS, 1 - _EPS)
    return np.log(p / (1 - p))


def _logistic_loss(X1: np.ndarray, y: np.ndarray, w: np.ndarray, C: float) -> np.ndarray:
    z = np.einsum("nlf,lf->nl", X1, w)
    return C * (np.logaddexp(0.0, z) - y * z).sum(axis=0) + 0.5 * (w[:, :-1] ** 2).sum(axis=1)


def fit_logistic(X: np.ndarray, y: np.ndarray, C: float = 1.0, max_iter: int = 50, tol: float = 1e-8) -> np.ndarray:
    """L2-regularised logistic regression for every label at once (Newton's method with step halving).

    X: (n, labels, features) inputs per label; y: (n, labels) 0/1. Minimises, per label,
    C·Σ log-loss + ½·|w|² with an unpenalised intercept (scikit-learn's LogisticRegression
    objective, same solution). Returns (labels, features + 1) weights, the intercept last.
    Vectorised numpy: deterministic and far faster than one scikit-learn fit per label. BLAS runs
    single-threaded here: these matrices are small, and on a busy 2-core machine its threads only
    contend (measured 40x slower).
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        return _newton_logistic(X, y, C, max_iter, tol)


def _newton_logistic(X: np.ndarray, y: np.ndarray, C: float, max_iter: int, tol: float) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n, n_labels, n_features = X.shape
    X1 = np.ascontiguousarray(np.concatenate([X, np.ones((n, n_labels, 1))], axis=2))
    penalty = np.eye(n_features + 1)
    penalty[-1, -1] = 1e-10  # intercept not penalised (tiny value keeps the Hessian invertible)
    w = np.zeros((n_labels, n_features + 1))
    loss = _logistic_loss(X1, y, w, C)
    for _ in range(max_iter):
        p = 1.0 / (1.0 + np.exp(-np.einsum("nlf,lf->nl", X1, w)))
        grad = C * np.einsum("nlf,nl->lf", X1, p - y) + penalty.diagonal() * w
        by_label = X1.transpose(1, 0, 2)  # (labels, n, features + 1): batched matrix products below
        hess = C * (by_label.transpose(0, 2, 1) @ (by_label * (p * (1 - p)).T[:, :, None])) + penalty[None]
        step = np.linalg.solve(hess, grad[:, :, None])[:, :, 0]
        scale = np.ones(n_labels)
        for _ in range(30):  # halve the step where it does not lower the loss
            trial = w - scale[:, None] * step
            new_loss = _logistic_loss(X1, y, trial, C)
            worse = new_loss > loss + 1e-12
            if not worse.any():
                break
            scale[worse] *= 0.5
        w, decrease = trial, loss - new_loss
        loss = new_loss
        if (np.abs(decrease) <= tol * np.maximum(1.0, np.abs(loss))).all():
            break
    return w


# --------------------------------------------------------------------------------------------
# Methods
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FusionMethod:
    """How to fuse: combine rule, cut-off rule, empty-row fallback and the search settings."""

    name: str
    combine: str = "average"  # one of COMBINES
    cutoffs: str = "fixed"  # one of CUTOFF_RULES
    fallback: bool = True  # never an empty row: emit the most probable label
    lambdas: tuple[float, ...] = LAMBDA_GRID  # λ candidates for the average rules
    cutoff: float = DEFAULT_CUTOFF  # the cut-off of the "fixed" rule
    C: float = 1.0  # inverse regularisation strength of the logistic rules
    objective: str = "micro_f1"  # what the global λ / global cut-off search maximises

    def __post_init__(self) -> None:
        if self.combine not in COMBINES:
            raise ValueError(f"{self.name}: combine must be one of {COMBINES}, not {self.combine!r}")
        if self.cutoffs not in CUTOFF_RULES:
            raise ValueError(f"{self.name}: cutoffs must be one of {CUTOFF_RULES}, not {self.cutoffs!r}")
        if self.objective not in OBJECTIVES:
            raise ValueError(f"{self.name}: objective must be one of {OBJECTIVES}, not {self.objective!r}")
        if self.combine == "label_average" and self.cutoffs == "global":
            raise ValueError(f"{self.name}: a λ per label goes with fixed or per-label cut-offs, not a global one")

    def describe(self) -> str:
        combine = {
            "image": "image model alone", "text": "text model alone",
            "average": f"weighted average, one λ from {self.lambdas[0]:g}..{self.lambdas[-1]:g}",
            "label_average": "weighted average, one λ per label",
            "logistic": f"logistic regression per label on its 2 logits (C={self.C:g})",
            "logistic_all": f"logistic regression per label on all 36 logits (C={self.C:g})",
        }[self.combine]
        cut = {"fixed": f"cut-off {self.cutoff:g}", "global": f"one cut-off maximising {self.objective}",
               "label": "per-label cut-offs maximising each label's F1"}[self.cutoffs]
        return f"{combine}; {cut}; " + ("empty-row fallback" if self.fallback else "no fallback")


@dataclass
class FittedFusion:
    """A fitted fusion method: plain arrays only (saved as .npz, never pickled)."""

    method: FusionMethod
    lam: np.ndarray  # (18,) weight of the image model in the average (fallback of the logistic rules)
    coef: np.ndarray  # (18, n_features) logistic weights; zeros where unused
    intercept: np.ndarray  # (18,)
    learned: np.ndarray  # (18,) bool: label uses the logistic model
    cutoffs: np.ndarray  # (18,)

    def proba(self, p_image: np.ndarray, p_text: np.ndarray) -> np.ndarray:
        """Fused probabilities (n, 18)."""
        probs = weighted_average(p_image, p_text, self.lam)
        if self.learned.any():
            z = (_features(self.method.combine, p_image, p_text) * self.coef[None]).sum(axis=2) + self.intercept
            probs[:, self.learned] = (1.0 / (1.0 + np.exp(-z)))[:, self.learned]
        return probs

    def predict(self, p_image: np.ndarray, p_text: np.ndarray) -> np.ndarray:
        """0/1 predictions (n, 18) with this fit's cut-offs and fallback."""
        return apply_cutoffs(self.proba(p_image, p_text), self.cutoffs, self.method.fallback)

    @property
    def n_parameters(self) -> int:
        """Numbers stored to apply the fusion (λ, logistic weights where used, cut-offs)."""
        return int(self.lam.size + self.cutoffs.size + (self.coef[self.learned].size + self.learned.sum()))

    def astype(self, dtype: Any) -> FittedFusion:
        """Copy with every parameter stored in `dtype` (e.g. np.float16) and computed back in float64."""
        def cast(a: np.ndarray) -> np.ndarray:
            return a.astype(dtype).astype(np.float64)

        return replace(self, lam=cast(self.lam), coef=cast(self.coef), intercept=cast(self.intercept),
                       cutoffs=cast(self.cutoffs))

    def save(self, path: str | Path) -> Path:
        """Write the parameters and the method config to one .npz file, atomically."""
        import json

        path = Path(path)
        with atomic_path(path) as tmp, open(tmp, "wb") as handle:
            np.savez(handle, lam=self.lam, coef=self.coef, intercept=self.intercept, learned=self.learned,
                     cutoffs=self.cutoffs, method=np.asarray(json.dumps(asdict(self.method))))
        return path

    def half_precision_check(self, p_image: np.ndarray, p_text: np.ndarray) -> dict[str, float]:
        """How much storing the parameters in float16 changes the output on these rows."""
        half = self.astype(np.float16)
        return {"changed_decisions": float(np.mean(half.predict(p_image, p_text) != self.predict(p_image, p_text))),
                "max_probability_change": float(np.abs(half.proba(p_image, p_text)
                                                       - self.proba(p_image, p_text)).max())}

    @classmethod
    def load(cls, path: str | Path) -> FittedFusion:
        import json

        with np.load(path, allow_pickle=False) as data:
            config = json.loads(str(data["method"]))
            config["lambdas"] = tuple(config["lambdas"])
            return cls(method=FusionMethod(**config), lam=data["lam"], coef=data["coef"],
                       intercept=data["intercept"], learned=data["learned"], cutoffs=data["cutoffs"])


def _features(combine: str, p_image: np.ndarray, p_text: np.ndarray) -> np.ndarray:
    """(n, 18, n_features) logistic inputs for each label."""
    li, lt = logit(p_image), logit(p_text)
    if combine == "logistic_all":
        both = np.concatenate([li, lt], axis=1)  # (n, 36)
        return np.broadcast_to(both[:, None, :], (both.shape[0], N_LABELS, both.shape[1]))
    return np.stack([li, lt], axis=2)  # (n, 18, 2)


def _fit_cutoffs(method: FusionMethod, y: np.ndarray, probs: np.ndarray) -> np.ndarray:
    if method.cutoffs == "fixed":
        return np.full(probs.shape[1], method.cutoff)
    if method.cutoffs == "global":
        return np.full(probs.shape[1], best_global_cutoff(y, probs, method.objective, method.fallback)[0])
    return best_label_cutoffs(y, probs)


def _fit_global_lambda(method: FusionMethod, y: np.ndarray, p_image: np.ndarray, p_text: np.ndarray) -> float:
    """λ maximising the objective on these rows, each λ with its own fitted cut-offs."""
    lambdas = np.asarray(method.lambdas, dtype=np.float64)
    scores = []
    for lam in lambdas:
        probs = weighted_average(p_image, p_text, lam)
        pred = apply_cutoffs(probs, _fit_cutoffs(method, y, probs), method.fallback)
        scores.append(fast_score(y, pred, method.objective))
    return float(lambdas[_pick_best(np.asarray(scores), lambdas, 0.5)[0]])


def _fit_label_lambdas(method: FusionMethod, y: np.ndarray, p_image: np.ndarray, p_text: np.ndarray) -> np.ndarray:
    """One λ per label maximising its F1 (at its best cut-off with per-label cut-offs, else at the fixed one)."""
    lambdas = np.asarray(method.lambdas, dtype=np.float64)
    grid = np.asarray(CUTOFF_GRID if method.cutoffs == "label" else (method.cutoff,))
    best = np.stack([label_f1_grid(y, weighted_average(p_image, p_text, lam), grid).max(axis=1) for lam in lambdas],
                    axis=1)  # (18, n_lambdas)
    fallback = _fit_global_lambda(replace(method, combine="average"), y, p_image, p_text)
    return np.array([lambdas[_pick_best(best[j], lambdas, fallback)[0]] if best[j].max() > 0 else fallback
                     for j in range(best.shape[0])])


def fit_fusion(method: FusionMethod, y_true: np.ndarray, p_image: np.ndarray, p_text: np.ndarray) -> FittedFusion:
    """Fit `method` on these rows (truth and both models' probabilities)."""
    y = np.asarray(y_true, dtype=np.uint8)
    n_features = 2 * N_LABELS if method.combine == "logistic_all" else 2
    coef = np.zeros((N_LABELS, n_features))
    intercept = np.zeros(N_LABELS)
    learned = np.zeros(N_LABELS, dtype=bool)
    if method.combine in ("image", "text"):
        lam = np.full(N_LABELS, 1.0 if method.combine == "image" else 0.0)
    elif method.combine == "label_average":
        lam = _fit_label_lambdas(method, y, p_image, p_text)
    else:
        lam = np.full(N_LABELS, _fit_global_lambda(replace(method, combine="average"), y, p_image, p_text))
    if method.combine in ("logistic", "logistic_all"):
        learned = (y.sum(axis=0) > 0) & (y.sum(axis=0) < len(y))  # both classes present; else keep the λ average
        weights = fit_logistic(_features(method.combine, p_image, p_text), y, method.C)
        coef[learned], intercept[learned] = weights[learned, :-1], weights[learned, -1]
    fitted = FittedFusion(method, lam, coef, intercept, learned, np.full(N_LABELS, method.cutoff))
    fitted.cutoffs = _fit_cutoffs(method, y, fitted.proba(p_image, p_text))
    return fitted


# --------------------------------------------------------------------------------------------
# Honest evaluation: cross-fitting on the validation rows
# --------------------------------------------------------------------------------------------
@dataclass
class CrossFit:
    """Out-of-fold results of one method: every row predicted by a fit that never saw it."""

    method: FusionMethod
    probs: np.ndarray
    pred: np.ndarray
    fits: list[FittedFusion]


def cross_fit(method: FusionMethod, y_true: np.ndarray, p_image: np.ndarray, p_text: np.ndarray,
              folds: Sequence[tuple[np.ndarray, np.ndarray]]) -> CrossFit:
    """Fit on all folds but one, predict the held-out fold, for each fold; concatenate in row order."""
    probs = np.zeros(np.shape(p_image), dtype=np.float64)
    pred = np.zeros(np.shape(p_image), dtype=np.uint8)
    covered = np.zeros(len(probs), dtype=int)
    fits = []
    for fit_rows, held_rows in folds:
        fitted = fit_fusion(method, y_true[fit_rows], p_image[fit_rows], p_text[fit_rows])
        probs[held_rows] = fitted.proba(p_image[held_rows], p_text[held_rows])
        pred[held_rows] = fitted.predict(p_image[held_rows], p_text[held_rows])
        covered[held_rows] += 1
        fits.append(fitted)
    if not (covered == 1).all():
        raise ValueError("the folds must hold out every row exactly once")
    return CrossFit(method, probs, pred, fits)


def standard_methods(C: float = 1.0) -> list[FusionMethod]:
    """The methods of table11: both single models, the reference's average and the better rules."""
    return [
        FusionMethod("image model, cut-off 0.5", "image", "fixed", fallback=False),
        FusionMethod("text model, cut-off 0.5", "text", "fixed", fallback=False),
        FusionMethod("image model, tuned cut-offs", "image", "label"),
        FusionMethod("text model, tuned cut-offs", "text", "label"),
        FusionMethod("reference: λ from {0.4, 0.5, 0.6}, cut-off 0.5", "average", "fixed", fallback=False,
                     lambdas=(0.4, 0.5, 0.6)),
        FusionMethod("global λ + global cut-off", "average", "global"),
        FusionMethod("global λ + per-label cut-offs", "average", "label"),
        FusionMethod("per-label λ + per-label cut-offs", "label_average", "label"),
        FusionMethod("logistic (2 logits) + per-label cut-offs", "logistic", "label", C=C),
        FusionMethod("logistic (36 logits) + per-label cut-offs", "logistic_all", "label", C=C),
    ]


def compare_methods(methods: Sequence[FusionMethod], y_true: np.ndarray, p_image: np.ndarray, p_text: np.ndarray,
                    folds: Sequence[tuple[np.ndarray, np.ndarray]]) -> tuple[pd.DataFrame, dict[str, CrossFit]]:
    """Cross-fit every method; table (one row per method, all five metrics out of fold) and the fits."""
    rows, results = [], {}
    for method in methods:
        result = cross_fit(method, y_true, p_image, p_text, folds)
        results[method.name] = result
        rows.append({"method": method.name, "rule": method.describe(), "fallback": method.fallback,
                     **multilabel_scores(y_true, result.pred),
                     "empty_rows": int((~result.pred.any(axis=1)).sum())})
    return pd.DataFrame(rows), results


def best_method(table: pd.DataFrame, methods: Sequence[FusionMethod], metric: str = "samples_f1") -> FusionMethod:
    """The method with the highest out-of-fold `metric` (ties: the earlier, simpler one)."""
    if metric not in METRIC_NAMES:
        raise ValueError(f"unknown metric {metric!r}")
    name = table.loc[table[metric].idxmax(), "method"]
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
    import time

    t0 = time.perf_counter()
    fitted = fit_fusion(method, inputs.Y_val, inputs.val_image, inputs.val_text)
    t1 = time.perf_counter()
    test_probs = fitted.proba(inputs.test_image, inputs.test_text)
    test_pred = fitted.predict(inputs.test_image, inputs.test_text)
    return FinalFusion(fitted, t1 - t0, time.perf_counter() - t1, test_probs, test_pred)


def describe_lambda(lam: np.ndarray) -> str:
    """'0.6' for one global λ, 'per label: 0.2-0.9 (mean 0.55)' otherwise."""
    lam = np.asarray(lam)
    if np.allclose(lam, lam[0]):
        return f"{lam[0]:g}"
    return f"per label: {lam.min():g}-{lam.max():g} (mean {lam.mean():.2f})"


def performance_table(scores: dict[str, dict[str, float]], summaries: dict[str, dict[str, Any]],
                      budget: pd.DataFrame, final: FinalFusion, image_model: str = "cnn",
                      text_model: str = "lstm") -> pd.DataFrame:
    """table10: each single model and the final fusion, with F1s, total training / testing time, λ and size.

    scores: {"image model": metrics, "text model": metrics, "final fusion": metrics} on the same rows.
    Times and sizes of the fusion include both base models (everything needed to predict).
    """
    size32 = budget.groupby("model")["float32_MB"].sum()
    size16 = budget.groupby("model")["float16_MB"].sum()
    img, txt = summaries[image_model], summaries[text_model]
    learned = final.fitted.learned.any()
    rows = [
        ("image model", img["train_time_s"], img["test_time_s"], "1 (image only)", size32[image_model],
         size16[image_model]),
        ("text model", txt["train_time_s"], txt["test_time_s"], "0 (text only)", size32[text_model],
         size16[text_model]),
        ("final fusion", img["train_time_s"] + txt["train_time_s"] + final.fit_s,
         img["test_time_s"] + txt["test_time_s"] + final.apply_s,
         ("learned (logistic); fallback λ " if learned else "") + describe_lambda(final.fitted.lam),
         float(size32.sum()), float(size16.sum())),
    ]
    table = []
    for name, train_s, test_s, lam, mb32, mb16 in rows:
        metrics = scores[name]
        table.append({"model": name, "micro_f1": metrics["micro_f1"], "samples_f1": metrics["samples_f1"],
                      "macro_f1": metrics["macro_f1"], "exact_match": metrics["exact_match"],
                      "hamming_accuracy": metrics["hamming_accuracy"], "train_time_min": train_s / 60,
                      "test_time_s": test_s, "lambda": lam, "size_MB_float32": mb32, "size_MB_float16": mb16})
    return pd.DataFrame(table)


def settings_note(profile: Any) -> str:
    """What this profile changes in the fusion stage compared with the full profile (computed, not hard-coded)."""
    from helpers.core.profiles import get_profile

    mine, full = asdict(profile.fusion), asdict(get_profile("full").fusion)
    changed = [f"{key} {mine[key]} (full: {full[key]})" for key in mine if mine[key] != full[key]]
    return (f"profile {profile.name!r}: " + (", ".join(changed) if changed else "same fusion settings as full")
            + ". Fusion itself costs seconds, so the cpu profile keeps every fusion setting of the full one; "
              "its reductions are upstream (notebooks 03 and 04).")
