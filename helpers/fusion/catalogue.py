"""The fusion methods table11 compares: single models, the reference's average, the better rules, joint models."""
from __future__ import annotations

from collections.abc import Sequence

from helpers.fusion.methods import FusionMethod

REFERENCE_NAME = "reference: λ from {0.4, 0.5, 0.6}, cut-off 0.5"
ROW_RULE = "expected-F1 sets"
CALIBRATED_ROW_RULE = "calibrated expected-F1 sets"


def _row_rules(name: str, combine: str, C: float, **kwargs: object) -> list[FusionMethod]:
    """The samples-F1 decision rule for one combine rule: on its probabilities as they are, and calibrated."""
    return [FusionMethod(f"{name} + {ROW_RULE}", combine, "row_f1", C=C, **kwargs),
            FusionMethod(f"{name} + {CALIBRATED_ROW_RULE}", combine, "row_f1", C=C, calibrate=True, **kwargs)]


def standard_methods(C: float = 1.0, joint_sources: Sequence[str] = ()) -> list[FusionMethod]:
    """Every method of table11; the first two are the single models as trained, the fifth the reference.

    joint_sources: names of joint image-caption models whose probabilities are fusion sources
    (e.g. "joint concat"); each appears as trained, with per-label cut-offs and with the row rule.
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
    for source in joint_sources:
        pair = (source, "text")
        methods += [FusionMethod(f"{source}, cut-off 0.5", "image", "fixed", fallback=False, sources=pair),
                    FusionMethod(f"{source}, tuned cut-offs", "image", "label", sources=pair),
                    *_row_rules(source, "image", C, sources=pair)]
    return methods


def row_rule_pairs(methods: Sequence[FusionMethod]) -> list[tuple[str, str, str]]:
    """(per-label cut-off method, expected-F1 method, calibrated expected-F1 method) names per combine rule."""
    names = {m.name for m in methods}
    pairs = []
    for name, tuned in (("image model", "image model, tuned cut-offs"), ("text model", "text model, tuned cut-offs"),
                        ("global λ", "global λ + per-label cut-offs"),
                        ("per-label λ", "per-label λ + per-label cut-offs"),
                        ("logistic (2 logits)", "logistic (2 logits) + per-label cut-offs"),
                        ("logistic (36 logits)", "logistic (36 logits) + per-label cut-offs"),
                        *((m.sources[0], f"{m.sources[0]}, tuned cut-offs") for m in methods
                          if m.sources[0] not in ("image",) and m.cutoffs == "fixed")):
        row, calibrated = f"{name} + {ROW_RULE}", f"{name} + {CALIBRATED_ROW_RULE}"
        if {tuned, row, calibrated} <= names:
            pairs.append((tuned, row, calibrated))
    return pairs
