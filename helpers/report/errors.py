"""Error analysis of the final models (notebook 05): where they fail, in figures and generated findings.

- captions beside their labels (fig19): varied example rows and the table-figure;
- per-label results (table20, fig20): precision, recall, F1 and support per label and model (`per_label_finding`);
- training curves of the final models (fig21): one column per model family, each with its own epoch axis
  (`training_curve_inputs`, `training_finding`);
- the prediction gallery (fig22): validation images with caption, true and predicted labels (`gallery_finding`);
- precision-recall curves per label (fig23) with the average precision per label (`precision_recall_finding`).
"""
from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator
from sklearn.metrics import average_precision_score, precision_recall_curve

from helpers.core.labels import LABEL_IDS, LABEL_NAMES, label_title
from helpers.core.metrics import per_label_table, row_f1
from helpers.fusion.inputs import producer_histories


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


def per_label_metrics(y_true: np.ndarray, predictions: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """Precision, recall, F1 and support per label and model (table20), one block per model."""
    return pd.concat([per_label_table(y_true, pred, model=model) for model, pred in predictions.items()],
                     ignore_index=True)


def plot_per_label_f1(table: pd.DataFrame) -> plt.Figure:
    """Per-label F1 of each model side by side, labels sorted by frequency; an F1 of 0 gets a marker at 0."""
    models = list(dict.fromkeys(table["model"]))
    support = table.drop_duplicates("label").set_index("label")["support"].sort_values(ascending=False, kind="stable")
    order = list(support.index)
    fig, ax = plt.subplots(figsize=(8.5, 0.42 * len(order) + 1.5))
    height = 0.8 / len(models)
    y = np.arange(len(order))
    zero_shown = False
    for k, model in enumerate(models):
        f1 = table[table["model"] == model].set_index("label").loc[order, "f1"].to_numpy()
        offset = y + (k - (len(models) - 1) / 2) * height
        bars = ax.barh(offset, f1, height=height, label=model)
        zero = f1 <= 0
        if zero.any():
            ax.plot(np.zeros(int(zero.sum())), offset[zero], ls="none", marker="|", ms=9, mew=2.5,
                    color=bars.patches[0].get_facecolor(), label="F1 = 0 (no correct prediction)" if not zero_shown
                    else None, clip_on=False)
            zero_shown = True
    ax.set_yticks(y, [f"{label_title(label)} (n={support[label]})" for label in order])
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("F1 on validation rows (0-1)")
    ax.set_ylabel("label (support = positive validation rows), most frequent first")
    ax.set_title("Per-label F1 by model")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.06), ncol=2, fontsize=9, frameon=False)  # below the bars
    fig.tight_layout()
    return fig


def per_label_finding(table: pd.DataFrame, image: str, text: str, final: str) -> str:
    """Which labels each single model wins, and where the final fusion stands."""
    f1 = table.pivot(index="label", columns="model", values="f1")
    image_wins = [label_title(lab) for lab in f1.index if f1.loc[lab, image] > f1.loc[lab, text] + 1e-12]
    text_wins = [label_title(lab) for lab in f1.index if f1.loc[lab, text] > f1.loc[lab, image] + 1e-12]
    best_single = f1[[image, text]].max(axis=1)
    final_beats = int((f1[final] > best_single + 1e-12).sum())
    worst = f1[final].idxmin()
    support = table.drop_duplicates("label").set_index("label")["support"]
    zero = [label_title(lab) for lab in f1.index if f1.loc[lab, final] <= 0]
    parts = [
        f"The {image} beats the {text} on {len(image_wins)} of {len(f1)} labels"
        + (f" ({', '.join(image_wins)})" if image_wins else "")
        + f"; the {text} wins on {len(text_wins)}"
        + (f" ({', '.join(text_wins)})" if text_wins else "") + ".",
        f"The {final} beats both single models on {final_beats} labels; its weakest label is "
        f"{label_title(worst)} (F1 {f1.loc[worst, final]:.3f}, {support[worst]} positive rows).",
    ]
    if zero:
        parts.append(f"It never predicts {len(zero)} label(s) correctly: {', '.join(zero)}.")
    return " ".join(parts)


def best_epoch(history: pd.DataFrame) -> int:
    """The epoch whose weights were kept (marked by the producer), else the best validation micro-F1."""
    if "best" in history and history["best"].astype(bool).any():
        return int(history.loc[history["best"].astype(bool), "epoch"].iloc[0])
    return int(history.loc[history["val_micro_f1"].idxmax(), "epoch"])


def _family(name: str) -> str:
    return name.split("_seed")[0]


def plot_training_curves(histories: Mapping[str, pd.DataFrame], titles: Mapping[str, str] | None = None
                         ) -> plt.Figure:
    """Loss (top) and validation micro-F1 (bottom) per epoch; seeds of one model share a column.

    The kept epoch is a star on the micro-F1 curve and a dotted vertical line on the loss panel;
    stars of several seeds are shifted sideways so that they do not cover each other.
    """
    families: dict[str, list[str]] = {}
    for name in histories:
        families.setdefault(_family(name), []).append(name)
    titles = titles or {}
    columns = len(families)
    fig, axes = plt.subplots(2, columns, figsize=(4.2 * columns, 6.8), squeeze=False)
    for c, (family, names) in enumerate(families.items()):
        ax_loss, ax_f1 = axes[0, c], axes[1, c]
        for k, name in enumerate(names):
            history = histories[name]
            color = f"C{k}"
            label = name.replace(f"{family}_", "") if len(names) > 1 else "train"
            best = best_epoch(history)
            at_best = history[history["epoch"] == best].iloc[0]
            ax_loss.plot(history["epoch"], history["train_loss"], color=color,
                         label=f"{label} train" if len(names) > 1 else "train")
            if "val_loss" in history:
                ax_loss.plot(history["epoch"], history["val_loss"], color=color, ls="--",
                             label=f"{label} validation" if len(names) > 1 else "validation")
            ax_loss.axvline(best, color=color, lw=1.0, ls=":")
            ax_f1.plot(history["epoch"], history["val_micro_f1"], color=color, marker=".", label=label)
            shift = (k - (len(names) - 1) / 2) * 0.3 * max(1.0, len(history) / 10)
            ax_f1.plot([best + shift], [at_best["val_micro_f1"]], marker="*", ms=12, color=color, mec="black",
                       ls="none", zorder=3)
        ax_loss.set_title(f"{titles.get(family, family)}: loss", fontsize=11)
        ax_f1.set_title(f"{titles.get(family, family)}: validation micro-F1", fontsize=11)
        ax_loss.set(xlabel="epoch", ylabel="loss per label (BCE)")
        ax_f1.set(xlabel="epoch", ylabel="validation micro-F1 (0-1)", ylim=(0, 1))  # not zoomed into noise
        for ax in (ax_loss, ax_f1):
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax_loss.legend(fontsize=8)
        if len(names) > 1:
            ax_f1.legend(fontsize=8)
    fig.suptitle("Training curves of the final models (★ and dotted line: the epoch kept, chosen on validation "
                 "micro-F1)", fontsize=12)
    fig.tight_layout()
    return fig


def training_finding(histories: Mapping[str, pd.DataFrame], caps: Mapping[str, int] | None = None) -> str:
    """For each model: epochs run, kept epoch, its validation micro-F1, and whether it stopped early or hit its cap."""
    parts = []
    for name, history in histories.items():
        best = best_epoch(history)
        score = float(history.loc[history["epoch"] == best, "val_micro_f1"].iloc[0])
        last = int(history["epoch"].max())
        cap = (caps or {}).get(_family(name))
        if best == last:
            note = "still improving at its last epoch" + (" (the epoch cap)" if cap == last else "")
        elif cap is not None and last < cap:
            note = f"stopped early after {last - best} epochs without improvement"
        else:
            note = f"the last {last - best} epochs did not improve"
        parts.append(f"{name}: {last} epochs run, epoch {best} kept (validation micro-F1 {score:.3f}; {note})")
    return "Training curves. " + "; ".join(parts) + "."


MISTAKE_COLORS = {"correct": "#1a9850", "false positive": "#d73027", "missed": "#f39c12"}


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
    """Image, caption, true and predicted labels (with probabilities) per example; mistakes coloured.

    The text panel is as tall as the longest example's text; the legend lists only the kinds shown.
    """
    n = len(images)
    rows = int(np.ceil(n / columns))
    blocks, kinds_shown = [], set()
    for k in range(n):
        lines = [(textwrap.fill(f"\u201c{captions[k]}\u201d", 40), "black")]
        truth = [LABEL_IDS[j] for j in np.flatnonzero(y_true[k])]
        lines.append(("true: " + ", ".join(label_title(lab) for lab in truth), "black"))
        for j in np.argsort(-probs[k]):
            is_true, is_pred = bool(y_true[k, j]), bool(y_pred[k, j])
            if not (is_true or is_pred):
                continue
            kind = "correct" if is_true and is_pred else "false positive" if is_pred else "missed"
            kinds_shown.add(kind)
            mark = "+" if is_pred else "-"
            lines.append((f"{mark} {label_title(LABEL_IDS[j])}: p={probs[k, j]:.2f} ({kind})", MISTAKE_COLORS[kind]))
        blocks.append(lines)
    text_lines = max(sum(t.count("\n") + 1 for t, _ in lines) for lines in blocks)
    line_in = 0.19  # inches per text line at font size 9
    text_h, image_h = line_in * text_lines + 0.15, 3.0
    fig = plt.figure(figsize=(4.2 * columns, rows * (image_h + text_h) + 0.9))
    grid = fig.add_gridspec(2 * rows, columns, height_ratios=[image_h, text_h] * rows, hspace=0.04, wspace=0.08,
                            top=1 - 0.45 / fig.get_figheight(), bottom=0.45 / fig.get_figheight(), left=0.01,
                            right=0.99)
    for k, lines in enumerate(blocks):
        r, c = divmod(k, columns)
        ax_img = fig.add_subplot(grid[2 * r, c])
        ax_img.imshow(images[k])
        ax_img.set_axis_off()
        ax_txt = fig.add_subplot(grid[2 * r + 1, c])
        ax_txt.set_axis_off()
        y_pos = 1.0
        for text, color in lines:
            ax_txt.text(0.0, y_pos, text, color=color, fontsize=9, va="top", ha="left", transform=ax_txt.transAxes)
            y_pos -= (text.count("\n") + 1) * line_in / text_h
    shown = [kind for kind in MISTAKE_COLORS if kind in kinds_shown]
    fig.legend(handles=[Patch(color=MISTAKE_COLORS[k], label=k) for k in shown], loc="lower center",
               ncol=len(shown), bbox_to_anchor=(0.5, 0.0), fontsize=10, title="+ predicted, - not predicted",
               frameon=False)
    fig.suptitle(title, y=1 - 0.1 / fig.get_figheight(), va="top")
    return fig


def gallery_finding(y_true: np.ndarray, y_pred: np.ndarray, rows: np.ndarray, mode: str) -> str:
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


def plot_precision_recall(y_true: np.ndarray, probs: np.ndarray, cutoffs: np.ndarray | None, columns: int = 6
                          ) -> plt.Figure:
    """One panel per label: precision against recall, average precision in the title.

    cutoffs: the final predictor's per-label cut-offs (a dot marks each); None for a per-row rule, which
    has no cut-off per label.
    """
    rows = int(np.ceil(len(LABEL_IDS) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(3.0 * columns, 2.9 * rows), sharex=True, sharey=True)
    for j, ax in enumerate(axes.flat):
        if j >= len(LABEL_IDS):
            ax.set_axis_off()
            continue
        y = np.asarray(y_true)[:, j]
        if y.sum() == 0:
            ax.text(0.5, 0.5, "no positive\nvalidation row", ha="center", va="center", transform=ax.transAxes)
            ax.set_title(label_title(LABEL_IDS[j]), fontsize=10)
        else:
            precision, recall, _ = precision_recall_curve(y, probs[:, j])
            ax.plot(recall, precision, lw=1.5)
            ap = average_precision_score(y, probs[:, j])
            title = f"{label_title(LABEL_IDS[j])}\nAP {ap:.2f}, n={int(y.sum())}"
            if cutoffs is not None:
                pred = probs[:, j] >= cutoffs[j]
                tp = int((pred & (y == 1)).sum())
                ax.plot([tp / y.sum()], [tp / max(int(pred.sum()), 1)], marker="o", color="C3", ms=7, clip_on=False)
                title += f", cut-off {cutoffs[j]:.2f}"
            ax.set_title(title, fontsize=10)
        ax.set_xlim(0, 1.02)
        ax.set_ylim(0, 1.05)
        ax.set_xticks([0, 0.5, 1], ["0", "0.5", "1"])
        ax.set_yticks([0, 0.5, 1], ["0", "0.5", "1"])
    for ax in axes[-1]:
        ax.set_xlabel("recall")
    for ax in axes[:, 0]:
        ax.set_ylabel("precision")
    what = "dot = chosen cut-off" if cutoffs is not None else "the chosen rule decides per row, not by cut-off"
    fig.suptitle(f"Precision-recall per label, final fusion, out-of-fold validation probabilities ({what})",
                 y=0.995, fontsize=13)
    fig.subplots_adjust(left=0.05, right=0.99, bottom=0.07, top=0.89, hspace=0.6, wspace=0.22)  # tight_layout: slow
    return fig


def precision_recall_finding(y_true: np.ndarray, probs: np.ndarray) -> str:
    """Best and worst labels by average precision."""
    ap = {LABEL_IDS[j]: average_precision_score(y_true[:, j], probs[:, j])
          for j in range(len(LABEL_IDS)) if y_true[:, j].sum() > 0}
    ranked = sorted(ap, key=ap.get)
    worst = ", ".join(f"{label_title(lab)} ({ap[lab]:.2f})" for lab in ranked[:3])
    best = ", ".join(f"{label_title(lab)} ({ap[lab]:.2f})" for lab in ranked[::-1][:3])
    return (f"Average precision of the fusion ranges from {min(ap.values()):.2f} to {max(ap.values()):.2f} "
            f"(mean {np.mean(list(ap.values())):.2f} over {len(ap)} labels). Hardest: {worst}; easiest: {best}.")


def training_curve_inputs(summaries: Mapping[str, Mapping[str, Any]], joint_artifacts: Mapping[str, str],
                          lstm_epochs: int, joint_epochs: int) -> tuple[list[str], dict[str, int], dict[str, str]]:
    """(history names to load, epoch caps by model, titles by model) for fig21: the histories the image and text
    notebooks list in their summaries (the caption encoder's too, when summaries has "encoder") and one per joint
    model (joint_artifacts: {source name: artifact name}; the "image", "text" and "encoder" sources are not joint
    models and are skipped, so report.fusion.model_artifacts fits)."""
    joint_artifacts = {s: a for s, a in joint_artifacts.items() if s not in ("image", "text", "encoder")}
    joint_histories = {}  # a refitted joint model lists its base model's history: one curve, under the base's name
    for name, artifact in joint_artifacts.items():
        history = (summaries.get(artifact) or {}).get("histories", [artifact])[0]
        joint_histories.setdefault(history, name)
    joint_artifacts = {name: history for history, name in joint_histories.items()}
    names = [*producer_histories(summaries["cnn"], "cnn"), *producer_histories(summaries["lstm"], "lstm"),
             *joint_artifacts.values()]
    caps = {"lstm": lstm_epochs} | {artifact: joint_epochs for artifact in joint_artifacts.values()}
    titles = {"cnn": "image model", "lstm": "text model"} | {a: name for name, a in joint_artifacts.items()}
    if "cnn_backbone_scratch" in names:  # notebook 03's from-scratch backbone, when B froze it
        titles["cnn_backbone_scratch"] = "image backbone (A, from scratch)"
    if "encoder" in summaries:  # notebook 04's pretrained caption encoder, when one was loaded
        encoder = summaries["encoder"]
        kind = "frozen" if encoder.get("frozen") else "fine-tuned"
        for name in producer_histories(encoder, "encoder"):
            names.insert(len(names) - len(joint_artifacts), name)
            caps[name] = int(encoder["epoch_cap"])
            titles[name] = f"caption encoder ({kind})"
    return names, caps, titles
