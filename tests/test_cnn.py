"""Architecture B's head trainer, notebook 03's tables and generated sentences, and its hand-off."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch

from helpers.core.config import run_paths
from helpers.core.handoff import load_history, load_summary
from helpers.core.labels import N_LABELS
from helpers.core.metrics import BASELINE_NAME
from helpers.core.profiles import describe_reductions, get_profile
from helpers.engine.fit import TrainConfig
from helpers.models.weights import load_weights
from helpers.report import image as cnn_findings
from helpers.report import image as cnn_tables
from helpers.train.head_experiments import FeatureBatches, HeadTrainer
from helpers.train.image_data import FeatureSet
from helpers.train.image_training import WEIGHTS_KIND, finetune_rows, finish_frozen, save_outcome

DIM = 24


def _trainer(tmp_path, n=300, seed=0) -> HeadTrainer:
    rng = np.random.default_rng(seed)
    y = (rng.random((n, N_LABELS)) < 0.15).astype(np.uint8)
    x = rng.normal(size=(n, DIM)).astype(np.float32) + 2.0 * (y @ rng.normal(size=(N_LABELS, DIM)))
    t = lambda a: torch.as_tensor(a, dtype=torch.float32)  # noqa: E731
    return HeadTrainer(train_x=t(x[:200]), train_y=t(y[:200]), val_x=t(x[200:]), val_y=y[200:], test_x=t(x[:10]),
                       checkpoint_dir=tmp_path / "ckpt", results_dir=tmp_path / "results", key="k", batch_size=64)


def test_head_learns_is_reproducible_and_reuses_its_checkpoint(tmp_path):
    config = TrainConfig(epochs=15, lr=1e-2, seed=1)
    trainer = _trainer(tmp_path)
    head, result = trainer.train(config)
    assert result.best_val_micro_f1 > 0.5
    assert len(list((tmp_path / "ckpt").glob("cnn_head_*.json"))) == 1
    again = _trainer(tmp_path)  # new object: must reuse the finished checkpoint, same numbers
    head2, result2 = again.train(config)
    assert result2.reused
    assert np.array_equal(trainer.predict(head, "val"), again.predict(head2, "val"))
    fresh = _trainer(tmp_path)
    fresh.fresh = True
    _, result3 = fresh.train(config)
    assert not result3.reused
    assert result3.history["val_micro_f1"].tolist() == result.history["val_micro_f1"].tolist()


def test_head_sweeps_losses_and_curves_are_tidy(tmp_path):
    trainer = _trainer(tmp_path)
    base = TrainConfig(epochs=2, lr=1e-3)
    tidy = trainer.sweep("cnn_lr", {"0.001": base, "0.01": TrainConfig(epochs=2, lr=1e-2)}, seeds=(0, 1))
    assert set(tidy["setting"]) == {"0.001", "0.01"} and set(tidy["seed"]) == {0, 1}
    assert set(tidy["metric"]) >= {"micro_f1", "samples_f1", "macro_f1", "exact_match", "hamming_accuracy"}
    losses = trainer.sweep("cnn_loss", {name: TrainConfig(epochs=2, loss=name) for name in ("bce", "focal")},
                           seeds=(0,))
    values = losses[losses.metric == "micro_f1"].set_index("setting")["value"]
    assert values["bce"] != values["focal"]  # the loss option reaches the training loop
    cut = trainer.cutoff_sweep(base, (0.3, 0.7), seeds=(0,))
    f1 = cut[cut.metric == "micro_f1"].set_index("setting")["value"]
    assert f1["0.3"] != f1["0.7"]
    curves = trainer.epoch_curves(base, seeds=(0, 1))
    assert list(curves.columns) == ["seed", "epoch", "val_micro_f1"] and len(curves) == 4
    assert "epoch" in cnn_findings.curve_sentence(curves, baseline=0.1)


def test_feature_batches_cover_every_row_once():
    x, y = torch.arange(10.0)[:, None], torch.zeros(10, 1)
    batches = FeatureBatches(x, y, 3, shuffle=True)
    seen = torch.cat([b[0] for b in batches]).flatten()
    assert sorted(seen.tolist()) == list(range(10)) and len(batches) == 4


def test_finetune_rows_subset_and_reductions_text():
    rows = np.arange(100)
    assert len(finetune_rows(rows, 10, 0)) == 10 and np.array_equal(finetune_rows(rows, None, 0), rows)
    text = describe_reductions(get_profile("cpu"), "cnn")
    cpu, full = get_profile("cpu").cnn, get_profile("full").cnn
    assert f"`scratch_epochs`: **{cpu.scratch_epochs}** (full profile: {full.scratch_epochs})" in text
    assert "backbones" in text and "image_size" in text and "scratch_lr" not in text  # only what differs


def _outcome(tmp_path):
    trainer = _trainer(tmp_path)
    extractor = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.LazyLinear(DIM))
    extractor(torch.zeros(1, 3, 4, 4))
    ids = np.arange(300).astype(str)
    features = FeatureSet(ids, np.zeros((300, DIM), np.float32), 2.0, False, tmp_path / "train_feats.npz")
    test = FeatureSet(ids[:10], np.zeros((10, DIM), np.float32), 0.5, False, tmp_path / "test_feats.npz")
    outcome = finish_frozen(trainer, TrainConfig(epochs=2), extractor, features, test,
                            backbone_config={"backbone": "resnet18", "pretrained": False,
                                             "trained_from_scratch": True, "image_size": 4,
                                             "preprocessing": "reference"}, name="B: test")
    return trainer, outcome, (features, test)


def test_performance_table_has_the_baseline_first_and_marks_the_extrapolated_row(tmp_path):
    trainer, outcome, _ = _outcome(tmp_path)
    Y_train = trainer.train_y.numpy().astype(np.uint8)
    table = cnn_tables.cnn_performance_table([outcome], Y_train, trainer.val_y, None, reference_train_s=1234.5)
    assert table.iloc[0]["model"] == BASELINE_NAME
    assert table.iloc[0]["val_micro_f1"] == pytest.approx(cnn_tables.baseline_scores(Y_train, trainer.val_y)
                                                         ["micro_f1"])
    assert table["extrapolated"].iloc[1:].tolist() == [False, True]
    assert table.iloc[1]["weights"] == "trained from scratch" and "test_micro_f1" not in table
    assert outcome.train_time_s == pytest.approx(2.0 + outcome.fit.train_time_s)  # extraction counted
    design = cnn_tables.cnn_design_table([outcome])
    assert design.iloc[0]["head"].startswith(f"{DIM} -> 256 -> 128 -> 18")
    found = cnn_findings.what_we_found(table, pd.DataFrame([_throughput(0.3, workers=2)]),
                                       trainer.epoch_curves(TrainConfig(epochs=2), (0,)), {}, None, False, "recipe")
    assert "trained from scratch" in found and "trivial baseline" in found and "extrapolated" in found


def _throughput(ratio, workers):
    return {"backbone": "resnet18", "image size (px)": 64, "DataLoader workers": workers, "CPU threads": 2,
            "bare forward (img/s)": 100.0, "extraction pipeline (img/s)": 100.0 * ratio,
            "pipeline start-up (s)": 1.5, "pipeline / forward": ratio}


def test_throughput_sentence_explains_a_low_ratio():
    low = cnn_findings.throughput_sentence(pd.DataFrame([_throughput(0.14, workers=2)]))
    assert "0.14" in low and "bottleneck" in low and "2 DataLoader workers" in low
    assert "main process" in cnn_findings.throughput_sentence(pd.DataFrame([_throughput(0.2, workers=0)]))
    assert "keeps up" in cnn_findings.throughput_sentence(pd.DataFrame([_throughput(0.95, workers=2)]))


def test_hand_off_writes_a_weights_file_and_a_summary_listing_what_it_wrote(tmp_path):
    trainer, outcome, features = _outcome(tmp_path)
    paths = run_paths(tmp_path / "data", tmp_path / "out")
    n = 300
    dataset = SimpleNamespace(train=pd.DataFrame({"ImageID": np.arange(n).astype(str)}),
                              test=pd.DataFrame({"ImageID": np.arange(10).astype(str)}))
    run = SimpleNamespace(paths=paths, split=(np.arange(200), np.arange(200, 300)), dataset=dataset)
    path = save_outcome(run, outcome, trainer.val_y, features)
    summary = load_summary(paths, "cnn")
    assert summary["weights"] == [str(path.relative_to(paths.out_dir))] and not summary["weights"][0].startswith("/")
    assert summary["histories"] == ["cnn"] and len(load_history(paths, "cnn")) == 2
    assert summary["feature_cache"] == ["train_feats.npz", "test_feats.npz"]
    assert summary["trained_from_scratch"] is True and summary["pretrained"] is False
    saved = load_weights(path, kind=WEIGHTS_KIND)
    assert saved.config["backbone_name"] == "resnet18" and saved.config["arch"] == "B"
    assert set(saved.state_dict) == set(outcome.model.state_dict())
