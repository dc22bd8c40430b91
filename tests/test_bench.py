"""helpers.bench: the results table's targets (boundaries included) and the LSTM throughput's random state."""
from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from helpers import bench
from helpers.bench import measure_train_throughput
from tests.lstm_fakes import SMALL

MACHINE = {"cpu": "test cpu", "cores": 2, "torch": "x", "torch_threads": 1, "device": "cpu"}


def table_for(stage: str, block: dict) -> str:
    return bench.format_table({"stages": {stage: block}, "machine": MACHINE, "data_dir": "d", "n_train": 1,
                               "n_test": 1})


def line_of(table: str, key: str) -> str:
    return next(line for line in table.splitlines() if f" {key} " in line)


def test_a_value_at_its_threshold_passes_and_beyond_it_in_the_wrong_direction_misses():
    assert "PASS" in line_of(table_for("images", {"feature_vs_forward": 0.8}), "feature_vs_forward")
    assert "MISS" in line_of(table_for("images", {"feature_vs_forward": 0.79}), "feature_vs_forward")
    assert "PASS" in line_of(table_for("pipeline", {"pipeline_cpu_wall_s": 1800.0}), "pipeline_cpu_wall_s")
    assert "MISS" in line_of(table_for("pipeline", {"pipeline_cpu_wall_s": 1800.5}), "pipeline_cpu_wall_s")
    untargeted = line_of(table_for("reading", {"reading_s": 1.5}), "reading_s")
    assert "PASS" not in untargeted and "MISS" not in untargeted and "1.50" in untargeted


def test_stages_outside_the_results_are_left_out_and_the_machine_is_named():
    table = table_for("lstm", {"lstm_train_samples_per_s": 5000.0})
    assert "reading" not in table and "PASS: LSTM >= 4,000 samples/s" in table
    assert "machine: test cpu, 2 cores" in table


def test_lstm_throughput_leaves_the_callers_random_state_unchanged(monkeypatch):
    ticks = iter(range(0, 1000, 2))
    monkeypatch.setattr(bench.time, "perf_counter", lambda: float(next(ticks)))
    torch.manual_seed(5)
    np.random.seed(5)
    random.seed(5)
    before = torch.get_rng_state(), np.random.get_state()[1].copy(), random.getstate()
    data = bench.synthetic_captions(64, vocab_size=50, seed=1)
    config = bench.LstmConfig(embed_dim=8, hidden_dim=8)
    rate = bench.measure_train_throughput(config, vocab_size=50, data=data, batch_size=32, epochs=1)
    assert rate == 64 / 2.0  # one epoch of 64 rows between two fake-clock reads 2 s apart
    assert torch.equal(torch.get_rng_state(), before[0]) and np.array_equal(np.random.get_state()[1], before[1])
    assert random.getstate() == before[2]


def test_throughput_counts_every_sample_of_every_epoch_and_restores_threads(monkeypatch):
    import helpers.bench as lstm_module

    clock = iter([100.0, 104.0])  # the timed part takes 4 "seconds" on this fake clock
    monkeypatch.setattr(lstm_module.time, "perf_counter", lambda: next(clock))
    before = torch.get_num_threads()
    rate = measure_train_throughput(SMALL, vocab_size=50, n_rows=256, batch_size=128, epochs=2, threads=1)
    assert rate == pytest.approx(2 * 256 / 4.0)
    assert torch.get_num_threads() == before


def test_scratch_step_throughput_takes_the_best_repeat_and_leaves_the_model_and_random_state(monkeypatch):
    from helpers.models.backbones import ScratchResNet

    ticks = iter([0.0, 4.0, 10.0, 12.0, 20.0, 23.0])  # three repeats: 4 s, 2 s, 3 s
    monkeypatch.setattr(bench.time, "perf_counter", lambda: next(ticks))
    model = ScratchResNet((4, 8))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    torch.manual_seed(3)
    state = torch.get_rng_state()
    rate = bench.scratch_step_throughput(model, 16, batch_size=4, steps=5, warmup=1, repeats=3)
    assert rate == 4 * 5 / 2.0
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert torch.equal(torch.get_rng_state(), state)


def test_the_from_scratch_loop_ratio_has_its_target():
    assert "PASS" in line_of(table_for("scratch_training", {"scratch_loop_vs_limit": 0.6}), "scratch_loop_vs_limit")
    assert "MISS" in line_of(table_for("scratch_training", {"scratch_loop_vs_limit": 0.59}), "scratch_loop_vs_limit")


def test_encoder_stage_measures_fine_tuning_and_inference_or_says_it_skipped(tmp_path, capsys):
    from helpers.demo import generate_demo_data
    from tests.encoder_fakes import tiny_encoder_folder

    data_dir = generate_demo_data(tmp_path / "data", 40, 10, seed=0)
    ctx = bench.BenchContext(data_dir=data_dir, profile="smoke", device=torch.device("cpu"), image_sample=4,
                             workers=0, text_encoder=str(tiny_encoder_folder(tmp_path / "bert")))
    block = bench.stage_encoder(ctx)
    assert block["encoder_available"] == 1 and block["encoder_train_captions_per_s"] > 0
    assert block["encoder_infer_captions_per_s"] > 0 and 8 <= block["encoder_max_length"] <= 32
    missing = bench.BenchContext(data_dir=data_dir, profile="smoke", device=torch.device("cpu"), image_sample=4,
                                 workers=0, text_encoder=str(tmp_path / "no-such-folder"))
    assert bench.stage_encoder(missing) == {"encoder_available": 0}
    assert "encoder stage skipped" in capsys.readouterr().out
