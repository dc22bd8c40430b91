"""Captions beside their labels (fig19): varied example rows and the table-figure."""
from __future__ import annotations

import textwrap
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np

from helpers.core.labels import LABEL_NAMES


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


