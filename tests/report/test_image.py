"""helpers.report.image: notebook 03's tables (baseline first, the extrapolated row), findings and summaries."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from helpers.core.metrics import BASELINE_NAME, baseline_prediction
from helpers.core.profiles import describe_reductions, get_profile
from helpers.engine.fit import TrainConfig
from helpers.models.image_model import ImageModelConfig
from helpers.report import image as report
from helpers.train.image_data import FeatureSet
from helpers.train.image_training import ReferenceWayTiming, finish_frozen
from tests.train.test_head_experiments import DIM, make_trainer


def _outcome(tmp_path):
    trainer = make_trainer(tmp_path)
    extractor = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(48, DIM))
    ids = np.arange(300).astype(str)
    features = FeatureSet(ids, np.zeros((300, DIM), np.float32), 2.0, False, tmp_path / "train_feats.npz")
    test = FeatureSet(ids[:10], np.zeros((10, DIM), np.float32), 0.5, False, tmp_path / "test_feats.npz")
    config = ImageModelConfig(arch="B", backbone="resnet18", image_size=4, trained_from_scratch=True)
    outcome = finish_frozen(trainer, TrainConfig(epochs=2, lr=0.01), extractor, features, test, model_config=config,
                            name="B: test")
    return trainer, outcome


def test_finish_frozen_refuses_a_config_of_another_head(tmp_path):
    trainer = make_trainer(tmp_path)
    features = FeatureSet(np.arange(3).astype(str), np.zeros((3, DIM), np.float32), 1.0, False, tmp_path / "f.npz")
    with pytest.raises(ValueError, match="head"):
        finish_frozen(trainer, TrainConfig(epochs=1), torch.nn.Identity(), features, features, name="B",
                      model_config=ImageModelConfig(arch="B", backbone="resnet18", image_size=4, head_hidden=(8,)))


def test_performance_and_design_tables(tmp_path):
    trainer, outcome = _outcome(tmp_path)
    Y_train = trainer.train_y.numpy().astype(np.uint8)
    table = report.cnn_performance_table([outcome], Y_train, trainer.val_y, None, reference_train_s=1234.5,
                                         reference_note="timed")
    assert table.iloc[0]["model"] == BASELINE_NAME
    assert table.iloc[0]["val_micro_f1"] == pytest.approx(report.baseline_scores(Y_train, trainer.val_y)["micro_f1"])
    assert table["extrapolated"].iloc[1:].tolist() == [False, True]
    assert table.iloc[2]["train_time_s"] == 1234.5 and table.iloc[2]["note"] == "timed"
    assert table.iloc[1]["weights"] == "trained from scratch" and "test_micro_f1" not in table
    assert outcome.train_time_s == pytest.approx(2.0 + outcome.fit.train_time_s)  # extraction counted
    row = report.cnn_design_table([outcome]).iloc[0]
    assert row["head"].startswith(f"{DIM} -> 256 -> 128 -> 18") and row["head"].endswith("dropout 0.4")
    assert (row["backbone"], row["image_size_px"], row["learning_rate"], row["batch_size"], row["train_rows"]) == \
        ("resnet18", 4, 0.01, 64, "all")
    assert (row["preprocessing"], row["augmentation"], row["optimizer"], row["epochs"]) == ("reference", False,
                                                                                            "adam", 2)


def _throughput(ratio, workers):
    return {"backbone": "resnet18", "image size (px)": 64, "DataLoader workers": workers, "CPU threads": 2,
            "bare forward (img/s)": 100.0, "extraction pipeline (img/s)": 100.0 * ratio,
            "pipeline start-up (s)": 1.5, "pipeline / forward": ratio}


def test_throughput_finding_explains_a_low_ratio():
    low = report.throughput_finding(pd.DataFrame([_throughput(0.14, workers=2)]))
    assert "0.14" in low and "bottleneck" in low and "2 DataLoader workers" in low
    assert "main process" in report.throughput_finding(pd.DataFrame([_throughput(0.2, workers=0)]))
    assert "keeps up" in report.throughput_finding(pd.DataFrame([_throughput(0.95, workers=2)]))


def test_curve_finding_says_where_the_mean_curve_peaks():
    curves = pd.DataFrame({"seed": [0, 0, 0, 1, 1, 1], "epoch": [1, 2, 3] * 2,
                           "val_micro_f1": [0.2, 0.5, 0.4, 0.2, 0.45, 0.41]})
    text = report.curve_finding(curves, baseline=0.3)
    assert "peaks at 0.4750 at epoch 2 of 3" in text and "above the trivial baseline (0.3000)" in text
    assert "more epochs might still help" in report.curve_finding(curves[curves.epoch < 3], baseline=0.6)


def test_findings_name_the_recipe_the_best_model_and_the_speed_up(tmp_path):
    trainer, outcome = _outcome(tmp_path)
    Y_train = trainer.train_y.numpy().astype(np.uint8)
    table = report.cnn_performance_table([outcome], Y_train, trainer.val_y, None, reference_train_s=1234.5)
    curves = trainer.epoch_curves(TrainConfig(epochs=2), (0,))
    found = report.findings(table, pd.DataFrame([_throughput(0.3, workers=2)]), curves, {"lr": "LR SWEEP"}, None,
                            False, "THE RECIPE")
    assert "trained from scratch: THE RECIPE" in found and "LR SWEEP" in found and "handed to notebook 05" in found
    ratio = 1234.5 / outcome.train_time_s
    assert f"{ratio:,.0f} times faster" in found
    assert "ImageNet weights" in report.findings(table, pd.DataFrame([_throughput(0.3, 2)]), curves, {}, None, True,
                                                 "")


def test_reference_way_finding_and_backbone_spread(tmp_path):
    _, outcome = _outcome(tmp_path)
    text = report.reference_way_finding(ReferenceWayTiming(epoch_s=3.0, epochs=4, backbone_train_s=10.0,
                                                           timed_images=8), outcome)
    assert "3.0 s per epoch x 4 epochs + 10 s of backbone training = 22 s (timed on 8 images" in text
    assert f"{22 / outcome.train_time_s:,.0f}x slower" in text and text.startswith("B as cached here")
    compare = pd.DataFrame({"backbone": ["a", "a", "b", "b"], "seed": [0, 1, 0, 1],
                            "val_micro_f1": [0.1, 0.12, 0.5, 0.52]})
    spread = report.backbone_spread_finding(compare)
    from helpers.report.ablations import spread_finding
    tidy = pd.DataFrame({"setting": ["a", "a", "b", "b"], "seed": [0, 1, 0, 1], "metric": "micro_f1",
                         "value": [0.1, 0.12, 0.5, 0.52]})
    assert spread == spread_finding(tidy, "micro_f1")


def test_settings_summary_lists_reductions_rows_and_baseline():
    from types import SimpleNamespace
    profile = get_profile("cpu")
    run = SimpleNamespace(profile=profile, split=(np.arange(8), np.arange(3)),
                          dataset=SimpleNamespace(test=pd.DataFrame({"ImageID": ["x"] * 5})))
    text = report.settings_summary(run, {"micro_f1": 0.25, "macro_f1": 0.125})
    assert text.startswith(describe_reductions(profile, "cnn"))
    assert "8 training rows, 3 validation rows, 5 test rows" in text and "micro-F1 0.2500, macro-F1 0.1250" in text
    cpu, full = profile.cnn, get_profile("full").cnn
    assert f"`scratch_epochs`: **{cpu.scratch_epochs}** (full profile: {full.scratch_epochs})" in text


def test_plateau_starts_at_the_first_epoch_within_the_seed_noise_of_the_best():
    curves = pd.DataFrame({"seed": [0] * 5 + [1] * 5, "epoch": [1, 2, 3, 4, 5] * 2,
                           "val_micro_f1": [0.2, 0.5, 0.61, 0.61, 0.60, 0.2, 0.5, 0.60, 0.63, 0.61]})
    assert report.plateau_start(curves) == (3, 4, pytest.approx(0.02))  # best mean 0.62 at 4; epoch 3: 0.605
    text = report.curve_finding(curves, baseline=0.3)
    assert "the plateau starts at epoch 3" in text and "indistinguishable" in text
    fig = report.plot_epoch_curves(curves, "title", 0.3)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "plateau starts (epoch 3: within 0.020)" in labels and "min-max over 2 seeds" in labels


def test_unconverged_runs_say_so_in_table07_and_the_findings(tmp_path):
    trainer, outcome = _outcome(tmp_path)
    Y_train = trainer.train_y.numpy().astype(np.uint8)
    table = report.cnn_performance_table([outcome], Y_train, trainer.val_y, None)
    assert table.iloc[1]["convergence"].startswith("unconverged (ran to its cap of 2 epochs")
    curves = trainer.epoch_curves(TrainConfig(epochs=2), (0,))
    found = report.findings(table, pd.DataFrame([_throughput(0.3, workers=2)]), curves, {}, None, False, "R")
    assert "B: test (unconverged (ran to its cap of 2 epochs" in found


def test_tables_say_what_was_asked_for_beside_what_was_trained(tmp_path):
    trainer, outcome = _outcome(tmp_path)
    Y_train = trainer.train_y.numpy().astype(np.uint8)
    asked = "resnet34 (weights DEFAULT: not available)"
    table = report.cnn_performance_table([outcome], Y_train, trainer.val_y, None, asked_for=asked)
    assert table.iloc[1]["backbone asked for"] == asked
    row = report.cnn_design_table([outcome], asked_for=asked).iloc[0]
    assert (row["backbone asked for"], row["backbone"]) == (asked, "resnet18")
    assert "backbone asked for" not in report.cnn_design_table([outcome])


def test_head_sweeps_save_the_figure_judge_by_bootstrap_and_keep_the_findings(tmp_path):
    from types import SimpleNamespace

    from tests.train.test_head_experiments import make_trainer

    trainer = make_trainer(tmp_path)
    Y = np.concatenate([trainer.train_y.numpy(), trainer.val_y]).astype(np.uint8)
    saved = []
    run = SimpleNamespace(split=(np.arange(200), np.arange(200, 300)), dataset=SimpleNamespace(Y=Y),
                          save_fig=lambda fig, name: saved.append(name))
    sweeps = report.HeadSweeps(run, trainer, (0,), report.baseline_scores(Y[:200], Y[200:]))
    assert np.array_equal(sweeps.baseline_pred, baseline_prediction(Y[:200], 100))
    settings = {"0.01": TrainConfig(epochs=10, lr=1e-2), "0.0001": TrainConfig(epochs=1, lr=1e-4)}
    results = trainer.sweep("cnn_lr", settings, (0,))
    text = sweeps.add("lr", results, "Head: learning rate", "learning rate", "fig15_x", settings, reference="0.01")
    assert saved == ["fig15_x"] and sweeps.findings["lr"] == text
    assert text.startswith("Head: learning rate: On micro-F1") and "paired bootstrap" in text
    tuned = sweeps.add("lr_tuned", results, "Tuned", "learning rate", None, settings, reference="0.01", tuned=True)
    assert saved == ["fig15_x"] and tuned.startswith("Tuned: Against the reference setting '0.01'")
    assert "settings' means span" not in tuned  # the seed spread belongs to the cut-off-0.5 runs, not these
