"""LSTM runs: learning a toy problem, reuse and resume keys, the denormal switch, the final model's hand-off."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from helpers.core.files import read_json
from helpers.core.handoff import load_history, load_probabilities, load_summary
from helpers.core.labels import N_LABELS
from helpers.core.metrics import multilabel_scores
from helpers.core.profiles import LstmSettings
from helpers.engine.device import _flush_denormals_is_on, flush_denormals
from helpers.models.lstm import LengthBuckets, LstmConfig, build_lstm, load_lstm
from helpers.models.weights import load_weights
from helpers.report.lstm import performance_table
from helpers.train.lstm_training import (
    LstmRun,
    final_run_config,
    predict,
    reference_run,
    train_final_lstm,
    train_lstm,
    trivial_baseline,
)
from tests.lstm_fakes import SMALL, fake_run, toy_encoded

pytestmark = pytest.mark.usefixtures("one_thread")  # the fixture is in conftest.py


def small_run(**changes) -> LstmRun:
    return replace(LstmRun(model=SMALL, variant="standard", lr=1e-3, cutoff=0.5, epochs=2, batch_size=64), **changes)


def test_reference_run_takes_every_value_from_the_profile():
    settings = LstmSettings(lr=0.02, cutoff=0.4, batch_size=16, final_max_epochs=7, patience=3)
    final = final_run_config(settings)
    assert (final.lr, final.cutoff, final.batch_size, final.epochs, final.patience) == (0.02, 0.4, 16, 7, 3)
    assert final.model == LstmConfig() and final.variant == "standard" and final.max_train_rows is None
    assert reference_run(settings, epochs=2, max_train_rows=10).max_train_rows == 10


def test_tiny_model_learns_a_separable_toy_problem(tmp_path):
    encoded = toy_encoded()
    config = small_run(model=LstmConfig(embed_dim=16, hidden_dim=32, dropout=0.0), lr=0.05, epochs=10, batch_size=32)
    trained = train_lstm(fake_run(tmp_path), encoded, config, seed=0)
    assert trained.fit.best_val_micro_f1 > 0.9
    assert trained.checkpoint.is_file()
    again = train_lstm(fake_run(tmp_path), encoded, config, seed=0)  # unchanged finished run: reused
    assert again.fit.reused and again.fit.best_val_micro_f1 == trained.fit.best_val_micro_f1


def test_same_seed_same_result_and_resume_keys(tmp_path):
    encoded = toy_encoded(200, 80, 20)
    config = small_run()
    a = train_lstm(fake_run(tmp_path / "a"), encoded, config, seed=3)
    b = train_lstm(fake_run(tmp_path / "b"), encoded, config, seed=3)
    assert a.fit.history["val_micro_f1"].tolist() == b.fit.history["val_micro_f1"].tolist()
    assert a.fit.history["train_loss"].tolist() == b.fit.history["train_loss"].tolist()
    c = train_lstm(fake_run(tmp_path / "a"), encoded, replace(config, lr=0.01), seed=3)
    assert not c.fit.reused and c.checkpoint != a.checkpoint


@pytest.mark.parametrize("before", [False, True])
def test_flush_denormals_restores_the_previous_mode(before):
    process_wide = _flush_denormals_is_on()  # the engine turns it on for the whole process when imported (x86)
    torch.set_flush_denormal(False)
    denormal = torch.tensor([1e-39], dtype=torch.float32)  # made while denormals are kept, so not zero
    torch.set_flush_denormal(before)
    try:
        assert _flush_denormals_is_on() is before
        with flush_denormals():
            assert _flush_denormals_is_on()
            assert float(denormal * 1.0) == 0.0  # flushed while training
        assert _flush_denormals_is_on() is before
        torch.set_flush_denormal(False)
        assert float(denormal * 1.0) > 0.0
    finally:
        torch.set_flush_denormal(process_wide)


def test_trivial_baseline_predicts_the_most_frequent_label_set():
    encoded = toy_encoded(50, 20, 5)
    encoded.train_Y[:] = 0
    encoded.train_Y[:, 3] = 1
    pred, scores = trivial_baseline(encoded)
    assert pred.shape == (20, N_LABELS) and (pred[:, 3] == 1).all() and pred.sum() == 20
    assert scores == multilabel_scores(encoded.val_Y.numpy().astype(np.uint8), pred)


@pytest.mark.parametrize("seeds", [(0, 1), (3, 4)])
def test_final_model_hands_off_what_its_summary_lists(tmp_path, seeds):
    run = fake_run(tmp_path)
    encoded = toy_encoded(200, 80, 30)
    final = train_final_lstm(run, encoded, small_run(patience=1), seeds=seeds)
    ids, probs = load_probabilities(run.paths, "lstm", "test")
    assert list(ids) == list(encoded.test_ids) and probs.shape == (30, N_LABELS)
    _, val_probs = load_probabilities(run.paths, "lstm", "val")
    assert np.allclose(val_probs, final.val_probs, atol=1e-6)
    summary = load_summary(run.paths, "lstm")
    assert summary["seeds"] == list(seeds) and set(summary["val_metrics"]) >= {"micro_f1", "samples_f1"}
    assert summary["histories"] == [f"lstm_seed{s}" for s in seeds]
    for name in summary["histories"]:
        assert len(load_history(run.paths, name)) >= 1
    assert summary["weights"] == [f"artifacts/checkpoints/lstm_seed{s}{suffix}.pt"
                                  for s in seeds for suffix in ("", "_fp16")]
    half = load_weights(run.paths.out_dir / summary["weights"][1], kind="lstm")
    assert all(v.dtype == torch.float16 for v in half.state_dict.values() if v.is_floating_point())
    assert half.config["vocab_size"] == encoded.vocab_size and half.config["hidden_dim"] == SMALL.hidden_dim
    assert half.config == final.runs[seeds[0]].trained.model.config.to_state()
    assert summary["config"]["model"]["vocab_size"] == encoded.vocab_size
    model = load_lstm(run.paths.out_dir / summary["weights"][1])
    with torch.no_grad():
        reference = final.runs[seeds[0]].trained.model.eval()(encoded.val_tokens, encoded.val_lengths)
        torch.testing.assert_close(model(encoded.val_tokens, encoded.val_lengths), reference, atol=2e-2, rtol=0)
    assert summary["size_bytes"] == sum(o.size_bytes for o in final.runs.values()) > 0
    table = performance_table(final, trivial_baseline(encoded)[1])
    assert list(table["model"]) == [f"LSTM seed {seeds[0]}", f"LSTM seed {seeds[1]}", "average of 2 LSTMs",
                                    "trivial baseline"]
    assert "validation micro-F1" in table.columns


def test_checkpoint_is_named_by_the_engine_and_its_sidecar_names_the_run(tmp_path):
    encoded = toy_encoded(120, 40, 10)
    trained = train_lstm(fake_run(tmp_path), encoded, small_run(epochs=1), seed=2)
    assert trained.checkpoint.parent == fake_run(tmp_path).paths.checkpoints / "lstm"
    assert trained.checkpoint.name.startswith("lstm_") and trained.checkpoint.suffix == ".pt"
    sidecar = read_json(trained.checkpoint.with_suffix(".json"))
    assert sidecar["vocab_size"] == encoded.vocab_size == trained.model.config.vocab_size
    assert (sidecar["variant"], sidecar["batch_size"], sidecar["train_config"]["seed"]) == ("standard", 64, 2)
    other_seed = train_lstm(fake_run(tmp_path), encoded, small_run(epochs=1), seed=3)
    assert other_seed.checkpoint != trained.checkpoint


def test_predict_runs_the_engines_inference_loop_over_length_buckets_in_data_order(tmp_path, monkeypatch):
    import helpers.engine.inference as lstm_training  # predict_captions calls the engine's predict_proba

    encoded = toy_encoded(50, 40, 10)
    model = build_lstm(replace(SMALL, vocab_size=encoded.vocab_size), seed=0).eval()
    calls = []
    real = lstm_training.predict_proba

    def spy(model_, batches, device="cpu", with_targets=False):
        calls.append(batches)
        return real(model_, batches, device, with_targets)

    monkeypatch.setattr(lstm_training, "predict_proba", spy)
    probs, _ = predict(model, encoded.val_tokens, encoded.val_lengths)
    assert len(calls) == 1 and isinstance(calls[0], LengthBuckets) and not calls[0].shuffle
    with torch.no_grad():
        expected = torch.sigmoid(model(encoded.val_tokens, encoded.val_lengths)).numpy()
    np.testing.assert_allclose(probs, expected, atol=1e-6)  # same rows in the same order
