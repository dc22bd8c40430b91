"""helpers.report.eda: notebook 01's tables and figures (label meanings, co-occurrence, example grids)."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from helpers.core.labels import COLUMN_OF, LABEL_IDS, labels_to_matrix
from helpers.data.dataset import load_dataset
from helpers.report import eda
from helpers.report import text as text_lengths

matplotlib.use("Agg")


TRAIN = [
    ("A man riding a horse on the beach.", "1 19"), ("Two dogs play with a frisbee", "18"),
    ("A red car parked next to a bus", "3 6"), ("A cat sleeping on a bench!", "17 15"),
    ("People waiting for the train", "1 7"), ("A cart full of apples", "1"),
    ("A pigeon sitting on a fire hydrant", "16 11"), ("A truck and a car at the traffic light", "8 3 10 1"),
]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    folder: Path = tmp_path_factory.mktemp("eda_data")
    (folder / "data").mkdir()
    lines = ["ImageID,Labels,Caption"] + [f'{i}.jpg,{labels},"{cap}"' for i, (cap, labels) in enumerate(TRAIN)]
    (folder / "train.csv").write_text("\n".join(lines) + "\n")
    (folder / "test.csv").write_text('ImageID,Caption\n100.jpg,"A dog"\n')
    for name in [f"{i}.jpg" for i in range(len(TRAIN))] + ["100.jpg"]:
        Image.new("RGB", (40, 30), (200, 50, 50)).save(folder / "data" / name)
    return load_dataset(folder)


def test_mentions_match_names_and_synonyms_on_word_boundaries():
    m = eda.mentions(["A man on a bike", "A cart of apples", "Two buses and a stop sign", "kittens", "TRAFFIC  Light"])
    named = [{LABEL_IDS[j] for j in np.flatnonzero(row)} for row in m]
    assert named == [{1, 2}, set(), {6, 13}, {17}, {10}]


def test_label_meanings_table(dataset):
    table = eda.label_meanings_table(dataset).set_index("label")
    assert table.loc[1, "training rows"] == 4 and table.loc[1, "COCO name"] == "person"
    assert table.loc[1, "share of training rows (%)"] == pytest.approx(50.0)
    # person rows: "A man riding", "People waiting", "A cart ..." (not a person word), "A truck ..." (none)
    assert table.loc[1, "captions naming it, label present (%)"] == pytest.approx(50.0)
    assert table.loc[3, "captions naming it, label present (%)"] == pytest.approx(100.0)
    assert table.loc[14, "training rows"] == 0 and np.isnan(table.loc[14, "captions naming it, label present (%)"])
    assert table.loc[18, "captions naming it, label absent (%)"] == pytest.approx(0.0)


def test_labels_per_row_and_cooccurrence(dataset):
    table = eda.labels_per_row_table(dataset.Y).set_index("labels per row")
    assert table.loc[1, "rows"] == 2 and table.loc[2, "rows"] == 5 and table.loc[4, "rows"] == 1
    assert table["share of rows (%)"].sum() == pytest.approx(100.0)
    assert table["real train.csv share (%)"].sum() == pytest.approx(100.0)
    counts = eda.cooccurrence_counts(dataset.Y)
    assert (np.diag(counts) == dataset.Y.sum(axis=0)).all()
    assert counts[COLUMN_OF[3], COLUMN_OF[8]] == 1 and counts[COLUMN_OF[3], COLUMN_OF[6]] == 1
    assert (counts == counts.T).all()


def test_pick_examples_is_seeded_and_splits_by_label(dataset):
    with_rows, without_rows = eda.pick_examples(dataset.Y, 1, 3, seed=0)
    column = dataset.Y[:, COLUMN_OF[1]]
    assert len(with_rows) == 3 and column[with_rows].all() and not column[without_rows].any()
    again = eda.pick_examples(dataset.Y, 1, 3, seed=0)
    assert (again[0] == with_rows).all() and (again[1] == without_rows).all()
    few, _ = eda.pick_examples(dataset.Y, 19, 5)
    assert len(few) == 1  # only as many as exist


def _texts(fig: plt.Figure) -> str:
    return " ".join(t.get_text() for t in fig.findobj(matplotlib.text.Text))


def test_figures_have_titles_and_axis_labels_with_units(dataset):
    figs = [
        eda.plot_label_distribution(dataset.Y),
        eda.plot_labels_per_example(dataset.Y),
        text_lengths.plot_word_count_distribution(np.array([3, 4, 4, 9]), "Words per raw caption",
                                                  reference=text_lengths.reference_caption_word_counts()),
        eda.plot_cooccurrence(dataset.Y),
    ]
    for fig in figs:
        ax = fig.axes[0]
        assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    assert "(%)" in figs[0].axes[0].get_ylabel() and "(%)" in figs[2].axes[0].get_ylabel()
    assert "min 3, mean 5.0, max 9" in _texts(figs[2])
    plt.close("all")


def test_label_example_grid_shows_images_with_their_label_names(dataset):
    fig = eda.plot_label_examples(dataset, 3, n_per_side=2, thumb_px=16)
    words = _texts(fig)
    assert "with 3 car (2 shown)" in words and "without 3 car (2 shown)" in words
    assert "car, bus" in words or "car, bus".replace(", ", ",\n") in words
    empty = eda.plot_label_examples(dataset, 14, n_per_side=2, thumb_px=16)
    assert "no such training row" in _texts(empty)
    plt.close("all")


def test_value_labels_sit_above_both_the_bar_and_the_real_data_marker(dataset):
    for fig in (eda.plot_label_distribution(dataset.Y), eda.plot_labels_per_example(dataset.Y)):
        ax = fig.axes[0]
        markers = ax.collections[-1].get_offsets()  # the real train.csv's hollow markers
        labels = [child for child in ax.get_children() if isinstance(child, matplotlib.text.Annotation)]
        assert len(labels) == len(markers) > 0
        heights = [bar.get_height() for bar in ax.patches][: len(labels)]
        for label, (_, marker), height in zip(labels, markers, heights, strict=True):
            assert label.xy[1] == pytest.approx(max(height, marker))
            assert label.get_text() == f"{height:.1f}"
    plt.close("all")


def test_findings_follow_the_data_not_the_real_data_set():
    """The takeaway is computed: another data set with another dominant label and pair gives other sentences."""
    captions = ["a dog on a bench", "a dog and a cat", "a red car", "a dog", "two dogs on a bench"]
    Y = labels_to_matrix([[18, 15], [18, 17], [3], [18], [18, 15]])
    data = SimpleNamespace(Y=Y, train=pd.DataFrame({"Caption": captions}))
    text = eda.findings(data)
    assert "Label 18 (dog) is on 80.0 % of the 5 training rows" in text
    assert "40.0 % of the rows carry one label, 60.0 % two or more (at most 2)" in text
    assert "100 % of the rows with label 15 also carry label 18" in text
    assert "Label 1 (person) is on" not in text and "14 label(s) never occur" in text
    assert "Captions name every present label on 100 %" in text
    assert "Captions have 2 to 5 words" in text
