"""Sentences about notebook 03's results, generated from the computed numbers (never typed by hand)."""
from __future__ import annotations

import pandas as pd

from helpers.core.metrics import METRIC_TITLES
from helpers.report.cnn_tables import REFERENCE_WAY

RATIO_OK = 0.8  # extraction pipeline / bare forward at or above this: decoding keeps up with the backbone


def curve_sentence(curves: pd.DataFrame, baseline: float) -> str:
    """Where the mean validation curve peaks, against the baseline and the spread over seeds."""
    stats = curves.groupby("epoch")["val_micro_f1"].agg(["mean", "min", "max"])
    best = int(stats["mean"].idxmax())
    last = int(stats.index.max())
    spread = float((stats["max"] - stats["min"]).max())
    gain = float(stats["mean"].max() - stats["mean"].iloc[-1])
    where = ("at the last epoch, so more epochs might still help" if best == last else
             f"at epoch {best} of {last}; the last epoch is {gain:.4f} lower "
             f"({'more' if gain > spread else 'no more'} than the spread over seeds, {spread:.4f})")
    versus = "above" if stats["mean"].max() > baseline else "not above"
    return (f"Mean validation micro-F1 peaks at {stats['mean'].max():.4f} {where}; it is {versus} the trivial "
            f"baseline ({baseline:.4f}).")


def throughput_sentence(throughput: pd.DataFrame) -> str:
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


def what_we_found(performance: pd.DataFrame, throughput: pd.DataFrame, curves: pd.DataFrame,
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
        parts.append(f"{m['model']} reaches validation micro-F1 {m['val_micro_f1']:.4f} / macro-F1 "
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
    parts.append(curve_sentence(curves, float(base["val_micro_f1"])))
    parts += list(sweeps.values())
    if backbones is not None and len(backbones) > 1:
        rows = backbones[backbones["parameters"].notna()]
        top = rows.loc[rows["val_micro_f1"].idxmax()]
        weights = "pretrained" if rows["pretrained_weights"].all() else "random-initialised (no weights offline)"
        parts.append(f"Among the compared backbones ({weights}), {top['backbone']} scores best with architecture B "
                     f"({METRIC_TITLES['micro_f1']} {top['val_micro_f1']:.4f}, baseline "
                     f"{base['val_micro_f1']:.4f}); frozen random features carry little information, so without "
                     "weights this comparison measures size and speed more than quality.")
    parts.append(throughput_sentence(throughput))
    return " ".join(parts)
