"""Notebook 05's report: the fusion tables, figures and generated findings, and its results summary.

Tables: the λ sweep (table05), the fusion methods scored out of fold (table11, `fusion_methods_table`), the
final performance with the predictor's size (table10 and table21, `final_performance`); every difference
carries a paired-bootstrap interval (columns diff, diff_low, diff_high, significant: `with_intervals`), and a
difference whose interval contains 0 is drawn hollow in the figures (fig40, fig41). Findings (`*_finding`,
`findings`, `joint_versus_late`) are built from the computed tables, so they cannot drift from them; the
results summary (`summary_sections`, `write_results_summary`) is what the README pastes between its results
markers.
"""
from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from helpers.core.config import RunPaths
from helpers.core.files import write_text
from helpers.core.handoff import predictor_path
from helpers.core.metrics import BASELINE_NAME, METRIC_TITLES, binarize, multilabel_scores, paired_bootstrap
from helpers.data.csv_format import read_labels_csv
from helpers.data.submission import score_submission, submission_table
from helpers.fusion import crossfit, rules
from helpers.fusion.crossfit import CrossFit, FinalFusion, Folds, score_row
from helpers.fusion.inputs import TEXT_SOURCES, FusionInputs
from helpers.fusion.methods import REFERENCE_NAME, ROW_RULE, FusionMethod
from helpers.models.weights import count_parameters
from helpers.predictor.build import handoff_parts
from helpers.predictor.file import save_predictor
from helpers.predictor.predictor import Predictor, label_csv
from helpers.report import size_budget
from helpers.report.captions import DEMO_SENTENCE, is_demo_data
from helpers.report.figures import baseline_line, markdown_table, readable
from helpers.train.joint_training import JointOutcome, artifact_name

INTERVAL_COLUMNS = ("diff", "diff_low", "diff_high", "significant")
ENCODER_ROW = "caption encoder"  # table10's row of notebook 04's pretrained caption encoder, when there is one


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
                               summaries: Mapping[str, Mapping[str, Any]], sizes: Mapping[str, Mapping[str, float]],
                               lambdas: Mapping[str, str], fusion_seconds: Mapping[str, tuple[float, float]]
                               ) -> pd.DataFrame:
    """table10: each model and fusion with its F1s, total training / testing time, λ and size.

    scores: {row name: metrics} on the same validation rows; components: {row name: models it needs
    (keys of summaries)}; sizes: {row name: helpers.report.size_budget.predictor_size of the predictor that
    row needs}; lambdas: {row name: λ text}; fusion_seconds: {row name: (fit s, apply s)} for rows that fit a
    fusion. Times and sizes of a fusion include every model it needs (everything needed to predict). A row
    without components (the trivial baseline) has no time and no size.
    """
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
            "size_MB_float32": float(sizes[name]["float32_MB"]) if present else np.nan,
            "size_MB_float16": float(sizes[name]["float16_MB"]) if present else np.nan,
        })
    return pd.DataFrame(table)


INDISTINGUISHABLE = "interval contains 0 (indistinguishable)"


def plot_lambda_sweep(sweep: pd.DataFrame, baseline: dict[str, float] | None = None) -> plt.Figure:
    """Micro- and samples-F1 against λ; hollow points: samples-F1 not distinguishable from λ = 0.5."""
    fig, ax = plt.subplots(figsize=(7, 4.3))
    for k, metric in enumerate(("micro_f1", "samples_f1")):
        ax.plot(sweep["lambda"], sweep[metric], color=f"C{k}", label=METRIC_TITLES[metric])
        if metric == "samples_f1" and "significant" in sweep:
            is_ref = np.isclose(sweep["lambda"].astype(float), 0.5)
            same = ~sweep["significant"].astype(bool) & ~is_ref
            ax.plot(sweep.loc[~same & ~is_ref, "lambda"], sweep.loc[~same & ~is_ref, metric], "o", color=f"C{k}")
            ax.plot(sweep.loc[same, "lambda"], sweep.loc[same, metric], "o", mfc="white", color=f"C{k}",
                    label=f"samples-F1 vs λ=0.5: {INDISTINGUISHABLE}")
            ax.plot(sweep.loc[is_ref, "lambda"], sweep.loc[is_ref, metric], "D", color="black",
                    label="λ=0.5: the reference the intervals are against")
        else:
            ax.plot(sweep["lambda"], sweep[metric], "o", color=f"C{k}")
    ax.axvspan(0.35, 0.65, color="grey", alpha=0.15, label="λ the reference tried (0.4-0.6)")
    if baseline is not None:
        baseline_line(ax, baseline["samples_f1"], label="trivial baseline (samples-F1)")
    values = [sweep["micro_f1"].min(), sweep["samples_f1"].min()] + ([baseline["samples_f1"]] if baseline else [])
    top = max(sweep["micro_f1"].max(), sweep["samples_f1"].max())
    ax.set_ylim(max(0.0, np.floor(min(values) * 20) / 20 - 0.02), min(1.0, top + 0.03))  # the data, not 0-1
    ax.set(xlabel="λ (weight of the image model; 0 = text only, 1 = image only)",
           ylabel="score on validation rows (0-1)", title=f"Weighted average, cut-off {sweep['cutoff'].iloc[0]:g}")
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    return fig


def _shape(values: np.ndarray) -> str:
    steps = np.diff(values)
    if (steps <= 1e-12).all():
        return "falls steadily from λ=0 to λ=1"
    if (steps >= -1e-12).all():
        return "rises steadily from λ=0 to λ=1"
    best = int(np.argmax(values))
    if 0 < best < len(values) - 1:
        return "peaks inside the range"
    return "is not monotone but is highest at an end"


def lambda_finding(sweep: pd.DataFrame) -> str:
    """The sweep's shape, its best λ and (from the intervals) whether it beats the reference's λ = 0.5."""
    t = sweep.set_index("lambda")
    best = sweep.loc[sweep["samples_f1"].idxmax()]
    lam = float(best["lambda"])
    text_only, image_only = t.loc[0.0, "samples_f1"], t.loc[1.0, "samples_f1"]
    parts = [f"Samples-F1 {_shape(sweep['samples_f1'].to_numpy())}; its best λ is {lam:g} (samples-F1 "
             f"{best['samples_f1']:.3f}, micro-F1 {best['micro_f1']:.3f}); text alone (λ=0) gives "
             f"{text_only:.3f} and image alone (λ=1) {image_only:.3f}."]
    if lam in (0.0, 1.0):
        stronger, weaker = ("text", "image") if lam == 0.0 else ("image", "text")
        parts.append(f"The best λ is at an end because the {stronger} model alone beats every mix: the {weaker} "
                     f"model is {abs(text_only - image_only):.3f} worse, and at one cut-off of 0.5 averaging it in "
                     "pulls the stronger model's confident probabilities towards the weaker's.")
    if "diff_low" in sweep and lam != 0.5:
        row = t.loc[lam]
        verdict = ("more than row noise" if row["significant"] else "within row noise (the interval contains 0)")
        parts.append(f"Against the reference's λ=0.5 the best λ differs by {row['diff']:+.3f} samples-F1 (95 % "
                     f"paired bootstrap {row['diff_low']:+.3f} to {row['diff_high']:+.3f}): {verdict}.")
    parts.append("λ here is read off the same rows it is scored on, as in the reference; table11 scores fitted "
                 "rules out of fold.")
    return " ".join(parts)


def plot_fusion_methods(table: pd.DataFrame, chosen: str, reference: str, baseline: str | None = None,
                        page_height: float = 10.5) -> plt.Figure:
    """Left: out-of-fold scores per method, sorted by samples-F1 (its value printed; baseline dashed); right:
    samples-F1 minus the reference with its 95 % paired-bootstrap interval (hollow: the interval contains 0).
    Chosen method in bold, methods tied with it (table11's TIE_COLUMN) marked "≈"; the figure fits one page."""
    metrics = ["micro_f1", "samples_f1", "macro_f1"]
    shown = table[table["method"] != baseline] if baseline is not None else table
    shown = shown.sort_values("samples_f1", ascending=False, kind="stable")
    methods = list(shown["method"])
    tied = set(shown.loc[shown[TIE_COLUMN].astype(bool), "method"]) if TIE_COLUMN in shown else set()
    y = np.arange(len(methods))
    row_height = min(0.32, (page_height - 2.2) / max(len(methods), 1))
    fig, (ax, ax_diff) = plt.subplots(1, 2, figsize=(14, row_height * len(methods) + 2.2), sharey=True,
                                      gridspec_kw={"width_ratios": [1.3, 1]})
    height = 0.8 / len(metrics)
    t = shown.set_index("method")
    for k, metric in enumerate(metrics):
        ax.barh(y + (k - 1) * height, t.loc[methods, metric], height=height, label=METRIC_TITLES[metric])
    for row, value in zip(y, t.loc[methods, "samples_f1"]):
        ax.text(value + 0.005, row, f"{value:.3f}", va="center", fontsize=6.5)
    if baseline is not None:
        baseline_line(ax, float(table.set_index("method").loc[baseline, "samples_f1"]),
                      label="trivial baseline (samples-F1)", orientation="v")
    ax.set_xlim(0, 1.04)  # bars start at 0: their lengths compare
    labels = [("≈ " if m in tied else "") + m for m in methods]
    ax.set_yticks(y, labels, fontsize=7.5 if len(methods) > 30 else 8)
    ax.invert_yaxis()
    ax.set(xlabel="score on out-of-fold validation rows (0-1)\nvalue shown: samples-F1",
           title="Fusion methods by samples-F1 (bold: chosen; ≈: tied with it)")
    legend_y = -0.6 / (row_height * len(methods) + 2.2) - 0.02
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, legend_y), ncol=2, fontsize=8)
    diff = t.loc[methods]
    err = np.vstack([diff["diff"] - diff["diff_low"], diff["diff_high"] - diff["diff"]])
    ax_diff.errorbar(diff["diff"], y, xerr=err, fmt="none", ecolor="0.4", capsize=2)
    sig = diff["significant"].astype(bool).to_numpy()
    is_ref = np.array([m == reference for m in methods])
    ax_diff.plot(diff["diff"][sig], y[sig], "o", color="C1", label="interval excludes 0")
    ax_diff.plot(diff["diff"][~sig & ~is_ref], y[~sig & ~is_ref], "o", color="C1", mfc="white",
                 label=INDISTINGUISHABLE)
    ax_diff.plot(np.zeros(int(is_ref.sum())), y[is_ref], "D", color="black", label="the reference itself")
    ax_diff.axvline(0, color="black", lw=0.8)
    if baseline is not None:
        base = table.set_index("method").loc[baseline]
        baseline_line(ax_diff, float(base["diff"]), label="trivial baseline", orientation="v")
    ax_diff.set(xlabel="samples-F1 minus the reference's\n(95 % paired bootstrap interval)",
                title=textwrap.fill(f"Difference to the reference: {reference}", 60))
    ax_diff.legend(loc="upper center", bbox_to_anchor=(0.5, legend_y), ncol=2, fontsize=8)
    for tick in ax.get_yticklabels():
        if tick.get_text().removeprefix("≈ ") == chosen:
            tick.set_fontweight("bold")
    fig.tight_layout()
    return fig


def fusion_finding(table: pd.DataFrame, chosen: str, image: str, text: str, reference: str, folds: int) -> str:
    """The chosen method, its gain over the better single model and over the reference, with the interval."""
    t = table.set_index("method")
    row = t.loc[chosen]
    better = image if t.loc[image, "samples_f1"] >= t.loc[text, "samples_f1"] else text
    best_single = float(t.loc[better, "samples_f1"])
    verdict = ("more than row noise" if row["significant"]
               else "an interval that contains 0: indistinguishable from the reference on these rows")
    return (f"Chosen by out-of-fold samples-F1 (the competition metric, {folds}-fold cross-fitting on the validation "
            f"rows): **{chosen}**, samples-F1 {row['samples_f1']:.3f}, micro-F1 {row['micro_f1']:.3f}, macro-F1 "
            f"{row['macro_f1']:.3f}; the better single model ({better}) reaches samples-F1 {best_single:.3f} "
            f"({row['samples_f1'] - best_single:+.3f}). Against the reference ({reference}) it gains "
            f"{row['diff']:+.3f} samples-F1 (95 % paired bootstrap {row['diff_low']:+.3f} to {row['diff_high']:+.3f}), "
            f"{verdict}." + tie_text(table.reset_index(drop=True), chosen))


def write_results_summary(path: str | Path, title: str, sections: Mapping[str, str | pd.DataFrame]) -> Path:
    """Markdown file with one section per entry: a generated paragraph or a table (rounded for reading)."""
    parts = [f"# {title}", ""]
    for heading, body in sections.items():
        parts += [f"## {heading}", ""]
        parts.append(markdown_table(readable(body)) if isinstance(body, pd.DataFrame) else str(body))
        parts.append("")
    return write_text(path, "\n".join(parts))


def _interval(row: pd.Series) -> str:
    return f"{row['diff']:+.3f} (95 % interval {row['diff_low']:+.3f} to {row['diff_high']:+.3f})"


def findings(table: pd.DataFrame, chosen: str, reference: str, baseline: str,
             row_pairs: Sequence[tuple[str, str, str]], joint_sources: Sequence[str],
             joint_vs_late: Mapping[str, float] | None, lambda_text: str, margin: float = 0.005) -> str:
    """Findings of notebook 05 from table11 (with intervals): chosen method, baseline, decision rule, joint model."""
    t = table.set_index("method")
    base = float(t.loc[baseline, "samples_f1"])
    parts = []
    ch = t.loc[chosen]
    parts.append(f"The final method is **{chosen}** (out-of-fold samples-F1 {ch['samples_f1']:.3f}); against the "
                 f"reference ({reference}, {t.loc[reference, 'samples_f1']:.3f}) it differs by {_interval(ch)}, "
                 + ("more than row noise." if ch["significant"] else "which the rows cannot tell from no difference.")
                 + tie_text(table, chosen))
    near = [m for m in t.index if m != baseline and t.loc[m, "samples_f1"] <= base + margin]
    listed = "; ".join(near[:6]) + (f"; and {len(near) - 6} more" if len(near) > 6 else "")
    parts.append(f"The trivial baseline scores samples-F1 {base:.3f}; "
                 + (f"{len(near)} method(s) score within {margin} of it or below, i.e. learned next to nothing: "
                    f"{listed}." if near else "every method scores clearly above it."))
    if row_pairs:
        plain = [t.loc[r, "samples_f1"] - t.loc[c, "samples_f1"] for c, r, _ in row_pairs]
        calibrated = [t.loc[k, "samples_f1"] - t.loc[c, "samples_f1"] for c, _, k in row_pairs]
        best_pair = max(row_pairs, key=lambda p: max(t.loc[p[1], "samples_f1"], t.loc[p[2], "samples_f1"]))
        best_row = max(t.loc[best_pair[1], "samples_f1"], t.loc[best_pair[2], "samples_f1"])
        parts.append(f"The per-row expected-F1 rule beats per-label cut-offs on samples-F1 for "
                     f"{sum(d > 0 for d in plain)} of {len(row_pairs)} combine rules as it is (mean change "
                     f"{sum(plain) / len(plain):+.3f}) and for {sum(d > 0 for d in calibrated)} after calibration "
                     f"(mean {sum(calibrated) / len(calibrated):+.3f}); its highest score comes with "
                     f"{best_pair[1].removesuffix(f' + {ROW_RULE}')} ({best_row:.3f}).")
    if joint_sources and joint_vs_late is not None:
        verdict = ("better" if joint_vs_late["low"] > 0 else "worse" if joint_vs_late["high"] < 0
                   else "indistinguishable from it (the interval contains 0)")
        parts.append(f"The best joint image-caption model ({joint_vs_late['joint']}, samples-F1 "
                     f"{joint_vs_late['joint_score']:.3f}) against the best late fusion ({joint_vs_late['late']}, "
                     f"{joint_vs_late['late_score']:.3f}): {joint_vs_late['diff']:+.3f} (95 % interval "
                     f"{joint_vs_late['low']:+.3f} to {joint_vs_late['high']:+.3f}), {verdict}.")
    parts.append(lambda_text)
    return " ".join(parts)


@dataclass
class MethodsComparison:
    """table11 and what it was computed from: the chosen method, every out-of-fold fit, their predictions."""

    table: pd.DataFrame
    chosen: FusionMethod
    crossfits: dict[str, CrossFit]
    predictions: dict[str, np.ndarray]


def fusion_methods_table(methods: Sequence[FusionMethod], y_true: np.ndarray, probabilities: Mapping[str, np.ndarray],
                         folds: Folds, baseline_pred: np.ndarray, n_boot: int, seed: int) -> MethodsComparison:
    """table11: every method cross-fitted, the chosen one (best out-of-fold samples-F1) also with its empty-row
    fallback toggled (not for the per-row rule, which never leaves a row empty), and the trivial baseline; with
    paired-bootstrap intervals against the reference."""
    table, crossfits = crossfit.compare_methods(methods, y_true, probabilities, folds)
    chosen = crossfit.best_method(table, methods, metric="samples_f1")
    parts = [table]
    if chosen.cutoffs != "row_f1":
        toggled_table, toggled_fits = crossfit.compare_methods([crossfit.toggled_fallback(chosen)], y_true,
                                                               probabilities, folds)
        parts.append(toggled_table)
        crossfits.update(toggled_fits)
    parts.append(pd.DataFrame([baseline_row(y_true, baseline_pred)]))
    predictions = {name: result.pred for name, result in crossfits.items()} | {BASELINE_NAME: baseline_pred}
    table11 = with_intervals(pd.concat(parts, ignore_index=True), y_true, predictions, reference=REFERENCE_NAME,
                             n_boot=n_boot, seed=seed)
    table11 = mark_ties(table11, chosen.name, y_true, predictions, n_boot=n_boot, seed=seed)
    return MethodsComparison(table11, chosen, crossfits, predictions)


TIE_COLUMN = "tied_with_chosen"
TIE_CANDIDATES = 12  # the methods nearest the chosen one's score that are tested for a tie


def mark_ties(table: pd.DataFrame, chosen: str, y_true: np.ndarray, predictions: Mapping[str, np.ndarray],
              n_boot: int, seed: int, metric: str = "samples_f1", top: int = TIE_CANDIDATES) -> pd.DataFrame:
    """table plus TIE_COLUMN: True for the methods among the `top` best whose paired-bootstrap interval of the
    difference to the chosen method contains 0 (a tie: the rows cannot order them); the chosen row is False."""
    out = table.copy()
    ranked = out.sort_values(metric, ascending=False)["method"].tolist()
    candidates = [m for m in ranked if m != chosen and m in predictions][:top]
    tied = {m for m in candidates
            if not paired_bootstrap(y_true, predictions[m], predictions[chosen], metric=metric, n_boot=n_boot,
                                    seed=seed)["significant"]}
    out[TIE_COLUMN] = out["method"].isin(tied)
    return out


def tie_text(table: pd.DataFrame, chosen: str) -> str:
    """A sentence naming the methods tied with the chosen one (empty when none is)."""
    if TIE_COLUMN not in table or not table[TIE_COLUMN].any():
        return ""
    tied = table[table[TIE_COLUMN]].sort_values("samples_f1", ascending=False)
    names = ", ".join(f"{m} ({v:.3f})" for m, v in zip(tied["method"][:5], tied["samples_f1"][:5]))
    more = f" and {len(tied) - 5} more" if len(tied) > 5 else ""
    return (f" It is **tied** with {len(tied)} other method(s) whose samples-F1 differs from it by an interval that "
            f"contains 0: {names}{more}. The choice among them is a coin toss on these rows, not a finding.")


def joint_versus_late(table11: pd.DataFrame, methods: Sequence[FusionMethod], joint_sources: Sequence[str],
                      y_true: np.ndarray, predictions: Mapping[str, np.ndarray], n_boot: int, seed: int
                      ) -> dict[str, Any] | None:
    """The best joint-model method against the best late fusion of the image model with a caption model (by out-of-fold
    samples-F1 in table11), with a paired bootstrap of their difference; None without joint models."""
    late = [m.name for m in methods if m.sources[0] == "image" and m.sources[1] in TEXT_SOURCES
            and m.combine not in ("image", "text")]
    joint = [m.name for m in methods if m.sources[0] in joint_sources]
    if not joint:
        return None
    t11 = table11.set_index("method")
    best_joint, best_late = t11.loc[joint, "samples_f1"].idxmax(), t11.loc[late, "samples_f1"].idxmax()
    return {"joint": best_joint, "late": best_late, "joint_score": t11.loc[best_joint, "samples_f1"],
            "late_score": t11.loc[best_late, "samples_f1"],
            **paired_bootstrap(y_true, predictions[best_joint], predictions[best_late], n_boot=n_boot, seed=seed)}


@dataclass
class FinalPerformance:
    """table10, table21 (budget), the predictor file written and whether its weights are float16, the size
    finding, and table10's validation predictions by row name."""

    table10: pd.DataFrame
    budget: pd.DataFrame
    predictor_file: Path
    half: bool
    size_text: str
    predictions: dict[str, np.ndarray]


def final_performance(paths: RunPaths, inputs: FusionInputs, comparison: MethodsComparison, final: FinalFusion,
                      joint: Mapping[str, JointOutcome], summaries: Mapping[str, Mapping[str, Any]],
                      baseline_pred: np.ndarray, n_boot: int, seed: int) -> FinalPerformance:
    """Build and write the predictor file, measure it (table21), and score every model and fusion with the size
    of the predictor each needs (table10: validation rows, fusions out of fold; one size measurement for both).

    The file keeps float32 weights when they fit the budget, else float16.
    """
    chosen, crossfits = comparison.chosen, comparison.crossfits
    model_of, joint_names = model_artifacts(joint, "encoder" in inputs.val), list(joint)
    parts = handoff_parts(paths, summaries, model_of, sources=list(model_of))
    predictor = parts.predictor_file(final.fitted, description=f"{chosen.name}: {chosen.describe()}")
    budget = size_budget.with_total(size_budget.predictor_components(predictor))
    half = not size_budget.fits_at_float32(budget)  # float16 only when float32 does not fit
    path = save_predictor(predictor_path(paths), predictor.to_state(), half=half)
    reference = crossfits[REFERENCE_NAME]
    val_pred = {"image model": binarize(inputs.val_image), "text model": binarize(inputs.val_text)}
    encoder_rows = {ENCODER_ROW: "encoder"} if "encoder" in inputs.val else {}
    val_pred |= {row: binarize(inputs.val[source]) for row, source in encoder_rows.items()}
    val_pred |= {name: binarize(inputs.val[name]) for name in joint_names}
    val_pred |= {"reference fusion": reference.pred, "final fusion": crossfits[chosen.name].pred,
                 BASELINE_NAME: baseline_pred}
    sources = {"image model": ["image"], "text model": ["text"], "reference fusion": ["image", "text"]}
    sources |= {row: [source] for row, source in encoder_rows.items()}
    sources |= {name: [name] for name in joint_names}
    components = {row: [model_of[s] for s in needed] for row, needed in sources.items()}
    components["final fusion"] = [model_of[s] for s in sources_needed(chosen)]
    sizes = {row: size_budget.predictor_size(parts.predictor_file(final.fitted, needed))
             for row, needed in sources.items()}
    sizes["final fusion"] = size_budget.predictor_size(predictor)  # the file written: table21's total
    lambdas = {"image model": "1 (image only)", "text model": "0 (text only)",
               "reference fusion": ", ".join(describe_lambda(f.lam) for f in reference.fits) + " (one per fold)",
               "final fusion": describe_fusion(chosen, final)} | {name: "none (one joint network)"
                                                                  for name in joint_names}
    lambdas |= {row: "0 (caption encoder only)" for row in encoder_rows}
    table10 = ensemble_performance_table(
        {name: multilabel_scores(inputs.Y_val, pred) for name, pred in val_pred.items()}, components, summaries,
        sizes, lambdas, {"final fusion": (final.fit_s, final.apply_s)})
    table10 = with_intervals(table10, inputs.Y_val, val_pred, reference="reference fusion", n_boot=n_boot,
                             seed=seed, key="model")
    size_text = (f"{size_budget.budget_finding(budget)} The predictor file `{path.name}` takes "
                 f"{path.stat().st_size / 1e6:.3g} MB on disk ({'float16' if half else 'float32'} weights).")
    return FinalPerformance(table10, budget, path, half, size_text, val_pred)


def model_artifacts(joint: Mapping[str, JointOutcome], encoder: bool = False) -> dict[str, str]:
    """{probability source: the artifact (summary, history) name of its model}: "image" -> "cnn", "text" -> "lstm",
    "encoder" -> "encoder" (when notebook 04 handed one over) and each joint model's source name ->
    joint_<fusion module> (its summary's "artifact" when it names one: a fusion module refitted on validation)."""
    return ({"image": "cnn", "text": "lstm"} | ({"encoder": "encoder"} if encoder else {})
            | {name: o.summary.get("artifact", artifact_name(o.model.config.fusion)) for name, o in joint.items()})


def summary_sections(run_description: Mapping[str, Any], chosen: FusionMethod, final: FinalFusion,
                     summaries: Mapping[str, Mapping[str, Any]], texts: Mapping[str, str],
                     tables: Mapping[str, pd.DataFrame]) -> dict[str, str | pd.DataFrame]:
    """The results summary's sections, in order: the configuration that produced every number, then the findings
    and tables (texts: found, lambda, fusion, size, reproduce, per_label, training, gallery, pr; tables:
    table10, table11, budget, and table22 when the submission was scored).

    run_description: {"data", "data fingerprint", "profile", "seed", "cross-fitting folds", "bootstrap resamples"}.
    """
    lstm = summaries["lstm"]
    config = {**run_description, "chosen method": f"{chosen.name}: {chosen.describe()}",
              "λ": describe_lambda(final.fitted.lam), "image model": summaries["cnn"].get("model"),
              "text model": lstm.get("description", lstm.get("model")),
              **({"caption encoder": summaries["encoder"].get("description")} if "encoder" in summaries else {})}
    if is_demo_data(run_description.get("data")):
        config["comparability"] = DEMO_SENTENCE
    sections: dict[str, str | pd.DataFrame] = {
        "Configuration": "\n".join(f"- **{key}**: {value}" for key, value in config.items()),
        "What we found": texts["found"],
        "Final performance (table10, validation rows; fusions out of fold)": tables["table10"],
        "Fusion methods (table11, out of fold)": tables["table11"].drop(columns="rule"),
        "Reference λ sweep (table05)": texts["lambda"],
        "Fusion choice": texts["fusion"],
        "Size budget (table21)": tables["budget"],
        "Size": texts["size"],
        "Predictor file": texts["reproduce"],
        "Per-label F1 (fig20)": texts["per_label"],
        "Training curves (fig21)": texts["training"],
        "Gallery (fig22)": texts["gallery"],
        "Precision-recall (fig23)": texts["pr"],
    }
    if tables.get("table22") is not None:
        sections["Submission scored against test_labels.csv (table22)"] = tables["table22"]
    return sections


def lambda_sweep_table(y_true: np.ndarray, image: np.ndarray, text: np.ndarray, baseline_pred: np.ndarray,
                       n_boot: int, seed: int) -> pd.DataFrame:
    """table05: every λ of the reference's average (cut-off 0.5) and the trivial baseline, with paired-bootstrap
    intervals against λ = 0.5 (the reference's middle value)."""
    sweep = rules.lambda_sweep(y_true, image, text)
    sweep.insert(0, "method", [f"λ={lam:g}" for lam in sweep["lambda"]])
    predictions = {f"λ={lam:g}": pred for lam, pred in rules.sweep_predictions(image, text).items()}
    predictions[BASELINE_NAME] = baseline_pred
    baseline = pd.DataFrame([baseline_row(y_true, baseline_pred)])[["method", *multilabel_scores(y_true,
                                                                                                 baseline_pred)]]
    table = pd.concat([sweep, baseline], ignore_index=True)
    return with_intervals(table, y_true, predictions, reference="λ=0.5", n_boot=n_boot, seed=seed)


def joint_convergence(outcome: JointOutcome) -> str:
    """"stopped early" (patience ran out on a validation plateau) or "unconverged (epoch cap N)"."""
    if outcome.fit.stopped_early:
        return "stopped early"
    return f"unconverged (epoch cap {len(outcome.fit.history)}, best epoch {outcome.fit.best_epoch})"


def joint_table(joint: Mapping[str, JointOutcome]) -> pd.DataFrame:
    """One row per joint model: fusion module, epochs run, best epoch, its validation micro-F1, time, parameters,
    and whether its training stopped on a plateau or at the epoch cap."""
    return pd.DataFrame([{"model": name, "fusion module": o.model.config.fusion, "epochs run": len(o.fit.history),
                          "best epoch": o.fit.best_epoch, "val micro-F1 (cut-off 0.5)": o.fit.best_val_micro_f1,
                          "train_time_s": o.fit.train_time_s, "parameters": count_parameters(o.model),
                          "convergence": joint_convergence(o), "run": o.fit.status} for name, o in joint.items()])


def submit(performance: FinalPerformance, final: FinalFusion, method: str, data_dir: Path, submission: Path,
           fused_ids: Sequence[str], test_ids: Sequence[str], test_Y: np.ndarray | None, device: Any
           ) -> pd.DataFrame | None:
    """Write the submission and, when the test labels are known, score it (table22; else None).

    The submission is what the predictor file predicts from test.csv and the images: the file a user takes away
    is the one that made it. The notebooks' own test probabilities differ from the file's by arithmetic noise
    (bfloat16 inference takes other kernel paths in the pipeline's batched feature extraction than in the file's
    image loop, up to 0.005 in a probability here; float16 weights move more), which can carry a near-tie across
    its cut-off on a row or two; final.test_pred is compared with it in `pipeline_agreement`.
    fused_ids: the ImageIDs of final.test_pred's rows; test_ids: test.csv's, in its order (the submission's).
    """
    label_csv(Predictor.load(performance.predictor_file), data_dir, submission, device=device)
    if test_Y is None:
        return None
    scores = score_submission(submission, test_ids, test_Y)
    return pd.DataFrame([{"file": submission.name, "method": method, **scores}])


def pipeline_agreement(final: FinalFusion, fused_ids: Sequence[str], submission: Path) -> int:
    """Test rows on which the notebook's own fused predictions (final.test_pred, rows named by fused_ids) give other
    labels than the submission, which the predictor file wrote (`submit`)."""
    written = read_labels_csv(submission).set_index("ImageID")["Labels"]  # any row order
    mine = submission_table(fused_ids, final.test_pred).set_index("ImageID")["Labels"]
    return int((written.loc[mine.index] != mine).sum())


def reproduction_finding(predictor_file: Path, submission: Path, differ: pd.DataFrame, n_rows: int,
                         pipeline_differs: int | None = None) -> str:
    """Whether the predictor file, loaded back, reproduces the submission row for row, and (pipeline_differs) on how
    many rows the notebook's own fused test predictions differ from it."""
    if differ.empty:
        text = f"`{predictor_file.name}`, loaded back, reproduces `{submission.name}` row for row ({n_rows} rows)."
    else:
        text = (f"`{predictor_file.name}` gives other labels than `{submission.name}` on {len(differ)} of {n_rows} "
                "rows.")
    if pipeline_differs is not None:
        text += (f" The submission is the file's own prediction; the notebooks' fused test predictions, from "
                 f"probabilities computed along the pipeline's batched path, give other labels on {pipeline_differs}"
                 f" of {n_rows} rows (arithmetic noise carrying near-ties across a cut-off)."
                 if pipeline_differs else " The notebooks' fused test predictions give the same labels on every row.")
    return text
