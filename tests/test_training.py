"""fit(): learning, early stopping, checkpoint resume after a kill, reuse of a finished run, determinism."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from torch import nn

from helpers.engine.fit import TrainConfig, fit, load_checkpoint
from helpers.engine.inference import predict_proba


def toy_data(n: int = 256, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Linearly separable multi-label problem: label j is on when feature j > 0."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 18, generator=g)
    return x, (x > 0).float()


class Batches:
    """Re-iterable shuffled mini-batches over tensors (shuffling uses the global torch RNG fit reseeds)."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, batch_size: int = 32, shuffle: bool = True):
        self.x, self.y, self.batch_size, self.shuffle = x, y, batch_size, shuffle

    def __iter__(self):
        order = torch.randperm(len(self.x)) if self.shuffle else torch.arange(len(self.x))
        for start in range(0, len(order), self.batch_size):
            idx = order[start:start + self.batch_size]
            yield self.x[idx], self.y[idx]


def make_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(18, 32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 18))


def test_fit_learns_a_separable_problem():
    x, y = toy_data(2048)
    xv, yv = toy_data(128, seed=1)
    model = make_model()
    result = fit(model, Batches(x, y, batch_size=128), Batches(xv, yv, shuffle=False), TrainConfig(epochs=30, lr=0.01))
    assert result.best_val_micro_f1 > 0.9
    probs = predict_proba(model, Batches(xv, yv, shuffle=False))
    assert probs.shape == (128, 18) and probs.min() >= 0 and probs.max() <= 1
    assert list(result.history.columns[:3]) == ["epoch", "train_loss", "train_s"]


def test_early_stopping_stops_and_keeps_best_weights():
    x, y = toy_data()
    rng = torch.Generator().manual_seed(3)
    noise_y = (torch.rand(64, 18, generator=rng) > 0.5).float()  # unlearnable validation targets
    model = make_model()
    result = fit(model, Batches(x, y), Batches(x[:64], noise_y, shuffle=False),
                 TrainConfig(epochs=50, lr=0.01, patience=3))
    assert len(result.history) < 50
    assert len(result.history) == result.best_epoch + 3
    best = result.history.loc[result.history.epoch == result.best_epoch, "val_micro_f1"].item()
    assert best == pytest.approx(result.best_val_micro_f1)


def test_same_seed_gives_identical_history():
    x, y = toy_data()
    runs = [fit(make_model(), Batches(x, y), Batches(x, y, shuffle=False), TrainConfig(epochs=3, seed=5))
            for _ in range(2)]
    cols = ["train_loss", "val_loss", "val_micro_f1"]
    assert runs[0].history[cols].equals(runs[1].history[cols])


class ExplodingBatches(Batches):
    def __iter__(self):
        raise AssertionError("a finished run must be reused, not retrained")


def test_finished_run_is_reused_and_fresh_retrains(tmp_path):
    x, y = toy_data()
    ckpt = tmp_path / "model.pt"
    config = TrainConfig(epochs=3)
    first = fit(make_model(), Batches(x, y), Batches(x, y, shuffle=False), config, checkpoint=ckpt, key="data-1")
    model = make_model()
    again = fit(model, ExplodingBatches(x, y), Batches(x, y, shuffle=False), config, checkpoint=ckpt, key="data-1")
    assert again.reused and again.best_epoch == first.best_epoch
    assert again.history.equals(first.history)
    with pytest.raises(AssertionError, match="reused"):
        fit(make_model(), ExplodingBatches(x, y), None, config, checkpoint=ckpt, key="data-1", fresh=True)
    with pytest.raises(AssertionError, match="reused"):  # other data: the old checkpoint must not be used
        fit(make_model(), ExplodingBatches(x, y), None, config, checkpoint=ckpt, key="data-2")
    assert not list(tmp_path.glob(".*.tmp")), "no temporary checkpoint files left behind"


KILLED_RUN = textwrap.dedent("""
    import os, sys, torch
    sys.path[:0] = [{repo!r}, {tests!r}]
    from test_training import Batches, make_model, toy_data
    from helpers.engine.fit import TrainConfig, fit

    class DiesInEpoch3(Batches):
        epoch = 0
        def __iter__(self):
            self.epoch += 1
            for i, batch in enumerate(super().__iter__()):
                if self.epoch == 3 and i == 2:
                    os._exit(9)  # like kill -9 in the middle of an epoch: no cleanup at all
                yield batch

    x, y = toy_data()
    fit(make_model(), DiesInEpoch3(x, y), Batches(x, y, shuffle=False), TrainConfig(epochs=5, seed=1),
        checkpoint={ckpt!r}, key="k")
""")


def test_run_killed_mid_epoch_resumes_to_the_same_result(tmp_path):
    from pathlib import Path

    repo = str(Path(__file__).resolve().parents[1])
    ckpt = tmp_path / "killed.pt"
    script = KILLED_RUN.format(repo=repo, tests=str(Path(__file__).parent), ckpt=str(ckpt))
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 9, proc.stderr
    saved = load_checkpoint(ckpt)
    assert saved["epoch"] == 2 and not saved["complete"]

    x, y = toy_data()
    resumed_model = make_model()
    resumed = fit(resumed_model, Batches(x, y), Batches(x, y, shuffle=False), TrainConfig(epochs=5, seed=1),
                  checkpoint=ckpt, key="k")
    assert resumed.resumed_from_epoch == 2 and not resumed.reused
    straight_model = make_model()
    straight = fit(straight_model, Batches(x, y), Batches(x, y, shuffle=False), TrainConfig(epochs=5, seed=1))
    cols = ["epoch", "train_loss", "val_loss", "val_micro_f1"]
    assert resumed.history[cols].equals(straight.history[cols])
    for a, b in zip(resumed_model.state_dict().values(), straight_model.state_dict().values()):
        assert torch.equal(a, b)
    assert np.isclose(resumed.best_val_micro_f1, straight.best_val_micro_f1)


def test_one_status_line_per_run_says_how_it_came_about(tmp_path, capsys):
    x, y = toy_data()
    ckpt = tmp_path / "model.pt"
    config = TrainConfig(epochs=4)
    fit(make_model(), Batches(x, y), Batches(x, y, shuffle=False), config, checkpoint=ckpt, key="k", desc="toy")
    fit(make_model(), ExplodingBatches(x, y), Batches(x, y, shuffle=False), config, checkpoint=ckpt, key="k",
        desc="toy")
    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert len(lines) == 2, lines  # no per-epoch lines unless log_every is asked for
    assert lines[0].startswith("toy: trained afresh; 4 epochs, kept epoch")
    assert lines[1].startswith("toy: reused")
    fit(make_model(), Batches(x, y), None, TrainConfig(epochs=4), log_every=2, desc="logged")
    logged = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in logged] == ["logged epoch 2/4", "logged"]


def test_damaged_checkpoint_is_set_aside_and_the_run_retrains(tmp_path):
    from helpers.core.files import DamagedCacheWarning

    x, y = toy_data()
    ckpt = tmp_path / "model.pt"
    ckpt.write_bytes(b"PK\x03\x04 this is not a whole checkpoint")
    with pytest.warns(DamagedCacheWarning, match="model.pt"):
        result = fit(make_model(), Batches(x, y), None, TrainConfig(epochs=2), checkpoint=ckpt, key="k")
    assert not result.reused and result.resumed_from_epoch == 0
    assert (tmp_path / "model.pt.damaged").exists() and load_checkpoint(ckpt)["complete"]


@pytest.mark.parametrize("loss", ["bce", "focal", "asymmetric"])
def test_every_loss_learns(loss):
    x, y = toy_data(1024)
    xv, yv = toy_data(128, seed=1)
    result = fit(make_model(), Batches(x, y, batch_size=64), Batches(xv, yv, shuffle=False),
                 TrainConfig(epochs=15, lr=0.01, loss=loss))
    assert result.best_val_micro_f1 > 0.8, loss  # predicting nothing scores 0, the label prior about 0.5


def test_adamw_one_cycle_learns_and_resumes_exactly(tmp_path):
    x, y = toy_data(512)
    config = TrainConfig(epochs=6, lr=0.02, optimizer="adamw", weight_decay=0.01, schedule="onecycle", seed=2)
    straight = fit(make_model(), Batches(x, y), Batches(x, y, shuffle=False), config)
    assert straight.best_val_micro_f1 > 0.85
    ckpt = tmp_path / "cycle.pt"
    fit(make_model(), Batches(x, y), Batches(x, y, shuffle=False), config, checkpoint=ckpt, key="k")
    saved = load_checkpoint(ckpt)
    assert saved["scheduler"]["_step_count"] > 1  # the schedule's position is part of the resume state
    with pytest.raises(ValueError, match="unknown schedule"):
        fit(make_model(), Batches(x, y), None, TrainConfig(epochs=1, schedule="cosine"))


def test_cpu_training_runs_in_float32():
    from helpers.engine.device import autocast_dtype

    assert autocast_dtype(torch.device("cpu")) is None
