"""helpers.report.errors: per-label metrics, the gallery, training curves, precision-recall, findings."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from sklearn.metrics import precision_recall_fscore_support  # noqa: E402

from helpers.core.labels import LABEL_IDS  # noqa: E402
from helpers.report import errors  # noqa: E402
from helpers.report import fusion as fusion_report  # noqa: E402
from tests.fusion_fakes import fake_pair, fake_truth  # noqa: E402


@pytest.fixture(scope="module")
def data():
    Y = fake_truth(300, seed=5)
    p_img, p_txt = fake_pair(Y, seed=5)
    return Y, p_img, p_txt, {"image model": (p_img >= 0.5).astype(np.uint8),
                              "text model": (p_txt >= 0.5).astype(np.uint8),
                              "final fusion": ((p_img + p_txt) / 2 >= 0.3).astype(np.uint8)}


def test_per_label_table_matches_sklearn(data):
    Y, _, _, preds = data
    table = errors.per_label_metrics(Y, preds)
    assert len(table) == 3 * 18 and list(table["label"][:18]) == list(LABEL_IDS)
    for model, pred in preds.items():
        p, r, f, s = precision_recall_fscore_support(Y, pred, average=None, zero_division=0)
        block = table[table["model"] == model]
        assert np.allclose(block["precision"], p) and np.allclose(block["recall"], r)
        assert np.allclose(block["f1"], f) and (block["support"].to_numpy() == s).all()


def test_per_label_finding_counts_wins(data):
    Y, _, _, preds = data
    table = errors.per_label_metrics(Y, preds)
    f1 = table.pivot(index="label", columns="model", values="f1")
    image_wins = int((f1["image model"] > f1["text model"] + 1e-12).sum())
    text = errors.per_label_finding(table, "image model", "text model", "final fusion")
    assert f"beats the text model on {image_wins} of 18 labels" in text


def test_row_f1_and_gallery_modes(data):
    Y, _, _, preds = data
    pred = preds["image model"]
    scores = errors.row_f1(Y, pred)
    worst = errors.gallery_rows(Y, pred, "worst", 5)
    assert scores[worst].max() <= np.sort(scores)[4] + 1e-12
    random_rows = errors.gallery_rows(Y, pred, "random", 5, seed=1)
    assert len(set(random_rows)) == 5
    assert np.array_equal(random_rows, errors.gallery_rows(Y, pred, "random", 5, seed=1))
    rows = errors.gallery_rows(Y, pred, "label:3", 4)
    assert Y[rows, LABEL_IDS.index(3)].all()
    with pytest.raises(ValueError, match="must be one of"):
        errors.gallery_rows(Y, pred, "label:12", 4)
    with pytest.raises(ValueError, match="GALLERY_MODE"):
        errors.gallery_rows(Y, pred, "best", 4)


def test_caption_example_rows_cover_new_labels():
    Y = np.zeros((6, 18), dtype=np.uint8)
    Y[:, 0] = 1
    Y[5, 3] = 1
    rows = errors.caption_example_rows(Y, 2, seed=0)
    assert len(rows) == 2 and 5 in rows


def test_training_finding_says_whether_it_stopped_early_or_hit_the_cap():
    history = pd.DataFrame({"epoch": [1, 2, 3, 4], "train_loss": [0.5, 0.3, 0.2, 0.1],
                            "val_micro_f1": [0.6, 0.7, 0.65, 0.64], "best": [False, True, False, False]})
    assert "stopped early after 2 epochs" in errors.training_finding({"lstm_seed3": history},
                                                                                      {"lstm": 8})
    rising = history.assign(best=[False, False, False, True])
    assert "still improving at its last epoch (the epoch cap)" in errors.training_finding(
        {"cnn": rising}, {"cnn": 4})


@pytest.mark.slow  # draws five figures: ~3 s on an idle machine
def test_figures_draw_and_findings_state_numbers(data, tmp_path):
    Y, p_img, p_txt, preds = data
    probs = (p_img + p_txt) / 2
    figs = [
        errors.plot_per_label_f1(errors.per_label_metrics(Y, preds)),
        errors.plot_precision_recall(Y, probs, np.full(18, 0.3)),
        errors.plot_caption_examples(["a man on a horse", "a dog"], [[1, 19], [18]]),
        errors.plot_prediction_gallery([np.zeros((8, 8, 3), np.uint8)] * 2, ["cap one", "cap two"], Y[:2],
                                               probs[:2], preds["final fusion"][:2], title="gallery"),
    ]
    history = pd.DataFrame({"epoch": [1, 2, 3], "train_loss": [0.5, 0.3, 0.2], "val_loss": [0.4, 0.3, 0.35],
                            "val_micro_f1": [0.6, 0.7, 0.65], "best": [False, True, False]})
    figs.append(errors.plot_training_curves({"cnn": history}))
    for k, fig in enumerate(figs):
        fig.savefig(tmp_path / f"{k}.png")
        plt.close(fig)
    assert "epoch 2 kept (validation micro-F1 0.700" in errors.training_finding({"cnn": history})
    assert "Average precision of the fusion ranges" in errors.precision_recall_finding(Y, probs)
    sweep = pd.DataFrame({"method": ["λ=0", "λ=0.5", "λ=1"], "lambda": [0.0, 0.5, 1.0], "cutoff": 0.5,
                          "micro_f1": [0.7, 0.8, 0.6], "samples_f1": [0.6, 0.75, 0.5], "diff": [-0.15, 0.0, -0.25],
                          "diff_low": [-0.2, 0.0, -0.3], "diff_high": [-0.1, 0.0, 0.01],
                          "significant": [True, False, False]})
    figs = [fusion_report.plot_lambda_sweep(sweep, {"samples_f1": 0.4})]
    methods = sweep.assign(macro_f1=[0.3, 0.4, 0.2]).rename(columns={"lambda": "x"})
    figs.append(fusion_report.plot_fusion_methods(methods, "λ=0.5", "λ=0.5", baseline="λ=1"))
    low, high = figs[0].axes[0].get_ylim()  # fig40: zoomed on the data and the baseline, nothing cut off
    assert 0.3 < low <= 0.4 and 0.8 <= high <= 0.85
    bars = figs[1].axes[0]
    assert bars.get_xlim()[0] == 0  # fig41's bars start at 0
    assert [t.get_text() for t in bars.get_yticklabels()] == ["λ=0.5", "λ=0"]  # sorted by samples-F1
    assert [t.get_text() for t in bars.texts] == ["0.750", "0.600"]  # values printed
    tied = fusion_report.plot_fusion_methods(methods.assign(tied_with_chosen=[True, False, False]), "λ=0.5",
                                             "λ=0.5", baseline="λ=1")
    assert [t.get_text() for t in tied.axes[0].get_yticklabels()] == ["λ=0.5", "≈ λ=0"]
    for fig in [*figs, tied]:
        fig.savefig(tmp_path / "fusion.png")
        plt.close(fig)
    summary = fusion_report.write_results_summary(tmp_path / "summary.md", "Results",
                                                    {"Sweep": sweep, "Text": "hello"})
    text = summary.read_text()
    assert "## Sweep" in text and "| λ=0.5 | 0.5 | 0.5 | 0.8 | 0.75 |" in text and "hello" in text


def test_training_curve_inputs_list_the_producers_histories_then_the_joint_models():
    summaries = {"cnn": {"histories": ["cnn"]}, "lstm": {"histories": ["lstm_seed3", "lstm_seed4"]}}
    names, caps, titles = errors.training_curve_inputs(summaries, {"image": "cnn", "text": "lstm",
                                                                   "joint concat": "joint_concat"}, 7, 5)
    assert names == ["cnn", "lstm_seed3", "lstm_seed4", "joint_concat"]
    assert caps == {"lstm": 7, "joint_concat": 5}
    assert titles == {"cnn": "image model", "lstm": "text model", "joint_concat": "joint concat"}
    with_backbone = {**summaries, "cnn": {**summaries["cnn"], "histories": ["cnn", "cnn_backbone_scratch"]}}
    names, _, titles = errors.training_curve_inputs(with_backbone, {"image": "cnn", "text": "lstm"}, 8, 12)
    assert "cnn_backbone_scratch" in names and titles["cnn_backbone_scratch"] == "image backbone (A, from scratch)"
    with pytest.raises(KeyError, match="04_lstm_training"):
        errors.training_curve_inputs({"cnn": {"histories": ["cnn"]}, "lstm": {}}, {}, 7, 5)
