"""helpers.models.lstm: shapes, padding, the config state, seeded building, the weights file, batching."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from helpers.bench import synthetic_captions
from helpers.core.labels import N_LABELS
from helpers.models.lstm import (
    ARCHITECTURES,
    REFERENCE_VOCAB_SIZE,
    CaptionLSTM,
    LengthBuckets,
    LstmConfig,
    build_lstm,
    feature_size,
    load_lstm,
)
from helpers.models.weights import WeightsFileError, save_weights, to_half

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
    model = build_lstm(replace(config, vocab_size=50)).eval()
    tokens, lengths = padded([1, 4, 7], 9)
    assert model(tokens, lengths).shape == (3, N_LABELS)
    assert model.features(tokens, lengths).shape == (3, feature_size(config))
    assert feature_size(config) == 12 * {"standard": 1, "two_layers": 1, "bidirectional": 2,
                                         "bidirectional_first_last": 4}[name]


def test_invalid_configs_are_refused():
    with pytest.raises(ValueError, match="bidirectional"):
        CaptionLSTM(LstmConfig(vocab_size=50, readout="first_last"))
    with pytest.raises(ValueError, match="one layer"):
        CaptionLSTM(LstmConfig(vocab_size=50, bidirectional=True, num_layers=2))


@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_padding_never_feeds_the_prediction(name):
    model = build_lstm(replace(ARCHITECTURES[name], vocab_size=50, embed_dim=8, hidden_dim=12), seed=1).eval()
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
    config = replace(ARCHITECTURES["bidirectional"], vocab_size=50, embed_dim=8, hidden_dim=12)
    model = build_lstm(config, seed=2).eval()
    reference = nn.LSTM(8, 12, batch_first=True, bidirectional=True)
    with torch.no_grad():
        for name, value in model.lstm.named_parameters():
            getattr(reference, name).copy_(value)
            getattr(reference, f"{name}_reverse").copy_(getattr(model.lstm_reverse, name))
        tokens, lengths = padded([2, 5, 1, 4], 5, seed=3)
        packed = pack_padded_sequence(model.embedding(tokens), lengths, batch_first=True, enforce_sorted=False)
        _, (h_n, _) = reference(packed)
        torch.testing.assert_close(model.features(tokens, lengths), torch.cat([h_n[0], h_n[1]], dim=1))


@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_weights_file_rebuilds_the_model(tmp_path, name):
    config = replace(ARCHITECTURES[name], vocab_size=50, embed_dim=8, hidden_dim=12)
    model = build_lstm(config, seed=4).eval()
    path = save_weights(tmp_path / "lstm.pt", kind="lstm", config=config.to_state(),
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


def test_config_state_round_trip_and_refusals():
    config = LstmConfig(vocab_size=77, embed_dim=8, bidirectional=True, readout="first_last")
    state = config.to_state()
    assert state["vocab_size"] == 77 and all(isinstance(v, (int, float, str, bool)) for v in state.values())
    assert LstmConfig.from_state(state) == config
    with pytest.raises(ValueError, match=r"missing keys \['vocab_size'\]"):
        LstmConfig.from_state({"embed_dim": 8})
    with pytest.raises(ValueError, match=r"unknown keys \['image_size'\]"):
        LstmConfig.from_state({"vocab_size": 10, "image_size": 64})
    assert LstmConfig().vocab_size == REFERENCE_VOCAB_SIZE  # the size table's architectures


def test_builder_seeds_its_weights_and_leaves_the_callers_random_state_alone():
    config = LstmConfig(vocab_size=30, embed_dim=8, hidden_dim=12)
    torch.manual_seed(5)
    expected = CaptionLSTM(config).state_dict()  # what the global torch.manual_seed(5) of the old builder gave
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    built = build_lstm(config, seed=5).state_dict()
    assert torch.equal(torch.random.get_rng_state(), before)
    assert all(torch.equal(built[k], expected[k]) for k in expected)
    other = build_lstm(config, seed=6).state_dict()
    assert not torch.equal(other["embedding.weight"], built["embedding.weight"])
    build_lstm(config)  # no seed: drawn from the current state, which is left as it was
    assert torch.equal(torch.random.get_rng_state(), before)


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
