"""How captions become token ids: one TextConfig per preprocessing variant that notebook 04 compares."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from helpers.text.cleaning import NON_LETTER_RULES
from helpers.text.normalizers import NORMALIZERS

if TYPE_CHECKING:
    from helpers.core.profiles import TextSettings

FIT_ON = ("all_train", "train_split")
TEXT_VARIANTS = ("standard", "stopwords", "nostem", "lemma")
VARIANT_TITLES = {
    "standard": "stop words removed, Snowball stems (the reference)",
    "stopwords": "stop words kept, Snowball stems",
    "nostem": "stop words removed, no stemming",
    "lemma": "stop words removed, lemmas instead of stems",
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
