"""Per-label results and error analysis: figures, and the short paragraphs stating each figure's headline.

Every headline is computed from the numbers it describes (never written by hand), returned as
Markdown so that a notebook can show it under its figure and the results summary can collect it.
"""
from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator
from sklearn.metrics import average_precision_score, precision_recall_curve

from helpers.core.atomic_io import write_text
from helpers.core.labels import LABEL_IDS, LABEL_NAMES, label_title
from helpers.core.metrics import METRIC_TITLES, per_label_table
from helpers.report.figures import markdown_table

MISTAKE_COLORS = {"correct": "#1a9850", "false positive": "#d73027", "missed": "#f39c12"}


# --------------------------------------------------------------------------------------------
# Per-label metrics (fig20 / table20)
# --------------------------------------------------------------------------------------------
def per_label_metrics(y_true: np.ndarray, predictions: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """Precision, recall, F1 and support per label and model (table20), one block per model."""
    return pd.concat([per_label_table(y_true, pred, model=model) for model, pred in predictions.items()],
                     ignore_index=True)


def plot_per_label_f1(table: pd.DataFrame) -> plt.Figure:
    """Per-label F1 of each model side by side, labels sorted by frequency (support in the tick labels)."""
    models = list(dict.fromkeys(table["model"]))
    support = table.drop_duplicates("label").set_index("label")["support"].sort_values(ascending=False, kind="stable")
    order = list(support.index)
    fig, ax = plt.subplots(figsize=(8.5, 0.42 * len(order) + 1.5))
    height = 0.8 / len(models)
    y = np.arange(len(order))
    for k, model in enumerate(models):
        f1 = table[table["model"] == model].set_index("label").loc[order, "f1"].to_numpy()
        ax.barh(y + (k - (len(models) - 1) / 2) * height, f1, height=height, label=model)
    ax.set_yticks(y, [f"{label_title(label)} (n={support[label]})" for label in order])
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("F1 on validation rows (0-1)")
    ax.set_ylabel("label (support = positive validation rows), most frequent first")
    ax.set_title("Per-label F1 by model")
    ax.legend(loc="lower right", fontsize=9)
    fig.tight_layout()
    return fig


def per_label_headline(table: pd.DataFrame, image: str, text: str, final: str) -> str:
    """Which labels each single model wins, and where the final fusion stands."""
    f1 = table.pivot(index="label", columns="model", values="f1")
    image_wins = [label_title(lab) for lab in f1.index if f1.loc[lab, image] > f1.loc[lab, text] + 1e-12]
    text_wins = [label_title(lab) for lab in f1.index if f1.loc[lab, text] > f1.loc[lab, image] + 1e-12]
    best_single = f1[[image, text]].max(axis=1)
    final_beats = int((f1[final] > best_single + 1e-12).sum())
    worst = f1[final].idxmin()
    support = table.drop_duplicates("label").set_index("label")["support"]
    parts = [
        f"The {image} beats the {text} on {len(image_wins)} of {len(f1)} labels"
        + (f" ({', '.join(image_wins)})" if image_wins else "")
        + f"; the {text} wins on {len(text_wins)}"
        + (f" ({', '.join(text_wins)})" if text_wins else "") + ".",
        f"The {final} beats both single models on {final_beats} labels; its weakest label is "
        f"{label_title(worst)} (F1 {f1.loc[worst, final]:.3f}, {support[worst]} positive rows).",
    ]
    return " ".join(parts)


# --------------------------------------------------------------------------------------------
# Training curves (fig21)
# --------------------------------------------------------------------------------------------
def _best_epoch(history: pd.DataFrame) -> int:
    if "best" in history and history["best"].astype(bool).any():
        return int(history.loc[history["best"].astype(bool), "epoch"].iloc[0])
    return int(history.loc[history["val_micro_f1"].idxmax(), "epoch"])


def plot_training_curves(histories: Mapping[str, pd.DataFrame]) -> plt.Figure:
    """Training (and validation) loss and validation micro-F1 per epoch; the chosen epoch marked."""
    fig, (ax_loss, ax_f1) = plt.subplots(1, 2, figsize=(11, 4))
    for k, (name, history) in enumerate(histories.items()):
        color = f"C{k}"
        best = _best_epoch(history)
        at_best = history[history["epoch"] == best].iloc[0]
        ax_loss.plot(history["epoch"], history["train_loss"], color=color, label=f"{name} train")
        if "val_loss" in history:
            ax_loss.plot(history["epoch"], history["val_loss"], color=color, ls="--", label=f"{name} validation")
        ax_f1.plot(history["epoch"], history["val_micro_f1"], color=color, marker=".", label=name)
        ax_f1.plot([best], [at_best["val_micro_f1"]], marker="*", ms=16, color=color, mec="black", ls="none")
        ax_loss.axvline(best, color=color, lw=0.8, ls=":")
    ax_loss.set(xlabel="epoch", ylabel="binary cross-entropy (per label)", title="Loss per epoch")
    ax_f1.set(xlabel="epoch", ylabel="validation micro-F1 (0-1)", title="Validation micro-F1 (★ = chosen epoch)")
    for ax in (ax_loss, ax_f1):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_loss.legend(fontsize=8)
    ax_f1.legend(fontsize=8)
    fig.tight_layout()
    return fig


def training_headline(histories: Mapping[str, pd.DataFrame]) -> str:
    """For each model: epochs run, chosen epoch and its validation micro-F1."""
    parts = []
    for name, history in histories.items():
        best = _best_epoch(history)
        score = float(history.loc[history["epoch"] == best, "val_micro_f1"].iloc[0])
        last = int(history["epoch"].max())
        note = "the later epochs did not improve" if best < last else "still improving at its last epoch"
        parts.append(f"{name}: {last} epochs run, epoch {best} kept (validation micro-F1 {score:.3f}; {note})")
    return "Training curves. " + "; ".join(parts) + "."


# --------------------------------------------------------------------------------------------
# Prediction gallery (fig22)
# --------------------------------------------------------------------------------------------
def row_f1(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """F1 of each row (the competition's per-row score; 0 for an empty prediction)."""
    y, p = np.asarray(y_true, dtype=bool), np.asarray(y_pred, dtype=bool)
    size = y.sum(axis=1) + p.sum(axis=1)
    return np.where(size > 0, 2 * (y & p).sum(axis=1) / np.maximum(size, 1), 1.0)


def gallery_rows(y_true: np.ndarray, y_pred: np.ndarray, mode: str, n: int, seed: int = 0) -> np.ndarray:
    """Rows to show: 'worst' (lowest per-row F1), 'random', or 'label:<id>' (random rows carrying that label)."""
    rng = np.random.default_rng(seed)
    if mode == "worst":
        scores = row_f1(y_true, y_pred)
        return np.argsort(scores, kind="stable")[:n]
    if mode == "random":
        return np.sort(rng.choice(len(y_true), size=min(n, len(y_true)), replace=False))
    if mode.startswith("label:"):
        try:
            label = int(mode.split(":", 1)[1])
            column = LABEL_IDS.index(label)
        except ValueError:
            raise ValueError(f"GALLERY_MODE {mode!r}: the label must be one of {LABEL_IDS}") from None
        rows = np.flatnonzero(np.asarray(y_true)[:, column])
        if len(rows) == 0:
            raise ValueError(f"GALLERY_MODE {mode!r}: no validation row carries label {label_title(label)}")
        return np.sort(rng.choice(rows, size=min(n, len(rows)), replace=False))
    raise ValueError(f"GALLERY_MODE must be 'worst', 'random' or 'label:<id>', not {mode!r}")


def plot_prediction_gallery(images: Sequence[np.ndarray], captions: Sequence[str], y_true: np.ndarray,
                            probs: np.ndarray, y_pred: np.ndarray, title: str, columns: int = 4) -> plt.Figure:
    """Image, caption, true and predicted labels (with probabilities) per example; mistakes coloured."""
    n = len(images)
    rows = int(np.ceil(n / columns))
    fig = plt.figure(figsize=(4.2 * columns, 5.4 * rows))
    grid = fig.add_gridspec(2 * rows, columns, height_ratios=[3, 2.4] * rows, hspace=0.05, wspace=0.08)
    for k in range(n):
        r, c = divmod(k, columns)
        ax_img = fig.add_subplot(grid[2 * r, c])
        ax_img.imshow(images[k])
        ax_img.set_axis_off()
        ax_txt = fig.add_subplot(grid[2 * r + 1, c])
        ax_txt.set_axis_off()
        lines = [(textwrap.fill(f"\u201c{captions[k]}\u201d", 40), "black")]
        truth = [LABEL_IDS[j] for j in np.flatnonzero(y_true[k])]
        lines.append(("true: " + ", ".join(label_title(lab) for lab in truth), "black"))
        for j in np.argsort(-probs[k]):
            is_true, is_pred = bool(y_true[k, j]), bool(y_pred[k, j])
            if not (is_true or is_pred):
                continue
            kind = "correct" if is_true and is_pred else "false positive" if is_pred else "missed"
            mark = "+" if is_pred else "-"
            lines.append((f"{mark} {label_title(LABEL_IDS[j])}: p={probs[k, j]:.2f} ({kind})", MISTAKE_COLORS[kind]))
        y_pos = 1.0
        for text, color in lines:
            ax_txt.text(0.0, y_pos, text, color=color, fontsize=9, va="top", ha="left", transform=ax_txt.transAxes)
            y_pos -= 0.095 * (text.count("\n") + 1) + 0.025
    fig.legend(handles=[Patch(color=v, label=k) for k, v in MISTAKE_COLORS.items()], loc="upper center",
               ncol=3, bbox_to_anchor=(0.5, 0.02), fontsize=10, title="+ predicted, - not predicted")
    fig.suptitle(title, y=0.99)
    return fig


def gallery_headline(y_true: np.ndarray, y_pred: np.ndarray, rows: np.ndarray, mode: str) -> str:
    """Counts of the mistakes in the shown rows and over all validation rows."""
    y, p = np.asarray(y_true, dtype=bool), np.asarray(y_pred, dtype=bool)
    fp_all, miss_all = int((p & ~y).sum()), int((y & ~p).sum())
    fp, miss = int((p[rows] & ~y[rows]).sum()), int((y[rows] & ~p[rows]).sum())
    perfect = int((row_f1(y[rows], p[rows]) == 1).sum())
    missed_by_label = (y & ~p).sum(axis=0)
    top = LABEL_IDS[int(np.argmax(missed_by_label))]
    return (f"Gallery ({mode}): {len(rows)} validation rows shown, {perfect} predicted exactly; "
            f"{fp} false positives and {miss} missed labels among them. Over all {len(y)} validation rows the "
            f"fusion makes {fp_all} false positives and misses {miss_all} labels; the most often missed label "
            f"is {label_title(top)} ({int(missed_by_label.max())} misses).")


# --------------------------------------------------------------------------------------------
# Precision-recall curves (fig23)
# --------------------------------------------------------------------------------------------
def plot_precision_recall(y_true: np.ndarray, probs: np.ndarray, cutoffs: np.ndarray, columns: int = 6) -> plt.Figure:
    """One panel per label: precision against recall, the chosen cut-off marked, average precision in the title."""
    rows = int(np.ceil(len(LABEL_IDS) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(2.6 * columns, 2.5 * rows), sharex=True, sharey=True)
    for j, ax in enumerate(axes.flat):
        if j >= len(LABEL_IDS):
            ax.set_axis_off()
            continue
        y = np.asarray(y_true)[:, j]
        if y.sum() == 0:
            ax.text(0.5, 0.5, "no positive\nvalidation row", ha="center", va="center", transform=ax.transAxes)
        else:
            precision, recall, _ = precision_recall_curve(y, probs[:, j])
            ax.plot(recall, precision, lw=1.5)
            pred = probs[:, j] >= cutoffs[j]
            tp = int((pred & (y == 1)).sum())
            ax.plot([tp / y.sum()], [tp / max(int(pred.sum()), 1)], marker="o", color="C3", ms=7, clip_on=False)
            ap = average_precision_score(y, probs[:, j])
            ax.set_title(f"{label_title(LABEL_IDS[j])}\nAP {ap:.2f}, n={int(y.sum())}, cut-off {cutoffs[j]:.2f}",
                         fontsize=8)
        ax.set_xlim(0, 1.02)
        ax.set_ylim(0, 1.05)
        ax.set_xticks([0, 0.5, 1])
    for ax in axes[-1]:
        ax.set_xlabel("recall")
    for ax in axes[:, 0]:
        ax.set_ylabel("precision")
    fig.suptitle("Precision-recall per label, final fusion, out-of-fold validation probabilities "
                 "(dot = chosen cut-off)", y=0.99)
    fig.subplots_adjust(left=0.05, right=0.99, bottom=0.08, top=0.88, hspace=0.55, wspace=0.08)  # tight_layout: slow
    return fig


def precision_recall_headline(y_true: np.ndarray, probs: np.ndarray) -> str:
    """Best and worst labels by average precision."""
    ap = {LABEL_IDS[j]: average_precision_score(y_true[:, j], probs[:, j])
          for j in range(len(LABEL_IDS)) if y_true[:, j].sum() > 0}
    ranked = sorted(ap, key=ap.get)
    worst = ", ".join(f"{label_title(lab)} ({ap[lab]:.2f})" for lab in ranked[:3])
    best = ", ".join(f"{label_title(lab)} ({ap[lab]:.2f})" for lab in ranked[::-1][:3])
    return (f"Average precision of the fusion ranges from {min(ap.values()):.2f} to {max(ap.values()):.2f} "
            f"(mean {np.mean(list(ap.values())):.2f} over {len(ap)} labels). Hardest: {worst}; easiest: {best}.")


# --------------------------------------------------------------------------------------------
# Fusion figures, caption examples and the results summary
# --------------------------------------------------------------------------------------------
def plot_lambda_sweep(sweep: pd.DataFrame) -> plt.Figure:
    """Micro- and samples-F1 on validation rows against λ (the reference's tried values shaded)."""
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for metric in ("micro_f1", "samples_f1"):
        ax.plot(sweep["lambda"], sweep[metric], marker="o", label=METRIC_TITLES[metric])
    ax.axvspan(0.35, 0.65, color="grey", alpha=0.15, label="λ the reference tried (0.4-0.6)")
    ax.set(xlabel="λ (weight of the image model; 0 = text only, 1 = image only)",
           ylabel="score on validation rows (0-1)", title=f"Weighted average, cut-off {sweep['cutoff'].iloc[0]:g}")
    ax.legend(fontsize=9)
    fig.tight_layout()
    return fig


def lambda_headline(sweep: pd.DataFrame) -> str:
    best = sweep.loc[sweep["micro_f1"].idxmax()]
    ends = sweep.set_index("lambda")
    return (f"The best λ on validation rows is {best['lambda']:.1f} (micro-F1 {best['micro_f1']:.3f}, samples-F1 "
            f"{best['samples_f1']:.3f}); text alone (λ=0) gives micro-F1 {ends.loc[0.0, 'micro_f1']:.3f} and image "
            f"alone (λ=1) {ends.loc[1.0, 'micro_f1']:.3f}. λ here is read off the same rows it is scored on, as in "
            "the reference; table11 scores fitted rules out of fold.")


def plot_fusion_methods(table: pd.DataFrame, chosen: str) -> plt.Figure:
    """Out-of-fold micro-, samples- and macro-F1 per method; the chosen method in bold."""
    metrics = ["micro_f1", "samples_f1", "macro_f1"]
    long = table.melt(id_vars="method", value_vars=metrics, var_name="metric", value_name="score")
    methods = list(table["method"])
    fig, ax = plt.subplots(figsize=(9, 0.55 * len(methods) + 1.5))
    height = 0.8 / len(metrics)
    for k, metric in enumerate(metrics):
        values = long[long["metric"] == metric].set_index("method").loc[methods, "score"]
        ax.barh(np.arange(len(methods)) + (k - 1) * height, values, height=height, label=METRIC_TITLES[metric])
    ax.set_yticks(np.arange(len(methods)), methods)
    for tick in ax.get_yticklabels():
        if tick.get_text() == chosen:
            tick.set_fontweight("bold")
    ax.invert_yaxis()
    low = max(0.0, float(long["score"].min()) - 0.05)
    ax.set_xlim(low, 1.0)
    ax.set(xlabel="score on out-of-fold validation rows (0-1)", title="Fusion methods (bold: chosen)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=3, fontsize=8)
    fig.tight_layout()
    return fig


def fusion_headline(table: pd.DataFrame, chosen: str, image: str, text: str, folds: int) -> str:
    t = table.set_index("method")
    row = t.loc[chosen]
    better = image if t.loc[image, "samples_f1"] >= t.loc[text, "samples_f1"] else text
    best_single = float(t.loc[better, "samples_f1"])
    return (f"Chosen by out-of-fold samples-F1 (the competition metric, {folds}-fold cross-fitting on the validation "
            f"rows): **{chosen}**, samples-F1 {row['samples_f1']:.3f}, micro-F1 {row['micro_f1']:.3f}, macro-F1 "
            f"{row['macro_f1']:.3f}; the better single model ({better}) reaches samples-F1 {best_single:.3f} "
            f"({row['samples_f1'] - best_single:+.3f}).")


def caption_example_rows(Y: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """n rows with varied label sets: each new row brings a label not shown yet while there are such rows."""
    order = np.random.default_rng(seed).permutation(len(Y))
    chosen: list[int] = []
    shown = np.zeros(np.shape(Y)[1], dtype=bool)
    for r in order:
        if len(chosen) == n:
            break
        labels = np.asarray(Y[r], dtype=bool)
        if (labels & ~shown).any():
            chosen.append(int(r))
            shown |= labels
    rest = [int(r) for r in order if int(r) not in set(chosen)]
    return np.asarray(chosen + rest[: n - len(chosen)])


def plot_caption_examples(captions: Sequence[str], label_lists: Sequence[Sequence[int]], width: int = 60
                          ) -> plt.Figure:
    """A table-figure of captions beside their label ids and names (like the reference's)."""
    cells = [[textwrap.fill(caption, width), "\n".join(f"{lab} {LABEL_NAMES[lab]}" for lab in labels)]
             for caption, labels in zip(captions, label_lists, strict=True)]
    heights = [max(c[0].count("\n"), c[1].count("\n")) + 1 for c in cells]
    fig, ax = plt.subplots(figsize=(9.5, 0.32 * (sum(heights) + len(cells)) + 0.6))
    ax.set_axis_off()
    table = ax.table(cellText=cells, colLabels=["caption", "labels (id name)"], colWidths=[0.75, 0.25],
                     cellLoc="left", loc="upper center")
    table.auto_set_font_size(False)
    table.set_fontsize(9)
    total = sum(heights) + len(cells) + 1
    for (r, _c), cell in table.get_celld().items():
        lines = 1 if r == 0 else heights[r - 1]
        cell.set_height((lines + 1) / total)
        if r == 0:
            cell.set_text_props(fontweight="bold")
    ax.set_title("Captions and their labels (training rows)")
    return fig


def write_results_summary(path: str | Path, title: str, sections: Mapping[str, str | pd.DataFrame]) -> Path:
    """Markdown file with one section per entry: a generated paragraph or a table (rounded to 4 digits)."""
    parts = [f"# {title}", ""]
    for heading, body in sections.items():
        parts += [f"## {heading}", ""]
        if isinstance(body, pd.DataFrame):
            shown = body.copy()
            for column in shown.columns:
                if pd.api.types.is_float_dtype(shown[column]):
                    shown[column] = shown[column].map(lambda v: "" if pd.isna(v) else f"{v:.4f}")
            parts.append(markdown_table(shown))
        else:
            parts.append(str(body))
        parts.append("")
    return write_text(path, "\n".join(parts))
