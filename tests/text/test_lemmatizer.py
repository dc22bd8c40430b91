"""helpers.text.lemmatizer: the offline rule-based lemmatizer and its data file."""
from __future__ import annotations

import pytest

from helpers.text import (
    lemmatize_word,
)


@pytest.mark.parametrize("word, lemma", [
    ("men", "man"), ("children", "child"), ("horses", "horse"), ("glasses", "glass"), ("boxes", "box"),
    ("benches", "bench"), ("buses", "bus"), ("puppies", "puppy"), ("wolves", "wolf"), ("riding", "ride"),
    ("running", "run"), ("sitting", "sit"), ("eating", "eat"), ("flying", "fly"), ("dancing", "dance"),
    ("filled", "fill"), ("stopped", "stop"), ("covered", "cover"), ("decorated", "decorate"), ("parked", "park"),
    ("skiing", "ski"), ("building", "building"), ("tennis", "tennis"), ("bus", "bus"), ("grass", "grass"),
    ("dog", "dog"), ("lying", "lie"), ("ate", "eat"),
])
def test_offline_lemmatizer(word, lemma):
    assert lemmatize_word(word) == lemma


def test_lemmatizer_tables_come_from_the_data_file():
    from helpers.core.config import LEMMATIZER_FILE
    from helpers.core.files import read_json

    tables = read_json(LEMMATIZER_FILE)
    assert all(lemmatize_word(form) == lemma for form, lemma in tables["irregular"].items())
    assert all(lemmatize_word(word) == word for word in tables["keep"])
