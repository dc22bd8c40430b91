"""An offline, rule-based English lemmatizer, used when WordNet's corpus is not installed.

Plural nouns -> singular, verb -s / -ing / -ed forms -> base form. Its word tables (irregular forms,
words that keep their -ing / -ed / -s, stem endings that take back an "e") are the data file
helpers/resources/lemmatizer_en.json (config.LEMMATIZER_FILE). Deterministic.
"""
from __future__ import annotations

import re
from functools import lru_cache

from helpers.core.config import LEMMATIZER_FILE
from helpers.core.files import read_json

_VOWELS = set("aeiou")


@lru_cache(maxsize=1)
def _tables() -> tuple[dict[str, str], frozenset[str], tuple[str, ...]]:
    """(irregular form -> lemma, words kept as they are, endings after which an 'e' is restored)."""
    data = read_json(LEMMATIZER_FILE)
    return dict(data["irregular"]), frozenset(data["keep"]), tuple(data["add_e_after"])


def _vowel_groups(word: str) -> int:
    return len(re.findall(r"[aeiouy]+", word))


def _restore_base(stem: str) -> str:
    """Undo the spelling change of an -ing / -ed ending: runn -> run, rid -> ride, danc -> dance."""
    if len(stem) >= 3 and stem[-1] == stem[-2] and stem[-1] not in _VOWELS:
        return stem if stem[-1] in "lsz" else stem[:-1]  # fill, dress, buzz keep the double letter
    if stem.endswith(_tables()[2]) or (stem.endswith("at") and _vowel_groups(stem) > 1):
        return stem + "e"  # decorat -> decorate
    if (len(stem) >= 3 and _vowel_groups(stem) == 1 and stem[-1] not in _VOWELS and stem[-1] not in "wxy"
            and stem[-2] in _VOWELS and stem[-3] not in _VOWELS):
        return stem + "e"  # single-syllable consonant-vowel-consonant: rid -> ride, mak -> make
    return stem


def lemmatize_word(word: str) -> str:
    """Rule-based English lemma of a lower-case word: plural nouns -> singular,
    verb -s / -ing / -ed forms -> base form (irregular forms from the word table)."""
    irregular, keep, _ = _tables()
    if word in irregular:
        return irregular[word]
    if len(word) <= 3 or word in keep:
        return word
    if word.endswith("ing") and len(word) > 5:
        stem = word[:-3]
        if any(c in _VOWELS or c == "y" for c in stem):
            return _restore_base(stem)
        return word
    if word.endswith("ied") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("ed") and len(word) > 4 and not word.endswith("eed"):
        stem = word[:-2]
        if any(c in _VOWELS for c in stem):
            return _restore_base(stem)
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("sses") or word.endswith(("xes", "ches", "shes", "zzes")):
        return word[:-2]
    if word.endswith(("ss", "us", "is")):
        return word
    if word.endswith("s"):
        return word[:-1]
    return word
