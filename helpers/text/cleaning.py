"""Step 1 of the reference pipeline: lower case, non-letters out, split into words.

Every character that is not a letter a-z (punctuation, digits, accented letters) becomes a space,
then the caption is split on whitespace: "man's" gives "man", "s". The other reading of "remove
punctuation" (non-letters deleted, "t-shirt" -> "tshirt") is kept for comparison in table04.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np

NON_LETTER_RULES = ("space", "delete")
_NON_LETTERS = re.compile(r"[^a-z]+")
_SPACES = re.compile(r"\s+")


def clean_words(caption: str, non_letters: str = "space") -> list[str]:
    """Lower case, every non-letter (anything but a-z) -> space, split: the reference's cleaning.

    non_letters="delete" removes them instead, after splitting on whitespace ("t-shirt" -> "tshirt",
    "man's" -> "mans"): the other reading of "remove punctuation", reported beside it in table04.
    """
    lowered = str(caption).lower()
    if non_letters == "space":
        return _NON_LETTERS.sub(" ", lowered).split()
    return [w for w in (_NON_LETTERS.sub("", part) for part in _SPACES.split(lowered)) if w]


def raw_word_counts(captions: Iterable[str]) -> np.ndarray:
    """Whitespace-separated words per raw caption (as in the reference's caption-length figure)."""
    return np.array([len(str(c).split()) for c in captions], dtype=np.int64)
