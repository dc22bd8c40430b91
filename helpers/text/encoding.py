"""The encoded captions notebook 04 trains on: one file per variant, written by notebook 02.

The file's name is helpers.core.handoff.encoded_captions_path (artifacts/text/<variant>.pt).
A file holds plain tensors, strings and numbers (loadable with torch.load(weights_only=True)) and a
key (data fingerprint, split, config, stop word list, normalizer); a file with the same key is
reused. Every read goes through helpers.core.files.read_cached: a damaged file is set aside and
re-encoded (notebook 02) or named in the error (notebook 04).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from helpers.core.config import RunPaths
from helpers.core.files import atomic_path, read_cached, stable_hash
from helpers.core.handoff import encoded_captions_path
from helpers.text import stopwords as stopword_lists
from helpers.text.preprocessing import TEXT_VARIANTS, Preprocessor, TextConfig, variant_config
from helpers.text.stopwords import StopWords
from helpers.text.vocabulary import build_vocab, encode, fit_rows

if TYPE_CHECKING:
    from helpers.run import Run

CACHE_FORMAT = 1  # bump when the saved layout or the preprocessing code changes meaning


@dataclass
class EncodedText:
    """Encoded captions of one variant: train / val are run.split's rows of dataset.train, test is dataset.test."""

    variant: str
    vocab: list[str]
    max_len: int
    train_ids: np.ndarray
    val_ids: np.ndarray
    test_ids: np.ndarray
    train_tokens: torch.Tensor
    val_tokens: torch.Tensor
    test_tokens: torch.Tensor
    train_lengths: torch.Tensor
    val_lengths: torch.Tensor
    test_lengths: torch.Tensor
    train_Y: torch.Tensor
    val_Y: torch.Tensor
    config: dict = field(default_factory=dict)

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def to_state(self) -> dict:
        """Only tensors, strings and numbers: loadable with torch.load(weights_only=True)."""
        state = {k: v for k, v in self.__dict__.items() if not k.endswith("_ids")}
        state.update({f"{s}_ids": [str(i) for i in getattr(self, f"{s}_ids")] for s in ("train", "val", "test")})
        return state

    @classmethod
    def from_state(cls, state: dict) -> EncodedText:
        state = dict(state)
        for s in ("train", "val", "test"):
            state[f"{s}_ids"] = np.asarray(state[f"{s}_ids"], dtype=str)
        state.pop("key", None)
        return cls(**state)


def encode_dataset(dataset, split: tuple[np.ndarray, np.ndarray], variant: str, config: TextConfig,
                   stopwords: StopWords | None = None, download: bool = True) -> EncodedText:
    """Tokenize every caption once, fit the dictionary on config.fit_on rows, encode train / val / test."""
    train_rows, val_rows = (np.asarray(r) for r in split)
    pre = Preprocessor(config, stopwords, download)
    train_tokens = pre.tokenize_all(dataset.train["Caption"])
    test_tokens = pre.tokenize_all(dataset.test["Caption"])
    vocab = build_vocab((train_tokens[i] for i in fit_rows(len(train_tokens), split, config)), config.min_count)
    ids = dataset.train["ImageID"].to_numpy(dtype=str)
    Y = torch.from_numpy(np.asarray(dataset.Y, dtype=np.float32))
    parts = {}
    for name, rows in (("train", train_rows), ("val", val_rows)):
        parts[f"{name}_tokens"], parts[f"{name}_lengths"] = encode([train_tokens[i] for i in rows], vocab,
                                                                   config.max_len)
        parts[f"{name}_ids"] = ids[rows]
        parts[f"{name}_Y"] = Y[torch.from_numpy(rows.astype(np.int64))]
    parts["test_tokens"], parts["test_lengths"] = encode(test_tokens, vocab, config.max_len)
    parts["test_ids"] = dataset.test["ImageID"].to_numpy(dtype=str)
    return EncodedText(variant=variant, vocab=vocab, max_len=config.max_len, config=pre.describe(), **parts)


def save_encoded(path: Path, encoded: EncodedText, key: str) -> Path:
    """Write one variant's file atomically, with its cache key."""
    with atomic_path(path) as tmp:
        torch.save({**encoded.to_state(), "key": key}, tmp)
    return path


def _read_encoded(path: Path) -> tuple[str | None, EncodedText]:
    """(cache key, encoded captions) of one file; raises when it is damaged or of another layout."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    return state.get("key"), EncodedText.from_state(state)


def load_encoded(paths: RunPaths, variant: str = "standard", fingerprint: str | None = None) -> EncodedText:
    """The encoded captions notebook 02 saved; with fingerprint, also check they belong to this data."""
    path = encoded_captions_path(paths, variant)
    rerun = "run notebook 02_text_preprocessing first (same DATA_DIR and OUT_DIR)."
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no encoded captions for text variant {variant!r}; {rerun}")
    cached = read_cached(path, _read_encoded, f"encoded captions ({variant})")
    if cached is None:
        raise FileNotFoundError(f"{path}: the encoded captions could not be read (moved to {path.name}.damaged); "
                                f"{rerun}")
    encoded = cached[1]
    if fingerprint is not None and encoded.config.get("fingerprint") != fingerprint:
        raise ValueError(f"{path} was encoded from other data (fingerprint {encoded.config.get('fingerprint')}, "
                         f"this data {fingerprint}); rerun notebook 02_text_preprocessing.")
    return encoded


def encode_all_variants(run: Run, variants: Sequence[str] = TEXT_VARIANTS, download: bool = True,
                        **overrides: object) -> dict[str, EncodedText]:
    """Encode every variant for this run and save each to run.paths.text_cache/<variant>.pt (atomically).

    A saved file whose key (data fingerprint, split, config, stop word list, normalizer) matches is
    reused unless run.fresh; a damaged one is set aside and re-encoded. overrides (fit_on, min_count,
    lemmatizer) apply to every variant.
    """
    dataset = run.dataset
    split = run.split
    stopwords = stopword_lists.load_stopwords(download)
    split_hash = stable_hash([np.asarray(r).tolist() for r in split])
    out: dict[str, EncodedText] = {}
    for variant in variants:
        config = variant_config(variant, run.profile.text, **overrides)
        pre = Preprocessor(config, stopwords, download)
        key = stable_hash({"format": CACHE_FORMAT, "fingerprint": run.fingerprint, "split": split_hash,
                           "variant": variant, **{k: v for k, v in pre.describe().items() if k != "stopwords_source"}})
        path = encoded_captions_path(run.paths, variant)
        cached = None if run.fresh else read_cached(path, _read_encoded, f"encoded captions ({variant})")
        if cached is not None and cached[0] == key:
            out[variant] = cached[1]
            continue
        encoded = encode_dataset(dataset, split, variant, config, stopwords, download)
        encoded.config.update({"fingerprint": run.fingerprint, "split_hash": split_hash, "key": key})
        save_encoded(path, encoded, key)
        out[variant] = encoded
    return out
