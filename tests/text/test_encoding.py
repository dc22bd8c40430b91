"""helpers.text.encoding: the encoded-caption files notebook 02 writes and notebook 04 reads (cache, damage, keys)."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from helpers import text
from helpers.core.config import run_paths
from helpers.core.files import DamagedCacheWarning
from helpers.text import (
    OOV,
    OOV_INDEX,
    PAD,
)
from tests.text_fakes import BUNDLED, STOP, TEST, TRAIN, write_tiny_data  # noqa: F401


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
