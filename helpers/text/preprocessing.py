"""Caption -> list of tokens for one TextConfig: clean, drop stop words, normalize (reference steps 1-3).

Cleaning (step 1, `clean_words`): every character that is not a letter a-z (punctuation, digits,
accented letters) becomes a space, then the caption is split on whitespace: "man's" gives "man", "s".
The other reading of "remove punctuation" (non-letters deleted, "t-shirt" -> "tshirt") is kept for
comparison in table04. Stop words (step 2) come from helpers.text.stopwords; normalizing (step 3,
`word_normalizer`) maps a word to its Snowball stem, its lemma (WordNet or the offline rules) or itself.

The four preprocessing variants notebook 04 compares are named here once (TEXT_VARIANTS, their titles
and short labels) with their TextConfig (`variant_config`); `Preprocessor` applies one TextConfig.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, replace
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from helpers.core.files import stable_hash
from helpers.text import stopwords as stopword_lists
from helpers.text.lemmatizer import lemmatize_word
from helpers.text.stopwords import StopWords

if TYPE_CHECKING:
    from helpers.core.profiles import TextSettings


NON_LETTER_RULES = ("space", "delete")
_NON_LETTERS = re.compile(r"[^a-z]+")
_SPACES = re.compile(r"\s+")


def clean_words(caption: str, non_letters: str = "space") -> list[str]:
    """Lower case, every non-letter (anything but a-z) -> space, split: the reference's cleaning.

    non_letters="delete" removes them instead, after splitting on whitespace ("t-shirt" -> "tshirt",
    "man's" -> "mans"): the other reading of "remove punctuation", reported beside it in table04.
    A caption without letters gives []; accented letters are non-letters ("café" -> "caf").
    """
    lowered = str(caption).lower()
    if non_letters == "space":
        return _NON_LETTERS.sub(" ", lowered).split()
    return [w for w in (_NON_LETTERS.sub("", part) for part in _SPACES.split(lowered)) if w]


def raw_word_counts(captions: Iterable[str]) -> np.ndarray:
    """Whitespace-separated words per raw caption (as in the reference's caption-length figure)."""
    return np.array([len(str(c).split()) for c in captions], dtype=np.int64)


NORMALIZERS = ("stem", "lemma", "none")
LEMMATIZERS = ("auto", "wordnet", "rules")


def _wordnet_lemmatizer() -> Callable[[str], str] | None:
    """WordNet lemma (noun first, then verb) when the WordNet corpus is installed, else None."""
    try:
        from nltk.stem import WordNetLemmatizer

        lemmatizer = WordNetLemmatizer()
        lemmatizer.lemmatize("dogs")  # raises LookupError when the corpus is missing
    except (LookupError, OSError, ImportError):
        return None

    def lemma(word: str) -> str:
        noun = lemmatizer.lemmatize(word, "n")
        return noun if noun != word else lemmatizer.lemmatize(word, "v")

    return lemma


@lru_cache(maxsize=4)
def word_normalizer(kind: str, lemmatizer: str = "auto") -> tuple[Callable[[str], str], str]:
    """(function word -> normalized word, description) for kind 'stem', 'lemma' or 'none'.

    lemmatizer: 'auto' (WordNet if installed, else rules), 'wordnet' or 'rules'.
    """
    if kind == "none":
        return (lambda w: w), "none"
    if kind == "stem":
        from nltk.stem.snowball import SnowballStemmer

        return SnowballStemmer("english").stem, "Snowball (English) stemmer"
    if kind != "lemma":
        raise ValueError(f"normalizer must be one of {NORMALIZERS}, not {kind!r}")
    if lemmatizer not in LEMMATIZERS:
        raise ValueError(f"lemmatizer must be 'auto', 'wordnet' or 'rules', not {lemmatizer!r}")
    if lemmatizer in ("auto", "wordnet"):
        wordnet = _wordnet_lemmatizer()
        if wordnet is not None:
            return wordnet, "WordNet lemmatizer (nltk corpus)"
        if lemmatizer == "wordnet":
            raise LookupError("the WordNet corpus is not installed; run nltk.download('wordnet') or use "
                              "lemmatizer='rules' (the offline rule-based lemmatizer)")
    return lemmatize_word, "rule-based offline lemmatizer (helpers.text.lemmatizer.lemmatize_word)"


FIT_ON = ("all_train", "train_split")
TEXT_VARIANTS = ("standard", "stopwords", "nostem", "lemma")
VARIANT_TITLES = {
    "standard": "stop words removed, Snowball stems (the reference)",
    "stopwords": "stop words kept, Snowball stems",
    "nostem": "stop words removed, no stemming",
    "lemma": "stop words removed, lemmas instead of stems",
}
VARIANT_LABELS = {  # the short names an axis or a table row uses for each variant (notebook 04's fig14, table35)
    "standard": "standard", "stopwords": "with stop words", "nostem": "no stemming", "lemma": "lemmatized",
}


@dataclass(frozen=True)
class TextConfig:
    """How captions become token ids. The defaults are the reference pipeline."""

    keep_stopwords: bool = False
    normalizer: str = "stem"  # "stem" (Snowball) | "lemma" | "none"
    max_len: int = 20  # tokens kept per caption; reference: 20, 25 when stop words are kept
    fit_on: str = "all_train"  # dictionary rows: "all_train" (every train.csv row, the reference) | "train_split"
    min_count: int = 1  # a word enters the dictionary when it occurs at least this often (reference: 1)
    lemmatizer: str = "auto"  # for normalizer "lemma": "auto" (WordNet if installed, else rules) | "wordnet" | "rules"
    non_letters: str = "space"  # "space": non-letters split words (t-shirt -> t shirt) | "delete": t-shirt -> tshirt

    def __post_init__(self) -> None:
        if self.normalizer not in NORMALIZERS:
            raise ValueError(f"normalizer must be one of {NORMALIZERS}, not {self.normalizer!r}")
        if self.non_letters not in NON_LETTER_RULES:
            raise ValueError(f"non_letters must be one of {NON_LETTER_RULES}, not {self.non_letters!r}")
        if self.fit_on not in FIT_ON:
            raise ValueError(f"fit_on must be one of {FIT_ON}, not {self.fit_on!r}")
        if self.max_len < 1 or self.min_count < 1:
            raise ValueError(f"max_len and min_count must be >= 1 (got {self.max_len}, {self.min_count})")


def variant_config(variant: str, settings: TextSettings | None = None, **overrides: object) -> TextConfig:
    """The TextConfig of one of TEXT_VARIANTS; max lengths from the profile's TextSettings;
    overrides (e.g. fit_on, min_count) apply to every variant."""
    from helpers.core.profiles import TextSettings

    settings = settings or TextSettings()
    base = TextConfig(max_len=settings.max_len)
    per_variant = {
        "standard": {},
        "stopwords": {"keep_stopwords": True, "max_len": settings.max_len_with_stopwords},
        "nostem": {"normalizer": "none"},
        "lemma": {"normalizer": "lemma"},
    }
    if variant not in per_variant:
        raise ValueError(f"unknown text variant {variant!r}; choose one of {TEXT_VARIANTS}")
    return replace(base, **{**per_variant[variant], **overrides})


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
        """Clean, then drop stop words, then normalize: a word is matched against the stop-word list lower-cased
        and before stemming, so "ups" -> "up" stays although "up" is a stop word; a caption of stop words and
        non-letters only gives [] (encode turns it into one -OOV- token)."""
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
