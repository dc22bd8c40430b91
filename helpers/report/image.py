"""Notebook 03's report: its tables, figures and generated findings about the image models.

Tables: cached features, how each architecture is built (table06), what it scores and costs (table07),
the backbone comparison (table27); each score table carries the trivial baseline as a row. Figures:
validation F1 per head epoch (fig18), architectures A and B side by side (fig25), the backbone comparison
(fig27); every score axis shows the trivial baseline as a dashed line and is never zoomed below
helpers.report.ablations.MIN_SCORE_SPAN, so seed noise does not look like an effect. Findings
(`*_finding`, `findings`) are sentences generated from the computed numbers, never typed by hand.
"""
from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullFormatter

from helpers.core.metrics import BASELINE_NAME, METRIC_TITLES, baseline_prediction, multilabel_scores, scores_at_cutoff
from helpers.core.profiles import describe_reductions
from helpers.engine.fit import TrainConfig
from helpers.models.weights import MB, count_parameters
from helpers.report.ablations import MIN_SCORE_SPAN, paired_finding, plot_seed_boxes, spread_finding, sweep_finding
from helpers.report.figures import baseline_line
from helpers.train.head_experiments import HeadTrainer
from helpers.train.image_data import FeatureSet
from helpers.train.image_training import ModelOutcome, ReferenceWayTiming

if TYPE_CHECKING:
    from helpers.run import Run

REFERENCE_WAY = "B, backbone run every epoch (reference's way)"
SCORE_COLUMNS = ("val_micro_f1", "val_samples_f1", "val_macro_f1")


def baseline_scores(Y_train: np.ndarray, y_true: np.ndarray) -> dict[str, float]:
    """Every metric of the trivial baseline (the training rows' most frequent label set) on y_true's rows."""
    return multilabel_scores(y_true, baseline_prediction(Y_train, len(y_true)))


def weights_label(outcome: ModelOutcome) -> str:
    """What the model's weights started from, in words."""
    if outcome.trained_from_scratch:
        return "trained from scratch"
    return "pretrained (ImageNet)" if outcome.pretrained else "random init, frozen"


def feature_table(features: dict[str, FeatureSet]) -> pd.DataFrame:
    """One row per image set: how many images, whether read from the cache, extraction seconds and rate."""
    return pd.DataFrame([{"image set": name, "images": len(fs.image_ids), "from cache": fs.from_cache,
                          "extraction time (s)": fs.extract_s, "images per second": fs.images_per_s,
                          "cache file": fs.path.name} for name, fs in features.items()])


def cnn_performance_table(outcomes: Sequence[ModelOutcome], Y_train: np.ndarray, val_y: np.ndarray,
                          test_y: np.ndarray | None, reference_train_s: float | None = None,
                          reference_note: str = "", asked_for: str = "") -> pd.DataFrame:
    """table07: every metric (validation, and test where labels exist), training / testing time, size, whether
    the run converged; the trivial baseline as the first row and, when timed, architecture B the reference's way
    (extrapolated). asked_for (BackboneChoice.requested): the backbone asked for, beside what was trained."""
    base: dict[str, Any] = {"model": BASELINE_NAME, "weights": "none (predicts one label set)",
                            "pretrained_weights": False, "cutoff": np.nan}
    base.update({f"val_{k}": v for k, v in baseline_scores(Y_train, val_y).items()})
    if test_y is not None:
        base.update({f"test_{k}": v for k, v in baseline_scores(Y_train, test_y).items()})
    rows = [base]
    for o in outcomes:
        row: dict[str, Any] = {"model": o.name, "weights": weights_label(o), "pretrained_weights": o.pretrained,
                               "cutoff": o.cutoff}
        if asked_for:
            row["backbone asked for"] = asked_for
        row.update({f"val_{k}": v for k, v in scores_at_cutoff(val_y, o.val_probs, o.cutoff).items()})
        if test_y is not None:
            row.update({f"test_{k}": v for k, v in scores_at_cutoff(test_y, o.test_probs, o.cutoff).items()})
        row.update({"train_time_s": o.train_time_s, "test_time_s": o.test_time_s, "size_mb": o.size_bytes / MB,
                    "extrapolated": False, "convergence": o.convergence, "note": o.train_time_note})
        rows.append(row)
    if reference_train_s is not None:
        b = next(o for o in outcomes if o.arch == "B")
        rows.append({"model": REFERENCE_WAY, "weights": weights_label(b), "pretrained_weights": b.pretrained,
                     "train_time_s": reference_train_s, "size_mb": b.size_bytes / MB, "extrapolated": True,
                     "note": reference_note})
    return pd.DataFrame(rows)


def cnn_design_table(outcomes: Sequence[ModelOutcome], asked_for: str = "") -> pd.DataFrame:
    """table06: how each architecture is built and trained; asked_for (BackboneChoice.requested): the backbone asked
    for, beside the one trained ("backbone")."""
    rows = []
    for o in outcomes:
        c, t = o.config, o.train_config
        head = (" -> ".join(map(str, [o.feature_dim, *c.head_hidden, 18])) + f", ReLU, dropout {c.head_dropout}"
                if o.arch == "B" else "classifier replaced by an 18-way layer")
        rows.append({
            "model": o.name, **({"backbone asked for": asked_for} if asked_for else {}), "backbone": c.backbone,
            "weights": weights_label(o), "pretrained_weights": o.pretrained,
            "head": head, "trainable_parameters": count_parameters(o.model, trainable_only=True),
            "total_parameters": count_parameters(o.model), "image_size_px": c.image_size,
            "preprocessing": c.preprocessing, "augmentation": c.augment,
            "optimizer": t.optimizer, "schedule": t.schedule, "loss": t.loss,
            "learning_rate": t.lr, "epochs": t.epochs, "best_epoch": o.fit.best_epoch,
            "batch_size": o.batch_size, "cutoff": t.cutoff,
            "train_rows": "all" if o.train_rows is None else o.train_rows,
        })
    return pd.DataFrame(rows)


def backbone_table(compare: pd.DataFrame, baseline: dict[str, float]) -> pd.DataFrame:
    """table27: one row per backbone (scores: mean over seeds, with the range over seeds), the baseline first."""
    keep = ["weights", "pretrained_weights", "feature_dim", "parameters", "float32_MB", "float16_MB",
            "features_per_s", "forward_per_s", "extraction_over_forward", "head_train_rows"]
    keep += [c for c in ("train_s", "convergence", "vs_profile_diff", "vs_profile_low", "vs_profile_high",
                         "vs_profile_real") if c in compare]  # the from-scratch comparison's own columns
    grouped = compare.groupby("backbone", sort=False)
    table = grouped[keep].first()
    for column in SCORE_COLUMNS:
        table[column] = grouped[column].mean()
        table[f"{column}_seed_range"] = grouped[column].max() - grouped[column].min()
    table["seeds"] = grouped["seed"].nunique()
    table = table.reset_index()
    base = {"backbone": BASELINE_NAME, "weights": "none", **{c: baseline[c.removeprefix("val_")]
                                                              for c in SCORE_COLUMNS}}
    return pd.concat([pd.DataFrame([base]), table], ignore_index=True)


BUDGET_MB = 100.0  # the assignment's limit on the stored model


def _score_ylim(ax: plt.Axes, values: list[float]) -> None:
    values = [v for v in values if np.isfinite(v)]
    if not values:
        return
    low, high = min(values), max(values)
    pad = max(MIN_SCORE_SPAN - (high - low), 0) / 2 + 0.05
    ax.set_ylim(max(0.0, low - pad), min(1.0, high + pad) if high + pad > 0.2 else 0.2)


def _plain_number(value: float, _pos: int | None = None) -> str:
    """Seconds without scientific notation: 12,345 / 123 / 1.2 / 0.12."""
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}" if value >= 1 else f"{value:.2g}"


def plateau_start(curves: pd.DataFrame) -> tuple[int, int, float]:
    """(first epoch on the plateau, best mean epoch, seed noise): the plateau starts at the first epoch whose mean
    validation micro-F1 over seeds is within the seed noise of the best mean (the noise: the min-max spread over
    seeds at the best epoch; with one seed, the mean epoch-to-epoch change over the last quarter of the curve)."""
    stats = curves.groupby("epoch")["val_micro_f1"].agg(["mean", "min", "max"])
    best = int(stats["mean"].idxmax())
    if curves["seed"].nunique() > 1:
        noise = float(stats.loc[best, "max"] - stats.loc[best, "min"])
    else:
        tail = stats["mean"].iloc[-max(len(stats) // 4, 2):]
        noise = float(tail.diff().abs().mean()) if len(tail) > 1 else 0.0
    start = int(stats.index[(stats["mean"] >= stats["mean"].max() - noise).to_numpy()].min())
    return start, best, noise


def plot_epoch_curves(curves: pd.DataFrame, title: str, baseline: float) -> plt.Figure:
    """Validation micro-F1 per epoch: mean over seeds with the min-max band, each seed thinly, the baseline, the
    best mean epoch and where the plateau within the seed noise of it starts (plateau_start)."""
    fig, ax = plt.subplots(figsize=(7.5, 4.4))
    stats = curves.groupby("epoch")["val_micro_f1"].agg(["mean", "min", "max"])
    ax.fill_between(stats.index, stats["min"], stats["max"], color="tab:blue", alpha=0.3, lw=0,
                    label=f"min-max over {curves['seed'].nunique()} seeds" if curves["seed"].nunique() > 1
                    else "one seed (no band)")
    for seed, part in curves.groupby("seed"):
        ax.plot(part["epoch"], part["val_micro_f1"], lw=0.7, alpha=0.6, label=f"seed {seed}")
    ax.plot(stats.index, stats["mean"], color="black", lw=1.8, label="mean over seeds")
    start, best, noise = plateau_start(curves)
    ax.axvline(start, color="tab:green", ls="--", lw=1.2, label=f"plateau starts (epoch {start}: within {noise:.3f})")
    ax.axvline(best, color="tab:red", ls=":", lw=1.2, label=f"best mean epoch ({best})")
    baseline_line(ax, baseline)
    _score_ylim(ax, [*curves["val_micro_f1"], baseline])
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(f"validation {METRIC_TITLES['micro_f1']}")
    ax.set_title(title)
    fig.tight_layout()
    fig.legend(*ax.get_legend_handles_labels(), loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=3,
               frameon=False, fontsize=8)
    return fig


def plot_architectures(table: pd.DataFrame, baseline: float) -> plt.Figure:
    """fig25: validation micro-F1 (with the baseline), training time (log scale; the extrapolated reference bar
    hatched and labelled), and the size of each distinct model (B trained either way is one model)."""
    models = table[table["pretrained_weights"].notna() & table["train_time_s"].notna()]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.8))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    wrap = lambda names: [textwrap.fill(str(m), 20) for m in names]  # noqa: E731

    scored = models[models["val_micro_f1"].notna()]
    ax = axes[0]
    bars = ax.bar(range(len(scored)), scored["val_micro_f1"], color=colors[:len(scored)])
    ax.bar_label(bars, labels=[f"{v:.3f}" for v in scored["val_micro_f1"]], fontsize=8)
    baseline_line(ax, baseline)
    _score_ylim(ax, [0.0, *scored["val_micro_f1"], baseline])
    ax.set_xticks(range(len(scored)), wrap(scored["model"]), fontsize=8)
    ax.set_ylabel(f"validation {METRIC_TITLES['micro_f1']}")
    ax.set_title("validation micro-F1")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.22), frameon=False)  # below, off the bars

    ax = axes[1]  # times span decades: points on a log axis (a bar from an arbitrary log base has no meaning)
    times = models["train_time_s"].to_numpy(dtype=float)
    extrapolated = models["extrapolated"].fillna(False).to_numpy(dtype=bool)
    for i, (t, extra) in enumerate(zip(times, extrapolated, strict=True)):
        ax.plot([i, i], [times.min() / 3, t], color=colors[i % len(colors)], lw=2, alpha=0.5 if extra else 1)
        ax.plot(i, t, "o", ms=9, color=colors[i % len(colors)], mfc="white" if extra else colors[i % len(colors)])
        ax.annotate(_plain_number(t) + (" s (extrapolated)" if extra else " s"), (i, t), textcoords="offset points",
                    xytext=(0, 8), ha="center", fontsize=8)
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: _plain_number(v) + " s"))
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_ylim(times.min() / 3, times.max() * 6)
    ax.set_xlim(-0.5, len(times) - 0.5)
    ax.set_xticks(range(len(times)), wrap(models["model"]), fontsize=8)
    ax.set_ylabel("training time (log scale)")
    ax.set_title("training time" + (" (hollow: timed on a few images, extrapolated)" if extrapolated.any() else ""),
                 fontsize=10)

    ax = axes[2]
    sizes = models.drop_duplicates("size_mb")
    bars = ax.bar(range(len(sizes)), sizes["size_mb"], color=colors[:len(sizes)])
    ax.bar_label(bars, labels=[f"{v:.1f} MB" if v >= 1 else f"{v:.2f} MB" for v in sizes["size_mb"]], fontsize=8)
    ax.set_xticks(range(len(sizes)), wrap(sizes["model"]), fontsize=8)
    ax.set_ylabel("model size (MB, float32)")
    ax.set_title("size of each distinct model (float32)")
    ax.margins(y=0.2)
    fig.suptitle("Image models: architecture A (every weight trained) vs B (frozen backbone + 3 FC layers)")
    fig.tight_layout()
    return fig


def from_scratch_comparison(table: pd.DataFrame) -> bool:
    """Whether a backbone comparison holds from-scratch networks (no pretrained weights) rather than registry
    backbones."""
    if "weights" not in table:
        return False
    weights = table["weights"].dropna().astype(str)
    weights = weights[weights != "none"]
    return bool(len(weights)) and bool(weights.str.contains("trained from scratch").all())


def scratch_comparison_finding(compare: pd.DataFrame, baseline: float) -> str:
    """The from-scratch comparison in words: each network against the baseline and, by a paired bootstrap over the
    validation rows, against the profile's network (real only when the interval excludes zero)."""
    parts = ["No pretrained weights here, so the comparison trains small ResNets of a few widths and depths from "
             "scratch (short runs, the same rows and seed); with weights, the registry's pretrained backbones are "
             "compared instead."]
    for _, row in compare.iterrows():
        text = (f"{row['backbone']}: validation micro-F1 {row['val_micro_f1']:.4f} "
                f"({row['val_micro_f1'] - baseline:+.4f} against the baseline), {row['train_s']:.0f} s, "
                f"{row['convergence']}")
        if "profile's network" not in row["backbone"]:
            verdict = "a real difference" if row["vs_profile_real"] else "indistinguishable"
            text += (f"; against the profile's network {row['vs_profile_diff']:+.4f} (95 % paired-bootstrap interval "
                     f"{row['vs_profile_low']:+.4f} to {row['vs_profile_high']:+.4f}: {verdict})")
        parts.append(text + ".")
    return " ".join(parts)


def plot_backbones(table: pd.DataFrame, baseline: dict[str, float]) -> plt.Figure:
    """fig27: architecture-B validation scores per backbone (mean, range over seeds, baseline), size at float32 and
    float16 against the 100 MB budget, and features per second."""
    rows = table[table["parameters"].notna()]
    x = np.arange(len(rows))
    scratch = from_scratch_comparison(rows)
    names = [textwrap.fill(b if scratch else f"{b}\n({'pretrained' if p else 'random init'})", 18)
             for b, p in zip(rows["backbone"], rows["pretrained_weights"], strict=True)]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.8))
    ax = axes[0]
    for k, (metric, offset) in enumerate((("micro_f1", -0.2), ("macro_f1", 0.2))):
        column = f"val_{metric}"
        one_run = bool((table["seeds"].dropna() <= 1).all()) if "seeds" in table else False
        ax.bar(x + offset, rows[column], width=0.4, yerr=None if one_run else rows[f"{column}_seed_range"] / 2,
               capsize=3, color=f"C{k}", label=f"{METRIC_TITLES[metric]}"
               + (" (one run each)" if one_run else " (mean; bar: range over seeds)"))
        baseline_line(ax, baseline[metric], label=f"trivial baseline, {METRIC_TITLES[metric]}")
        ax.lines[-1].set_color(f"C{k}")
    _score_ylim(ax, [0.0, *rows["val_micro_f1"], *rows["val_macro_f1"], baseline["micro_f1"]])
    ax.set_xticks(x, names, fontsize=8)
    ax.set_ylabel("validation score")
    ax.set_title("each network trained from scratch (architecture A, short runs)" if scratch
                 else "architecture B on each backbone", fontsize=10)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, frameon=False)
    ax = axes[1]
    ax.bar(x - 0.2, rows["float32_MB"], width=0.4, label="float32")
    ax.bar(x + 0.2, rows["float16_MB"], width=0.4, label="float16")
    ax.axhline(BUDGET_MB, color="tab:red", ls="--", lw=1, label=f"budget ({BUDGET_MB:g} MB)")
    ax.set_xticks(x, names, fontsize=8)
    ax.set_ylabel("model size (MB)")
    ax.set_title("size (backbone + head)")
    ax.legend(fontsize=8)
    ax = axes[2]  # the bare forward beside the whole extraction: a network slow in both is slow itself
    bars = ax.bar(x - 0.2, rows["forward_per_s"], width=0.4, color="C4", label="bare forward pass")
    ax.bar_label(bars, labels=[f"{v:,.0f}" for v in rows["forward_per_s"]], fontsize=7)
    if rows["features_per_s"].notna().any():
        bars = ax.bar(x + 0.2, rows["features_per_s"], width=0.4, color="C2", label="decode + forward")
        ax.bar_label(bars, labels=[f"{v:,.0f}" for v in rows["features_per_s"]], fontsize=7)
    ax.set_xticks(x, [f"{n}\n{p / 1e6:.1f} M params" if p >= 1e6 else f"{n}\n{p / 1e3:.0f} k params"
                      for n, p in zip(names, rows["parameters"], strict=True)], fontsize=8)
    ax.set_ylabel("images per second")
    ax.set_title("speed on this machine (speed is not size: e.g. depthwise\nconvolutions run slowly on CPUs)",
                 fontsize=9)
    ax.legend(fontsize=8)
    ax.margins(y=0.15)
    fig.suptitle("Backbone comparison without pretrained weights: small ResNets trained from scratch\n"
                 "(the registry's pretrained backbones are compared when their weights are available)" if scratch
                 else "Backbone comparison (torchvision registry)", fontsize=10 if scratch else 12)
    fig.tight_layout()
    return fig


RATIO_OK = 0.8  # extraction pipeline / bare forward at or above this: decoding keeps up with the backbone


def curve_finding(curves: pd.DataFrame, baseline: float) -> str:
    """Where the mean validation curve reaches its plateau and peaks, against the baseline and the seed noise."""
    stats = curves.groupby("epoch")["val_micro_f1"].agg(["mean", "min", "max"])
    start, best, noise = plateau_start(curves)
    last = int(stats.index.max())
    where = (f"at the last epoch ({last}), so the curve is unconverged: more epochs might still help" if best == last
             else f"at epoch {best} of {last}, but from epoch {start} on the mean is within the seed noise "
                  f"({noise:.4f}) of that peak: the plateau starts at epoch {start}, and the epochs after it are "
                  "indistinguishable")
    versus = "above" if stats["mean"].max() > baseline else "not above"
    return (f"Mean validation micro-F1 peaks at {stats['mean'].max():.4f} {where}; it is {versus} the trivial "
            f"baseline ({baseline:.4f}).")


def throughput_finding(throughput: pd.DataFrame) -> str:
    """Whether image decoding keeps up with the backbone, and why not when it does not."""
    row = throughput.iloc[0]
    ratio = float(row["pipeline / forward"])
    text = (f"The extraction pipeline runs at {row['extraction pipeline (img/s)']:,.0f} images/s in its steady state "
            f"against {row['bare forward (img/s)']:,.0f} for the bare {row['backbone']} forward (ratio {ratio:.2f}; "
            f"{row['pipeline start-up (s)']:.1f} s of start-up measured apart).")
    if ratio >= RATIO_OK:
        return text + " Decoding keeps up: the backbone is the bottleneck."
    workers = int(row["DataLoader workers"])
    where = (f"its {workers} DataLoader workers share the machine's cores with the model's "
             f"{int(row['CPU threads'])} compute threads" if workers else
             "it runs in the main process, between forward passes")
    return text + (f" Below {RATIO_OK}, decoding (JPEG decode, resize, normalise) is the bottleneck, not the "
                   f"backbone: at {int(row['image size (px)'])} px a forward pass of {row['backbone']} is cheap, and "
                   f"{where}. A heavier backbone, larger images, more cores or a GPU for the model bring the ratio "
                   "towards 1; architecture B pays this cost once per image, since its features are cached.")


def findings(performance: pd.DataFrame, throughput: pd.DataFrame, curves: pd.DataFrame,
                  sweeps: dict[str, str], backbones: pd.DataFrame | None, pretrained: bool, recipe: str) -> str:
    """The closing paragraph of notebook 03, built from its tables."""
    base = performance.iloc[0]
    models = performance[(performance["model"] != REFERENCE_WAY) & performance["cutoff"].notna()]
    best = models.loc[models["val_micro_f1"].idxmax()]
    parts = []
    if pretrained:
        parts.append("The backbone started from ImageNet weights.")
    else:
        parts.append(f"No pretrained weights were available, so the image model was trained from scratch: {recipe}.")
    for _, m in models.iterrows():
        lift = {k: m[f"val_{k}"] - base[f"val_{k}"] for k in ("micro_f1", "macro_f1")}
        unconverged = str(m.get("convergence", "")).startswith("unconverged")
        name = f"{m['model']} ({m['convergence']})" if unconverged else m["model"]
        parts.append(f"{name} reaches validation micro-F1 {m['val_micro_f1']:.4f} / macro-F1 "
                     f"{m['val_macro_f1']:.4f}, {lift['micro_f1']:+.4f} / {lift['macro_f1']:+.4f} against the trivial "
                     f"baseline ({base['val_micro_f1']:.4f} / {base['val_macro_f1']:.4f})"
                     + (" — no better than predicting the most frequent label set." if lift["micro_f1"] <= 0.005
                        else "."))
    parts.append(f"The best on validation is {best['model']}, which is handed to notebook 05.")
    reference = performance[performance["model"] == REFERENCE_WAY]
    b = models[models["model"].str.startswith("B")]
    if len(reference) and len(b):
        ratio = float(reference["train_time_s"].iloc[0] / b["train_time_s"].iloc[0])
        parts.append(f"Caching the frozen backbone's features makes architecture B's training {ratio:,.0f} times "
                     f"faster than running the backbone every epoch (that time is extrapolated from a few images).")
    parts.append(curve_finding(curves, float(base["val_micro_f1"])))
    parts += list(sweeps.values())
    if backbones is not None and len(backbones) > 1 and from_scratch_comparison(backbones):
        rows = backbones[backbones["parameters"].notna()]
        top = rows.loc[rows["val_micro_f1"].idxmax()]
        parts.append(f"Among the from-scratch networks of the backbone comparison (short runs), {top['backbone']} "
                     f"scores best ({METRIC_TITLES['micro_f1']} {top['val_micro_f1']:.4f}, baseline "
                     f"{base['val_micro_f1']:.4f}); table27 says which differences a paired bootstrap supports.")
    elif backbones is not None and len(backbones) > 1:
        rows = backbones[backbones["parameters"].notna()]
        top = rows.loc[rows["val_micro_f1"].idxmax()]
        weights = "pretrained" if rows["pretrained_weights"].all() else "random-initialised (no weights offline)"
        parts.append(f"Among the compared backbones ({weights}), {top['backbone']} scores best with architecture B "
                     f"({METRIC_TITLES['micro_f1']} {top['val_micro_f1']:.4f}, baseline "
                     f"{base['val_micro_f1']:.4f}); frozen random features carry little information, so without "
                     "weights this comparison measures size and speed more than quality.")
    parts.append(throughput_finding(throughput))
    return " ".join(parts)


def settings_summary(run: Run, baseline: dict[str, float]) -> str:
    """Notebook 03's opening: the profile's reductions, the row counts and the trivial baseline's validation scores."""
    rows, val_rows = run.split
    return (f"{describe_reductions(run.profile, 'cnn')}\n\n"
            f"{len(rows)} training rows, {len(val_rows)} validation rows, {len(run.dataset.test)} test rows. "
            f"{BASELINE_NAME}: validation micro-F1 {baseline['micro_f1']:.4f}, macro-F1 {baseline['macro_f1']:.4f}.")


def backbone_spread_finding(compare: pd.DataFrame) -> str:
    """Whether the compared backbones' validation micro-F1 differ by more than the seeds do."""
    tidy = (compare.melt(id_vars=["backbone", "seed"], value_vars=["val_micro_f1"], var_name="metric")
            .rename(columns={"backbone": "setting"}).assign(metric="micro_f1"))
    return spread_finding(tidy, "micro_f1")


def backbone_finding(compare: pd.DataFrame, baseline: dict[str, float]) -> str:
    """The backbone comparison's finding: the from-scratch networks against the baseline and the profile's network
    (paired bootstrap), or the registry backbones' spread over seeds."""
    if from_scratch_comparison(compare):
        return scratch_comparison_finding(compare, baseline["micro_f1"])
    return backbone_spread_finding(compare)


def reference_way_finding(timing: ReferenceWayTiming, model_b: ModelOutcome) -> str:
    """Architecture B as trained here against the reference's way (extrapolated), in two lines."""
    backbone = f" + {timing.backbone_train_s:.0f} s of backbone training" if timing.backbone_train_s else ""
    return (f"B as cached here: {model_b.train_time_s:.1f} s ({model_b.train_time_note})\n"
            f"B the reference's way: {timing.epoch_s:.1f} s per epoch x {timing.epochs} epochs{backbone} = "
            f"{timing.train_s:,.0f} s (timed on {timing.timed_images} images, extrapolated), "
            f"{timing.train_s / model_b.train_time_s:,.0f}x slower")


@dataclass
class HeadSweeps:
    """Notebook 03's head sweeps: each one's figure (seed boxes), its paired bootstrap against the reference setting
    over the validation rows, and its finding, kept in `findings` for the notebook's summary."""

    run: Run
    trainer: HeadTrainer
    seeds: tuple[int, ...]
    baseline: dict[str, float]  # the trivial baseline's validation scores
    findings: dict[str, str] = field(default_factory=dict)

    @property
    def baseline_pred(self) -> np.ndarray:
        """The trivial baseline's prediction of the validation rows (the training rows' most frequent label set)."""
        train_rows, val_rows = self.run.split
        return baseline_prediction(self.run.dataset.Y[train_rows], len(val_rows))

    def add(self, name: str, results: pd.DataFrame, title: str, xlabel: str, figure: str | None,
            settings: dict[str, TrainConfig], reference: str, **labelling: Any) -> str:
        """Save the sweep's figure (figure None: the same runs labelled another way, drawn already), compare every
        setting with `reference` (labelling: cutoffs= or tuned=, as HeadTrainer.setting_predictions) and return
        the finding."""
        if figure:
            self.run.save_fig(plot_seed_boxes(results, ["micro_f1", "macro_f1"], title, xlabel=xlabel,
                                              baseline=self.baseline), figure)
        differences = self.trainer.sweep_differences(settings, self.seeds, reference, self.baseline_pred, **labelling)
        self.findings[name] = (f"{title}: {paired_finding(differences, reference, 'micro_f1')}"  # results: at 0.5
                               if labelling.get("tuned") else sweep_finding(title, results, differences, reference))
        return self.findings[name]
