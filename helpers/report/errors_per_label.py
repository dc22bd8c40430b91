"""Per-label results (table20, fig20): precision, recall, F1 and support per label and model, and its headline."""
from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from helpers.core.labels import label_title
from helpers.core.metrics import per_label_table


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


def per_label_headline(table: pd.DataFrame, image: str, text: str, final: str) -> str:
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
