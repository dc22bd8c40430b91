"""helpers.text.stopwords: NLTK's English list, installed, downloaded within a timeout, or the bundled copy."""
from __future__ import annotations

import threading

import pytest

from helpers import text
from helpers.text import stopwords as stopword_lists

BUNDLED = text.bundled_stopwords()


def test_bundled_stop_words_are_nltks_english_list():
    assert len(BUNDLED) == 179 and len(set(BUNDLED)) == 179
    assert BUNDLED[:4] == ["i", "me", "my", "myself"] and BUNDLED[-1] == "wouldn't"
    assert {"the", "a", "is", "s", "t", "don", "ain", "ma"} <= set(BUNDLED)
    assert all(w == w.lower().strip() for w in BUNDLED)


def test_bundled_copy_matches_the_nltk_corpus_when_installed():
    corpus = stopword_lists.nltk_corpus_stopwords()
    if corpus is None:
        pytest.skip("NLTK stopwords corpus not installed")
    corpus = set(corpus)
    assert set(BUNDLED) <= corpus
    # newer corpora (2024+) add contractions such as "he's"; cleaning splits those anyway
    assert all("'" in w for w in corpus - set(BUNDLED))


@pytest.fixture
def fresh_stopwords_cache():
    stopword_lists.load_stopwords.cache_clear()
    yield
    stopword_lists.load_stopwords.cache_clear()


def test_stop_words_fall_back_to_the_bundled_copy(monkeypatch, fresh_stopwords_cache):
    monkeypatch.setattr(stopword_lists, "nltk_corpus_stopwords", lambda: None)
    tried = []
    monkeypatch.setattr(stopword_lists, "try_download_stopwords",
                        lambda timeout_s=5.0: tried.append(timeout_s) or False)
    skipped = stopword_lists.load_stopwords(download=False)
    assert skipped.words == frozenset(BUNDLED) and "download skipped" in skipped.source and not tried
    failed = stopword_lists.load_stopwords(download=True)
    assert "bundled" in failed.source and "failed" in failed.source and tried


def test_stop_words_prefer_the_installed_corpus(monkeypatch, fresh_stopwords_cache):
    monkeypatch.setattr(stopword_lists, "nltk_corpus_stopwords", lambda: ["the", "a"])
    loaded = stopword_lists.load_stopwords(download=False)
    assert loaded.words == {"the", "a"} and loaded.source == "nltk corpus"


def test_download_attempt_gives_up_after_the_timeout(monkeypatch):
    import nltk

    release = threading.Event()
    # A download that hangs until released (then succeeds): giving up must not wait for it.
    monkeypatch.setattr(nltk, "download", lambda *a, **k: release.wait(60) or True)
    try:
        assert stopword_lists.try_download_stopwords(timeout_s=0.2) is False
        assert not release.is_set()
    finally:
        release.set()
