"""Per-label metrics against scikit-learn, gallery row selection, headlines and the figures."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from fusion_fakes import fake_pair, fake_truth  # noqa: E402
from sklearn.metrics import precision_recall_fscore_support  # noqa: E402

from helpers.core.labels import LABEL_IDS  # noqa: E402
from helpers.report import error_analysis as ea  # noqa: E402


@pytest.fixture(scope="module")
def data():
    Y = fake_truth(300, seed=5)
    p_img, p_txt = fake_pair(Y, seed=5)
    return Y, p_img, p_txt, {"image model": (p_img >= 0.5).astype(np.uint8),
                              "text model": (p_txt >= 0.5).astype(np.uint8),
                              "final fusion": ((p_img + p_txt) / 2 >= 0.3).astype(np.uint8)}


def test_per_label_table_matches_sklearn(data):
    Y, _, _, preds = data
    table = ea.per_label_metrics(Y, preds)
    assert len(table) == 3 * 18 and list(table["label"][:18]) == list(LABEL_IDS)
    for model, pred in preds.items():
        p, r, f, s = precision_recall_fscore_support(Y, pred, average=None, zero_division=0)
        block = table[table["model"] == model]
        assert np.allclose(block["precision"], p) and np.allclose(block["recall"], r)
        assert np.allclose(block["f1"], f) and (block["support"].to_numpy() == s).all()


def test_per_label_headline_counts_wins(data):
    Y, _, _, preds = data
    table = ea.per_label_metrics(Y, preds)
    f1 = table.pivot(index="label", columns="model", values="f1")
    image_wins = int((f1["image model"] > f1["text model"] + 1e-12).sum())
    text = ea.per_label_headline(table, "image model", "text model", "final fusion")
    assert f"beats the text model on {image_wins} of 18 labels" in text


def test_row_f1_and_gallery_modes(data):
    Y, _, _, preds = data
    pred = preds["image model"]
    scores = ea.row_f1(Y, pred)
    worst = ea.gallery_rows(Y, pred, "worst", 5)
    assert scores[worst].max() <= np.sort(scores)[4] + 1e-12
    random_rows = ea.gallery_rows(Y, pred, "random", 5, seed=1)
    assert len(set(random_rows)) == 5 and np.array_equal(random_rows, ea.gallery_rows(Y, pred, "random", 5, seed=1))
    rows = ea.gallery_rows(Y, pred, "label:3", 4)
    assert Y[rows, LABEL_IDS.index(3)].all()
    with pytest.raises(ValueError, match="must be one of"):
        ea.gallery_rows(Y, pred, "label:12", 4)
    with pytest.raises(ValueError, match="GALLERY_MODE"):
        ea.gallery_rows(Y, pred, "best", 4)


def test_caption_example_rows_cover_new_labels():
    Y = np.zeros((6, 18), dtype=np.uint8)
    Y[:, 0] = 1
    Y[5, 3] = 1
    rows = ea.caption_example_rows(Y, 2, seed=0)
    assert len(rows) == 2 and 5 in rows


@pytest.mark.slow  # draws five figures: ~3 s on an idle machine
def test_figures_draw_and_headlines_state_numbers(data, tmp_path):
    Y, p_img, p_txt, preds = data
    probs = (p_img + p_txt) / 2
    figs = [
        ea.plot_per_label_f1(ea.per_label_metrics(Y, preds)),
        ea.plot_precision_recall(Y, probs, np.full(18, 0.3)),
        ea.plot_caption_examples(["a man on a horse", "a dog"], [[1, 19], [18]]),
        ea.plot_prediction_gallery([np.zeros((8, 8, 3), np.uint8)] * 2, ["cap one", "cap two"], Y[:2], probs[:2],
                                   preds["final fusion"][:2], title="gallery"),
    ]
    history = pd.DataFrame({"epoch": [1, 2, 3], "train_loss": [0.5, 0.3, 0.2], "val_loss": [0.4, 0.3, 0.35],
                            "val_micro_f1": [0.6, 0.7, 0.65], "best": [False, True, False]})
    figs.append(ea.plot_training_curves({"cnn": history}))
    for k, fig in enumerate(figs):
        fig.savefig(tmp_path / f"{k}.png")
        plt.close(fig)
    assert "epoch 2 kept (validation micro-F1 0.700" in ea.training_headline({"cnn": history})
    assert "Average precision of the fusion ranges" in ea.precision_recall_headline(Y, probs)
    sweep = pd.DataFrame({"lambda": [0.0, 0.5, 1.0], "cutoff": 0.5, "micro_f1": [0.7, 0.8, 0.6],
                          "samples_f1": [0.6, 0.75, 0.5]})
    assert "best λ on validation rows is 0.5 (micro-F1 0.800" in ea.lambda_headline(sweep)
    summary = ea.write_results_summary(tmp_path / "summary.md", "Results", {"Sweep": sweep, "Text": "hello"})
    text = summary.read_text()
    assert "## Sweep" in text and "| 0.5000 | 0.5000 | 0.8000 | 0.7500 |" in text and "hello" in text
