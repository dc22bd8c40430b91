"""helpers.text.encoding: the encoded-caption files notebook 02 writes and notebook 04 reads (cache, damage, keys)."""
from __future__ import annotations

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
)
from helpers.text import stopwords as stopword_lists

BUNDLED = text.bundled_stopwords()


STOP = text.StopWords(frozenset(BUNDLED), "bundled copy (test)")


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

    path = text.encoded_captions_path(tiny_run.paths, "standard")
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
    state = torch.load(text.encoded_captions_path(tiny_run.paths, "standard"), weights_only=True)
    assert isinstance(state["train_ids"], list) and isinstance(state["vocab"], list)


def test_load_encoded_names_the_missing_step(tmp_path):
    with pytest.raises(FileNotFoundError, match="run notebook 02_text_preprocessing first"):
        text.load_encoded(run_paths(tmp_path, tmp_path / "out"), "standard")


def test_load_encoded_refuses_other_data(tiny_run):
    text.encode_all_variants(tiny_run, variants=["standard"], download=False)
    with pytest.raises(ValueError, match="other data"):
        text.load_encoded(tiny_run.paths, "standard", fingerprint="0" * 16)


def _damage(path: Path, how: str) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3] if how == "truncated" else b"not a torch file at all")


@pytest.mark.parametrize("how", ["truncated", "garbage"])
def test_a_damaged_cache_is_set_aside_and_encoded_again(tiny_run, how):
    first = text.encode_all_variants(tiny_run, variants=["standard"], download=False)["standard"]
    path = text.encoded_captions_path(tiny_run.paths, "standard")
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
    path = text.encoded_captions_path(tiny_run.paths, "standard")
    _damage(path, "truncated")
    with pytest.warns(DamagedCacheWarning), pytest.raises(FileNotFoundError, match="02_text_preprocessing") as error:
        text.load_encoded(tiny_run.paths, "standard")
    assert str(path) in str(error.value) and not path.exists()
