"""helpers.text.preprocessing: cleaning rules, stop-word removal order, normalizers, variants and their configs."""
from __future__ import annotations

import pytest

from helpers import text
from helpers.text import (
    Preprocessor,
    TextConfig,
    clean_words,
    variant_config,
)

BUNDLED = text.bundled_stopwords()


STOP = text.StopWords(frozenset(BUNDLED), "bundled copy (test)")


def tokens(caption: str, variant: str = "standard", **overrides) -> list[str]:
    return Preprocessor(variant_config(variant, **overrides), STOP).tokens(caption)


def test_clean_lowercases_and_turns_every_non_letter_into_a_space():
    assert clean_words("A man's Bike, 2 dogs/cats & a café!") == ["a", "man", "s", "bike", "dogs", "cats", "a", "caf"]
    assert clean_words("Two-way\tstreet\n\"sign\"") == ["two", "way", "street", "sign"]
    assert clean_words("123 ... !!!") == []


def test_raw_word_counts_split_on_whitespace():
    assert text.raw_word_counts(["A dog.", "  two  words here ", "x"]).tolist() == [2, 3, 1]


CAPTION = "The man is riding a horse, near 2 parked cars!"


def test_standard_removes_stop_words_and_stems():
    assert tokens(CAPTION) == ["man", "ride", "hors", "near", "park", "car"]


def test_stopwords_variant_keeps_them_and_is_longer():
    assert tokens(CAPTION, "stopwords") == ["the", "man", "is", "ride", "a", "hors", "near", "park", "car"]
    assert variant_config("stopwords").max_len == 25 and variant_config("standard").max_len == 20


def test_nostem_keeps_the_words():
    assert tokens(CAPTION, "nostem") == ["man", "riding", "horse", "near", "parked", "cars"]


def test_lemma_with_the_offline_rules():
    assert tokens(CAPTION, "lemma", lemmatizer="rules") == ["man", "ride", "horse", "near", "park", "car"]


def test_contractions_are_split_before_stop_word_removal():
    # "don't" -> "don", "t": both are stop words, so the list's apostrophe entries never matter
    assert tokens("Don't feed the dog's bowl") == ["feed", "dog", "bowl"]


def test_word_normalizer_says_which_lemmatizer_was_used():
    _, name = text.word_normalizer("lemma", "rules")
    assert "rule-based" in name
    with pytest.raises(ValueError, match="normalizer"):
        text.word_normalizer("porter")


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="fit_on"):
        TextConfig(fit_on="test")
    with pytest.raises(ValueError, match="max_len"):
        TextConfig(max_len=0)
    with pytest.raises(ValueError, match="unknown text variant"):
        variant_config("bigram")


def test_the_other_reading_deletes_non_letters_inside_words():
    assert clean_words("A man's t-shirt, 2 dogs!", "delete") == ["a", "mans", "tshirt", "dogs"]
    assert tokens("A man's t-shirt", "nostem", non_letters="delete") == ["mans", "tshirt"]
    with pytest.raises(ValueError, match="non_letters"):
        TextConfig(non_letters="keep")


def test_stop_words_are_removed_before_normalizing():
    # "ups" and "downs" are not stop words; their stems "up" and "down" are, and stay: the order is the reference's
    assert tokens("Ups and downs") == ["up", "down"]
    assert tokens("UP and DOWN") == []  # the list is matched after lower-casing


def test_the_delete_reading_makes_words_the_stop_word_list_does_not_hold():
    assert tokens("Don't stop") == ["stop"]  # don, t: both stop words
    assert tokens("Don't stop", non_letters="delete") == ["dont", "stop"]  # "dont" is not on the list


def test_a_caption_of_stop_words_and_non_letters_has_no_tokens():
    assert tokens("It is 42 - or is it?!") == []
    assert text.encode([tokens("It is 42")], ["-PAD-", "-OOV-"], 5)[1].tolist() == [1]  # one -OOV- token
