"""Architecture A without pretrained weights: a small ResNet trained from scratch, and its frozen features for B.

When no pretrained weights can be loaded (offline) and the profile allows it, freezing a random network
would learn nothing, so the image model is trained from scratch instead, with a standard recipe for
small images: helpers.models.scratch_cnn.ScratchResNet at the profile's scratch image size, the images
decoded once into a uint8 tensor (helpers.train.image_tensors), flip / translation / brightness-contrast
augmentation, AdamW with a one-cycle learning-rate schedule, channels_last. Training goes through
helpers.train.fit.fit (checkpointed, resumable, reused when unchanged).
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from helpers.core.atomic_io import write_json
from helpers.core.hashing import stable_hash
from helpers.core.profiles import CnnSettings
from helpers.models.image_models import REFERENCE_MEAN, REFERENCE_STD, configure_device, feature_extractor
from helpers.models.scratch_cnn import SCRATCH_NAME, ScratchResNet
from helpers.train.cnn_outcome import ModelOutcome
from helpers.train.fit import TrainConfig, fit, predict_proba
from helpers.train.image_features import FeatureSet, cached_features, features_from_tensor
from helpers.train.image_tensors import TensorImageBatches, decode_images, decoded_cache_path

if TYPE_CHECKING:
    from helpers.run import Run

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
