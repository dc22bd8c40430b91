"""helpers.train.head_experiments: architecture B's head trainer (reproducible, checkpointed, reused), its sweeps."""
from __future__ import annotations

import json

import numpy as np
import torch

from helpers.core.labels import N_LABELS
from helpers.engine.fit import TrainConfig
from helpers.train.head_experiments import FeatureBatches, HeadTrainer

DIM = 24


def make_trainer(tmp_path, n=300, seed=0) -> HeadTrainer:
    """A trainer on separable synthetic features: 200 training rows, 100 validation rows."""
    rng = np.random.default_rng(seed)
    y = (rng.random((n, N_LABELS)) < 0.15).astype(np.uint8)
    x = rng.normal(size=(n, DIM)).astype(np.float32) + 2.0 * (y @ rng.normal(size=(N_LABELS, DIM)))
    t = lambda a: torch.as_tensor(a, dtype=torch.float32)  # noqa: E731
    return HeadTrainer(train_x=t(x[:200]), train_y=t(y[:200]), val_x=t(x[200:]), val_y=y[200:], test_x=t(x[:10]),
                       checkpoint_dir=tmp_path / "ckpt", results_dir=tmp_path / "results", key="k", batch_size=64)


def test_head_learns_is_reproducible_and_reuses_its_checkpoint(tmp_path):
    config = TrainConfig(epochs=15, lr=1e-2, seed=1)
    trainer = make_trainer(tmp_path)
    torch.manual_seed(5)
    before = torch.random.get_rng_state()
    head, result = trainer.train(config)
    assert torch.equal(torch.random.get_rng_state(), before)  # the head is drawn in a seeded fork
    assert result.best_val_micro_f1 > 0.5
    sidecars = list((tmp_path / "ckpt").glob("cnn_head_*.json"))
    assert len(sidecars) == 1 and sidecars[0].with_suffix(".pt").is_file()
    assert json.loads(sidecars[0].read_text())["train_config"]["seed"] == 1
    again = make_trainer(tmp_path)  # new object: must reuse the finished checkpoint, same numbers
    head2, result2 = again.train(config)
    assert result2.reused
    assert np.array_equal(trainer.predict(head, "val"), again.predict(head2, "val"))
    fresh = make_trainer(tmp_path)
    fresh.fresh = True
    _, result3 = fresh.train(config)
    assert not result3.reused
    assert result3.history["val_micro_f1"].tolist() == result.history["val_micro_f1"].tolist()
    other_seed, _ = make_trainer(tmp_path / "other").train(TrainConfig(epochs=1, lr=1e-2, seed=2))
    first_seed, _ = make_trainer(tmp_path / "first").train(TrainConfig(epochs=1, lr=1e-2, seed=1))
    assert not torch.equal(other_seed.layers[0].weight, first_seed.layers[0].weight)  # the seed reaches the head


def test_head_sweeps_losses_and_curves_are_tidy(tmp_path):
    trainer = make_trainer(tmp_path)
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


def test_feature_batches_cover_every_row_once():
    x, y = torch.arange(10.0)[:, None], torch.zeros(10, 1)
    batches = FeatureBatches(x, y, 3, shuffle=True)
    seen = torch.cat([b[0] for b in batches]).flatten()
    assert sorted(seen.tolist()) == list(range(10)) and len(batches) == 4


def test_sweep_differences_compare_the_heads_row_by_row(tmp_path):
    trainer = make_trainer(tmp_path)
    good, poor = TrainConfig(epochs=15, lr=1e-2), TrainConfig(epochs=1, lr=1e-4)
    settings = {"good": good, "poor": poor}
    predictions = trainer.setting_predictions(settings, seeds=(0, 1))
    assert predictions["good"].shape == (2, 100, N_LABELS) and set(np.unique(predictions["good"])) <= {0, 1}
    baseline = np.zeros((100, N_LABELS), dtype=np.uint8)
    table = trainer.sweep_differences(settings, (0, 1), "good", baseline, n_boot=200).set_index("setting")
    assert list(table.index) == ["good", "poor", "trivial baseline"]
    assert table.loc["poor", "high"] < 0 and table.loc["poor", "significant"]
    cut = trainer.setting_predictions({"0.2": good, "0.8": good}, (0,), cutoffs={"0.2": 0.2, "0.8": 0.8})
    assert cut["0.2"].sum() > cut["0.8"].sum()  # the same head labelled at two cut-offs
    tuned = trainer.setting_predictions({"poor": poor}, (0,), tuned=True)["poor"]
    assert not np.array_equal(tuned, predictions["poor"][:1])  # a tuned cut-off, not the config's 0.5
