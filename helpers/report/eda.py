"""Plots and tables of notebook 01 (exploratory data analysis), computed on whatever data set is given.

Each figure function returns a matplotlib Figure; the notebook shows it and saves it with run.save_fig.
The statistics of the real train.csv (helpers.core.facts.load_facts) are drawn beside the given
data as hollow markers, so a user with the real data sees them coincide. Caption-length histograms
(fig05) are in helpers.report.text.
"""
from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from helpers.core.facts import load_facts
from helpers.core.labels import LABEL_IDS, LABEL_NAMES, label_title
from helpers.data.images import load_rgb_resized
from helpers.report.figures import DPI

# Words that name each label in a caption (lower case, matched on word boundaries; a plural "s"/"es"
# is accepted after each). Deliberately separate from the demo data generator's word lists.
LABEL_SYNONYMS: dict[int, tuple[str, ...]] = {
    1: ("person", "people", "man", "men", "woman", "women", "boy", "girl", "child", "children", "kid", "guy",
        "player", "lady", "ladies", "baby", "babies", "skier", "surfer", "skateboarder", "snowboarder", "rider",
        "crowd", "adult", "teenager", "gentleman", "gentlemen", "someone", "couple", "family", "toddler", "chef",
        "batter", "catcher", "pitcher", "officer", "worker", "tourist", "pedestrian", "biker", "cyclist"),
    2: ("bicycle", "bike", "cyclist", "bicyclist"),
    3: ("car", "sedan", "suv", "taxi", "cab", "vehicle", "jeep", "van"),
    4: ("motorcycle", "motorbike", "motorcyclist", "scooter", "moped", "dirt bike"),
    5: ("airplane", "plane", "jet", "aircraft", "airliner", "aeroplane", "airplanes"),
    6: ("bus", "buses", "busses"),
    7: ("train", "locomotive", "tram", "trolley", "subway", "railcar"),
    8: ("truck", "lorry", "pickup", "trailer", "firetruck"),
    9: ("boat", "ship", "sailboat", "canoe", "kayak", "yacht", "ferry", "vessel", "raft"),
    10: ("traffic light", "traffic signal", "stoplight", "stop light", "street light", "signal light"),
    11: ("fire hydrant", "hydrant"),
    13: ("stop sign",),
    14: ("parking meter", "meter"),
    15: ("bench",),
    16: ("bird", "pigeon", "seagull", "gull", "duck", "goose", "geese", "parrot", "swan", "crow", "sparrow",
         "owl", "eagle", "hawk", "pelican"),
    17: ("cat", "kitten", "kitty"),
    18: ("dog", "puppy", "puppies", "pup"),
    19: ("horse", "pony", "ponies", "foal", "stallion", "mare"),
}


def _pattern(words: Sequence[str]) -> re.Pattern:
    alternatives = "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"\b(?:{alternatives})(?:s|es)?\b")


def mentions(captions: Iterable[str]) -> np.ndarray:
    """(n, 18) bool: does each caption name each label (LABEL_SYNONYMS, word boundaries, lower case)?"""
    lowered = pd.Series([str(c).lower() for c in captions], dtype=object)
    columns = [lowered.str.contains(_pattern(LABEL_SYNONYMS[label]), regex=True).to_numpy(dtype=bool)
               for label in LABEL_IDS]
    return np.stack(columns, axis=1) if columns else np.zeros((0, len(LABEL_IDS)), dtype=bool)


# ---------------------------------------------------------------------------------------------
# tables


def dataset_summary(dataset) -> pd.DataFrame:
    """What was read: rows, images, skipped rows, whether test labels exist."""
    rows = [
        ("training rows", len(dataset.train)),
        ("test rows", len(dataset.test)),
        ("training rows skipped (unusable image)", len(dataset.skipped)),
        ("test labels available (demo data only)", "yes" if dataset.test_Y is not None else "no"),
        ("labels per training row (mean)", round(float(dataset.Y.sum(axis=1).mean()), 3)),
        ("data folder", str(dataset.data_dir)),
    ]
    return pd.DataFrame(rows, columns=["item", "value"])


def label_meanings_table(dataset) -> pd.DataFrame:
    """table01: label id, COCO name, training rows, share of rows, and how often captions name the label
    when it is present / absent."""
    Y = np.asarray(dataset.Y, dtype=bool)
    named = mentions(dataset.train["Caption"])
    present = Y.sum(axis=0)
    absent = len(Y) - present
    with np.errstate(invalid="ignore", divide="ignore"):
        named_present = np.where(present > 0, (named & Y).sum(axis=0) / np.maximum(present, 1) * 100, np.nan)
        named_absent = np.where(absent > 0, (named & ~Y).sum(axis=0) / np.maximum(absent, 1) * 100, np.nan)
    return pd.DataFrame({
        "label": list(LABEL_IDS),
        "COCO name": [LABEL_NAMES[i] for i in LABEL_IDS],
        "training rows": present.astype(int),
        "share of training rows (%)": present / max(len(Y), 1) * 100,
        "captions naming it, label present (%)": named_present,
        "captions naming it, label absent (%)": named_absent,
        "words matched": [", ".join(LABEL_SYNONYMS[i]) for i in LABEL_IDS],
    })


def labels_per_row_table(Y: np.ndarray) -> pd.DataFrame:
    """Rows having exactly k labels, for every k seen (and the real train.csv's share beside it)."""
    k = np.asarray(Y).sum(axis=1).astype(int)
    counts = pd.Series(k).value_counts().sort_index()
    reference = {int(n): c for n, c in load_facts()["labels_per_example"].items()}
    ref_total = sum(reference.values())
    ks = sorted(set(counts.index) | set(reference))
    return pd.DataFrame({
        "labels per row": ks,
        "rows": [int(counts.get(n, 0)) for n in ks],
        "share of rows (%)": [counts.get(n, 0) / max(len(k), 1) * 100 for n in ks],
        "real train.csv share (%)": [reference.get(n, 0) / ref_total * 100 for n in ks],
    })


def cooccurrence_counts(Y: np.ndarray) -> np.ndarray:
    """(18, 18) rows carrying both labels i and j; the diagonal is each label's count."""
    Y = np.asarray(Y, dtype=np.int64)
    return Y.T @ Y


# ---------------------------------------------------------------------------------------------
# figures


def _value_labels(ax: plt.Axes, x: np.ndarray, values: np.ndarray, markers: np.ndarray) -> None:
    """Each bar's value written above the bar and above its reference marker, so the two never overlap."""
    for xi, value, marker in zip(x, values, markers, strict=True):
        ax.annotate(f"{value:.1f}", (xi, max(value, marker)), ha="center", va="bottom", fontsize=8,
                    xytext=(0, 6), textcoords="offset points")
    ax.margins(y=0.12)


def plot_label_distribution(Y: np.ndarray) -> plt.Figure:
    """fig01: share of training rows carrying each label, with the real train.csv's share as markers."""
    Y = np.asarray(Y)
    share = Y.mean(axis=0) * 100
    facts = load_facts()
    ref = np.array([facts["label_counts"][str(i)] for i in LABEL_IDS]) / facts["n_train"] * 100
    names = [label_title(i) for i in LABEL_IDS]
    fig, ax = plt.subplots(figsize=(10, 4.5))
    sns.barplot(x=names, y=share, color=sns.color_palette()[0], ax=ax, label=f"this data ({len(Y):,} rows)")
    ax.scatter(range(len(ref)), ref, marker="o", facecolors="none", edgecolors="black", zorder=3,
               label="real train.csv (30,000 rows)")
    _value_labels(ax, np.arange(len(share)), share, ref)
    ax.set_xlabel("label (COCO id and name)")
    ax.set_ylabel("share of training rows (%)")
    ax.set_title("How often each label occurs in the training rows")
    ax.tick_params(axis="x", rotation=60)
    plt.setp(ax.get_xticklabels(), ha="right", rotation_mode="anchor")
    ax.legend(loc="upper right")
    fig.tight_layout()
    return fig


def plot_labels_per_example(Y: np.ndarray) -> plt.Figure:
    """fig02: distribution of the number of labels per training row."""
    table = labels_per_row_table(Y)
    fig, ax = plt.subplots(figsize=(7, 4))
    x = np.arange(len(table))
    ax.bar(x, table["share of rows (%)"], color=sns.color_palette()[0], label=f"this data ({len(Y):,} rows)")
    ax.scatter(x, table["real train.csv share (%)"], marker="o", facecolors="none", edgecolors="black", zorder=3,
               label="real train.csv (30,000 rows)")
    _value_labels(ax, x, table["share of rows (%)"].to_numpy(), table["real train.csv share (%)"].to_numpy())
    ax.set_xticks(x, table["labels per row"].astype(str))
    ax.set_xlabel("number of labels per training row")
    ax.set_ylabel("share of training rows (%)")
    ax.set_title("Labels per example")
    ax.legend()
    fig.tight_layout()
    return fig


def pick_examples(Y: np.ndarray, label: int, n_per_side: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of up to n_per_side rows with the label and n_per_side without it (seeded, sorted)."""
    column = np.asarray(Y)[:, LABEL_IDS.index(label)].astype(bool)
    rng = np.random.default_rng([seed, label])
    chosen = []
    for rows in (np.flatnonzero(column), np.flatnonzero(~column)):
        take = min(n_per_side, len(rows))
        chosen.append(np.sort(rng.choice(rows, size=take, replace=False)) if take else rows[:0])
    return chosen[0], chosen[1]


def example_figure_name(label: int) -> str:
    """fig03_examples_<id>_<name>, e.g. fig03_examples_01_person."""
    return f"fig03_examples_{label:02d}_{LABEL_NAMES[label].replace(' ', '_')}"


def _short_names(labels: Sequence[int]) -> str:
    return ", ".join(LABEL_NAMES[i] for i in labels)


def _mosaic(dataset, rows: np.ndarray, n_cols: int, thumb_px: int, gap_px: int, band_px: int) -> np.ndarray:
    """Thumbnails of `rows` on a white canvas, n_cols per line, with a blank band under each for its caption."""
    n_lines = max(1, -(-len(rows) // n_cols))
    cell_w, cell_h = thumb_px + gap_px, thumb_px + band_px
    canvas = np.full((n_lines * cell_h, n_cols * cell_w - gap_px, 3), 255, dtype=np.uint8)
    for k, row in enumerate(rows):
        y, x = (k // n_cols) * cell_h, (k % n_cols) * cell_w
        image = load_rgb_resized(dataset.image_path(dataset.train["ImageID"].iat[row]), thumb_px)
        canvas[y:y + thumb_px, x:x + thumb_px] = np.asarray(image)
    return canvas


def plot_label_examples(dataset, label: int, n_per_side: int = 15, seed: int = 0, thumb_px: int = 160,
                        n_cols: int = 5) -> plt.Figure:
    """fig03: up to n_per_side images carrying `label` (top) and as many without it (bottom),
    each captioned with all its label names, as in the reference's Fig. 3 and 4.

    Each block is one mosaic image drawn at one figure pixel per image pixel (fast: two axes per
    figure, no resampling, small PNG).
    """
    with_rows, without_rows = pick_examples(dataset.Y, label, n_per_side, seed)
    n_cols = max(1, min(n_cols, n_per_side))
    inch_per_px = 1.0 / DPI
    chars_per_line = max(10, int(thumb_px * inch_per_px * 72 / 3.6))  # 7 pt text is ~3.6 pt per character
    captions = {int(row): textwrap.fill(_short_names(dataset.train["Labels"].iat[row]), chars_per_line)
                for row in (*with_rows, *without_rows)}
    most_lines = max((c.count("\n") + 1 for c in captions.values()), default=1)
    gap_px, band_px = thumb_px // 16, 6 + int(most_lines * 7 * 1.25 / 72 * DPI)  # room for the longest caption
    blocks = [(f"with {label_title(label)}", with_rows), (f"without {label_title(label)}", without_rows)]
    lines = [max(1, -(-len(rows) // n_cols)) for _, rows in blocks]
    width = n_cols * (thumb_px + gap_px) * inch_per_px
    heights = [n * (thumb_px + band_px) * inch_per_px for n in lines]
    fig, axes = plt.subplots(2, 1, figsize=(width, sum(heights) + 1.2), gridspec_kw={"height_ratios": heights})
    for ax, (heading, rows) in zip(axes, blocks, strict=True):
        ax.set_axis_off()
        ax.set_title(f"{heading} ({len(rows)} shown)", loc="left", fontsize=11, fontweight="bold")
        if len(rows) == 0:
            ax.text(0.0, 0.5, "no such training row", fontsize=9, transform=ax.transAxes)
            continue
        ax.imshow(_mosaic(dataset, rows, n_cols, thumb_px, gap_px, band_px), interpolation="none")
        for k, row in enumerate(rows):
            x = (k % n_cols) * (thumb_px + gap_px) + thumb_px / 2
            y = (k // n_cols) * (thumb_px + band_px) + thumb_px + 2
            ax.text(x, y, captions[int(row)], ha="center", va="top", fontsize=7)
    fig.suptitle(f"Training images with and without label {label_title(label)}\n"
                 "(under each image: all its labels)", fontsize=12)
    fig.subplots_adjust(left=0.01, right=0.99, top=1 - 0.9 / (sum(heights) + 1.2), bottom=0.01, hspace=0.12)
    return fig


def plot_cooccurrence(Y: np.ndarray) -> plt.Figure:
    """fig24: P(column label | row label) in %, i.e. of the rows carrying the row's label, the share
    that also carries the column's label (the diagonal, 100 %, is left blank)."""
    counts = cooccurrence_counts(Y).astype(float)
    diag = np.diag(counts).copy()
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(diag[:, None] > 0, counts / diag[:, None] * 100, np.nan)
    np.fill_diagonal(share, np.nan)
    names = [label_title(i) for i in LABEL_IDS]
    fig, ax = plt.subplots(figsize=(11, 9))
    sns.heatmap(pd.DataFrame(share, index=names, columns=names), annot=True, fmt=".0f", cmap="viridis",
                annot_kws={"fontsize": 7}, cbar_kws={"label": "share of rows with the row label (%)"}, ax=ax,
                vmin=0, vmax=100)
    ax.grid(False)
    ax.set_xlabel("also carries this label")
    ax.set_ylabel("rows carrying this label")
    ax.set_title("Label co-occurrence: share of rows with the row label that also carry the column label (%)")
    return fig


def _label(label: int) -> str:
    return f"{label} ({LABEL_NAMES[label]})"


def findings(dataset) -> str:
    """Notebook 01's "What we found", computed from this data set (true on any data in the COMP5329 format)."""
    Y = np.asarray(dataset.Y, dtype=bool)
    counts = Y.sum(axis=0)
    share = counts / max(len(Y), 1) * 100
    top = int(np.argmax(share))
    absent = [LABEL_IDS[k] for k in np.flatnonzero(counts == 0)]
    present = np.flatnonzero(counts > 0)
    rare = int(present[np.argmin(share[present])])
    rarest = (f"the rarest present, {_label(LABEL_IDS[rare])}, on {share[rare]:.2f} %"
              + (f"; {len(absent)} label(s) never occur ({', '.join(map(str, absent))})" if absent else ""))
    per_row = Y.sum(axis=1)
    lines = [
        f"- Label {_label(LABEL_IDS[top])} is on {share[top]:.1f} % of the {len(Y):,} training rows; {rarest}. "
        "Micro-F1 is dominated by the frequent labels, so macro-F1 is reported beside it.",
        f"- {np.mean(per_row == 1) * 100:.1f} % of the rows carry one label, {np.mean(per_row >= 2) * 100:.1f} % two "
        f"or more (at most {int(per_row.max())}): a multi-label task, where the decision rule (cut-offs) matters.",
    ]
    pairs = cooccurrence_counts(Y).astype(float)
    np.fill_diagonal(pairs, 0)
    if pairs.max() > 0:
        i, j = np.unravel_index(int(np.argmax(pairs)), pairs.shape)
        rarer, other = (i, j) if counts[i] <= counts[j] else (j, i)
        lines.append(f"- The most frequent pair is {_label(LABEL_IDS[rarer])} with {_label(LABEL_IDS[other])}: "
                     f"{pairs[i, j] / counts[rarer] * 100:.0f} % of the rows with label {LABEL_IDS[rarer]} also "
                     f"carry label {LABEL_IDS[other]} (fig24).")
    named = label_meanings_table(dataset).set_index("label")["captions naming it, label present (%)"].dropna()
    if len(named) and named.max() > named.min():
        most, least = int(named.idxmax()), int(named.idxmin())
        lines.append(f"- Captions name label {_label(most)} on {named[most]:.0f} % of its rows but label "
                     f"{_label(least)} on only {named[least]:.0f} % (table01): the caption alone gives some labels "
                     "away and says little about others, which is why the image model and the fusion of notebook 05 "
                     "matter.")
    elif len(named):
        lines.append(f"- Captions name every present label on {named.max():.0f} % of its rows (table01).")
    words = pd.Series([len(str(c).split()) for c in dataset.train["Caption"]])
    lines.append(f"- Captions have {int(words.min())} to {int(words.max())} words (median {words.median():.0f}; "
                 "fig05).")
    return "\n".join(lines)
