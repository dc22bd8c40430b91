"""The caption LSTM of the reference study, its variants, its stored size and fast batching.

Reference design (every size a parameter of `LstmConfig`): embedding 128, one LSTM layer with
hidden size 256, dropout 0.4, 18 linear heads (one per label), sigmoid, cut-off 0.5.

Variants (`ARCHITECTURES`):
- standard:            features = the LSTM output at the caption's last real token (H values).
- bidirectional:       features = [forward output at the last real token, backward output at the
                       first token], i.e. each direction's summary of the whole caption (2H; what
                       Keras' Bidirectional(LSTM) returns).
- two_layers:          two stacked LSTM layers, dropout between them; readout as standard (H).
- bidirectional_first_last: the study's proposed improvement, "first and last outputs
                       concatenated": the bidirectional output sequence (2H per position) read at
                       the first token and at the last real token, concatenated (4H). Compared
                       with `bidirectional` this adds the direction-local states (forward at the
                       first word, backward at the last word), i.e. direct access to the first and
                       last words of the caption.

Padding never feeds the prediction: every direction stops or starts at each caption's own last
real token (see CaptionLSTM).

Stored size: the float32 tensors of the state_dict (helpers.models.weights.model_bytes), in MB = 10^6
bytes. With the reference's 4,793-entry dictionary this gives 4.05 / 5.65 / 6.16 MB for standard /
bidirectional / two layers, matching the study's 4.1 / 5.7 / 6.2 MB (MiB = 2^20 would give
3.9 / 5.4 / 5.9 and miss the two-layer figure by 0.3).

A saved LSTM is one helpers.models.weights file of kind "lstm" whose config is `LstmConfig.to_state()`
(the dictionary size and every other field), so `build_lstm(LstmConfig.from_state(config))` rebuilds it.

The timed throughput loops are not here: they are measurements, in helpers.bench.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import torch
from torch import nn

from helpers.core.labels import N_LABELS
from helpers.core.seeding import seeded
from helpers.models.weights import load_weights

REFERENCE_VOCAB_SIZE = 4793  # the reference study's dictionary size
READOUTS = ("last", "first_last")


@dataclass(frozen=True)
class LstmConfig:
    """Shape of one caption LSTM, its dictionary size included (stored in its weights file and checkpoint key).

    vocab_size defaults to the reference's dictionary (the architectures of the size table); a trained
    model's config carries its own dictionary's size (helpers.train.lstm_training sets it).
    """

    vocab_size: int = REFERENCE_VOCAB_SIZE
    embed_dim: int = 128
    hidden_dim: int = 256
    num_layers: int = 1
    bidirectional: bool = False
    readout: str = "last"  # "last": last real token (each direction's summary); "first_last": see module doc
    dropout: float = 0.4  # on the features fed to the heads, and between stacked layers
    n_labels: int = N_LABELS

    def to_state(self) -> dict[str, Any]:
        """Every field as a plain value: what a weights file stores to rebuild the model."""
        return asdict(self)

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> LstmConfig:
        """The config a weights file stored; ValueError naming unknown keys, or vocab_size when it is missing."""
        names = {f.name for f in fields(cls)}
        unknown, missing = sorted(set(state) - names), [] if "vocab_size" in state else ["vocab_size"]
        if unknown or missing:
            raise ValueError(f"not an LSTM config: unknown keys {unknown}, missing keys {missing} "
                             f"(an LSTM config holds {sorted(names)}); got {sorted(state)}")
        return cls(**{k: v for k, v in state.items()})


ARCHITECTURES: dict[str, LstmConfig] = {
    "standard": LstmConfig(),
    "bidirectional": LstmConfig(bidirectional=True),
    "two_layers": LstmConfig(num_layers=2),
    "bidirectional_first_last": LstmConfig(bidirectional=True, readout="first_last"),
}


class CaptionLSTM(nn.Module):
    """Embedding -> LSTM -> dropout -> 18 sigmoid heads; forward(tokens, lengths) returns logits.

    The 18 separate heads (one Linear(features, 1) per label in the reference) are stored as one
    Linear(features, 18): identical parameters (18 x (features + 1)) and outputs, one matrix product.

    Padding rule without packing (packed sequences are slower than padded ones on CPU): the forward
    LSTM is causal, so its output at position length - 1 has seen real tokens only; the backward
    direction runs as a second LSTM over each caption reversed within its own length (padding stays
    at the end), so it too starts at the last real token. Same parameters as nn.LSTM(bidirectional=True).
    """

    def __init__(self, config: LstmConfig = LstmConfig()):
        super().__init__()
        if config.readout not in READOUTS:
            raise ValueError(f"readout must be one of {READOUTS}, not {config.readout!r}")
        if config.readout == "first_last" and not config.bidirectional:
            raise ValueError("readout 'first_last' needs a bidirectional LSTM")
        if config.bidirectional and config.num_layers != 1:
            raise ValueError("a bidirectional LSTM is supported with one layer only")
        self.config = config
        self.embedding = nn.Embedding(config.vocab_size, config.embed_dim, padding_idx=0)
        self.lstm = nn.LSTM(config.embed_dim, config.hidden_dim, num_layers=config.num_layers, batch_first=True,
                            dropout=config.dropout if config.num_layers > 1 else 0.0)
        self.lstm_reverse = (nn.LSTM(config.embed_dim, config.hidden_dim, batch_first=True)
                             if config.bidirectional else None)
        self.dropout = nn.Dropout(config.dropout)
        self.heads = nn.Linear(feature_size(config), config.n_labels)

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """tokens (n, L) post-padded ids, lengths (n,) >= 1 -> logits (n, n_labels)."""
        return self.heads(self.dropout(self.features(tokens, lengths)))

    def features(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        lengths = lengths.to(tokens.device)
        tokens = tokens[:, : int(lengths.max())]  # positions past every caption's end are padding
        rows = torch.arange(len(tokens), device=tokens.device)
        forward_out = self.lstm(self.embedding(tokens))[0]
        forward_last = forward_out[rows, lengths - 1]
        if self.lstm_reverse is None:
            return forward_last
        reversed_tokens = tokens.gather(1, reverse_within_length(lengths, tokens.shape[1]))
        reverse_out = self.lstm_reverse(self.embedding(reversed_tokens))[0]
        backward_first = reverse_out[rows, lengths - 1]  # the backward direction's summary of the caption
        if self.config.readout == "last":
            return torch.cat([forward_last, backward_first], dim=1)
        forward_first, backward_last = forward_out[:, 0], reverse_out[:, 0]
        return torch.cat([forward_first, backward_first, forward_last, backward_last], dim=1)


def reverse_within_length(lengths: torch.Tensor, width: int) -> torch.Tensor:
    """Column indices (n, width) that reverse each row's first `length` positions and keep the rest in place."""
    positions = torch.arange(width, device=lengths.device).expand(len(lengths), width)
    return torch.where(positions < lengths[:, None], lengths[:, None] - 1 - positions, positions)


def feature_size(config: LstmConfig) -> int:
    directions = 2 if config.bidirectional else 1
    return config.hidden_dim * directions * (2 if config.readout == "first_last" else 1)


def build_lstm(config: LstmConfig, seed: int | None = None) -> CaptionLSTM:
    """A freshly initialised CaptionLSTM, built under `seeded(seed)`: the seed fixes its initial weights.

    The caller's random state is left as it was, seed or not; with seed None the weights come from the
    current global state without advancing it, so two calls give the same weights (pass different seeds
    for different models).
    """
    with seeded(seed):
        return CaptionLSTM(config)


def load_lstm(path: str | Path) -> CaptionLSTM:
    """A saved LSTM (float32 or float16 weights) back as a float32 model in eval mode; nothing is unpickled."""
    saved = load_weights(path, kind="lstm")
    model = build_lstm(LstmConfig.from_state(saved.config))
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in saved.state_dict.items()})
    return model.eval()


class LengthBuckets:
    """Re-iterable batches (tokens, lengths, Y) of cached, padded captions.

    shuffle=True: a fresh permutation from torch's global generator every pass (fit reseeds it per
    epoch, so runs are reproducible and resumable), then captions of similar length are grouped
    within chunks of `chunk_batches` batches and the batch order is shuffled; every batch is
    trimmed to its own longest caption. shuffle=False keeps the data order (for predictions).
    All work is tensor indexing: no Python per caption.
    """

    def __init__(self, tokens: torch.Tensor, lengths: torch.Tensor, Y: torch.Tensor | None = None, *,
                 batch_size: int, shuffle: bool = False, chunk_batches: int = 32):
        if len(tokens) != len(lengths) or (Y is not None and len(Y) != len(tokens)):
            raise ValueError(f"tokens ({len(tokens)}), lengths ({len(lengths)}) and targets "
                             f"({'none' if Y is None else len(Y)}) must have the same number of rows")
        if len(lengths) and int(lengths.min()) < 1:
            raise ValueError("every caption needs at least one token (length >= 1); re-run notebook 02")
        self.tokens, self.lengths = tokens.long(), lengths.long()
        self.Y = Y.float() if Y is not None else torch.zeros(len(tokens), N_LABELS)
        self.batch_size, self.shuffle, self.chunk_batches = batch_size, shuffle, chunk_batches

    def __len__(self) -> int:
        return -(-len(self.tokens) // self.batch_size)

    def _batch_indices(self) -> list[torch.Tensor]:
        n = len(self.tokens)
        if not self.shuffle:
            return list(torch.arange(n).split(self.batch_size))
        order = torch.randperm(n)
        chunk = self.batch_size * self.chunk_batches
        batches = []
        for part in order.split(chunk):
            by_length = part[torch.argsort(self.lengths[part], stable=True)]
            batches += list(by_length.split(self.batch_size))
        return [batches[i] for i in torch.randperm(len(batches)).tolist()]

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        for index in self._batch_indices():
            lengths = self.lengths[index]
            yield self.tokens[index, : int(lengths.max())], lengths, self.Y[index]


