"""Training curves of the final models (fig21): one column per model family, each with its own epoch axis."""
from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.ticker import MaxNLocator


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


def training_headline(histories: Mapping[str, pd.DataFrame], caps: Mapping[str, int] | None = None) -> str:
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
