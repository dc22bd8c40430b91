"""Caption -> list of tokens for one TextConfig: clean, drop stop words, stem / lemmatize (steps 1-3)."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict

import numpy as np

from helpers.core.hashing import stable_hash
from helpers.text import stopwords as stopword_lists
from helpers.text.cleaning import clean_words
from helpers.text.normalizers import word_normalizer
from helpers.text.stopwords import StopWords
from helpers.text.variants import TextConfig


class Preprocessor:
    """Caption -> list of tokens for one TextConfig (clean, drop stop words, stem / lemmatize)."""

    def __init__(self, config: TextConfig, stopwords: StopWords | None = None, download: bool = True):
        self.config = config
        self.stopwords = stopwords or stopword_lists.load_stopwords(download)
        self._normalize, self.normalizer_name = word_normalizer(config.normalizer, config.lemmatizer)
        self._memo: dict[str, str] = {}

    def _norm(self, word: str) -> str:
        out = self._memo.get(word)
        if out is None:
            out = self._memo[word] = self._normalize(word)
        return out

    def tokens(self, caption: str) -> list[str]:
        words = clean_words(caption, self.config.non_letters)
        if not self.config.keep_stopwords:
            stop = self.stopwords.words
            words = [w for w in words if w not in stop]
        return [self._norm(w) for w in words]

    def tokenize_all(self, captions: Iterable[str]) -> list[list[str]]:
        return [self.tokens(c) for c in captions]

    def describe(self) -> dict:
        """What the cache key and the tables need to know about this preprocessor."""
        return {**asdict(self.config), "normalizer_used": self.normalizer_name,
                "stopwords_source": self.stopwords.source,
                "stopwords_hash": stable_hash(sorted(self.stopwords.words))}


def token_counts(captions: Iterable[str], config: TextConfig, stopwords: StopWords | None = None) -> np.ndarray:
    """Tokens per caption after preprocessing with `config`, before padding / truncation."""
    pre = Preprocessor(config, stopwords)
    return np.array([len(pre.tokens(c)) for c in captions], dtype=np.int64)
