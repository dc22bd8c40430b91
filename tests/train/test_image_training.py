"""helpers.train.image_training: notebook 03's steps on the tiny smoke data, offline (from scratch) and with weights.

The run is the smoke profile's demo data with an even smaller from-scratch recipe (1 epoch, widths 4-8), so the
whole module trains in seconds; the pretrained branch is checked with the loading and training steps faked.
"""
from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from helpers.core.handoff import load_summary
from helpers.core.seeding import seeded
from helpers.engine.fit import FitResult, TrainConfig
from helpers.engine.inference import features_from_tensor
from helpers.models.backbones import SCRATCH_NAME, load_backbone
from helpers.models.image_model import FrozenBackbone, ImageModelConfig, build_image_model
from helpers.models.weights import load_weights
from helpers.run import setup_run
from helpers.train import image_training as it
from helpers.train.head_experiments import HeadTrainer


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """The smoke profile's run (its demo data), with a 1-epoch from-scratch recipe and 2 head epochs."""
    out = tmp_path_factory.mktemp("out")
    base = setup_run("", "smoke", str(out))
    cnn = replace(base.profile.cnn, scratch_epochs=1, scratch_widths=(4, 8), head_epochs=2)
    return replace(base, profile=replace(base.profile, cnn=cnn))


@pytest.fixture(scope="module")
def offline(run):
    """(choice, model_b, features) of the offline path: weights "none", so architecture A is trained from scratch."""
    choice = it.image_backbone(run, "resnet18", "none", "weights", cutoff=0.4)
    features = it.frozen_features(run, choice)
    trainer = HeadTrainer.from_run(run, *features, batch_size=run.profile.cnn.head_batch_size)
    model_b = it.architecture_b(run, choice, trainer, features, TrainConfig(epochs=2, seed=99))
    return choice, model_b, features


def test_offline_choice_is_the_from_scratch_network_frozen(run, offline):
    choice, _, _ = offline
    cnn = run.profile.cnn
    assert choice.from_scratch and not choice.pretrained and choice.name == SCRATCH_NAME
    assert choice.preprocessing == "reference"  # the from-scratch recipe's, whatever PREPROCESSING asked
    assert (choice.image_size, choice.feature_dim) == (cnn.scratch_image_size, 8)
    a = choice.model_a
    assert a.config == ImageModelConfig(arch="A", backbone=SCRATCH_NAME, widths=(4, 8), trained_from_scratch=True,
                                        image_size=cnn.scratch_image_size, augment=True)
    assert a.train_config.cutoff == 0.4 and a.train_config.seed == run.seed and a.train_config.schedule == "onecycle"
    assert a.train_rows == len(run.split[0]) and a.batch_size == cnn.scratch_batch_size
    assert choice.backbone_train_s == a.train_time_s > 0
    sidecar = json.loads(next(run.paths.checkpoints.glob("cnn_scratch_*.json")).read_text())
    assert sidecar["widths"] == [4, 8] and sidecar["fingerprint"] == run.fingerprint
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    a.model.eval()
    body = torch.nn.Sequential(a.model.stem, a.model.stages, a.model.pool)
    assert torch.allclose(choice.extractor(x), body(x), atol=1e-6)  # A's trained network without its classifier
    assert not choice.extractor.training and not any(p.requires_grad for p in choice.extractor.parameters())
    assert "trained from scratch" in choice.description and "best epoch" in choice.description
    assert choice.requested == "resnet18 (weights none: not available)"
    assert it.architecture_a(run, choice, lr=1.0, augment=False) is a  # no second model without weights


def test_frozen_features_are_the_extractor_on_every_decoded_image(run, offline):
    choice, _, (train, test) = offline
    assert train.features.shape == (len(run.dataset.train), 8) and test.features.shape == (len(run.dataset.test), 8)
    assert SCRATCH_NAME in train.path.name and choice.model_a.key in train.path.name
    again = features_from_tensor(choice.extractor, it.tensor_batches(choice.images.test, None, 7))
    assert np.allclose(test.features, again, atol=1e-5)
    assert it.frozen_features(run, choice)[0].from_cache  # the second call reads the cache


def test_architecture_b_describes_itself_and_counts_the_backbone_training(run, offline):
    choice, model_b, (train, test) = offline
    assert model_b.config == choice.model_config((256, 128), 0.4) and model_b.config.arch == "B"
    assert model_b.config.widths == (4, 8) and model_b.config.trained_from_scratch
    assert model_b.train_config.seed == run.seed and model_b.train_config.epochs == 2  # the run's seed, not 99
    assert model_b.name == f"B: frozen {SCRATCH_NAME} + 3 FC" and model_b.feature_dim == 8
    assert model_b.train_time_s == pytest.approx(choice.backbone_train_s + train.extract_s + model_b.fit.train_time_s)
    assert model_b.feature_cache == (train.path.name, test.path.name) and model_b.train_rows is None
    assert isinstance(model_b.model, FrozenBackbone) and model_b.model.backbone is choice.extractor


@pytest.mark.parametrize("which", ["A", "B"])
def test_hand_off_weights_rebuild_the_model_from_its_config(run, offline, which):
    choice, model_b, features = offline
    outcome = choice.model_a if which == "A" else model_b
    path = it.save_outcome(run, outcome, run.dataset.Y[run.split[1]], features)
    assert path.name == f"cnn_final_{which}.pt"
    saved = load_weights(path, kind=it.WEIGHTS_KIND)
    assert saved.config == outcome.config.to_state()  # no alias keys: the predictor reads from_state's fields
    rebuilt = build_image_model(ImageModelConfig.from_state(saved.config))
    rebuilt.load_state_dict(saved.state_dict)
    x = torch.randn(3, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    outcome.model.eval()
    assert torch.allclose(rebuilt.eval()(x), outcome.model(x), atol=1e-6)
    summary = load_summary(run.paths, "cnn")
    assert summary["weights"] == [str(path.relative_to(run.paths.out_dir))]
    assert summary["feature_cache"] == [features[0].path.name, features[1].path.name]
    assert summary["arch"] == which and summary["trained_from_scratch"] is True
    assert summary["train_config"]["seed"] == run.seed and summary["cutoff"] == outcome.cutoff


def test_reference_way_timing_extrapolates_one_fit_epoch(run, offline, monkeypatch):
    choice, _, _ = offline
    calls = {}

    def fake_fit(model, batches, val, config, **kwargs):
        calls.update(model=model, rows=sum(len(b[0]) for b in batches), val=val, config=config)
        return FitResult(history=None, best_epoch=1, best_val_micro_f1=0.0, train_time_s=2.0)

    monkeypatch.setattr(it, "fit", fake_fit)
    timing = it.reference_way_timing(run, choice)
    cnn, n_train = run.profile.cnn, len(run.split[0])
    assert calls["rows"] == cnn.reference_timing_rows == timing.timed_images and calls["val"] is None
    assert calls["config"] == TrainConfig(epochs=1, seed=run.seed)
    assert isinstance(calls["model"], FrozenBackbone) and calls["model"].backbone is choice.extractor
    assert timing.epoch_s == pytest.approx(2.0 * n_train / cnn.reference_timing_rows)
    assert timing.train_s == pytest.approx(timing.epoch_s * cnn.head_epochs + choice.backbone_train_s)
    assert f"x {cnn.head_epochs} epochs, extrapolated, + " in timing.note
    assert "backbone" not in it.ReferenceWayTiming(1.0, 3, 0.0, 8).note


def test_throughput_report_uses_the_engine_measurements_of_the_chosen_backbone(run, offline, monkeypatch):
    choice, _, _ = offline
    seen = {}
    monkeypatch.setattr(it, "measure_forward_throughput", lambda model, size, **kw: seen.update(size=size) or 200.0)
    monkeypatch.setattr(it, "measure_feature_throughput",
                        lambda model, paths, size, **kw: seen.update(kw, n=len(paths)) or
                        {"images_per_s": 50.0, "startup_s": 1.5})
    row = it.throughput_report(run, choice).iloc[0]
    assert seen["size"] == choice.image_size and seen["preprocessing"] == "reference"
    assert seen["n"] == row["images"] == run.profile.cnn.throughput_images
    assert (row["backbone"], row["pipeline / forward"], row["pipeline start-up (s)"]) == (SCRATCH_NAME, 0.25, 1.5)


def test_with_weights_b_freezes_the_backbone_itself_and_a_fine_tunes_it(run, monkeypatch):
    def pretrained(name, weights, require_pretrained=False, download=True):
        return load_backbone(name, "none")[0], True  # stands in for the ImageNet weights

    monkeypatch.setattr(it, "load_backbone", pretrained)
    choice = it.image_backbone(run, "resnet18", "DEFAULT", "weights")
    assert choice.pretrained and not choice.from_scratch and choice.backbone_train_s == 0.0
    assert choice.requested == "resnet18 (weights DEFAULT)"
    assert (choice.name, choice.image_size, choice.preprocessing) == ("resnet18", run.profile.cnn.image_size,
                                                                      "weights")
    assert choice.feature_dim == 512 and choice.feature_tag == "resnet18_imagenet1k_v1"
    assert choice.model_config((256, 128), 0.4).widths == ()
    seen = {}
    monkeypatch.setattr(it, "backbone_features", lambda run, extractor, **kw: seen.update(kw) or ("tr", "te"))
    assert it.frozen_features(run, choice) == ("tr", "te")
    assert (seen["dim"], seen["tag"], seen["preprocessing"]) == (512, "resnet18_imagenet1k_v1", "weights")
    monkeypatch.setattr(it, "train_finetuned", lambda run, cnn, backbone, **kw: kw)
    a = it.architecture_a(run, choice, lr=0.01, augment=True, cutoff=0.3, preprocessing="weights")
    assert a == {"backbone_name": "resnet18", "pretrained": True, "lr": 0.01, "augment": True, "cutoff": 0.3,
                 "preprocessing": "weights"}
    with pytest.raises(ValueError, match="unknown image backbone"):
        it.image_backbone(run, "resnt18", "none", "reference")


def test_finetuned_head_is_drawn_with_the_run_seed(run, monkeypatch):
    with seeded(run.seed):
        expected = torch.nn.Linear(512, 18)
    captured = {}

    class Stop(Exception):
        pass

    def stop(model, *args, **kwargs):
        captured["model"] = model
        raise Stop

    monkeypatch.setattr(it, "fit", stop)
    with pytest.raises(Stop):
        it.train_finetuned(run, run.profile.cnn, load_backbone("resnet18", "none")[0], backbone_name="resnet18",
                           pretrained=False, lr=1e-4, augment=False)
    assert torch.equal(captured["model"].fc.weight, expected.weight)


def test_finetune_rows_subset():
    rows = np.arange(100)
    subset = it.finetune_rows(rows, 10, 0)
    assert len(subset) == 10 and np.all(np.diff(subset) > 0) and set(subset) <= set(rows)
    assert np.array_equal(it.finetune_rows(rows, None, 0), rows) and np.array_equal(it.finetune_rows(rows, 500, 0),
                                                                                     rows)
    assert not np.array_equal(it.finetune_rows(rows, 10, 1), subset)


def test_scratch_autocast_follows_the_switch_and_the_cpu(monkeypatch):
    monkeypatch.setattr(it, "cpu_supports_fast_bf16", lambda: True)
    assert it.scratch_autocast("auto") == torch.bfloat16 and it.scratch_autocast("float32") is None
    monkeypatch.setattr(it, "cpu_supports_fast_bf16", lambda: False)
    assert it.scratch_autocast("auto") is None and it.scratch_autocast("bfloat16") == torch.bfloat16
    assert it.scratch_autocast("bfloat16", "cuda") is None  # the engine's own mixed precision on a GPU
    with pytest.raises(ValueError, match="float32"):
        it.scratch_autocast("fp16")


def test_scratch_recipe_schedule_patience_and_precision(monkeypatch):
    monkeypatch.setattr(it, "cpu_supports_fast_bf16", lambda: True)
    recipe = replace(it.ScratchRecipe(32, (4, 8), 12, 3e-3, 0.05, 16), patience=3)
    config = recipe.train_config(7, cutoff=0.4)
    assert (config.epochs, config.patience, config.schedule, config.optimizer, config.seed, config.cutoff) == \
        (12, 3, "onecycle", "adamw", 7, 0.4)
    assert recipe.build(0).train_autocast == torch.bfloat16
    assert replace(recipe, precision="float32").build(0).train_autocast is None
    assert "bfloat16 autocast" in recipe.describe() and "patience 3" in recipe.describe()
    assert "float32" in replace(recipe, precision="float32").describe()


def test_convergence_says_unconverged_at_the_cap(offline):
    choice, model_b, _ = offline
    a = choice.model_a
    assert not a.fit.stopped_early and a.convergence.startswith("unconverged") and not a.converged
    stopped = replace(a, fit=replace(a.fit, stopped_early=True))
    assert stopped.converged and stopped.convergence.startswith("stopped early after 1 of 1 epochs")


def test_hand_off_lists_the_from_scratch_backbone_history(run, offline):
    from helpers.core.handoff import load_history

    choice, model_b, features = offline
    it.save_outcome(run, model_b, run.dataset.Y[run.split[1]], features, backbone=choice.model_a)
    summary = load_summary(run.paths, "cnn")
    assert summary["histories"] == [it.HISTORY_NAME, it.BACKBONE_HISTORY_NAME] == ["cnn", "cnn_backbone_scratch"]
    assert len(load_history(run.paths, it.BACKBONE_HISTORY_NAME)) == len(choice.model_a.fit.history)
    it.save_outcome(run, choice.model_a, run.dataset.Y[run.split[1]], features, backbone=choice.model_a)
    assert load_summary(run.paths, "cnn")["histories"] == ["cnn"]  # A chosen: its own history is the one


def test_offline_backbone_comparison_trains_networks_of_a_few_widths_and_depths(run, offline):
    from helpers.report import image as report

    choice, _, _ = offline
    from helpers.train.backbone_comparison import backbone_comparison

    compare = backbone_comparison(run, choice, ["resnet18"], weights="none", config=TrainConfig(epochs=1))
    assert list(compare["backbone"]) == [f"{SCRATCH_NAME} 4-8 (the profile's network)",
                                         f"{SCRATCH_NAME} 2-4 (half width)", f"{SCRATCH_NAME} 4 (one stage fewer)"]
    assert (compare["head_train_rows"] == run.profile.cnn.scratch_compare_rows).all()
    assert compare["weights"].str.contains("trained from scratch, 1 epochs at 32 px").all()
    profile_row = compare.iloc[0]
    assert profile_row["vs_profile_diff"] == 0 and not profile_row["vs_profile_real"]
    assert (compare["vs_profile_low"] <= compare["vs_profile_diff"]).all()
    assert (compare["vs_profile_diff"] <= compare["vs_profile_high"]).all()
    baseline = {"micro_f1": 0.3, "samples_f1": 0.3, "macro_f1": 0.1}
    table = report.backbone_table(compare, baseline)
    assert report.from_scratch_comparison(table) and "vs_profile_high" in table
    text = report.backbone_finding(compare, baseline)
    assert "pretrained backbones are compared instead" in text and text.count("paired-bootstrap interval") == 2
    verdicts = ["a real difference" if r else "indistinguishable" for r in compare["vs_profile_real"].iloc[1:]]
    assert all(v in text for v in verdicts)
    fig = report.plot_backbones(table, baseline)
    assert "trained from scratch" in fig._suptitle.get_text()


def test_scratch_network_starts_at_the_label_priors():
    recipe = it.ScratchRecipe(32, (4, 8), 2, 3e-3, 0.05, 16, precision="float32")
    prior = np.linspace(0.01, 0.7, 18)
    model = recipe.build(0, label_prior=prior)
    assert torch.allclose(torch.sigmoid(model.fc.bias), torch.as_tensor(prior, dtype=torch.float32), atol=1e-6)
    assert not torch.allclose(recipe.build(0).fc.bias, model.fc.bias)  # without a prior: the default init
    weights = {k: v for k, v in model.state_dict().items() if k != "fc.bias"}
    assert all(torch.equal(v, recipe.build(0).state_dict()[k]) for k, v in weights.items())  # same draw otherwise
