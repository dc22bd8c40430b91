"""engine.fit: learning, early stopping and its boundaries, schedules, parameter groups, the caller's random state,
checkpoint resume after a kill (every piece of resumed state), reuse of a finished run, determinism."""
from __future__ import annotations

import random
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from helpers.engine import fit as fit_module
from helpers.engine.fit import (
    TrainConfig,
    checkpoint_path,
    fit,
    linear_warmup_factor,
    load_checkpoint,
    make_optimizer,
    make_scheduler,
)
from helpers.engine.inference import predict_proba

REPO = Path(__file__).resolve().parents[2]


def toy_data(n: int = 256, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Linearly separable multi-label problem: label j is on when feature j > 0."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 18, generator=g)
    return x, (x > 0).float()


class Batches:
    """Re-iterable shuffled mini-batches over tensors (shuffling uses the global torch RNG fit reseeds)."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, batch_size: int = 32, shuffle: bool = True):
        self.x, self.y, self.batch_size, self.shuffle = x, y, batch_size, shuffle

    def __len__(self) -> int:
        return -(-len(self.x) // self.batch_size)

    def __iter__(self):
        order = torch.randperm(len(self.x)) if self.shuffle else torch.arange(len(self.x))
        for start in range(0, len(order), self.batch_size):
            idx = order[start:start + self.batch_size]
            yield self.x[idx], self.y[idx]


class Interrupted(Exception):
    """Raised from inside the batch iterator: the run dies in the middle of an epoch."""


class DiesInEpoch(Batches):
    """Batches that raise Interrupted after `after` batches of epoch `epoch` (1-based) of this iterator's life."""

    def __init__(self, x, y, epoch: int, after: int = 2, **kwargs):
        super().__init__(x, y, **kwargs)
        self.die_epoch, self.after, self.epochs_started = epoch, after, 0

    def __iter__(self):
        self.epochs_started += 1
        for i, batch in enumerate(super().__iter__()):
            if self.epochs_started == self.die_epoch and i == self.after:
                raise Interrupted
            yield batch


def make_model() -> nn.Module:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return nn.Sequential(nn.Linear(18, 32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 18))


def assert_same(a, b, where: str = "") -> None:
    """Recursive exact equality of checkpoint pieces (tensors bit for bit)."""
    if torch.is_tensor(a):
        assert torch.is_tensor(b) and a.dtype == b.dtype and torch.equal(a, b), where
    elif isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), f"{where}: keys {sorted(a)} != {sorted(b)}"
        for key in a:
            assert_same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]")
    else:
        assert a == b or (a != a and b != b), f"{where}: {a!r} != {b!r}"


# ---------------------------------------------------------------------------------------------- learning


def test_fit_learns_a_separable_problem():
    x, y = toy_data(2048)
    xv, yv = toy_data(128, seed=1)
    model = make_model()
    result = fit(model, Batches(x, y, batch_size=128), Batches(xv, yv, shuffle=False), TrainConfig(epochs=30, lr=0.01))
    assert result.best_val_micro_f1 > 0.9
    probs = predict_proba(model, Batches(xv, yv, shuffle=False))
    assert probs.shape == (128, 18) and probs.min() >= 0 and probs.max() <= 1
    assert list(result.history.columns[:3]) == ["epoch", "train_loss", "train_s"]


@pytest.mark.parametrize("loss", ["bce", "focal", "asymmetric"])
def test_every_loss_learns(loss):
    x, y = toy_data(1024)
    xv, yv = toy_data(128, seed=1)
    result = fit(make_model(), Batches(x, y, batch_size=64), Batches(xv, yv, shuffle=False),
                 TrainConfig(epochs=15, lr=0.01, loss=loss))
    assert result.best_val_micro_f1 > 0.8, loss  # predicting nothing scores 0, the label prior about 0.5


def test_same_seed_gives_identical_history_whatever_the_callers_random_state():
    x, y = toy_data()
    runs = []
    for caller_seed in (1, 2):
        torch.manual_seed(caller_seed)
        runs.append(fit(make_model(), Batches(x, y), Batches(x, y, shuffle=False), TrainConfig(epochs=3, seed=5)))
    cols = ["train_loss", "val_loss", "val_micro_f1"]
    assert runs[0].history[cols].equals(runs[1].history[cols])
    other = fit(make_model(), Batches(x, y), Batches(x, y, shuffle=False), TrainConfig(epochs=3, seed=6))
    assert not other.history["train_loss"].equals(runs[0].history["train_loss"])  # the seed is used


def test_fit_leaves_the_callers_random_state_unchanged():
    x, y = toy_data()
    torch.manual_seed(123)
    np.random.seed(123)
    random.seed(123)
    before = torch.get_rng_state(), np.random.get_state()[1].copy(), random.getstate()
    fit(make_model(), Batches(x, y), Batches(x, y, shuffle=False), TrainConfig(epochs=2, schedule="onecycle"))
    assert torch.equal(torch.get_rng_state(), before[0])
    assert np.array_equal(np.random.get_state()[1], before[1])
    assert random.getstate() == before[2]


def test_cpu_training_runs_in_float32():
    from helpers.engine.device import autocast_dtype

    assert autocast_dtype(torch.device("cpu")) is None


# ---------------------------------------------------------------------------------------------- early stopping


def scripted_scores(monkeypatch, scores: list[float]) -> None:
    """Make each epoch's validation micro-F1 the next value of `scores`."""
    values = iter(scores)
    monkeypatch.setattr(fit_module, "micro_f1", lambda *args: next(values))


def test_patience_counts_epochs_without_improvement_and_a_tie_is_no_improvement(monkeypatch):
    x, y = toy_data(64)
    scripted_scores(monkeypatch, [0.5, 0.6, 0.6, 0.55, 0.6, 0.9, 0.9, 0.9, 0.9, 0.9])
    result = fit(make_model(), Batches(x, y), Batches(x, y, shuffle=False), TrainConfig(epochs=10, patience=3))
    assert result.stopped_early and result.best_epoch == 2 and result.best_val_micro_f1 == 0.6
    assert len(result.history) == 5  # best_epoch + patience: the third epoch in a row without a strictly better score


def test_patience_one_stops_at_the_first_epoch_without_improvement(monkeypatch):
    x, y = toy_data(64)
    scripted_scores(monkeypatch, [0.5, 0.6, 0.6, 0.9])
    result = fit(make_model(), Batches(x, y), Batches(x, y, shuffle=False), TrainConfig(epochs=4, patience=1))
    assert (result.stopped_early, result.best_epoch, len(result.history)) == (True, 2, 3)


def test_min_epochs_keeps_a_slow_start_going_then_patience_counts_as_usual(monkeypatch):
    x, y = toy_data(64)
    scores = [0.5, 0.5, 0.5, 0.5, 0.5, 0.7, 0.7, 0.7, 0.7, 0.7]
    scripted_scores(monkeypatch, scores)
    without = fit(make_model(), Batches(x, y), Batches(x, y, shuffle=False), TrainConfig(epochs=10, patience=2))
    assert (without.stopped_early, without.best_epoch, len(without.history)) == (True, 1, 3)  # gave up on the start
    scripted_scores(monkeypatch, scores)
    config = TrainConfig(epochs=10, patience=2, min_epochs=6)
    result = fit(make_model(), Batches(x, y), Batches(x, y, shuffle=False), config)
    assert (result.stopped_early, result.best_epoch, len(result.history)) == (True, 6, 8)  # 0.7 found at epoch 6


def test_no_patience_trains_every_epoch_and_keeps_the_earliest_best(monkeypatch):
    x, y = toy_data(64)
    scripted_scores(monkeypatch, [0.5, 0.7, 0.1, 0.7, 0.2])
    result = fit(make_model(), Batches(x, y), Batches(x, y, shuffle=False), TrainConfig(epochs=5))
    assert (result.stopped_early, result.best_epoch, len(result.history)) == (False, 2, 5)


def test_running_out_of_patience_on_the_last_epoch_counts_as_stopping_early(monkeypatch):
    x, y = toy_data(64)
    scripted_scores(monkeypatch, [0.5, 0.4, 0.4])
    result = fit(make_model(), Batches(x, y), Batches(x, y, shuffle=False), TrainConfig(epochs=3, patience=2))
    assert result.stopped_early and len(result.history) == 3 and result.best_epoch == 1


def test_early_stopping_keeps_the_best_weights():
    x, y = toy_data()
    rng = torch.Generator().manual_seed(3)
    noise_y = (torch.rand(64, 18, generator=rng) > 0.5).float()  # unlearnable validation targets
    model = make_model()
    result = fit(model, Batches(x, y), Batches(x[:64], noise_y, shuffle=False),
                 TrainConfig(epochs=50, lr=0.01, patience=3))
    assert len(result.history) == result.best_epoch + 3 < 50
    best = result.history.loc[result.history.epoch == result.best_epoch, "val_micro_f1"].item()
    assert best == pytest.approx(result.best_val_micro_f1)
    from helpers.core.metrics import binarize, micro_f1

    probs = predict_proba(model, Batches(x[:64], noise_y, shuffle=False))
    assert micro_f1(noise_y.numpy(), binarize(probs, 0.5)) == pytest.approx(result.best_val_micro_f1)


def test_without_validation_the_lowest_training_loss_is_kept_even_above_one():
    """Score = minus the training loss; a loss above 1 (score below -1) still counts as an epoch's score."""
    x = torch.randn(64, 18, generator=torch.Generator().manual_seed(0))
    y = torch.ones(64, 18)
    model = make_model()
    with torch.no_grad():
        model[-1].bias.fill_(-20.0)  # confidently wrong: BCE about 20
    result = fit(model, Batches(x, y), None, TrainConfig(epochs=3, lr=1e-4))
    assert result.history["train_loss"].min() > 1
    best = int(result.history["train_loss"].idxmin()) + 1
    assert result.best_epoch == best and result.best_val_micro_f1 == -result.history["train_loss"].min()


# ---------------------------------------------------------------------------------------------- optimiser and schedules


class EncoderAndHead(nn.Module):
    """A model that asks for a slower encoder: param_groups gives the encoder lr / 10 (here: 0 to test it)."""

    def __init__(self, encoder_lr_factor: float = 0.0):
        super().__init__()
        self.encoder, self.head, self.frozen = nn.Linear(18, 16), nn.Linear(16, 18), nn.Linear(1, 1)
        self.frozen.requires_grad_(False)
        self.factor = encoder_lr_factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.encoder(x)))

    def param_groups(self, lr: float) -> list[dict]:
        return [{"params": list(self.encoder.parameters()) + list(self.frozen.parameters()), "lr": lr * self.factor},
                {"params": list(self.head.parameters())}]


@pytest.mark.parametrize("schedule", ["constant", "onecycle", "linear"])
def test_a_models_param_groups_set_the_optimiser_groups(schedule):
    x, y = toy_data(128)
    model = EncoderAndHead()
    encoder, head = ({k: v.clone() for k, v in m.state_dict().items()} for m in (model.encoder, model.head))
    optimizer = make_optimizer(model, TrainConfig(epochs=1, lr=0.01))
    assert [g["lr"] for g in optimizer.param_groups] == [0.0, 0.01]
    assert len(optimizer.param_groups[0]["params"]) == 2  # the frozen layer's parameters are left out
    fit(model, Batches(x, y), None, TrainConfig(epochs=2, lr=0.01, schedule=schedule))
    assert_same(model.encoder.state_dict(), encoder, "encoder at lr 0")
    assert not torch.equal(model.head.weight, head["weight"])


def test_onecycle_peaks_at_each_groups_own_lr():
    model = EncoderAndHead(encoder_lr_factor=0.1)
    config = TrainConfig(epochs=2, lr=0.01, schedule="onecycle")
    optimizer = make_optimizer(model, config)
    scheduler = make_scheduler(optimizer, config, steps_per_epoch=10)
    peaks = [0.0, 0.0]
    for _ in range(20):
        peaks = [max(p, g["lr"]) for p, g in zip(peaks, optimizer.param_groups)]
        optimizer.step()
        scheduler.step()
    assert peaks == pytest.approx([0.001, 0.01], rel=1e-3)


def test_linear_warmup_factor_boundaries():
    assert [linear_warmup_factor(s, 10, 2) for s in range(11)] == pytest.approx(
        [0, 0.5, 1, 7 / 8, 6 / 8, 5 / 8, 4 / 8, 3 / 8, 2 / 8, 1 / 8, 0])
    assert linear_warmup_factor(0, 10, 0) == 1 and linear_warmup_factor(12, 10, 0) == 0  # never negative


def test_linear_schedule_warms_up_over_its_fraction_then_decays_to_zero():
    model = nn.Linear(2, 2)
    config = TrainConfig(epochs=2, lr=0.1, schedule="linear", warmup=0.25)
    optimizer = make_optimizer(model, config)
    scheduler = make_scheduler(optimizer, config, steps_per_epoch=4)  # 8 steps, 2 of warm-up
    lrs = []
    for _ in range(8):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert lrs == pytest.approx([0.0, 0.05, 0.1, 0.1 * 5 / 6, 0.1 * 4 / 6, 0.1 * 3 / 6, 0.1 * 2 / 6, 0.1 / 6])
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.0)


def test_default_schedule_and_warmup_are_unchanged_and_checked():
    config = TrainConfig(epochs=1)
    assert (config.schedule, config.warmup) == ("constant", 0.0)
    assert make_scheduler(make_optimizer(nn.Linear(1, 1), config), config, 5) is None
    with pytest.raises(ValueError, match="warmup"):
        TrainConfig(epochs=1, schedule="linear", warmup=1.0)
    with pytest.raises(ValueError, match="warmup"):
        TrainConfig(epochs=1, schedule="linear", warmup=-0.1)
    with pytest.raises(ValueError, match="applies to schedule 'linear'"):
        TrainConfig(epochs=1, schedule="onecycle", warmup=0.1)
    with pytest.raises(ValueError, match="unknown schedule"):
        fit(make_model(), Batches(*toy_data(32)), None, TrainConfig(epochs=1, schedule="cosine"))
    with pytest.raises(ValueError, match="unknown optimizer"):
        make_optimizer(nn.Linear(1, 1), TrainConfig(epochs=1, optimizer="lbfgs"))


# ---------------------------------------------------------------------------------------------- checkpoints


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
    with pytest.raises(AssertionError, match="reused"):  # another training config: not reused either
        fit(make_model(), ExplodingBatches(x, y), None, TrainConfig(epochs=3, lr=0.01), checkpoint=ckpt,
            key="data-1")
    assert not list(tmp_path.glob(".*.tmp")), "no temporary checkpoint files left behind"


def test_checkpoint_path_names_the_run_by_its_configs(tmp_path):
    import json

    path = checkpoint_path(tmp_path, "cnn_head", {"arch": "B"}, TrainConfig(epochs=2))
    assert path.parent == tmp_path and path.name.startswith("cnn_head_") and path.suffix == ".pt"
    assert json.loads(path.with_suffix(".json").read_text())["train_config"]["epochs"] == 2
    assert checkpoint_path(tmp_path, "cnn_head", {"arch": "B"}, TrainConfig(epochs=2)) == path
    assert checkpoint_path(tmp_path, "cnn_head", {"arch": "B"}, TrainConfig(epochs=3)) != path
    assert checkpoint_path(tmp_path, "cnn_head", {"arch": "A"}, TrainConfig(epochs=2)) != path


RESUME_CASES = {
    "constant": TrainConfig(epochs=5, lr=0.01, seed=1),
    "onecycle": TrainConfig(epochs=5, lr=0.02, optimizer="adamw", weight_decay=0.01, schedule="onecycle", seed=2),
    "linear": TrainConfig(epochs=5, lr=0.02, optimizer="adamw", schedule="linear", warmup=0.3, seed=3),
    "sgd-patience": TrainConfig(epochs=12, lr=0.05, optimizer="sgd", patience=3, seed=4),
}


@pytest.mark.parametrize("name", list(RESUME_CASES))
def test_a_run_killed_mid_epoch_resumes_to_every_piece_of_the_uninterrupted_state(tmp_path, name):
    config = RESUME_CASES[name]
    x, y = toy_data()
    if name == "sgd-patience":  # unlearnable validation targets: the run stops early after its best epoch
        val_y = (torch.rand(64, 18, generator=torch.Generator().manual_seed(3)) > 0.5).float()
        val = Batches(x[:64], val_y, shuffle=False)
    else:
        val = Batches(x, y, shuffle=False)
    straight_ckpt, killed_ckpt = tmp_path / "straight.pt", tmp_path / "killed.pt"
    straight_model = make_model()
    straight = fit(straight_model, Batches(x, y), val, config, checkpoint=straight_ckpt, key="k")
    # die inside the epoch after the best one, so the counter of epochs without improvement is part of the resume
    die_epoch = min(straight.best_epoch + 2, len(straight.history)) if name == "sgd-patience" else 3
    assert 1 < die_epoch <= len(straight.history)
    with pytest.raises(Interrupted):
        fit(make_model(), DiesInEpoch(x, y, epoch=die_epoch), val, config, checkpoint=killed_ckpt, key="k")
    at_kill = load_checkpoint(killed_ckpt)
    assert at_kill["epoch"] == die_epoch - 1 and not at_kill["complete"]
    if name == "sgd-patience":
        assert at_kill["epoch"] - at_kill["best_epoch"] >= 1  # mid-streak
    if config.schedule != "constant":
        assert at_kill["scheduler"]["last_epoch"] == (die_epoch - 1) * len(Batches(x, y))

    resumed_model = make_model()
    resumed = fit(resumed_model, Batches(x, y), val, config, checkpoint=killed_ckpt, key="k")
    assert resumed.resumed_from_epoch == die_epoch - 1 and not resumed.reused
    assert (resumed.best_epoch, resumed.best_val_micro_f1, resumed.stopped_early) == (
        straight.best_epoch, straight.best_val_micro_f1, straight.stopped_early)
    if name == "sgd-patience":
        assert straight.stopped_early and len(straight.history) == straight.best_epoch + 3 < config.epochs
    cols = ["epoch", "train_loss", "val_loss", "val_micro_f1"]
    assert resumed.history[cols].equals(straight.history[cols])
    assert_same(resumed_model.state_dict(), straight_model.state_dict(), "best weights")
    end_resumed, end_straight = load_checkpoint(killed_ckpt), load_checkpoint(straight_ckpt)
    for piece in ("model", "best_model", "optimizer", "scheduler", "best_score", "best_epoch", "epoch", "complete",
                  "stopped_early"):
        assert_same(end_resumed[piece], end_straight[piece], piece)
    timeless = [{k: v for k, v in row.items() if not k.endswith("_s")} for row in end_resumed["history"]]
    assert timeless == [{k: v for k, v in row.items() if not k.endswith("_s")} for row in end_straight["history"]]


KILLED_RUN = textwrap.dedent("""
    import os, sys
    sys.path[:0] = [{repo!r}]
    from tests.engine.test_fit import Batches, make_model, toy_data
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


def test_a_process_killed_mid_epoch_resumes_to_the_same_result(tmp_path):
    ckpt = tmp_path / "killed.pt"
    script = KILLED_RUN.format(repo=str(REPO), ckpt=str(ckpt))
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
    assert_same(resumed_model.state_dict(), straight_model.state_dict())
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
