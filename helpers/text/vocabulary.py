"""Steps 4 and 5: the dictionary (-PAD- 0, -OOV- 1, then words by frequency) and token ids of fixed length."""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np
import torch

from helpers.text.preprocessing import Preprocessor, TextConfig
from helpers.text.stopwords import StopWords

PAD, OOV = "-PAD-", "-OOV-"
PAD_INDEX, OOV_INDEX = 0, 1


def build_vocab(token_lists: Iterable[Sequence[str]], min_count: int = 1) -> list[str]:
    """[-PAD-, -OOV-, words...]: words seen at least min_count times, most frequent first, ties alphabetical."""
    counts = Counter(w for tokens in token_lists for w in tokens)
    words = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
    return [PAD, OOV, *words]


def encode(token_lists: Sequence[Sequence[str]], vocab: Sequence[str], max_len: int
           ) -> tuple[torch.Tensor, torch.Tensor]:
    """(ids (n, max_len) int64, lengths (n,) int64): unknown words -> -OOV-, first max_len tokens kept,
    post-padded with -PAD-; an empty caption becomes one -OOV- token (length 1), so every row has a
    last real token for the LSTM."""
    index = {w: i for i, w in enumerate(vocab)}
    n = len(token_lists)
    lengths = np.fromiter((min(len(t), max_len) for t in token_lists), dtype=np.int64, count=n)
    flat = [index.get(w, OOV_INDEX) for t in token_lists for w in t[:max_len]]
    ids = np.full((n, max_len), PAD_INDEX, dtype=np.int64)
    rows = np.repeat(np.arange(n), lengths)
    cols = np.arange(len(flat)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    ids[rows, cols] = np.asarray(flat, dtype=np.int64)
    empty = lengths == 0
    ids[empty, 0] = OOV_INDEX
    lengths[empty] = 1
    return torch.from_numpy(ids), torch.from_numpy(lengths)


def decode(ids: torch.Tensor, length: int, vocab: Sequence[str]) -> list[str]:
    """Token ids of one row back to words (for reading examples)."""
    return [vocab[int(i)] for i in ids[:length]]


def fit_rows(n_train: int, split: tuple[np.ndarray, np.ndarray], config: TextConfig) -> np.ndarray:
    """Rows of dataset.train the dictionary is fitted on: all of them, or the training split's."""
    return np.asarray(split[0]) if config.fit_on == "train_split" else np.arange(n_train)


def dictionary_size(captions: Iterable[str], config: TextConfig, stopwords: StopWords | None = None) -> int:
    """Entries (with -PAD- and -OOV-) of the dictionary `config` fits on `captions`."""
    return len(build_vocab(Preprocessor(config, stopwords).tokenize_all(captions), config.min_count))
