"""helpers.train.joint_training and the joint model it trains: shapes, padding, training, resume, reuse."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from helpers.core.config import run_paths
from helpers.core.files import DamagedCacheWarning
from helpers.engine.fit import TrainConfig, fit
from helpers.models.joint import FUSIONS, JointConfig, build_joint, init_caption_branch, joint_config_for
from helpers.models.lstm import LstmConfig, build_lstm
from helpers.models.weights import save_weights, to_half
from helpers.train import joint_training

VOCAB = 40


def _split(n: int, seed: int) -> joint_training.JointSplit:
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(1, 9, (n,), generator=g)
    tokens = torch.randint(2, VOCAB, (n, 8), generator=g)
    tokens[torch.arange(8)[None] >= lengths[:, None]] = 0
    features = torch.randn(n, 512, generator=g)
    Y = (features[:, :18] + 0.3 * torch.randn(n, 18, generator=g) > 0.8).float()  # learnable from the image
    return joint_training.JointSplit(np.array([f"{seed}_{i}" for i in range(n)]), features, tokens, lengths, Y)


@pytest.mark.parametrize("fusion", FUSIONS)
def test_shapes_and_padding_never_feeds_the_output(fusion):
    model = build_joint(JointConfig(vocab_size=VOCAB, fusion=fusion, width=16)).eval()
    split = _split(6, 0)
    out = model(split.features, split.tokens, split.lengths)
    assert out.shape == (6, 18)
    garbage = split.tokens.clone()
    garbage[torch.arange(8)[None] >= split.lengths[:, None]] = 7  # change only the padded positions
    wider = torch.cat([garbage, torch.full((6, 4), 9)], dim=1)  # and add more padding columns
    assert torch.allclose(model(split.features, wider, split.lengths), out, atol=1e-6)
    changed = split.tokens.clone()
    changed[:, 0] = torch.where(split.tokens[:, 0] == 3, 4, 3)  # another first word in every caption
    assert not torch.allclose(model(split.features, changed, split.lengths), out)  # real tokens do matter


def test_gate_mixes_the_branches_per_example_and_label():
    gated = build_joint(JointConfig(vocab_size=VOCAB, fusion="gated", width=16)).eval()
    split = _split(5, 1)
    gate = gated.gate_values(split.features, split.tokens, split.lengths)
    assert gate.shape == (5, 18) and ((gate > 0) & (gate < 1)).all()
    with pytest.raises(ValueError, match="gated"):
        build_joint(JointConfig(vocab_size=VOCAB, fusion="concat")).gate_values(split.features, split.tokens,
                                                                                split.lengths)
    with pytest.raises(ValueError, match="fusion must be one of"):
        JointConfig(vocab_size=VOCAB, fusion="attention")


class _Interrupt(Exception):
    pass


class _StopAfter:
    """Batches that raise after `n` batches: a run killed halfway through."""

    def __init__(self, batches, n):
        self.batches, self.n, self.seen = batches, n, 0

    def __iter__(self):
        for batch in self.batches:
            if self.seen == self.n:
                raise _Interrupt
            self.seen += 1
            yield batch


def test_an_interrupted_run_resumes_and_matches_an_uninterrupted_one(tmp_path):
    train, val = _split(64, 2), _split(32, 3)
    config = JointConfig(vocab_size=VOCAB, width=16)
    train_config = TrainConfig(epochs=3, seed=0)
    batches = joint_training.JointBatches(train, 16, shuffle=True)
    val_batches = joint_training.JointBatches(val, 32)

    straight = build_joint(config)
    fit(straight, batches, val_batches, train_config, checkpoint=tmp_path / "a.pt", key="k")

    broken = build_joint(config)
    with pytest.raises(_Interrupt):
        fit(broken, _StopAfter(batches, 4 + 2), val_batches, train_config, checkpoint=tmp_path / "b.pt", key="k")
    resumed = build_joint(config)
    result = fit(resumed, batches, val_batches, train_config, checkpoint=tmp_path / "b.pt", key="k")
    assert result.resumed_from_epoch == 1
    for key, value in straight.state_dict().items():
        assert torch.allclose(value, resumed.state_dict()[key], atol=1e-6), key


def _fake_inputs(tmp_path):
    """A cnn summary with two feature files, and encoded captions of the same rows (what notebooks 02 / 03 write)."""
    paths = run_paths(tmp_path, tmp_path / "out")
    train, val, test = _split(48, 4), _split(24, 5), _split(12, 6)
    paths.feature_cache.mkdir(parents=True, exist_ok=True)
    for name, parts in (("train.npz", (train, val)), ("test.npz", (test,))):
        np.savez(paths.feature_cache / name, image_ids=np.concatenate([p.ids for p in parts]),
                 features=torch.cat([p.features for p in parts]).numpy())
    encoded = SimpleNamespace(vocab_size=VOCAB, config={"key": "enc"}, test_Y=None)
    for name, part in (("train", train), ("val", val), ("test", test)):
        setattr(encoded, f"{name}_ids", part.ids[::-1].copy())  # another order than the feature files
        setattr(encoded, f"{name}_tokens", part.tokens.flip(0))
        setattr(encoded, f"{name}_lengths", part.lengths.flip(0))
        if name != "test":
            setattr(encoded, f"{name}_Y", part.Y.flip(0))
    run = SimpleNamespace(paths=paths, fingerprint="fp", device=torch.device("cpu"), fresh=False, seed=0)
    summary = {"feature_cache": ["train.npz", "test.npz"]}  # top level, as notebook 03's cnn summary lists them
    return run, summary, encoded, (train, val, test)


def _fake_lstm(paths, vocab_size=VOCAB):
    """A trained-looking LSTM in notebook 04's weights files (float32 and float16), and its summary."""
    config = LstmConfig(vocab_size=vocab_size, embed_dim=12, hidden_dim=10)
    lstm = build_lstm(config, seed=5)
    common = dict(kind="lstm", config=config.to_state(), extra={"text_variant": "standard"})
    save_weights(paths.checkpoints / "lstm_seed3_fp16.pt", state_dict=to_half(lstm.state_dict()), **common)
    save_weights(paths.checkpoints / "lstm_seed3.pt", state_dict=lstm.state_dict(), **common)
    return lstm, {"weights": ["artifacts/checkpoints/lstm_seed3_fp16.pt", "artifacts/checkpoints/lstm_seed3.pt"]}


def test_training_writes_weights_probabilities_and_is_reused_when_unchanged(tmp_path):
    run, summary, encoded, (train, val, test) = _fake_inputs(tmp_path)
    data = joint_training.load_joint_data(run, summary, encoded)
    assert torch.equal(data.val.features, val.features.flip(0))  # aligned by ImageID, not by position
    lstm, lstm_summary = _fake_lstm(run.paths)
    first = joint_training.train_joint_models(run, data, lstm_summary, ("concat", "gated"), width=16, epochs=2,
                                              lr=1e-3, patience=1, batch_size=16)
    assert set(first) == {"joint concat", "joint gated"}
    outcome = first["joint gated"]
    assert outcome.val_probs.shape == (24, 18) and outcome.test_probs.shape == (12, 18)
    assert outcome.summary["histories"] == ["joint_gated"] and not outcome.fit.reused
    loaded = joint_training.load_joint(run.paths.out_dir / outcome.summary["weights"][0])
    with torch.inference_mode():
        again = torch.sigmoid(loaded(data.test.features, data.test.tokens, data.test.lengths)).numpy()
    assert np.allclose(again, outcome.test_probs, atol=1e-5)
    assert loaded.config.embed_dim == 12 and loaded.config.lstm_hidden == 10  # the trained LSTM's shape
    assert outcome.summary["caption_branch_from"] == "lstm_seed3.pt"  # the float32 file, not the float16 copy
    second = joint_training.train_joint_models(run, data, lstm_summary, ("gated",), width=16, epochs=2, lr=1e-3,
                                               patience=1, batch_size=16)
    assert second["joint gated"].fit.reused
    assert np.allclose(second["joint gated"].val_probs, outcome.val_probs)


def test_missing_or_damaged_features_name_notebook_03(tmp_path):
    run, summary, encoded, _ = _fake_inputs(tmp_path)
    with pytest.raises(FileNotFoundError, match="lists no feature files.*03_cnn_training"):
        joint_training.load_joint_data(run, {"config": {}}, encoded)
    (run.paths.feature_cache / "train.npz").write_bytes(b"truncated")
    with pytest.warns(DamagedCacheWarning, match="train.npz"), pytest.raises(FileNotFoundError, match="03_cnn"):
        joint_training.load_joint_data(run, summary, encoded)
    assert (run.paths.feature_cache / "train.npz.damaged").is_file()


def test_the_caption_branch_starts_from_the_trained_lstm_and_rejects_other_captions(tmp_path):
    paths = run_paths(tmp_path, tmp_path)
    lstm, summary = _fake_lstm(paths)
    path, saved = joint_training.caption_encoder(summary, paths.out_dir, VOCAB)
    model = build_joint(joint_config_for(saved.config, "gated", 16, image_dim=512))
    init_caption_branch(model, saved.state_dict)
    assert torch.equal(model.caption.embedding.weight, lstm.embedding.weight)
    assert torch.equal(model.caption.lstm.weight_hh_l0, lstm.lstm.weight_hh_l0)
    with pytest.raises(ValueError, match="does not fit the caption branch"):
        init_caption_branch(build_joint(JointConfig(vocab_size=VOCAB, width=16)), saved.state_dict)
    with pytest.raises(ValueError, match="other captions.*04_lstm_training"):
        joint_training.caption_encoder(summary, paths.out_dir, VOCAB + 1)
    with pytest.raises(FileNotFoundError, match="no float32 LSTM"):
        joint_training.caption_encoder({"weights": summary["weights"][:1]}, paths.out_dir, VOCAB)


@pytest.mark.parametrize("fusion", FUSIONS)
def test_the_fusion_module_refit_on_validation_is_out_of_fold_and_keeps_the_branches(tmp_path, fusion):
    from helpers.data.split import kfold_indices

    run, summary, encoded, _ = _fake_inputs(tmp_path)
    data = joint_training.load_joint_data(run, summary, encoded)
    lstm, lstm_summary = _fake_lstm(run.paths)
    outcome = joint_training.train_joint_models(run, data, lstm_summary, (fusion,), width=16, epochs=2, lr=1e-3,
                                                patience=1, batch_size=16)[f"joint {fusion}"]
    folds = kfold_indices(data.val.Y.numpy(), 2, 0)
    refit = joint_training.refit_on_validation(run, outcome, data, folds, epochs=3, lr=1e-2, batch_size=8)
    assert refit.name == f"joint {fusion} (fusion fitted on validation)" and refit.val_probs.shape == (24, 18)
    kept = {k: v for k, v in outcome.model.state_dict().items() if k.startswith(("image.", "caption."))}
    assert all(torch.equal(refit.model.state_dict()[k], v) for k, v in kept.items())  # branches unchanged
    assert not torch.equal(*(m.state_dict()["gate.weight" if fusion == "gated" else "fuse.0.weight"]
                             for m in (refit.model, outcome.model)))
    loaded = joint_training.load_joint(run.paths.out_dir / refit.summary["weights"][0])
    with torch.inference_mode():
        test = torch.sigmoid(loaded(data.test.features, data.test.tokens, data.test.lengths)).numpy()
    np.testing.assert_allclose(test, refit.test_probs, atol=1e-5)
    assert refit.summary["artifact"] == f"joint_{fusion}_valfit"
    # out of fold: a held-out fold's labels never change its own probabilities
    held = folds[0][1]
    data.val.Y[torch.as_tensor(held)] = 1 - data.val.Y[torch.as_tensor(held)]
    again = joint_training.refit_on_validation(run, outcome, data, folds, epochs=3, lr=1e-2, batch_size=8)
    np.testing.assert_allclose(again.val_probs[held], refit.val_probs[held], atol=1e-6)
    assert not np.allclose(again.val_probs[folds[1][1]], refit.val_probs[folds[1][1]])


def test_the_branch_gap_finding_names_the_branch_that_is_over_trusted():
    import pandas as pd

    gap = pd.DataFrame([
        {"branch": "image model", "rows": "training", "n": 10, "micro_f1": 0.84, "log_loss": 0.071},
        {"branch": "image model", "rows": "validation", "n": 5, "micro_f1": 0.77, "log_loss": 0.122},
        {"branch": "caption LSTM", "rows": "training", "n": 10, "micro_f1": 0.86, "log_loss": 0.060},
        {"branch": "caption LSTM", "rows": "validation", "n": 5, "micro_f1": 0.84, "log_loss": 0.070}])
    text = joint_training.branch_gap_finding(gap)
    assert "the image model most (log-loss gap +0.051)" in text
    assert "0.840 (log-loss 0.071) on the training rows against 0.770 (0.122)" in text
