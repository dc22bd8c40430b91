"""helpers.text.vocabulary: the dictionary (-PAD-, -OOV-, words by frequency) and fixed-length token ids."""
from __future__ import annotations

import torch

from helpers import text
from helpers.text import (
    OOV,
    OOV_INDEX,
    PAD,
    PAD_INDEX,
    build_vocab,
    encode,
)


def test_vocab_has_pad_and_oov_first_then_words_by_frequency():
    vocab = build_vocab([["dog", "cat"], ["cat", "bird"], ["cat", "dog", "ant"]])
    assert vocab == [PAD, OOV, "cat", "dog", "ant", "bird"]
    assert vocab.index(PAD) == PAD_INDEX and vocab.index(OOV) == OOV_INDEX
    assert build_vocab([["dog", "cat"], ["cat"]], min_count=2) == [PAD, OOV, "cat"]


def test_encode_pads_truncates_maps_unknown_words_and_fills_empty_captions():
    vocab = [PAD, OOV, "a", "b", "c"]
    ids, lengths = encode([["a", "b"], ["c", "a", "b", "c", "a"], ["zzz", "a"], []], vocab, max_len=4)
    assert ids.dtype == torch.int64 and lengths.dtype == torch.int64
    assert ids.tolist() == [[2, 3, 0, 0], [4, 2, 3, 4], [1, 2, 0, 0], [1, 0, 0, 0]]
    assert lengths.tolist() == [2, 4, 2, 1]
    assert text.decode(ids[1], int(lengths[1]), vocab) == ["c", "a", "b", "c"]
