"""Encoder training: dynamic padding, maximum length, frozen embedding cache, fine-tuning that learns, reuse."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from helpers.core.metrics import binarize, micro_f1
from helpers.models.text_encoder import encoder_from_state, encoder_to_state, load_encoder, predict_captions
from helpers.train.encoder_training import (
    CaptionBatches,
    EncoderSettings,
    choose_max_length,
    token_counts,
    tokenize,
    train_encoder,
)
from tests.encoder_fakes import tiny_encoder_folder

OBJECTS = ["dog", "cat"]
FILLERS = ["a", "the red", "a blue", "the"]
PLACES = ["on the street", "with a man", "in the water", "on the grass and the table", ""]


def _captions(n: int, seed: int) -> tuple[list[str], np.ndarray]:
    """One object per caption (its label) amid fillers of varying length: separable by one word."""
    rng = np.random.default_rng(seed)
    captions, Y = [], np.zeros((n, 18), dtype=np.float32)
    for i in range(n):
        label = int(rng.integers(len(OBJECTS)))
        captions.append(f"{FILLERS[rng.integers(4)]} {OBJECTS[label]} {PLACES[rng.integers(5)]}".strip())
        Y[i, label] = 1
    return captions, Y


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tiny_encoder_folder(tmp_path_factory.mktemp("tiny_bert"))


FAST = EncoderSettings(epochs=3, patience=None, lr=1e-2, encoder_lr_factor=0.1, warmup=0.1, batch_size=8,
                       head_epochs=30, head_patience=None, dropout=0.0)


def test_choose_max_length_is_a_capped_quantile():
    counts = np.array([5] * 98 + [40, 200])
    assert choose_max_length(counts, 0.5, 128) == 8  # floor
    assert choose_max_length(np.arange(1, 101), 0.99, 128) == 100
    assert choose_max_length(np.arange(1, 1001), 0.99, 128) == 128
    assert choose_max_length(np.array([], dtype=int)) == 8


def test_batches_are_padded_to_their_longest_caption(folder):
    tokenizer, _ = load_encoder(folder)
    captions = ["a dog", "a red car on the street with a man", "the cat", "a bus on the grass"]
    tokens = tokenize(tokenizer, captions, max_length=64)
    counts = token_counts(tokenizer, captions)
    assert tokens.lengths.tolist() == counts.tolist()
    batches = CaptionBatches(tokens, batch_size=2)
    seen = []
    for ids, mask, _ in batches:
        assert ids.shape[1] == int(mask.sum(1).max())
        seen += mask.sum(1).tolist()
    assert sorted(seen) == seen  # inference batches go by length
    assert batches.unsort(np.array(seen)).tolist() == counts.tolist()
    torch.manual_seed(0)
    for ids, mask, _ in CaptionBatches(tokens, batch_size=2, shuffle=True):
        assert ids.shape[1] == int(mask.sum(1).max())


def test_truncation_at_max_length(folder):
    tokenizer, _ = load_encoder(folder)
    tokens = tokenize(tokenizer, ["a red car on the street with a man"], max_length=4)
    assert tokens.input_ids.shape == (1, 4) and tokens.lengths.tolist() == [4]


def test_fine_tuning_beats_the_trivial_baseline_and_is_reused(folder, tmp_path):
    captions, Y = _captions(320, 0)
    val_captions, Y_val = _captions(60, 1)
    test_captions, _ = _captions(10, 2)
    kwargs = dict(cache_dir=tmp_path / "cache", checkpoint_dir=tmp_path / "ckpt", seed=0)
    tokenizer, encoder = load_encoder(folder)
    pretrained = {k: v.clone() for k, v in encoder.state_dict().items()}
    result = train_encoder(captions, Y, val_captions, Y_val, test_captions, FAST, loaded=(tokenizer, encoder), **kwargs)
    assert all(torch.equal(v, pretrained[k]) for k, v in encoder.state_dict().items())  # a copy was trained
    assert not torch.equal(result.model.encoder.embeddings.word_embeddings.weight,
                           pretrained["embeddings.word_embeddings.weight"])
    most_frequent = (np.arange(18) == Y.sum(0).argmax()).astype(int)  # the trivial baseline: one label for all
    trivial = micro_f1(Y_val, np.tile(most_frequent, (len(Y_val), 1)))
    score = micro_f1(Y_val, binarize(result.val_probs, 0.5))
    assert score > trivial + 0.2, (score, trivial)
    assert result.val_probs.shape == (60, 18) and result.test_probs.shape == (10, 18)
    assert len(result.history) == 3 and result.checkpoint.is_file()
    assert result.n_parameters == sum(p.numel() for p in result.model.parameters())
    assert result.mb_float16 == pytest.approx(result.mb_float32 / 2, rel=0.01)
    tokenizer2, model2 = encoder_from_state(encoder_to_state(result.model, result.tokenizer))
    np.testing.assert_allclose(predict_captions(model2, tokenizer2, val_captions, batch_size=7), result.val_probs,
                               atol=1e-5)
    again = train_encoder(captions, Y, val_captions, Y_val, test_captions, FAST, loaded=load_encoder(folder), **kwargs)
    assert again.fit.reused
    np.testing.assert_array_equal(again.val_probs, result.val_probs)


def test_word_embeddings_can_stay_fixed(folder, tmp_path):
    captions, Y = _captions(40, 0)
    tokenizer, encoder = load_encoder(folder)
    settings = replace(FAST, epochs=1, train_word_embeddings=False)
    result = train_encoder(captions, Y, captions[:8], Y[:8], [], settings, loaded=(tokenizer, encoder),
                           cache_dir=tmp_path, checkpoint_dir=tmp_path, seed=0)
    trained = result.model.encoder
    assert torch.equal(trained.embeddings.word_embeddings.weight, encoder.embeddings.word_embeddings.weight)
    assert not torch.equal(trained.embeddings.position_embeddings.weight, encoder.embeddings.position_embeddings.weight)
    assert result.test_probs.shape == (0, 18)


class _CountingEncoder(torch.nn.Module):
    """Wraps an encoder and counts its forward calls."""

    def __init__(self, encoder):
        super().__init__()
        self.inner, self.config, self.calls = encoder, encoder.config, 0

    def forward(self, **kwargs):
        self.calls += 1
        return self.inner(**kwargs)


def test_frozen_embeddings_are_computed_once_and_cached(folder, tmp_path):
    captions, Y = _captions(80, 0)
    val_captions, Y_val = _captions(40, 1)
    settings = EncoderSettings(frozen=True, lr=1e-2, batch_size=16, head_epochs=30, head_patience=None)
    tokenizer, encoder = load_encoder(folder)
    counting = _CountingEncoder(encoder)
    kwargs = dict(cache_dir=tmp_path / "cache", checkpoint_dir=tmp_path / "ckpt", seed=0,
                  loaded=(tokenizer, counting))
    first = train_encoder(captions, Y, val_captions, Y_val, ["a dog"], settings, **kwargs)
    calls = counting.calls
    # embeddings of the training and validation rows at batch 64 (cached), then the hand-off's validation and test
    # probabilities through the predictor's function (one pass each)
    assert calls == len(range(0, 80, 64)) + 1 + 2
    before = {k: v.clone() for k, v in counting.inner.state_dict().items()}
    second = train_encoder(captions, Y, val_captions, Y_val, ["a dog"], settings, fresh=False, **kwargs)
    assert counting.calls == calls + 2  # embeddings and head both read back: only the two hand-off passes ran
    assert second.fit.reused
    np.testing.assert_array_equal(second.val_probs, first.val_probs)
    assert all(torch.equal(v, before[k]) for k, v in counting.inner.state_dict().items())
    assert second.name == "encoder (frozen)"
    # the stored head with the encoder reproduces the cached-embedding probabilities
    batch = tokenizer(val_captions, padding=True, return_tensors="pt")
    with torch.no_grad():
        full = torch.sigmoid(second.model(batch["input_ids"], batch["attention_mask"])).numpy()
    np.testing.assert_allclose(full, second.val_probs, atol=1e-5)


def _fake_run(tmp_path, n_train=240, n_val=60, n_test=12, name="smoke"):
    """A Run-like object: profile, paths, data set, split, device, seed (what run_text_encoders reads)."""
    from types import SimpleNamespace

    import pandas as pd

    from helpers.core.config import run_paths
    from helpers.core.profiles import TextEncoderSettings, get_profile

    captions, Y = _captions(n_train + n_val, 0)
    test_captions, _ = _captions(n_test, 2)
    train = pd.DataFrame({"ImageID": [f"{i}.jpg" for i in range(n_train + n_val)], "Caption": captions})
    test = pd.DataFrame({"ImageID": [f"t{i}.jpg" for i in range(n_test)], "Caption": test_captions})
    profile = replace(get_profile("smoke"), name=name, text_encoder=TextEncoderSettings(
        epochs=2, patience=None, head_epochs=4, head_patience=None, batch_size=8, lr=1e-2, encoder_lr_factor=0.1))
    split = (np.arange(n_train), np.arange(n_train, n_train + n_val))
    return SimpleNamespace(profile=profile, paths=run_paths(tmp_path, tmp_path / "out"), split=split, seed=0,
                           fresh=False, device=torch.device("cpu"),
                           dataset=SimpleNamespace(train=train, test=test, Y=Y))


def test_run_text_encoders_hands_over_the_better_run(folder, tmp_path):
    from helpers.core.handoff import load_history, load_probabilities, load_summary
    from helpers.core.metrics import scores_at_cutoff
    from helpers.train.encoder_training import run_text_encoders

    run = _fake_run(tmp_path)
    runs = run_text_encoders(run, str(folder))
    assert set(runs.runs) == {"encoder (frozen)", "encoder (fine-tuned)"}
    pretrained = load_encoder(folder)[1].state_dict()
    tuned = runs.runs["encoder (fine-tuned)"].model.encoder.state_dict()
    weight = "encoder.layer.1.output.dense.weight"
    assert not torch.equal(tuned[weight], pretrained[weight])
    frozen = runs.runs["encoder (frozen)"].model.encoder.state_dict()  # the frozen run's encoder is the pretrained one
    assert all(torch.equal(v, pretrained[k]) for k, v in frozen.items())
    scores = {n: scores_at_cutoff(runs.Y_val, r.val_probs)["samples_f1"] for n, r in runs.runs.items()}
    assert runs.chosen == max(scores, key=scores.get)
    ids, probs = load_probabilities(run.paths, "encoder", "val")
    assert list(ids) == [f"{i}.jpg" for i in range(240, 300)]
    np.testing.assert_array_equal(probs, runs.runs[runs.chosen].val_probs.astype(np.float32))
    assert load_probabilities(run.paths, "encoder", "test")[1].shape == (12, 18)
    summary = load_summary(run.paths, "encoder")
    assert summary["source"] == str(folder) and summary["train_rows"] == 240
    assert summary["runs"]["encoder (fine-tuned)"]["epoch cap"] == 2
    assert len(load_history(run.paths, summary["histories"][0])) == len(runs.runs[runs.chosen].history)
    state = torch.load(run.paths.out_dir / summary["weights"][0], weights_only=True)
    tokenizer, model = encoder_from_state(state)
    np.testing.assert_array_equal(predict_captions(model, tokenizer, list(run.dataset.train["Caption"][240:])),
                                  runs.runs[runs.chosen].val_probs)  # exactly: the predictor reproduces the hand-off


def test_run_text_encoders_without_an_encoder_writes_nothing(tmp_path):
    from helpers.core.handoff import save_summary
    from helpers.models.text_encoder import EncoderUnavailable
    from helpers.train.encoder_training import run_text_encoders

    run = _fake_run(tmp_path)
    save_summary(run.paths, "encoder", {"stale": True})  # an earlier run's hand-off must not reach notebook 05
    said = []
    assert run_text_encoders(run, str(tmp_path / "no_such_folder"), say=said.append) is None
    assert len(said) == 1 and "no_such_folder" in said[0]
    assert not (run.paths.results / "encoder_summary.json").exists()
    assert not run.paths.probabilities.exists() or not list(run.paths.probabilities.glob("encoder_*"))
    with pytest.raises(EncoderUnavailable, match="no_such_folder"):
        run_text_encoders(_fake_run(tmp_path, name="full"), str(tmp_path / "no_such_folder"), say=said.append)


def test_fine_tuning_starts_from_a_given_head(folder, tmp_path):
    captions, Y = _captions(64, 0)
    val_captions, Y_val = _captions(16, 1)
    test_captions, _ = _captions(4, 2)
    kwargs = dict(cache_dir=tmp_path / "cache", checkpoint_dir=tmp_path / "ckpt", seed=0)
    one_step = replace(FAST, epochs=1, lr=1e-12, encoder_lr_factor=1.0, warmup=0.0)  # trains (almost) nothing
    probed = train_encoder(captions, Y, val_captions, Y_val, test_captions, replace(FAST, frozen=True, head_epochs=5),
                           loaded=load_encoder(folder), **kwargs)
    head = {k: v.clone() for k, v in probed.model.head.state_dict().items()}
    started = train_encoder(captions, Y, val_captions, Y_val, test_captions, one_step, loaded=load_encoder(folder),
                            head_init=head, **kwargs)
    assert all(torch.allclose(v, head[k], atol=1e-6) for k, v in started.model.head.state_dict().items())
    np.testing.assert_allclose(started.val_probs, probed.val_probs, atol=1e-4)  # the probe's predictions, unchanged
    fresh = train_encoder(captions, Y, val_captions, Y_val, test_captions, one_step, loaded=load_encoder(folder),
                          **kwargs)
    assert fresh.checkpoint != started.checkpoint  # the starting head is part of the run's identity
    assert not np.allclose(fresh.val_probs, probed.val_probs, atol=1e-3)
