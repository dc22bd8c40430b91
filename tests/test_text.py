"""Caption preprocessing: cleaning rules, stop words and their fallback, stemming / lemmatization,
the dictionary, padding / truncation and the encoded-tensor cache notebook 04 reads."""
from __future__ import annotations

import threading
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from helpers import text
from helpers.core.config import run_paths
from helpers.core.files import DamagedCacheWarning
from helpers.core.profiles import get_profile
from helpers.run import Run
from helpers.text import (
    OOV,
    OOV_INDEX,
    PAD,
    PAD_INDEX,
    Preprocessor,
    TextConfig,
    build_vocab,
    clean_words,
    encode,
    lemmatize_word,
    variant_config,
)
from helpers.text import stopwords as stopword_lists

BUNDLED = text.bundled_stopwords()
STOP = text.StopWords(frozenset(BUNDLED), "bundled copy (test)")


def tokens(caption: str, variant: str = "standard", **overrides) -> list[str]:
    return Preprocessor(variant_config(variant, **overrides), STOP).tokens(caption)


# --- cleaning -------------------------------------------------------------------------------


def test_clean_lowercases_and_turns_every_non_letter_into_a_space():
    assert clean_words("A man's Bike, 2 dogs/cats & a café!") == ["a", "man", "s", "bike", "dogs", "cats", "a", "caf"]
    assert clean_words("Two-way\tstreet\n\"sign\"") == ["two", "way", "street", "sign"]
    assert clean_words("123 ... !!!") == []


def test_raw_word_counts_split_on_whitespace():
    assert text.raw_word_counts(["A dog.", "  two  words here ", "x"]).tolist() == [2, 3, 1]


# --- the four variants on hand-made captions -------------------------------------------------

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


# --- stop words and their fallback ----------------------------------------------------------


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


# --- dictionary and encoding ------------------------------------------------------------------


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


# --- the cache for notebook 04 ----------------------------------------------------------------

TRAIN = [
    ("A man riding a horse on the beach.", "1 19"), ("Two dogs play with a frisbee", "18"),
    ("A red car parked next to a bus", "3 6"), ("A cat sleeping on a bench!", "17 15"),
    ("People waiting for the train", "1 7"), ("A boat on the lake", "9"),
    ("A bird sitting on a fire hydrant", "16 11"), ("A truck and a car at the traffic light", "8 3 10"),
    ("A woman on a bicycle", "1 2"), ("An airplane flying over the city", "5"),
    ("A motorcycle parked by a stop sign", "4 13"), ("A parking meter on the street", "14"),
    ("1234 !!!", "1"), ("A man walking his dog", "1 18"), ("A horse in a field", "19"),
    ("Cars and buses on a busy road", "3 6"),
]
TEST = ["A dog on a couch", "A zebra near a tree", "Planes at the airport"]


def write_tiny_data(folder: Path, train=TRAIN, test=TEST) -> Path:
    """A COMP5329-style data folder: train.csv, test.csv and tiny JPEGs in data/."""
    (folder / "data").mkdir(parents=True)
    lines = ["ImageID,Labels,Caption"] + [f'{i}.jpg,{labels},"{cap}"' for i, (cap, labels) in enumerate(train)]
    (folder / "train.csv").write_text("\n".join(lines) + "\n")
    n = len(train)
    (folder / "test.csv").write_text("\n".join(["ImageID,Caption"] + [f'{n + i}.jpg,"{c}"' for i, c in
                                                                          enumerate(test)]) + "\n")
    for i in range(n + len(test)):
        Image.new("RGB", (8, 8), (i * 10 % 255, 80, 120)).save(folder / "data" / f"{i}.jpg")
    return folder


@pytest.fixture
def tiny_run(tmp_path, monkeypatch):
    monkeypatch.setattr(stopword_lists, "load_stopwords", lambda download=True, timeout_s=5.0: STOP)
    data = write_tiny_data(tmp_path / "data")
    return Run(paths=run_paths(data, tmp_path / "out"), profile=get_profile("smoke"))


def test_encode_all_variants_saves_reloads_and_reuses(tiny_run):
    encoded = text.encode_all_variants(tiny_run, download=False)
    assert set(encoded) == set(text.TEXT_VARIANTS)
    train_rows, val_rows = tiny_run.split
    for variant, enc in encoded.items():
        assert enc.vocab[:2] == [PAD, OOV]
        assert enc.train_tokens.shape == (len(train_rows), enc.max_len)
        assert enc.val_tokens.shape == (len(val_rows), enc.max_len)
        assert enc.test_tokens.shape == (len(TEST), enc.max_len)
        assert enc.train_Y.shape == (len(train_rows), 18) and enc.train_Y.dtype == torch.float32
        assert int(enc.train_lengths.min()) >= 1 and int(enc.test_lengths.min()) >= 1
        assert list(enc.test_ids) == ["16.jpg", "17.jpg", "18.jpg"]
        assert (enc.val_Y.numpy() == tiny_run.dataset.Y[val_rows]).all()
        loaded = text.load_encoded(tiny_run.paths, variant, tiny_run.fingerprint)
        assert torch.equal(loaded.train_tokens, enc.train_tokens) and loaded.vocab == enc.vocab
        assert list(loaded.val_ids) == list(enc.val_ids)
    assert encoded["stopwords"].max_len == 25 and "the" in encoded["stopwords"].vocab
    assert "the" not in encoded["standard"].vocab and "hors" in encoded["standard"].vocab
    assert "horse" in encoded["nostem"].vocab
    # the row "1234 !!!" is empty after cleaning: one -OOV- token, length 1
    row = np.flatnonzero(tiny_run.dataset.train["ImageID"].to_numpy() == "12.jpg")[0]
    enc = encoded["standard"]
    where = "train" if row in train_rows else "val"
    position = list(getattr(enc, f"{where}_ids")).index("12.jpg")
    assert getattr(enc, f"{where}_tokens")[position, 0] == OOV_INDEX
    assert getattr(enc, f"{where}_lengths")[position] == 1

    path = text.encoded_path(tiny_run.paths, "standard")
    before = path.stat().st_mtime_ns
    text.encode_all_variants(tiny_run, variants=["standard"], download=False)
    assert path.stat().st_mtime_ns == before  # unchanged data and config: reused
    tiny_run.fresh = True
    text.encode_all_variants(tiny_run, variants=["standard"], download=False)
    assert path.stat().st_mtime_ns != before


def test_dictionary_fit_on_training_split_is_a_subset(tiny_run):
    everything = text.encode_all_variants(tiny_run, variants=["standard"], download=False)["standard"]
    split_only = text.encode_all_variants(tiny_run, variants=["standard"], download=False,
                                          fit_on="train_split")["standard"]
    assert set(split_only.vocab) <= set(everything.vocab)
    assert split_only.config["fit_on"] == "train_split"


def test_saved_file_loads_with_weights_only_and_holds_no_objects(tiny_run):
    text.encode_all_variants(tiny_run, variants=["standard"], download=False)
    state = torch.load(text.encoded_path(tiny_run.paths, "standard"), weights_only=True)
    assert isinstance(state["train_ids"], list) and isinstance(state["vocab"], list)


def test_load_encoded_names_the_missing_step(tmp_path):
    with pytest.raises(FileNotFoundError, match="run notebook 02_text_preprocessing first"):
        text.load_encoded(run_paths(tmp_path, tmp_path / "out"), "standard")


def test_load_encoded_refuses_other_data(tiny_run):
    text.encode_all_variants(tiny_run, variants=["standard"], download=False)
    with pytest.raises(ValueError, match="other data"):
        text.load_encoded(tiny_run.paths, "standard", fingerprint="0" * 16)


def test_the_other_reading_deletes_non_letters_inside_words():
    assert clean_words("A man's t-shirt, 2 dogs!", "delete") == ["a", "mans", "tshirt", "dogs"]
    assert tokens("A man's t-shirt", "nostem", non_letters="delete") == ["mans", "tshirt"]
    with pytest.raises(ValueError, match="non_letters"):
        TextConfig(non_letters="keep")


def _damage(path: Path, how: str) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3] if how == "truncated" else b"not a torch file at all")


@pytest.mark.parametrize("how", ["truncated", "garbage"])
def test_a_damaged_cache_is_set_aside_and_encoded_again(tiny_run, how):
    first = text.encode_all_variants(tiny_run, variants=["standard"], download=False)["standard"]
    path = text.encoded_path(tiny_run.paths, "standard")
    _damage(path, how)
    with pytest.warns(DamagedCacheWarning, match="standard.pt"):
        again = text.encode_all_variants(tiny_run, variants=["standard"], download=False)["standard"]
    assert path.with_name("standard.pt.damaged").is_file()
    assert torch.equal(again.train_tokens, first.train_tokens) and again.vocab == first.vocab
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the rewritten file reads cleanly
        assert text.load_encoded(tiny_run.paths, "standard").vocab == first.vocab


def test_load_encoded_names_a_damaged_file_and_the_notebook_to_rerun(tiny_run):
    text.encode_all_variants(tiny_run, variants=["standard"], download=False)
    path = text.encoded_path(tiny_run.paths, "standard")
    _damage(path, "truncated")
    with pytest.warns(DamagedCacheWarning), pytest.raises(FileNotFoundError, match="02_text_preprocessing") as error:
        text.load_encoded(tiny_run.paths, "standard")
    assert str(path) in str(error.value) and not path.exists()


def test_lemmatizer_tables_come_from_the_data_file():
    from helpers.core.config import LEMMATIZER_FILE
    from helpers.core.files import read_json

    tables = read_json(LEMMATIZER_FILE)
    assert all(lemmatize_word(form) == lemma for form, lemma in tables["irregular"].items())
    assert all(lemmatize_word(word) == word for word in tables["keep"])


def test_dictionary_sizes_table_reports_every_variant(tiny_run):
    from helpers.report import text as text_tables

    encoded = text.encode_all_variants(tiny_run, download=False)
    configs = {v: variant_config(v, tiny_run.profile.text) for v in encoded}
    captions = tiny_run.dataset.train["Caption"]
    table = text_tables.dictionary_sizes_table(encoded, captions, configs, STOP).set_index("variant")
    sizes = table["dictionary entries (incl. -PAD-, -OOV-)"]
    assert sizes.to_dict() == {v: len(e.vocab) for v, e in encoded.items()}
    assert sizes["stopwords"] > sizes["standard"] and sizes["nostem"] >= sizes["standard"]
    assert table.loc["standard", "reference study, real train.csv"] == 4793
    assert table.loc["standard", "-OOV- share of validation tokens (%)"] == 0  # dictionary fitted on all rows
    assert text.dictionary_size(captions, configs["standard"], STOP) == sizes["standard"]
    assert table.filter(like="non-letters deleted").shape[1] == 1
    examples = text_tables.encoded_examples(encoded["standard"], n=2)
    assert len(examples) == 2 and (examples["length"] >= 1).all()


def test_what_we_found_is_built_from_the_computed_values(tiny_run):
    from helpers.report import text as text_tables

    encoded = text.encode_all_variants(tiny_run, download=False)
    configs = {v: variant_config(v, tiny_run.profile.text) for v in encoded}
    captions = tiny_run.dataset.train["Caption"]
    table = text_tables.dictionary_sizes_table(encoded, captions, configs, STOP)
    raw = text.raw_word_counts(captions)
    counts = {v: text.token_counts(captions, configs[v], STOP) for v in ("standard", "stopwords")}
    found = text_tables.what_we_found(table, raw, counts, configs, STOP)
    sizes = table.set_index("variant")["dictionary entries (incl. -PAD-, -OOV-)"]
    assert found.startswith("**What we found.**") and STOP.source in found
    assert f"{raw.mean():.1f} words on average" in found and f"leaves {counts['standard'].mean():.1f} tokens" in found
    assert f"{sizes['nostem']:,} dictionary entries without it, {sizes['standard']:,} with it" in found
    assert "no caption without stop words is cut at max_len 20" in found  # the tiny captions are short
    assert "expected on the built-in demo data" in found  # tiny dictionaries, far below the reference
    assert "0 % on validation is by construction" in found
    # A truncated caption and sizes near the reference change what is said.
    counts["standard"] = np.array([3, 30, 4, 5])
    near = table.copy()
    near.loc[near["variant"] == "standard", "dictionary entries (incl. -PAD-, -OOV-)"] = 4800
    near.loc[near["variant"] == "stopwords", "dictionary entries (incl. -PAD-, -OOV-)"] = 4900
    near.loc[near["variant"] == "nostem", "dictionary entries (incl. -PAD-, -OOV-)"] = 6900
    found = text_tables.what_we_found(near, raw, counts, configs, STOP)
    assert "25.00 % of the captions without stop words lose words at max_len 20" in found
    assert "all within 1 % of the reference" in found
