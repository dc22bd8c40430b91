"""One trained image model as notebook 03 compares it and hands it on, and the choice between models.

Architecture A without pretrained weights: a small ResNet trained from scratch, and its frozen features for B.

When no pretrained weights can be loaded (offline) and the profile allows it, freezing a random network
would learn nothing, so the image model is trained from scratch instead, with a standard recipe for
small images: helpers.models.backbones.ScratchResNet at the profile's scratch image size, the images
decoded once into a uint8 tensor (helpers.train.image_data), flip / translation / brightness-contrast
augmentation, AdamW with a one-cycle learning-rate schedule, channels_last. Training goes through
helpers.engine.fit.fit (checkpointed, resumable, reused when unchanged).

Architecture A from pretrained weights: every weight of a torchvision backbone trained on the images.

Reduced size and rows where the profile says so; early stopping on a slice of the validation rows.

Architecture B's final model: the frozen backbone + the head trained for the full epochs, with honest timings.

Handing notebook 03's chosen image model to notebook 05: probabilities, summary, history, one weights file.

The weights file (helpers.models.weights, kind "cnn_image_model") holds everything needed to
predict from an image, with the config that rebuilds it (helpers.models.image_model.build_image_model).
The summary lists what was written: "weights" (paths relative to the output folder), "histories"
(names for helpers.core.handoff.load_history) and "feature_cache" (the cached backbone features of
train.csv and test.csv, which the joint model of notebook 05 trains on).

What architecture B's caching saves, and whether image decoding starves the backbone.

- `reference_epoch_seconds`: one head epoch the reference's way (every image decoded and run through the
  frozen backbone every epoch), timed on a few images and extrapolated to every training row.
- `throughput_report`: the bare backbone on tensors already in memory against the whole extraction
  pipeline (decode + resize + normalise + backbone), in its steady state, with the start-up apart.
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from helpers.core.files import stable_hash, write_json
from helpers.core.handoff import save_history, save_probabilities, save_summary
from helpers.core.metrics import scores_at_cutoff
from helpers.core.profiles import CnnSettings
from helpers.engine.device import choose_precision, configure_device
from helpers.engine.fit import FitResult, TrainConfig, fit
from helpers.engine.inference import (
    features_from_tensor,
    image_loader,
    measure_feature_throughput,
    measure_forward_throughput,
    predict_proba,
    run_on_images,
)
from helpers.models.backbones import SCRATCH_NAME, ScratchResNet
from helpers.models.image_model import (
    REFERENCE_MEAN,
    REFERENCE_STD,
    FeatureHead,
    FrozenBackbone,
    build_finetuned,
    feature_extractor,
    normalisation,
)
from helpers.models.weights import model_bytes, save_weights
from helpers.train.head_experiments import HeadTrainer
from helpers.train.image_data import FeatureSet, TensorImageBatches, cached_features, decode_images, decoded_cache_path

if TYPE_CHECKING:
    from helpers.run import Run


# ---- from train/cnn_outcome
@dataclass
class ModelOutcome:
    """One trained image model, ready to compare and hand to notebook 05."""

    name: str  # e.g. "A: fine-tuned resnet34"
    arch: str  # "A" or "B"
    model: nn.Module  # what predicts from images (B: frozen backbone + head)
    fit: FitResult
    val_probs: np.ndarray
    test_probs: np.ndarray
    train_time_s: float
    test_time_s: float
    pretrained: bool
    config: dict[str, Any]  # rebuilds the model (helpers.models.image_model.build_image_model) + train_config
    train_time_note: str = ""

    @property
    def cutoff(self) -> float:
        return float(self.config["train_config"]["cutoff"])

    @property
    def size_bytes(self) -> int:
        """Bytes of every tensor needed to predict from an image (parameters and buffers) at float32."""
        return model_bytes(self.model)

    @property
    def trained_from_scratch(self) -> bool:
        return bool(self.config.get("trained_from_scratch", False))


def choose_by_validation(outcomes: Sequence[ModelOutcome], val_y: np.ndarray) -> ModelOutcome:
    """The model with the best validation micro-F1 (test rows are never looked at)."""
    return max(outcomes, key=lambda o: scores_at_cutoff(val_y, o.val_probs, o.cutoff)["micro_f1"])


# ---- from train/cnn_scratch
SCRATCH_MODEL_NAME = "A: small ResNet trained from scratch"


@dataclass(frozen=True)
class ScratchRecipe:
    """How the from-scratch image model is trained (from the profile's CnnSettings)."""

    image_size: int
    widths: tuple[int, ...]
    epochs: int
    lr: float
    weight_decay: float
    batch_size: int

    @classmethod
    def from_settings(cls, cnn: CnnSettings) -> ScratchRecipe:
        return cls(cnn.scratch_image_size, tuple(cnn.scratch_widths), cnn.scratch_epochs, cnn.scratch_lr,
                   cnn.scratch_weight_decay, cnn.scratch_batch_size)

    def describe(self) -> str:
        return (f"{SCRATCH_NAME} (widths {'-'.join(map(str, self.widths))}) at {self.image_size} px, "
                f"{self.epochs} epochs, AdamW (peak lr {self.lr:g}, weight decay {self.weight_decay:g}), "
                f"one-cycle schedule, batch {self.batch_size}, flip / translation / brightness-contrast augmentation")


@dataclass
class DecodedImages:
    """The run's train.csv and test.csv images as uint8 tensors, with the seconds decoding took (0 when cached)."""

    train: torch.Tensor
    test: torch.Tensor
    decode_s: float


def decoded_images(run: Run, size: int, num_workers: int) -> DecodedImages:
    """Every image decoded once at `size` (read back from the cache when it is there)."""
    data, cache = run.dataset, run.paths.feature_cache
    start = time.perf_counter()
    train = decode_images(data.train_image_paths(), size, num_workers=num_workers,
                          cache_path=decoded_cache_path(cache, "train", size, run.fingerprint))
    test = decode_images(data.test_image_paths(), size, num_workers=num_workers,
                         cache_path=decoded_cache_path(cache, "test", size, run.fingerprint))
    return DecodedImages(train, test, time.perf_counter() - start)


def _batches(images: torch.Tensor, targets: np.ndarray | None, batch_size: int, *, train: bool = False):
    return TensorImageBatches(images, targets, batch_size, mean=REFERENCE_MEAN, std=REFERENCE_STD, shuffle=train,
                              augmented=train)


def train_from_scratch(run: Run, recipe: ScratchRecipe, images: DecodedImages, *, cutoff: float = 0.5,
                       loss: str = "bce") -> ModelOutcome:
    """Architecture A from a random initialisation: every weight trained on every training row."""
    data, (train_rows, val_rows) = run.dataset, run.split
    configure_device(run.device)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(run.seed)
        model = ScratchResNet(recipe.widths).to(memory_format=torch.channels_last)
    config = TrainConfig(epochs=recipe.epochs, lr=recipe.lr, optimizer="adamw", weight_decay=recipe.weight_decay,
                         cutoff=cutoff, seed=run.seed, schedule="onecycle", loss=loss)
    model_config: dict[str, Any] = {
        "arch": "A", "backbone": SCRATCH_NAME, "widths": list(recipe.widths), "pretrained": False,
        "trained_from_scratch": True, "image_size": recipe.image_size, "augment": True,
        "batch_size": recipe.batch_size, "train_rows": len(train_rows), "fingerprint": run.fingerprint,
        "preprocessing": "reference"}
    checkpoint = run.paths.checkpoints / f"cnn_scratch_{stable_hash([model_config, config])}.pt"
    write_json(checkpoint.with_suffix(".json"), {**model_config, "train_config": asdict(config)})
    result = fit(model, _batches(images.train[train_rows], data.Y[train_rows], recipe.batch_size, train=True),
                 _batches(images.train[val_rows], data.Y[val_rows], 512), config, device=run.device,
                 checkpoint=checkpoint, key=stable_hash(model_config), fresh=run.fresh,
                 desc="architecture A (from scratch)", log_every=max(recipe.epochs // 4, 1))
    result.extra["checkpoint"] = str(checkpoint)
    val_probs = predict_proba(model, _batches(images.train[val_rows], data.Y[val_rows], 512), run.device)
    start = time.perf_counter()
    test_probs = predict_proba(model, _batches(images.test, None, 512), run.device)
    test_s = time.perf_counter() - start
    return ModelOutcome(
        name=SCRATCH_MODEL_NAME, arch="A", model=model, fit=result, val_probs=val_probs, test_probs=test_probs,
        train_time_s=images.decode_s + result.train_time_s, test_time_s=test_s, pretrained=False,
        config={**model_config, "train_config": asdict(config)},
        train_time_note=f"trained from scratch: {len(train_rows)} rows x {len(result.history)} epochs at "
                        f"{recipe.image_size} px (+ {images.decode_s:.1f} s decoding every image once)",
    )


def scratch_extractor(outcome: ModelOutcome) -> nn.Module:
    """The from-scratch network of `outcome`, frozen, with its classifier removed (architecture B's backbone)."""
    extractor = feature_extractor(ScratchResNet(outcome.config["widths"]))
    extractor.load_state_dict({k: v for k, v in outcome.model.state_dict().items() if not k.startswith("fc.")})
    return extractor


def scratch_features(run: Run, outcome: ModelOutcome, extractor: nn.Module,
                     images: DecodedImages) -> tuple[FeatureSet, FeatureSet]:
    """Architecture B's input without pretrained weights: the frozen from-scratch network on every image once."""
    data = run.dataset
    common = dict(dim=outcome.model.fc.in_features, cache_dir=run.paths.feature_cache,
                  size=outcome.config["image_size"], weights=f"{SCRATCH_NAME}_{stable_hash(outcome.config)}",
                  fingerprint=run.fingerprint, fresh=run.fresh)
    train = cached_features(lambda: features_from_tensor(extractor, _batches(images.train, None, 512),
                                                         device=run.device),
                            data.train["ImageID"], image_set="train", **common)
    test = cached_features(lambda: features_from_tensor(extractor, _batches(images.test, None, 512),
                                                        device=run.device),
                           data.test["ImageID"], image_set="test", **common)
    return train, test


# ---- from train/cnn_finetune
def finetune_rows(train_rows: np.ndarray, max_rows: int | None, seed: int) -> np.ndarray:
    """The training rows architecture A uses: all, or a seeded random subset of max_rows (sorted)."""
    if max_rows is None or max_rows >= len(train_rows):
        return np.asarray(train_rows)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(train_rows, size=max_rows, replace=False))


def _sigmoid(logits: np.ndarray) -> np.ndarray:
    return torch.sigmoid(torch.from_numpy(logits)).numpy()


def train_finetuned(run: Run, settings: CnnSettings, backbone: nn.Module, *, backbone_name: str, pretrained: bool,
                    lr: float, augment: bool, cutoff: float = 0.5, preprocessing: str = "reference",
                    loss: str = "bce") -> ModelOutcome:
    """Architecture A: every weight of `backbone` (its classifier replaced by an 18-way layer) trained from images
    at settings.finetune_image_size. Early stopping looks at the first settings.finetune_val_rows validation rows
    (all when None); the returned validation probabilities cover every validation row."""
    data, (train_rows, val_rows) = run.dataset, run.split
    rows = finetune_rows(train_rows, settings.finetune_max_rows, run.seed)
    check_rows = val_rows if settings.finetune_val_rows is None else val_rows[:settings.finetune_val_rows]
    configure_device(run.device)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(run.seed)
        model = build_finetuned(backbone)
    if torch.device(run.device).type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    paths = np.asarray(data.train_image_paths(), dtype=object)
    size = settings.finetune_image_size
    config = TrainConfig(epochs=settings.finetune_epochs, lr=lr, optimizer="adam", cutoff=cutoff, seed=run.seed,
                         loss=loss)
    model_config = {"arch": "A", "backbone": backbone_name, "pretrained": pretrained, "trained_from_scratch": False,
                    "image_size": size, "augment": augment, "preprocessing": preprocessing, "train_rows": len(rows),
                    "rows_hash": stable_hash(rows.tolist()), "early_stopping_val_rows": len(check_rows),
                    "batch_size": settings.batch_size, "fingerprint": run.fingerprint}
    checkpoint = run.paths.checkpoints / f"cnn_finetune_{stable_hash([model_config, config])}.pt"
    write_json(checkpoint.with_suffix(".json"), {**model_config, "train_config": asdict(config)})
    loader = dict(batch_size=settings.batch_size, num_workers=settings.num_workers, device=run.device,
                  preprocessing=preprocessing)
    result = fit(model, image_loader(paths[rows], size, data.Y[rows], augment=augment, shuffle=True, reused=True,
                                     **loader),
                 image_loader(paths[check_rows], size, data.Y[check_rows], reused=True, **loader), config,
                 device=run.device, checkpoint=checkpoint, key=stable_hash(model_config), fresh=run.fresh,
                 desc="architecture A")
    result.extra["checkpoint"] = str(checkpoint)
    val_probs = _sigmoid(run_on_images(model, paths[val_rows], size, desc="A validation", **loader))
    start = time.perf_counter()
    test_probs = _sigmoid(run_on_images(model, data.test_image_paths(), size, desc="A test", **loader))
    test_time = time.perf_counter() - start
    return ModelOutcome(
        name=f"A: fine-tuned {backbone_name}", arch="A", model=model, fit=result, val_probs=val_probs,
        test_probs=test_probs, train_time_s=result.train_time_s, test_time_s=test_time, pretrained=pretrained,
        config={**model_config, "train_config": asdict(config)},
        train_time_note=f"{len(rows)} rows x {len(result.history)} epochs at {size} px",
    )


# ---- from train/cnn_frozen
def backbone_features(run: Run, extractor: nn.Module, *, dim: int, tag: str, size: int, settings: CnnSettings,
                      preprocessing: str = "reference") -> tuple[FeatureSet, FeatureSet]:
    """Frozen-backbone features of every train.csv and test.csv image: computed once, then read from the cache."""
    data = run.dataset
    loader = dict(batch_size=settings.batch_size, num_workers=settings.num_workers, device=run.device,
                  preprocessing=preprocessing)
    common = dict(dim=dim, cache_dir=run.paths.feature_cache, size=size, weights=f"{tag}_{preprocessing}",
                  fingerprint=run.fingerprint, fresh=run.fresh)
    train = cached_features(partial(run_on_images, extractor, data.train_image_paths(), size, desc="train features",
                                    **loader), data.train["ImageID"], image_set="train", **common)
    test = cached_features(partial(run_on_images, extractor, data.test_image_paths(), size, desc="test features",
                                   **loader), data.test["ImageID"], image_set="test", **common)
    return train, test


def finish_frozen(trainer: HeadTrainer, config: TrainConfig, extractor: nn.Module, train_features: FeatureSet,
                  test_features: FeatureSet, *, backbone_config: dict[str, Any], name: str,
                  backbone_train_s: float = 0.0) -> ModelOutcome:
    """The head trained with `config` (best validation epoch) on the frozen extractor's features.

    Training time = training the backbone (backbone_train_s: when it was trained from scratch here, as
    architecture A; 0 for pretrained weights) + extracting the train.csv features + optimising the head;
    testing time = extracting the test features + running the head. backbone_config: backbone, pretrained,
    image_size, preprocessing (and widths for the from-scratch network), stored so that the model can be rebuilt.
    """
    head, result = trainer.train(config, desc="architecture B head")
    start = time.perf_counter()
    test_probs = trainer.predict(head, "test")
    head_test_s = time.perf_counter() - start
    config_dict = {**trainer.model_config(), **backbone_config, "train_config": asdict(config),
                   "feature_cache": [train_features.path.name, test_features.path.name]}
    return ModelOutcome(
        name=name, arch="B", model=FrozenBackbone(extractor, head), fit=result,
        val_probs=trainer.predict(head, "val"), test_probs=test_probs,
        train_time_s=backbone_train_s + train_features.extract_s + result.train_time_s,
        test_time_s=test_features.extract_s + head_test_s, pretrained=bool(backbone_config["pretrained"]),
        config=config_dict,
        train_time_note=(f"backbone trained from scratch (architecture A) {backbone_train_s:.1f} s + "
                         if backbone_train_s else "")
        + f"feature extraction {train_features.extract_s:.1f} s (every train.csv image, once) "
          f"+ head {result.train_time_s:.1f} s",
    )


# ---- from train/cnn_handoff
WEIGHTS_KIND = "cnn_image_model"
HISTORY_NAME = "cnn"


def weights_config(outcome: ModelOutcome) -> dict[str, Any]:
    """The outcome's config plus what a predictor needs to rebuild and feed it (registry name, widths, mean/std)."""
    config = dict(outcome.config)
    mean, std = normalisation(config.get("preprocessing", "reference"))
    config.update({"backbone_name": config["backbone"], "mean": list(mean), "std": list(std),
                   "backbone_config": {"widths": config["widths"]} if "widths" in config else {}})
    return config


def save_outcome(run: Run, outcome: ModelOutcome, val_y: np.ndarray, features: tuple[FeatureSet, FeatureSet],
                 extra: dict[str, Any] | None = None) -> Path:
    """Write the chosen model's hand-off; returns the weights file's path."""
    train_rows, val_rows = run.split
    data = run.dataset
    weights_path = run.paths.checkpoints / f"cnn_final_{outcome.arch}.pt"
    config = weights_config(outcome)
    save_weights(weights_path, kind=WEIGHTS_KIND, config=config, state_dict=outcome.model.state_dict())
    save_probabilities(run.paths, "cnn", "val", data.train["ImageID"].to_numpy()[val_rows], outcome.val_probs)
    save_probabilities(run.paths, "cnn", "test", data.test["ImageID"].to_numpy(), outcome.test_probs)
    save_history(run.paths, HISTORY_NAME, outcome.fit.history, outcome.fit.best_epoch)
    save_summary(run.paths, "cnn", {
        "model": outcome.name, "arch": outcome.arch, "pretrained": outcome.pretrained,
        "trained_from_scratch": outcome.trained_from_scratch,
        "train_time_s": outcome.train_time_s, "train_time_note": outcome.train_time_note,
        "test_time_s": outcome.test_time_s, "size_bytes": outcome.size_bytes,
        "weights": [str(weights_path.relative_to(run.paths.out_dir))], "histories": [HISTORY_NAME],
        "feature_cache": [features[0].path.name, features[1].path.name],
        "config": config, "cutoff": outcome.cutoff, "best_epoch": outcome.fit.best_epoch,
        "val_metrics": scores_at_cutoff(val_y, outcome.val_probs, outcome.cutoff), **(extra or {}),
    })
    return weights_path


# ---- from train/cnn_timing
def reference_epoch_seconds(extractor: nn.Module, feature_dim: int, paths: Sequence[str | Path],
                            targets: np.ndarray, size: int, *, total_rows: int, batch_size: int = 64,
                            num_workers: int = 0, device: torch.device | str = "cpu", seed: int = 0,
                            preprocessing: str = "reference") -> float:
    """Seconds one training epoch over total_rows images takes the reference's way: decoding every image
    and running the frozen backbone every epoch, then a head step. Timed on `paths`, extrapolated."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = FrozenBackbone(extractor, FeatureHead(feature_dim)).to(device)
        optimizer = torch.optim.Adam(model.head.parameters(), lr=1e-3)
        loss_fn = nn.BCEWithLogitsLoss()
        model.train()
        loader = image_loader(paths, size, targets, batch_size=batch_size, num_workers=num_workers, shuffle=True,
                              device=device, preprocessing=preprocessing)
        start = time.perf_counter()
        for images, y in loader:
            loss = loss_fn(model(images.to(device)), y.to(device))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        seconds = time.perf_counter() - start
    return seconds * total_rows / max(len(paths), 1)


def throughput_report(run: Run, extractor: nn.Module, settings: CnnSettings, size: int, *, backbone_name: str,
                      preprocessing: str = "reference") -> pd.DataFrame:
    """One row: bare forward img/s, extraction pipeline img/s (steady state), its start-up seconds, the ratio."""
    precision = choose_precision(run.device)
    paths = run.dataset.train_image_paths()[: settings.throughput_images]
    batch = min(settings.batch_size, len(paths))
    forward = measure_forward_throughput(extractor, size, n_images=len(paths), batch_size=batch,
                                         device=run.device, precision=precision)
    pipeline = measure_feature_throughput(extractor, paths, size, batch_size=batch,
                                          num_workers=settings.num_workers, device=run.device, precision=precision,
                                          preprocessing=preprocessing)
    return pd.DataFrame([{
        "backbone": backbone_name, "image size (px)": size, "images": len(paths), "precision": precision.label,
        "DataLoader workers": settings.num_workers, "CPU threads": torch.get_num_threads(),
        "bare forward (img/s)": forward, "extraction pipeline (img/s)": pipeline["images_per_s"],
        "pipeline start-up (s)": pipeline["startup_s"], "pipeline / forward": pipeline["images_per_s"] / forward}])
