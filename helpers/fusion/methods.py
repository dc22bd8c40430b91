"""Fusion methods: how to combine two probability sources and how to turn the result into label sets.

The reference study averaged the two probability vectors, P = λ·P_img + (1 − λ)·P_text, with one
global cut-off of 0.5. Here a fusion *method* is a small frozen config; `fit_fusion` fits it on
some rows and returns a `FittedFusion` holding only numpy arrays (stored in the predictor file as
plain values and tensors, nothing pickled).

Combine rules (on the method's two `sources`, by default the image and the text model):
- image / text:   the first / second source alone (λ = 1 / λ = 0); a joint model is a first source;
- average:        one global λ chosen on the fit rows (grid LAMBDA_GRID);
- label_average:  one λ per label, chosen jointly with that label's cut-off;
- logistic:       per-label logistic regression on [logit(p_1), logit(p_2)] of that label;
- logistic_all:   per-label logistic regression on all 36 logits (both sources, every label), which
                  lets label co-occurrence help; a tiny learned fusion layer (36 -> 18).
Labels with a single class on the fit rows fall back to the global λ average.
Decision rules: fixed (0.5), global (one cut-off maximising the objective), label (per-label
cut-off maximising that label's F1), row_f1 (per row, the label set with the highest plug-in
expected F1; see helpers.fusion.rules), each optionally after per-label Platt calibration.

The fusion methods table11 compares: single models, the reference's average, the better rules, joint models.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
import torch

from helpers.core.labels import N_LABELS
from helpers.core.metrics import fast_f1
from helpers.fusion.rules import (
    CUTOFF_GRID,
    DEFAULT_CUTOFF,
    LAMBDA_GRID,
    OBJECTIVES,
    apply_cutoffs,
    apply_platt,
    best_global_cutoff,
    best_label_cutoffs,
    expected_f1_sets,
    fit_logistic,
    fit_platt,
    label_f1_grid,
    logit,
    pick_best,
    sigmoid,
    weighted_average,
)

COMBINES = ("image", "text", "average", "label_average", "logistic", "logistic_all")
CUTOFF_RULES = ("fixed", "global", "label", "row_f1")


@dataclass(frozen=True)
class FusionMethod:
    """How to fuse: sources, combine rule, decision rule, calibration, empty-row fallback, search settings."""

    name: str
    combine: str = "average"  # one of COMBINES
    cutoffs: str = "fixed"  # one of CUTOFF_RULES
    fallback: bool = True  # never an empty row: emit the most probable label
    lambdas: tuple[float, ...] = LAMBDA_GRID  # λ candidates for the average rules
    cutoff: float = DEFAULT_CUTOFF  # the cut-off of the "fixed" rule
    C: float = 1.0  # inverse regularisation strength of the logistic rules and of the calibration
    objective: str = "micro_f1"  # what the global λ / global cut-off search maximises
    calibrate: bool = False  # Platt-scale each label's fused probability before deciding
    sources: tuple[str, str] = ("image", "text")  # probability sources (keys of FusionInputs.val / .test)

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
        first, second = self.sources
        combine = {
            "image": f"{first} alone", "text": f"{second} alone",
            "average": f"weighted average, one λ from {self.lambdas[0]:g}..{self.lambdas[-1]:g}",
            "label_average": "weighted average, one λ per label",
            "logistic": f"logistic regression per label on its 2 logits (C={self.C:g})",
            "logistic_all": f"logistic regression per label on all 36 logits (C={self.C:g})",
        }[self.combine]
        cut = {"fixed": f"cut-off {self.cutoff:g}", "global": f"one cut-off maximising {self.objective}",
               "label": "per-label cut-offs maximising each label's F1",
               "row_f1": "per row the top-k labels maximising plug-in expected F1"}[self.cutoffs]
        calibration = "Platt-calibrated; " if self.calibrate else ""
        fallback = "" if self.cutoffs == "row_f1" else ("; empty-row fallback" if self.fallback else "; no fallback")
        return f"{combine}; {calibration}{cut}{fallback}"

    def pick(self, probabilities: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """(first, second) source probabilities out of a {source: probs} mapping; a missing one is named."""
        missing = [s for s in self.sources if s not in probabilities]
        if missing:
            raise KeyError(f"{self.name}: no probabilities for source(s) {missing}; have {sorted(probabilities)}")
        return probabilities[self.sources[0]], probabilities[self.sources[1]]


@dataclass
class FittedFusion:
    """A fitted fusion method: plain arrays only, so that a predictor can apply it without this code's classes.

    Stored in the predictor file through `to_state()` / `from_state()`: lam (18,), coef (18, F), intercept (18,),
    learned (18,) bool, cutoffs (18,), platt_slope (18,), platt_intercept (18,) and `method` (the
    FusionMethod's fields). To apply it to source probabilities p1, p2 (n, 18):
      1. P = lam·p1 + (1 − lam)·p2; for labels with learned, P = sigmoid(features·coef + intercept),
         features = [logit p1_j, logit p2_j] ("logistic") or all 36 logits ("logistic_all");
      2. if method.calibrate: P = sigmoid(platt_slope·logit P + platt_intercept);
      3. method.cutoffs == "row_f1": helpers.fusion.rules.expected_f1_sets(P); otherwise
         P >= cutoffs, then (method.fallback) the most probable label on an empty row.
    """

    method: FusionMethod
    lam: np.ndarray  # (18,) weight of the first source in the average (fallback of the logistic rules)
    coef: np.ndarray  # (18, n_features) logistic weights; zeros where unused
    intercept: np.ndarray  # (18,)
    learned: np.ndarray  # (18,) bool: label uses the logistic model
    cutoffs: np.ndarray  # (18,) (unused by the row_f1 rule)
    platt_slope: np.ndarray  # (18,) calibration (1 where not calibrated)
    platt_intercept: np.ndarray  # (18,) calibration (0 where not calibrated)

    def combined(self, p_first: np.ndarray, p_second: np.ndarray) -> np.ndarray:
        """The combined probabilities before calibration (n, 18)."""
        probs = weighted_average(p_first, p_second, self.lam)
        if self.learned.any():
            z = (_features(self.method.combine, p_first, p_second) * self.coef[None]).sum(axis=2) + self.intercept
            probs[:, self.learned] = sigmoid(z)[:, self.learned]
        return probs

    def proba(self, p_first: np.ndarray, p_second: np.ndarray) -> np.ndarray:
        """Fused (and, if the method says so, calibrated) probabilities (n, 18)."""
        probs = self.combined(p_first, p_second)
        return apply_platt(probs, self.platt_slope, self.platt_intercept) if self.method.calibrate else probs

    def predict(self, p_first: np.ndarray, p_second: np.ndarray) -> np.ndarray:
        """0/1 predictions (n, 18) with this fit's decision rule."""
        return decide(self.method, self.proba(p_first, p_second), self.cutoffs)

    @property
    def n_parameters(self) -> int:
        """Numbers stored to apply the fusion (λ, logistic weights where used, cut-offs, calibration if used)."""
        calibration = self.platt_slope.size + self.platt_intercept.size if self.method.calibrate else 0
        return int(self.lam.size + self.cutoffs.size + (self.coef[self.learned].size + self.learned.sum())
                   + calibration)

    def astype(self, dtype: Any) -> FittedFusion:
        """Copy with every parameter stored in `dtype` (e.g. np.float16) and computed back in float64."""
        def cast(a: np.ndarray) -> np.ndarray:
            return a.astype(dtype).astype(np.float64)

        return replace(self, lam=cast(self.lam), coef=cast(self.coef), intercept=cast(self.intercept),
                       cutoffs=cast(self.cutoffs), platt_slope=cast(self.platt_slope),
                       platt_intercept=cast(self.platt_intercept))

    def half_precision_check(self, p_first: np.ndarray, p_second: np.ndarray) -> dict[str, float]:
        """How much storing the parameters in float16 changes the output on these rows."""
        half = self.astype(np.float16)
        return {"changed_decisions": float(np.mean(half.predict(p_first, p_second)
                                                   != self.predict(p_first, p_second))),
                "max_probability_change": float(np.abs(half.proba(p_first, p_second)
                                                       - self.proba(p_first, p_second)).max())}

    ARRAYS = ("lam", "coef", "intercept", "learned", "cutoffs", "platt_slope", "platt_intercept")

    def to_state(self) -> dict[str, Any]:
        """Plain values and float64 tensors (its ~100 numbers kept at full precision), as the predictor file holds
        them: {"method": FusionMethod fields, "lam": tensor (18,), "coef", "intercept", "learned", ...}."""
        method = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self.method).items()}
        state: dict[str, Any] = {"method": method}
        for name in self.ARRAYS:
            value = np.asarray(getattr(self, name))
            state[name] = torch.from_numpy(value.astype(bool if name == "learned" else np.float64))
        return state

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> FittedFusion:
        """The fitted fusion that `to_state` wrote; ValueError names a missing or unknown key."""
        missing = [k for k in ("method", *cls.ARRAYS) if k not in state]
        unknown = [k for k in state if k not in ("method", *cls.ARRAYS)]
        if missing or unknown:
            raise ValueError(f"fitted fusion state: missing keys {missing}, unknown keys {unknown}")
        config = dict(state["method"])
        fields = FusionMethod.__dataclass_fields__
        bad = sorted(set(config) ^ set(fields))
        if bad:
            raise ValueError(f"fusion method state: missing or unknown keys {bad}")
        config["lambdas"], config["sources"] = tuple(config["lambdas"]), tuple(config["sources"])
        arrays = {name: np.asarray(state[name].numpy() if hasattr(state[name], "numpy") else state[name])
                  for name in cls.ARRAYS}
        return cls(method=FusionMethod(**config), **arrays)


def decide(method: FusionMethod, probs: np.ndarray, cutoffs: np.ndarray) -> np.ndarray:
    """0/1 predictions from (calibrated) probabilities with the method's decision rule."""
    if method.cutoffs == "row_f1":
        return expected_f1_sets(probs)
    return apply_cutoffs(probs, cutoffs, method.fallback)


def _features(combine: str, p_first: np.ndarray, p_second: np.ndarray) -> np.ndarray:
    """(n, 18, n_features) logistic inputs for each label."""
    li, lt = logit(p_first), logit(p_second)
    if combine == "logistic_all":
        both = np.concatenate([li, lt], axis=1)  # (n, 36)
        return np.broadcast_to(both[:, None, :], (both.shape[0], N_LABELS, both.shape[1]))
    return np.stack([li, lt], axis=2)  # (n, 18, 2)


def _fit_cutoffs(method: FusionMethod, y: np.ndarray, probs: np.ndarray) -> np.ndarray:
    if method.cutoffs in ("fixed", "row_f1"):
        return np.full(probs.shape[1], method.cutoff)
    if method.cutoffs == "global":
        return np.full(probs.shape[1], best_global_cutoff(y, probs, method.objective, method.fallback)[0])
    return best_label_cutoffs(y, probs)


def _calibrated(method: FusionMethod, y: np.ndarray, probs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(probabilities to decide on, Platt slope, Platt intercept) for these fit rows."""
    if not method.calibrate:
        return probs, np.ones(probs.shape[1]), np.zeros(probs.shape[1])
    slope, intercept = fit_platt(y, probs, method.C)
    return apply_platt(probs, slope, intercept), slope, intercept


def _fit_global_lambda(method: FusionMethod, y: np.ndarray, p_first: np.ndarray, p_second: np.ndarray) -> float:
    """λ maximising the objective on these rows, each λ with its own fitted decision rule."""
    lambdas = np.asarray(method.lambdas, dtype=np.float64)
    objective = "samples_f1" if method.cutoffs == "row_f1" else method.objective
    scores = []
    for lam in lambdas:
        probs = _calibrated(method, y, weighted_average(p_first, p_second, lam))[0]
        scores.append(fast_f1(y, decide(method, probs, _fit_cutoffs(method, y, probs)), objective))
    return float(lambdas[pick_best(np.asarray(scores), lambdas, 0.5)[0]])


def _fit_label_lambdas(method: FusionMethod, y: np.ndarray, p_first: np.ndarray, p_second: np.ndarray
                       ) -> np.ndarray:
    """One λ per label maximising its F1 (at its best cut-off on the grid, or at the fixed one)."""
    lambdas = np.asarray(method.lambdas, dtype=np.float64)
    grid = np.asarray((method.cutoff,) if method.cutoffs == "fixed" else CUTOFF_GRID)
    best = np.stack([label_f1_grid(y, weighted_average(p_first, p_second, lam), grid).max(axis=1)
                     for lam in lambdas], axis=1)  # (18, n_lambdas)
    fallback = _fit_global_lambda(replace(method, combine="average"), y, p_first, p_second)
    return np.array([lambdas[pick_best(best[j], lambdas, fallback)[0]] if best[j].max() > 0 else fallback
                     for j in range(best.shape[0])])


def fit_fusion(method: FusionMethod, y_true: np.ndarray, p_first: np.ndarray, p_second: np.ndarray) -> FittedFusion:
    """Fit `method` on these rows (truth and both sources' probabilities)."""
    y = np.asarray(y_true, dtype=np.uint8)
    n_features = 2 * N_LABELS if method.combine == "logistic_all" else 2
    coef = np.zeros((N_LABELS, n_features))
    intercept = np.zeros(N_LABELS)
    learned = np.zeros(N_LABELS, dtype=bool)
    if method.combine in ("image", "text"):
        lam = np.full(N_LABELS, 1.0 if method.combine == "image" else 0.0)
    elif method.combine == "label_average":
        lam = _fit_label_lambdas(method, y, p_first, p_second)
    else:
        lam = np.full(N_LABELS, _fit_global_lambda(replace(method, combine="average"), y, p_first, p_second))
    if method.combine in ("logistic", "logistic_all"):
        learned = (y.sum(axis=0) > 0) & (y.sum(axis=0) < len(y))  # both classes present; else keep the λ average
        weights = fit_logistic(_features(method.combine, p_first, p_second), y, method.C)
        coef[learned], intercept[learned] = weights[learned, :-1], weights[learned, -1]
    fitted = FittedFusion(method, lam, coef, intercept, learned, np.full(N_LABELS, method.cutoff),
                          np.ones(N_LABELS), np.zeros(N_LABELS))
    probs, fitted.platt_slope, fitted.platt_intercept = _calibrated(method, y, fitted.combined(p_first, p_second))
    fitted.cutoffs = _fit_cutoffs(method, y, probs)
    return fitted


REFERENCE_NAME = "reference: λ from {0.4, 0.5, 0.6}, cut-off 0.5"
ROW_RULE = "expected-F1 sets"
CALIBRATED_ROW_RULE = "calibrated expected-F1 sets"


def _row_rules(name: str, combine: str, C: float, **kwargs: object) -> list[FusionMethod]:
    """The samples-F1 decision rule for one combine rule: on its probabilities as they are, and calibrated."""
    return [FusionMethod(f"{name} + {ROW_RULE}", combine, "row_f1", C=C, **kwargs),
            FusionMethod(f"{name} + {CALIBRATED_ROW_RULE}", combine, "row_f1", C=C, calibrate=True, **kwargs)]


SOURCE_TITLES = {"encoder": "caption encoder"}  # how table11 names an extra caption source


def standard_methods(C: float = 1.0, joint_sources: Sequence[str] = (),
                     text_sources: Sequence[str] = ("text",)) -> list[FusionMethod]:
    """Every method of table11; the first two are the single models as trained, the fifth the reference.

    joint_sources: names of joint image-caption models whose probabilities are fusion sources
    (e.g. "joint concat"); each appears as trained, with per-label cut-offs and with the row rule.
    text_sources: the caption sources present (FusionInputs.text_sources); each one besides the LSTM's "text"
    (the pretrained "encoder") appears alone and fused with the image model by the fitted rules, so that with only
    "text" the list is exactly the two-source catalogue.
    """
    methods = [
        FusionMethod("image model, cut-off 0.5", "image", "fixed", fallback=False),
        FusionMethod("text model, cut-off 0.5", "text", "fixed", fallback=False),
        FusionMethod("image model, tuned cut-offs", "image", "label"),
        FusionMethod("text model, tuned cut-offs", "text", "label"),
        FusionMethod(REFERENCE_NAME, "average", "fixed", fallback=False, lambdas=(0.4, 0.5, 0.6)),
        FusionMethod("global λ + global cut-off", "average", "global"),
        FusionMethod("global λ + per-label cut-offs", "average", "label"),
        FusionMethod("per-label λ + per-label cut-offs", "label_average", "label"),
        FusionMethod("logistic (2 logits) + per-label cut-offs", "logistic", "label", C=C),
        FusionMethod("logistic (36 logits) + per-label cut-offs", "logistic_all", "label", C=C),
    ]
    for name, combine in (("image model", "image"), ("text model", "text"), ("global λ", "average"),
                          ("per-label λ", "label_average"), ("logistic (2 logits)", "logistic"),
                          ("logistic (36 logits)", "logistic_all")):
        methods += _row_rules(name, combine, C)
    for source in (s for s in text_sources if s != "text"):
        methods += _extra_text_methods(source, C)
    for source in joint_sources:
        pair = (source, "text")
        methods += [FusionMethod(f"{source}, cut-off 0.5", "image", "fixed", fallback=False, sources=pair),
                    FusionMethod(f"{source}, tuned cut-offs", "image", "label", sources=pair),
                    *_row_rules(source, "image", C, sources=pair)]
    return methods


def _extra_text_methods(source: str, C: float) -> list[FusionMethod]:
    """One more caption source (e.g. the pretrained encoder): alone, and fused with the image model (11 rows: the
    main rules of the two-source catalogue, not all of them, so that table11 stays readable)."""
    title = SOURCE_TITLES.get(source, source)
    pair, fused = ("image", source), f"image + {title}:"
    methods = [FusionMethod(f"{title}, cut-off 0.5", "text", "fixed", fallback=False, sources=pair),
               FusionMethod(f"{title}, tuned cut-offs", "text", "label", sources=pair),
               FusionMethod(f"{fused} global λ + per-label cut-offs", "average", "label", sources=pair),
               FusionMethod(f"{fused} per-label λ + per-label cut-offs", "label_average", "label", sources=pair),
               FusionMethod(f"{fused} logistic (36 logits) + per-label cut-offs", "logistic_all", "label", C=C,
                            sources=pair)]
    for name, combine in ((title, "text"), (f"{fused} global λ", "average"), (f"{fused} logistic (36 logits)",
                                                                             "logistic_all")):
        methods += _row_rules(name, combine, C, sources=pair)
    return methods


TUNED_SUFFIXES = (", tuned cut-offs", " + per-label cut-offs")


def row_rule_pairs(methods: Sequence[FusionMethod]) -> list[tuple[str, str, str]]:
    """(per-label cut-off method, expected-F1 method, calibrated expected-F1 method) names per combine rule,
    in the order of `methods`."""
    names = {m.name for m in methods}
    pairs = []
    for tuned in (m.name for m in methods if m.cutoffs == "label"):
        suffix = next((s for s in TUNED_SUFFIXES if tuned.endswith(s)), None)
        if suffix is None:
            continue
        name = tuned[: -len(suffix)]
        row, calibrated = f"{name} + {ROW_RULE}", f"{name} + {CALIBRATED_ROW_RULE}"
        if {row, calibrated} <= names:
            pairs.append((tuned, row, calibrated))
    return pairs
