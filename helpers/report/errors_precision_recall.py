"""Precision-recall curves per label (fig23) and their headline (average precision per label)."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import average_precision_score, precision_recall_curve

from helpers.core.labels import LABEL_IDS, label_title


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


def precision_recall_headline(y_true: np.ndarray, probs: np.ndarray) -> str:
    """Best and worst labels by average precision."""
    ap = {LABEL_IDS[j]: average_precision_score(y_true[:, j], probs[:, j])
          for j in range(len(LABEL_IDS)) if y_true[:, j].sum() > 0}
    ranked = sorted(ap, key=ap.get)
    worst = ", ".join(f"{label_title(lab)} ({ap[lab]:.2f})" for lab in ranked[:3])
    best = ", ".join(f"{label_title(lab)} ({ap[lab]:.2f})" for lab in ranked[::-1][:3])
    return (f"Average precision of the fusion ranges from {min(ap.values()):.2f} to {max(ap.values()):.2f} "
            f"(mean {np.mean(list(ap.values())):.2f} over {len(ap)} labels). Hardest: {worst}; easiest: {best}.")


