"""ResNet-34 models: transforms, both architectures, weight loading and its offline fallback, head training."""
from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.models import resnet34

from helpers.core.labels import N_LABELS
from helpers.core.profiles import get_profile
from helpers.models import cnn
from helpers.train.cnn_training import FeatureBatches, HeadTrainer, describe_reductions, finetune_rows, performance_row
from helpers.train.fit import TrainConfig

BACKBONE_PARAMS = 21_284_672  # ResNet-34 without its 1000-way layer
HEAD_PARAMS = (512 * 256 + 256) + (256 * 128 + 128) + (128 * 18 + 18)


@pytest.fixture(scope="module")
def _resnet():
    return resnet34(weights=None)


@pytest.fixture
def fresh_resnet(_resnet):
    """A random-init ResNet-34 (copied: building one is slow on a busy 2-core machine)."""
    return copy.deepcopy(_resnet)


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """An empty torch cache and a download that fails as it does without internet."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))

    def no_network(*args, **kwargs):
        raise OSError("<urlopen error [Errno -3] Temporary failure in name resolution>")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_network)
    return tmp_path


def test_transform_stretches_without_crop_and_normalises_to_minus_one_one():
    image = Image.new("RGB", (120, 40), (255, 255, 255))
    image.paste((0, 0, 0), (0, 0, 60, 40))  # left half black, right half white
    x = cnn.image_transform(32)(image)
    assert x.shape == (3, 32, 32)
    assert torch.allclose(x[:, :, :14], torch.tensor(-1.0))  # black -> (0 - 0.5) / 0.5
    assert torch.allclose(x[:, :, 18:], torch.tensor(1.0))  # white -> (1 - 0.5) / 0.5: whole width kept


def test_augmented_transform_keeps_shape_and_range_and_varies():
    image = Image.fromarray(np.random.default_rng(0).integers(0, 256, (50, 70, 3), dtype=np.uint8))
    augment = cnn.image_transform(24, augment=True)
    torch.manual_seed(0)
    a, b = augment(image), augment(image)
    assert a.shape == b.shape == (3, 24, 24)
    assert a.min() >= -1 and a.max() <= 1
    assert not torch.equal(a, b)


def test_architecture_a_output_shape_and_every_weight_trainable(fresh_resnet):
    model = cnn.FineTunedResNet(fresh_resnet).eval()
    assert model(torch.randn(2, 3, 64, 64)).shape == (2, N_LABELS)
    assert cnn.count_parameters(model, trainable_only=True) == BACKBONE_PARAMS + 512 * N_LABELS + N_LABELS


def test_architecture_b_trains_only_the_head_and_keeps_backbone_in_eval(fresh_resnet):
    model = cnn.FrozenResNet(fresh_resnet, cnn.FeatureHead())
    model.train()
    assert not model.backbone.training and model.head.training
    assert model(torch.randn(2, 3, 64, 64)).shape == (2, N_LABELS)
    assert cnn.count_parameters(model, trainable_only=True) == HEAD_PARAMS
    assert cnn.count_parameters(model) == BACKBONE_PARAMS + HEAD_PARAMS
    head = cnn.FeatureHead()
    assert head(torch.randn(5, cnn.FEATURE_DIM)).shape == (5, N_LABELS)
    assert sum(isinstance(m, torch.nn.Linear) for m in head.modules()) == 3


def test_feature_extractor_gives_512_features(fresh_resnet):
    extractor = cnn.feature_extractor(fresh_resnet)
    with torch.inference_mode():
        assert extractor(torch.randn(3, 3, 32, 32)).shape == (3, cnn.FEATURE_DIM)
    assert cnn.count_parameters(extractor, trainable_only=True) == 0


def test_offline_fallback_warns_and_starts_from_seeded_random_init(offline, capsys):
    with pytest.warns(cnn.PretrainedWeightsWarning, match="RANDOM"):
        model, pretrained = cnn.load_resnet34(require_pretrained=False, init_seed=3)
    assert pretrained is False
    assert "WARNING" in capsys.readouterr().out
    with pytest.warns(cnn.PretrainedWeightsWarning):
        again, _ = cnn.load_resnet34(init_seed=3)
    assert torch.equal(model.conv1.weight, again.conv1.weight)  # seeded: reproducible
    assert cnn.weights_tag(pretrained) != cnn.weights_tag(True)


def test_offline_full_profile_stops_naming_the_file_and_url(offline):
    with pytest.raises(cnn.PretrainedWeightsError) as err:
        cnn.load_resnet34(require_pretrained=True)
    message = str(err.value)
    assert str(cnn.weights_cache_path()) in message
    assert cnn.IMAGENET_WEIGHTS.url in message
    assert str(offline) in str(cnn.weights_cache_path())  # follows TORCH_HOME


def test_weights_load_from_the_torchvision_cache_without_network(offline, fresh_resnet):
    state = fresh_resnet.state_dict()
    path = cnn.weights_cache_path()
    path.parent.mkdir(parents=True)
    torch.save(state, path)
    model, pretrained = cnn.load_resnet34(require_pretrained=True)
    assert pretrained is True
    assert torch.equal(model.conv1.weight, state["conv1.weight"])


def test_corrupt_cached_weights_fall_back_with_reason(offline):
    path = cnn.weights_cache_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a checkpoint")
    with pytest.warns(cnn.PretrainedWeightsWarning):
        _, pretrained = cnn.load_resnet34()
    assert pretrained is False


def test_cpu_precision_uses_bf16_only_where_supported():
    precision = cnn.inference_precision("cpu")
    assert (precision.autocast_dtype is torch.bfloat16) == cnn.cpu_supports_fast_bf16()
    assert "cpu" in precision.label


def _trainer(tmp_path, n=300, seed=0) -> HeadTrainer:
    rng = np.random.default_rng(seed)
    y = (rng.random((n, N_LABELS)) < 0.15).astype(np.uint8)
    x = rng.normal(size=(n, cnn.FEATURE_DIM)).astype(np.float32) + 2.0 * (y @ rng.normal(size=(N_LABELS, 512)))
    t = lambda a: torch.as_tensor(a, dtype=torch.float32)
    return HeadTrainer(train_x=t(x[:200]), train_y=t(y[:200]), val_x=t(x[200:]), val_y=y[200:], test_x=t(x[:10]),
                       val_ids=np.arange(100).astype(str), test_ids=np.arange(10).astype(str),
                       checkpoint_dir=tmp_path / "ckpt", results_dir=tmp_path / "results", key="k", batch_size=64)


def test_head_learns_is_reproducible_and_reuses_its_checkpoint(tmp_path):
    config = TrainConfig(epochs=8, lr=1e-3, seed=1)
    trainer = _trainer(tmp_path)
    head, result = trainer.train(config)
    assert result.best_val_micro_f1 > 0.5
    assert (tmp_path / "ckpt").glob("cnn_head_*.json")
    again = _trainer(tmp_path)  # new object: must reuse the finished checkpoint, same numbers
    head2, result2 = again.train(config)
    assert result2.reused
    assert np.array_equal(trainer.predict(head, "val"), again.predict(head2, "val"))
    fresh = _trainer(tmp_path)
    fresh.fresh = True
    _, result3 = fresh.train(config)
    assert not result3.reused
    assert result3.history["val_micro_f1"].tolist() == result.history["val_micro_f1"].tolist()


def test_head_sweeps_and_curves_are_tidy(tmp_path):
    trainer = _trainer(tmp_path)
    base = TrainConfig(epochs=2, lr=1e-3)
    tidy = trainer.sweep("cnn_lr", {"0.001": base, "0.01": TrainConfig(epochs=2, lr=1e-2)}, seeds=(0, 1))
    assert set(tidy["setting"]) == {"0.001", "0.01"} and set(tidy["seed"]) == {0, 1}
    assert set(tidy["metric"]) >= {"micro_f1", "samples_f1", "macro_f1", "exact_match", "hamming_accuracy"}
    cut = trainer.cutoff_sweep(base, (0.3, 0.7), seeds=(0,))
    f1 = cut[cut.metric == "micro_f1"].set_index("setting")["value"]
    assert f1["0.3"] != f1["0.7"]
    curves = trainer.epoch_curves(base, seeds=(0, 1))
    assert list(curves.columns) == ["seed", "epoch", "val_micro_f1"] and len(curves) == 4


def test_feature_batches_cover_every_row_once():
    x, y = torch.arange(10.0)[:, None], torch.zeros(10, 1)
    seen = torch.cat([b[0] for b in FeatureBatches(x, y, 3, shuffle=True)]).flatten()
    assert sorted(seen.tolist()) == list(range(10))


def test_finetune_rows_subset_and_reductions_text():
    rows = np.arange(100)
    assert len(finetune_rows(rows, 10, 0)) == 10 and np.array_equal(finetune_rows(rows, None, 0), rows)
    text = describe_reductions(get_profile("cpu").cnn, "cpu")
    assert "architecture A training rows" in text and "image size" in text
    assert "reference settings" in describe_reductions(get_profile("full").cnn, "full")


def test_performance_row_names_every_metric():
    y = np.eye(N_LABELS, dtype=np.uint8)[:4]
    row = performance_row("B", pretrained=False, val_y=y, val_probs=y * 0.9, test_y=None, test_probs=None,
                          cutoff=0.5, train_time_s=1.0, test_time_s=0.5, size_bytes=2_000_000)
    assert row["val_micro_f1"] == 1.0 and row["size_mb"] == 2.0 and row["pretrained_weights"] is False
    assert "test_micro_f1" not in row
