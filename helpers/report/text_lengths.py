"""Caption-length histograms: raw words per caption (fig05, notebook 01) and tokens after cleaning
(fig06 without stop words, fig13 with them, notebook 02), with the real train.csv's shares as markers."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from matplotlib.ticker import MaxNLocator

from helpers.core.facts import load_facts


def reference_caption_word_counts() -> dict[int, int]:
    """Rows by raw caption word count in the real train.csv (for fig05)."""
    return {int(k): int(v) for k, v in load_facts()["caption_word_counts"].items()}


def plot_word_count_distribution(counts: np.ndarray, title: str, xlabel: str = "words per caption",
                                 reference: dict[int, int] | None = None, cutoff: int | None = None) -> plt.Figure:
    """Share of captions per word count (fig05, fig06, fig13), with min / mean / max in the legend.

    The x-axis spans this data's range (and the cut-off); reference markers outside it are counted in
    the legend rather than stretching the axis. cutoff draws the encoder's max_len (longer captions are
    truncated). The legend sits under the axes, so no line or bar runs through it.
    """
    counts = np.asarray(counts, dtype=int)
    values, freq = np.unique(counts, return_counts=True)
    fig, ax = plt.subplots(figsize=(9, 4.6))
    label = (f"this data: min {counts.min()}, mean {counts.mean():.1f}, max {counts.max()}"
             if len(counts) else "no captions")
    ax.bar(values, freq / max(len(counts), 1) * 100, width=0.85, color=sns.color_palette()[0], label=label)
    low = int(counts.min()) if len(counts) else 0
    high = max(int(counts.max()) if len(counts) else 1, cutoff or 0)
    if reference:
        ref_x = np.array(sorted(reference))
        ref_y = np.array([reference[v] for v in ref_x]) / sum(reference.values()) * 100
        shown = (ref_x >= low) & (ref_x <= high)
        outside = ref_y[~shown].sum()
        note = f"; {outside:.2f} % of them outside this axis" if (~shown).any() else ""
        ax.plot(ref_x[shown], ref_y[shown], "o", markerfacecolor="none", markeredgecolor="black", markersize=5,
                zorder=3, label=f"real train.csv: {ref_x.min()} to {ref_x.max()} words{note}")
    if cutoff is not None:
        beyond = float((counts > cutoff).mean() * 100) if len(counts) else 0.0
        ax.axvline(cutoff + 0.5, color="black", linestyle="--", linewidth=1,
                   label=f"max_len = {cutoff}: {beyond:.2f} % of captions are truncated")
    ax.set_xlim(low - 1, high + 1)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(xlabel)
    ax.set_ylabel("share of captions (%)")
    ax.set_title(title)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=1, frameon=False)
    fig.tight_layout()
    return fig
