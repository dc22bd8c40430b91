"""Caption LSTM model: shapes, the padding rule, sizes, the weights file round trip, batching, throughput."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from helpers.bench import measure_train_throughput, synthetic_captions
from helpers.core.labels import N_LABELS
from helpers.models.lstm import (
    ARCHITECTURES,
    REFERENCE_VOCAB_SIZE,
    CaptionLSTM,
    LengthBuckets,
    LstmConfig,
    build_lstm,
    build_model,
    feature_size,
    load_lstm,
    lstm_config,
)
from helpers.models.weights import MB, WeightsFileError, model_bytes, save_weights, to_half
from helpers.report.lstm import size_table
from tests.lstm_fakes import SMALL

pytestmark = pytest.mark.usefixtures("one_thread")  # the fixture is in conftest.py


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


def test_sizes_match_the_reference():
    """4,793-entry dictionary: the float32 weights give the study's 4.1 / 5.7 / 6.2 MB (MB = 10^6 bytes)."""
    expected = {"standard": 4.1, "bidirectional": 5.7, "two_layers": 6.2}
    for name, mb in expected.items():
        assert round(model_bytes(CaptionLSTM(REFERENCE_VOCAB_SIZE, ARCHITECTURES[name])) / MB, 1) == mb, name
    table = size_table(1000)
    assert list(table["architecture"]) == list(ARCHITECTURES)
    assert np.allclose(table["size MB (4,793 entries)"].iloc[:3], list(expected.values()), atol=0.05)
    assert (table["size MB (this dictionary)"] < table["size MB (4,793 entries)"]).all()
    assert np.allclose(table["size MB fp16 (this dictionary)"], table["size MB (this dictionary)"] / 2, rtol=0.001)


@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_weights_file_rebuilds_the_model(tmp_path, name):
    config = replace(ARCHITECTURES[name], embed_dim=8, hidden_dim=12)
    model = build_model(50, config, seed=4).eval()
    path = save_weights(tmp_path / "lstm.pt", kind="lstm", config=lstm_config(50, config),
                        state_dict=to_half(model.state_dict()))
    loaded = load_lstm(path)
    assert loaded.config == config and not loaded.training
    assert all(v.dtype == torch.float32 for v in loaded.state_dict().values() if v.is_floating_point())
    tokens, lengths = padded([3, 1, 5], 5)
    with torch.no_grad():
        torch.testing.assert_close(loaded(tokens, lengths), model(tokens, lengths), atol=2e-2, rtol=0)
    other = save_weights(tmp_path / "head.pt", kind="cnn_head", config={}, state_dict={})
    with pytest.raises(WeightsFileError, match="expected 'lstm'"):
        load_lstm(other)


def test_build_lstm_refuses_a_config_it_cannot_rebuild():
    with pytest.raises(ValueError, match="vocab_size"):
        build_lstm({"embed_dim": 8})
    with pytest.raises(ValueError, match="not an LSTM config"):
        build_lstm({"vocab_size": 10, "image_size": 64})


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
        LengthBuckets(tokens, torch.zeros(1000, dtype=torch.long), batch_size=64)


def test_throughput_counts_every_sample_of_every_epoch_and_restores_threads(monkeypatch):
    import helpers.bench as lstm_module

    clock = iter([100.0, 104.0])  # the timed part takes 4 "seconds" on this fake clock
    monkeypatch.setattr(lstm_module.time, "perf_counter", lambda: next(clock))
    before = torch.get_num_threads()
    rate = measure_train_throughput(SMALL, vocab_size=50, n_rows=256, batch_size=128, epochs=2, threads=1)
    assert rate == pytest.approx(2 * 256 / 4.0)
    assert torch.get_num_threads() == before
