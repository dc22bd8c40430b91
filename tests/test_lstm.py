"""Caption LSTM: shapes, the padding rule, stored sizes, batching, learning a toy problem, runs and hand-off."""
from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from helpers.core.config import RunPaths
from helpers.core.handoff import load_probabilities, load_summary
from helpers.core.labels import N_LABELS
from helpers.core.profiles import get_profile
from helpers.models.lstm import (
    ARCHITECTURES,
    REFERENCE_VOCAB_SIZE,
    CaptionLSTM,
    LengthBuckets,
    LstmConfig,
    build_model,
    feature_size,
    measure_train_throughput,
    stored_size_bytes,
    synthetic_captions,
)
from helpers.train.lstm_training import (
    ABLATIONS,
    LstmRun,
    load_weights,
    run_lstm_ablation,
    size_table,
    train_final_lstm,
    train_lstm,
)

SMALL = LstmConfig(embed_dim=8, hidden_dim=12)


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models run fastest on one thread (and a shared machine does not stall them)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def padded(lengths: list[int], width: int, vocab: int = 50, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    lengths_t = torch.tensor(lengths)
    tokens = torch.randint(2, vocab, (len(lengths), width), generator=generator)
    tokens[torch.arange(width)[None, :] >= lengths_t[:, None]] = 0
    return tokens, lengths_t


@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_shapes(name):
    config = replace(ARCHITECTURES[name], embed_dim=8, hidden_dim=12)
    model = build_model(50, config).eval()
    tokens, lengths = padded([1, 4, 7], 9)
    assert model(tokens, lengths).shape == (3, N_LABELS)
    assert model.features(tokens, lengths).shape == (3, feature_size(config))
    assert feature_size(config) == 12 * {"standard": 1, "two_layers": 1, "bidirectional": 2,
                                         "bidirectional_first_last": 4}[name]


def test_invalid_configs_are_refused():
    with pytest.raises(ValueError, match="bidirectional"):
        CaptionLSTM(50, LstmConfig(readout="first_last"))
    with pytest.raises(ValueError, match="one layer"):
        CaptionLSTM(50, LstmConfig(bidirectional=True, num_layers=2))


@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_padding_never_feeds_the_prediction(name):
    model = build_model(50, replace(ARCHITECTURES[name], embed_dim=8, hidden_dim=12), seed=1).eval()
    tokens, lengths = padded([1, 3, 6, 6, 2], 6)
    with torch.no_grad():
        reference = model(tokens, lengths)
        wider = torch.cat([tokens, torch.zeros(5, 4, dtype=torch.long)], dim=1)  # more padding columns
        garbage = tokens.clone()
        garbage[torch.arange(6)[None, :] >= lengths[:, None]] = 7  # other ids in padded positions
        alone = torch.cat([model(tokens[i:i + 1, : lengths[i]], lengths[i:i + 1]) for i in range(5)])
        torch.testing.assert_close(model(wider, lengths), reference)
        torch.testing.assert_close(model(garbage, lengths), reference)
        torch.testing.assert_close(alone, reference)  # same as each caption on its own, unpadded


def test_bidirectional_matches_packed_torch_lstm():
    """The two-LSTM implementation equals nn.LSTM(bidirectional=True) on packed sequences."""
    model = build_model(50, replace(ARCHITECTURES["bidirectional"], embed_dim=8, hidden_dim=12), seed=2).eval()
    reference = nn.LSTM(8, 12, batch_first=True, bidirectional=True)
    with torch.no_grad():
        for name, value in model.lstm.named_parameters():
            getattr(reference, name).copy_(value)
            getattr(reference, f"{name}_reverse").copy_(getattr(model.lstm_reverse, name))
        tokens, lengths = padded([2, 5, 1, 4], 5, seed=3)
        packed = pack_padded_sequence(model.embedding(tokens), lengths, batch_first=True, enforce_sorted=False)
        _, (h_n, _) = reference(packed)
        torch.testing.assert_close(model.features(tokens, lengths), torch.cat([h_n[0], h_n[1]], dim=1))


def test_stored_sizes_match_the_reference():
    """4,793-entry dictionary: 4.1 / 5.7 / 6.2 MB (float32 state_dict via torch.save, MB = 10^6 bytes)."""
    expected = {"standard": 4.1, "bidirectional": 5.7, "two_layers": 6.2}
    for name, mb in expected.items():
        assert abs(stored_size_bytes(REFERENCE_VOCAB_SIZE, ARCHITECTURES[name]) / 1e6 - mb) <= 0.1, name
    table = size_table(1000)
    assert list(table["architecture"]) == list(ARCHITECTURES)
    assert np.allclose(table["size MB (4,793 entries)"].iloc[:3], list(expected.values()), atol=0.1)
    assert (table["size MB (this dictionary)"] < table["size MB (4,793 entries)"]).all()
    assert np.allclose(table["size MB fp16 (this dictionary)"], table["size MB (this dictionary)"] / 2, rtol=0.02)


def test_length_buckets_cover_every_row_once_and_trim():
    tokens, lengths, Y = synthetic_captions(1000, vocab_size=60, max_len=20)
    torch.manual_seed(0)
    batches = list(LengthBuckets(tokens, lengths, Y, batch_size=64, shuffle=True, chunk_batches=4))
    assert len(batches) == 16
    seen = torch.cat([b[1] for b in batches])
    assert torch.equal(seen.sort().values, lengths.sort().values)
    assert int(sum(b[0].count_nonzero() for b in batches)) == int(tokens.count_nonzero())
    assert all(b[0].shape[1] == int(b[1].max()) for b in batches)  # trimmed to its own longest caption
    widths = np.mean([b[0].shape[1] for b in batches])
    assert widths < 0.8 * int(lengths.max())  # grouping by length removes most padding
    torch.manual_seed(0)
    again = list(LengthBuckets(tokens, lengths, Y, batch_size=64, shuffle=True, chunk_batches=4))
    assert all(torch.equal(a[1], b[1]) for a, b in zip(batches, again))
    ordered = list(LengthBuckets(tokens, lengths, Y, batch_size=300))
    assert torch.equal(torch.cat([b[1] for b in ordered]), lengths)
    with pytest.raises(ValueError, match="at least one token"):
        LengthBuckets(tokens, torch.zeros(1000, dtype=torch.long))


def toy_encoded(n_train: int = 600, n_val: int = 200, n_test: int = 100, vocab: int = 40, seed: int = 0):
    """Captions whose token 2 + k appears exactly when label k is on (a separable problem)."""
    generator = torch.Generator().manual_seed(seed)

    def part(n: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        Y = (torch.rand(n, N_LABELS, generator=generator) < 0.15).float()
        Y[Y.sum(1) == 0, 0] = 1
        width = 12
        tokens = torch.zeros(n, width, dtype=torch.long)
        lengths = torch.zeros(n, dtype=torch.long)
        for i in range(n):
            words = [2 + k for k in torch.nonzero(Y[i]).flatten().tolist()]
            words += torch.randint(2 + N_LABELS, vocab, (int(torch.randint(0, 4, (1,), generator=generator)),),
                                   generator=generator).tolist()
            words = [words[j] for j in torch.randperm(len(words), generator=generator).tolist()][:width]
            tokens[i, : len(words)] = torch.tensor(words)
            lengths[i] = len(words)
        return tokens, lengths, Y

    (trt, trl, trY), (vt, vl, vY), (tt, tl, _) = part(n_train), part(n_val), part(n_test)
    ids = lambda prefix, n: np.array([f"{prefix}{i}.jpg" for i in range(n)])  # noqa: E731
    return SimpleNamespace(
        variant="standard", vocab=["-PAD-", "-OOV-"] + [f"w{i}" for i in range(vocab - 2)], max_len=12,
        train_ids=ids("a", n_train), val_ids=ids("b", n_val), test_ids=ids("c", n_test),
        train_tokens=trt, val_tokens=vt, test_tokens=tt, train_lengths=trl, val_lengths=vl, test_lengths=tl,
        train_Y=trY, val_Y=vY, config={"key": f"toy{seed}"}, vocab_size=vocab)


def fake_run(tmp_path, profile: str = "smoke", fresh: bool = False) -> SimpleNamespace:
    return SimpleNamespace(paths=RunPaths(data_dir=tmp_path / "data", out_dir=tmp_path / "out"), fingerprint="fp",
                           fresh=fresh, device=torch.device("cpu"), profile=get_profile(profile))


def test_tiny_model_learns_a_separable_toy_problem(tmp_path):
    encoded = toy_encoded()
    config = LstmRun(model=LstmConfig(embed_dim=16, hidden_dim=32, dropout=0.0), lr=0.05, epochs=10,
                     batch_size=32)
    trained = train_lstm(fake_run(tmp_path), encoded, config, seed=0)
    assert trained.fit.best_val_micro_f1 > 0.9
    assert trained.checkpoint.is_file()
    again = train_lstm(fake_run(tmp_path), encoded, config, seed=0)  # unchanged finished run: reused
    assert again.fit.reused and again.fit.best_val_micro_f1 == trained.fit.best_val_micro_f1


def test_same_seed_same_result_and_resume_keys(tmp_path):
    encoded = toy_encoded(200, 80, 20)
    config = LstmRun(model=SMALL, epochs=2, batch_size=64)
    a = train_lstm(fake_run(tmp_path / "a"), encoded, config, seed=3)
    b = train_lstm(fake_run(tmp_path / "b"), encoded, config, seed=3)
    assert a.fit.history["val_micro_f1"].tolist() == b.fit.history["val_micro_f1"].tolist()
    assert a.fit.history["train_loss"].tolist() == b.fit.history["train_loss"].tolist()
    c = train_lstm(fake_run(tmp_path / "a"), encoded, replace(config, lr=0.01), seed=3)
    assert not c.fit.reused and c.checkpoint != a.checkpoint


def test_final_model_hands_off_probabilities_summary_and_weights(tmp_path):
    run = fake_run(tmp_path)
    encoded = toy_encoded(200, 80, 30)
    final = train_final_lstm(run, encoded, LstmRun(model=SMALL, epochs=2, patience=1, batch_size=64), seeds=(0, 1))
    ids, probs = load_probabilities(run.paths, "lstm", "test")
    assert list(ids) == list(encoded.test_ids) and probs.shape == (30, N_LABELS)
    val_ids, val_probs = load_probabilities(run.paths, "lstm", "val")
    assert np.allclose(val_probs, final.val_probs, atol=1e-6)
    summary = load_summary(run.paths, "lstm")
    assert summary["seeds"] == [0, 1] and set(summary["val_metrics"]) >= {"micro_f1", "samples_f1"}
    assert len(summary["weights"]) == 4 and summary["size_bytes"] > 0
    model = load_weights(summary["weights"][1], encoded.vocab_size, SMALL)  # the float16 copy
    with torch.no_grad():
        reference = final.runs[0].model.eval()(encoded.val_tokens, encoded.val_lengths)
        torch.testing.assert_close(model(encoded.val_tokens, encoded.val_lengths), reference, atol=2e-2, rtol=0)
    assert list(final.performance["model"]) == ["LSTM seed 0", "LSTM seed 1", "average of 2 LSTMs"]
    assert "validation micro-F1" in final.performance.columns
    assert (run.paths.results / "lstm_seed1_history.csv").is_file()


def test_ablation_is_tidy_and_cached(tmp_path, monkeypatch):
    run = fake_run(tmp_path)
    encoded = toy_encoded(120, 40, 10)
    small_base = LstmRun(model=SMALL, epochs=1, batch_size=64)
    monkeypatch.setitem(ABLATIONS, "cutoff", replace(
        ABLATIONS["cutoff"], settings=lambda base: {str(c): replace(small_base, cutoff=c) for c in (0.25, 0.75)}))
    tidy = run_lstm_ablation(run, "cutoff", lambda variant: encoded)
    assert list(tidy.columns) == ["experiment", "setting", "seed", "metric", "value"]
    assert set(tidy["metric"]) >= {"micro_f1", "samples_f1", "macro_f1", "exact_match", "hamming_accuracy",
                                   "train_time_s", "test_time_s"}
    assert set(tidy["setting"]) == {"0.25", "0.75"}
    monkeypatch.setattr("helpers.train.lstm_training.train_lstm",
                        lambda *a, **k: pytest.fail("cached: must not retrain"))
    again = run_lstm_ablation(run, "cutoff", lambda variant: encoded)
    columns = ["setting", "metric"]
    assert again.sort_values(columns, ignore_index=True).equals(tidy.sort_values(columns, ignore_index=True))


def test_throughput_measurement_runs():
    rate = measure_train_throughput(SMALL, vocab_size=50, n_rows=256, batch_size=128, epochs=1)
    assert rate > 0
