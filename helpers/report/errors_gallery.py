"""The prediction gallery (fig22): validation images with caption, true and predicted labels; its headline."""
from __future__ import annotations

import textwrap
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Patch

from helpers.core.labels import LABEL_IDS, label_title
from helpers.core.metrics import row_f1

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


