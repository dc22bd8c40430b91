"""Notebook 03's image models: choosing the backbone, training architectures A and B, timing them, handing one on.

- `image_backbone` loads `IMAGE_BACKBONE` with its weights; when none can be loaded (offline) and the profile
  allows it, freezing a random network would learn nothing, so architecture A is trained from scratch first
  (helpers.models.backbones.ScratchResNet at the profile's scratch image size, the images decoded once into
  a uint8 tensor by helpers.train.image_data, flip / translation / brightness-contrast augmentation, AdamW
  with a one-cycle schedule, channels_last) and B's backbone is that network, frozen. The returned
  `BackboneChoice` is what every later step reads, so the notebook never branches on it.
- `frozen_features`: B's input, the frozen backbone's features of every image, computed once and cached.
- `architecture_b`: the head trained for the full epochs on those features, with honest timings;
  `architecture_a`: the from-scratch model, or every weight of the pretrained backbone fine-tuned
  (reduced size and rows where the profile says so; early stopping on a slice of the validation rows).
- Every training run goes through helpers.engine.fit.fit (checkpointed, resumable, reused when unchanged);
  each model is described by a helpers.models.image_model.ImageModelConfig.
- Benchmark measurements: `reference_way_timing` times one head epoch the reference's way (every image decoded
  and run through the frozen backbone every epoch, through fit) on a few images, extrapolated to every row;
  `throughput_report` compares the bare backbone with the whole extraction pipeline (engine.inference's
  measurements).
- The from-scratch recipe (`ScratchRecipe`): bfloat16 autocast for CPU training where the CPU has native bf16
  units (`scratch_autocast`, switch CnnSettings.scratch_precision), the one-cycle schedule's length as the epoch cap
  and patience for a plateau before it; a run that reaches its cap is "unconverged" (ModelOutcome.convergence).
- The backbone comparison (table27) is helpers.train.backbone_comparison, which reads the BackboneChoice.
- `save_outcome` hands the chosen model to notebook 05: probabilities, summary, history and one weights file
  (helpers.models.weights, kind "cnn_image_model") whose config is the model's `ImageModelConfig.to_state()`.
  The summary lists what was written: "weights" (paths relative to the output folder), "histories"
  (names for helpers.core.handoff.load_history; with a from-scratch backbone also "cnn_backbone_scratch", its
  training) and "feature_cache" (the cached backbone features of
  train.csv and test.csv, which the joint model of notebook 05 trains on).
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from helpers.core.files import stable_hash
from helpers.core.handoff import save_history, save_probabilities, save_summary
from helpers.core.metrics import scores_at_cutoff
from helpers.core.profiles import CnnSettings
from helpers.core.seeding import seeded
from helpers.engine.device import choose_precision, configure_device, cpu_supports_fast_bf16
from helpers.engine.fit import FitResult, TrainConfig, checkpoint_path, fit
from helpers.engine.inference import (
    features_from_tensor,
    image_loader,
    measure_feature_throughput,
    measure_forward_throughput,
    predict_proba,
    run_on_images,
)
from helpers.models.backbones import (
    SCRATCH_NAME,
    check_backbone_name,
    feature_dim,
    load_backbone,
    resolve_weights,
    weights_tag,
)
from helpers.models.image_model import (
    REFERENCE_MEAN,
    REFERENCE_STD,
    FeatureHead,
    FrozenBackbone,
    ImageModelConfig,
    build_feature_extractor,
    build_finetuned,
    build_image_model,
    check_preprocessing,
    feature_extractor,
)
from helpers.models.weights import model_bytes, save_weights
from helpers.train.head_experiments import HeadTrainer
from helpers.train.image_data import FeatureSet, TensorImageBatches, cached_features, decode_images, decoded_cache_path

if TYPE_CHECKING:
    from helpers.run import Run


@dataclass
class ModelOutcome:
    """One trained image model, ready to compare and hand to notebook 05."""

    name: str  # e.g. "A: fine-tuned resnet34"
    model: nn.Module  # what predicts from images (B: frozen backbone + head)
    fit: FitResult
    val_probs: np.ndarray
    test_probs: np.ndarray
    train_time_s: float
    test_time_s: float
    config: ImageModelConfig  # rebuilds the model (helpers.models.image_model.build_image_model)
    train_config: TrainConfig
    batch_size: int
    train_rows: int | None = None  # rows it learnt from; None: every training row
    key: str = ""  # hash of the model config, the run facts and the training config: names its cached features
    feature_cache: tuple[str, ...] = ()  # B: the cached feature files it trained on
    train_time_note: str = ""

    @property
    def arch(self) -> str:
        return self.config.arch

    @property
    def pretrained(self) -> bool:
        return self.config.pretrained

    @property
    def trained_from_scratch(self) -> bool:
        return self.config.trained_from_scratch

    @property
    def cutoff(self) -> float:
        return float(self.train_config.cutoff)

    @property
    def feature_dim(self) -> int | None:
        """Architecture B: the size of the backbone features its head reads; A: None."""
        return int(self.model.head.mean.numel()) if self.arch == "B" else None

    @property
    def size_bytes(self) -> int:
        """Bytes of every tensor needed to predict from an image (parameters and buffers) at float32."""
        return model_bytes(self.model)

    @property
    def converged(self) -> bool:
        """True when early stopping ended the run on a validation plateau; a run that used every epoch of its cap
        (or had no patience) is unconverged: more epochs might still have helped."""
        return bool(self.fit.stopped_early)

    @property
    def convergence(self) -> str:
        """In words, for tables, figures and findings: "stopped early at epoch N of M" or "unconverged (...)"."""
        epochs, cap = len(self.fit.history), self.train_config.epochs
        if self.converged:
            return f"stopped early after {epochs} of {cap} epochs (best epoch {self.fit.best_epoch})"
        return f"unconverged (ran to its cap of {cap} epochs, best epoch {self.fit.best_epoch})"

    def summary_line(self) -> str:
        return f"{self.name}, best epoch {self.fit.best_epoch}, {self.train_time_s:.1f} s ({self.train_time_note})"


def choose_by_validation(outcomes: Sequence[ModelOutcome], val_y: np.ndarray) -> ModelOutcome:
    """The model with the best validation micro-F1 (test rows are never looked at)."""
    return max(outcomes, key=lambda o: scores_at_cutoff(val_y, o.val_probs, o.cutoff)["micro_f1"])


def image_checkpoint(prefix: str, directory: Path, config: ImageModelConfig, facts: dict[str, Any],
                     train_config: TrainConfig) -> tuple[Path, str, str]:
    """(checkpoint path, fit key, outcome key) of a training run: its model config plus the run facts."""
    mapping = {**config.to_state(), **facts}
    return (checkpoint_path(directory, prefix, mapping, train_config), stable_hash(mapping),
            stable_hash([mapping, train_config]))


SCRATCH_MODEL_NAME = "A: small ResNet trained from scratch"


SCRATCH_PRECISIONS = ("auto", "float32", "bfloat16")


def scratch_autocast(precision: str, device: torch.device | str = "cpu") -> torch.dtype | None:
    """The CPU training autocast of the from-scratch network: "auto" -> bfloat16 where the CPU has native bf16
    units (helpers.engine.device.cpu_supports_fast_bf16; measured 1.3-1.8 x faster per step on such a CPU, see
    helpers.bench's scratch_training stage), else float32 (None); "float32" / "bfloat16" force it. Off the CPU
    the engine's own mixed precision applies (None here)."""
    if precision not in SCRATCH_PRECISIONS:
        raise ValueError(f"scratch precision must be one of {', '.join(SCRATCH_PRECISIONS)}, not {precision!r}")
    if torch.device(device).type != "cpu" or precision == "float32":
        return None
    return torch.bfloat16 if precision == "bfloat16" or cpu_supports_fast_bf16() else None


@dataclass(frozen=True)
class ScratchRecipe:
    """How the from-scratch image model is trained (from the profile's CnnSettings)."""

    image_size: int
    widths: tuple[int, ...]
    epochs: int  # the one-cycle schedule's length, and the cap
    lr: float
    weight_decay: float
    batch_size: int
    precision: str = "auto"  # CPU training: see scratch_autocast
    patience: int | None = None  # stop after this many epochs without a better validation micro-F1

    @classmethod
    def from_settings(cls, cnn: CnnSettings) -> ScratchRecipe:
        return cls(cnn.scratch_image_size, tuple(cnn.scratch_widths), cnn.scratch_epochs, cnn.scratch_lr,
                   cnn.scratch_weight_decay, cnn.scratch_batch_size, cnn.scratch_precision, cnn.scratch_patience)

    def train_config(self, seed: int, *, cutoff: float = 0.5, loss: str = "bce") -> TrainConfig:
        """One-cycle AdamW over `epochs` (the schedule needs a fixed length, so the cap is the schedule's end);
        patience stops a run whose validation score has plateaued before the annealing is over."""
        return TrainConfig(epochs=self.epochs, lr=self.lr, optimizer="adamw", weight_decay=self.weight_decay,
                           cutoff=cutoff, seed=seed, schedule="onecycle", loss=loss, patience=self.patience)

    def build(self, seed: int, device: torch.device | str = "cpu", *,
              label_prior: np.ndarray | None = None) -> nn.Module:
        """The network drawn with `seed`, channels_last, with its CPU training precision set.

        label_prior (18 label frequencies of the training rows): the classifier's biases start at their log-odds,
        so the untrained network already predicts each label's base rate. From a zero bias a from-scratch network
        spends its first epochs learning just that (the plateau at the trivial baseline); measured on the demo
        data (8 epochs at 32 px): validation micro-F1 0.632 -> 0.646, and 0.635 -> 0.675 one stage shallower."""
        config = self.model_config()
        model = build_image_model(config, seed=seed).to(memory_format=torch.channels_last)
        if label_prior is not None:
            prior = np.clip(np.asarray(label_prior, dtype=np.float64), 1e-4, 1 - 1e-4)
            with torch.no_grad():
                model.fc.bias.copy_(torch.as_tensor(np.log(prior / (1 - prior)), dtype=model.fc.bias.dtype))
        model.train_autocast = scratch_autocast(self.precision, device)
        return model

    def model_config(self) -> ImageModelConfig:
        return ImageModelConfig(arch="A", backbone=SCRATCH_NAME, widths=self.widths, pretrained=False,
                                trained_from_scratch=True, image_size=self.image_size, augment=True)

    def describe(self, device: torch.device | str = "cpu") -> str:
        dtype = scratch_autocast(self.precision, device)
        stop = f", early stopping (patience {self.patience})" if self.patience else ""
        return (f"{SCRATCH_NAME} (widths {'-'.join(map(str, self.widths))}) at {self.image_size} px, "
                f"at most {self.epochs} epochs{stop}, AdamW (peak lr {self.lr:g}, weight decay {self.weight_decay:g}), "
                f"one-cycle schedule, batch {self.batch_size}, {'bfloat16 autocast' if dtype else 'float32'}, "
                "flip / translation / brightness-contrast augmentation")


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


def tensor_batches(images: torch.Tensor, targets: np.ndarray | None, batch_size: int, *, train: bool = False):
    """Batches of decoded uint8 images, normalised as the reference did; train=True shuffles and augments."""
    return TensorImageBatches(images, targets, batch_size, mean=REFERENCE_MEAN, std=REFERENCE_STD, shuffle=train,
                              augmented=train)


def train_from_scratch(run: Run, recipe: ScratchRecipe, images: DecodedImages, *, cutoff: float = 0.5,
                       loss: str = "bce") -> ModelOutcome:
    """Architecture A from a random initialisation (seeded with the run's seed): every weight trained on every
    training row."""
    data, (train_rows, val_rows) = run.dataset, run.split
    configure_device(run.device)
    model_config = recipe.model_config()
    model = recipe.build(run.seed, run.device, label_prior=data.Y[train_rows].mean(axis=0))
    config = recipe.train_config(run.seed, cutoff=cutoff, loss=loss)
    facts = {"batch_size": recipe.batch_size, "train_rows": len(train_rows), "fingerprint": run.fingerprint,
             "train_autocast": str(model.train_autocast), "output_bias": "label prior"}
    checkpoint, fit_key, key = image_checkpoint("cnn_scratch", run.paths.checkpoints, model_config, facts, config)
    result = fit(model, tensor_batches(images.train[train_rows], data.Y[train_rows], recipe.batch_size, train=True),
                 tensor_batches(images.train[val_rows], data.Y[val_rows], 512), config, device=run.device,
                 checkpoint=checkpoint, key=fit_key, fresh=run.fresh,
                 desc="architecture A (from scratch)", log_every=max(recipe.epochs // 4, 1))
    model.train_autocast = None
    result.extra["checkpoint"] = str(checkpoint)
    val_probs = predict_proba(model, tensor_batches(images.train[val_rows], data.Y[val_rows], 512), run.device)
    start = time.perf_counter()
    test_probs = predict_proba(model, tensor_batches(images.test, None, 512), run.device)
    test_s = time.perf_counter() - start
    return ModelOutcome(
        name=SCRATCH_MODEL_NAME, model=model, fit=result, val_probs=val_probs, test_probs=test_probs,
        train_time_s=images.decode_s + result.train_time_s, test_time_s=test_s, config=model_config,
        train_config=config, batch_size=recipe.batch_size, train_rows=len(train_rows), key=key,
        train_time_note=f"trained from scratch: {len(train_rows)} rows x {len(result.history)} epochs at "
                        f"{recipe.image_size} px (+ {images.decode_s:.1f} s decoding every image once)",
    )


def scratch_extractor(outcome: ModelOutcome) -> nn.Module:
    """The from-scratch network of `outcome`, frozen, with its classifier removed (architecture B's backbone)."""
    extractor = build_feature_extractor(outcome.config)
    extractor.load_state_dict({k: v for k, v in outcome.model.state_dict().items() if not k.startswith("fc.")})
    return extractor


def scratch_features(run: Run, outcome: ModelOutcome, extractor: nn.Module,
                     images: DecodedImages) -> tuple[FeatureSet, FeatureSet]:
    """Architecture B's input without pretrained weights: the frozen from-scratch network on every image once."""
    data = run.dataset
    common = dict(dim=outcome.model.fc.in_features, cache_dir=run.paths.feature_cache,
                  size=outcome.config.image_size, weights=f"{SCRATCH_NAME}_{outcome.key}",
                  fingerprint=run.fingerprint, fresh=run.fresh)
    train = cached_features(lambda: features_from_tensor(extractor, tensor_batches(images.train, None, 512),
                                                         device=run.device),
                            data.train["ImageID"], image_set="train", **common)
    test = cached_features(lambda: features_from_tensor(extractor, tensor_batches(images.test, None, 512),
                                                        device=run.device),
                           data.test["ImageID"], image_set="test", **common)
    return train, test


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
    """Architecture A: every weight of `backbone` (its classifier replaced by an 18-way layer, drawn with the run's
    seed) trained from images at settings.finetune_image_size. Early stopping looks at the first
    settings.finetune_val_rows validation rows (all when None); the returned validation probabilities cover every
    validation row."""
    data, (train_rows, val_rows) = run.dataset, run.split
    rows = finetune_rows(train_rows, settings.finetune_max_rows, run.seed)
    check_rows = val_rows if settings.finetune_val_rows is None else val_rows[:settings.finetune_val_rows]
    configure_device(run.device)
    with seeded(run.seed):
        model = build_finetuned(backbone)
    if torch.device(run.device).type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    paths = np.asarray(data.train_image_paths(), dtype=object)
    size = settings.finetune_image_size
    config = TrainConfig(epochs=settings.finetune_epochs, lr=lr, optimizer="adam", cutoff=cutoff, seed=run.seed,
                         loss=loss)
    model_config = ImageModelConfig(arch="A", backbone=backbone_name, pretrained=pretrained, image_size=size,
                                    augment=augment, preprocessing=preprocessing)
    facts = {"train_rows": len(rows), "rows_hash": stable_hash(rows.tolist()),
             "early_stopping_val_rows": len(check_rows), "batch_size": settings.batch_size,
             "fingerprint": run.fingerprint}
    checkpoint, fit_key, key = image_checkpoint("cnn_finetune", run.paths.checkpoints, model_config, facts, config)
    loader = dict(batch_size=settings.batch_size, num_workers=settings.num_workers, device=run.device,
                  preprocessing=preprocessing)
    result = fit(model, image_loader(paths[rows], size, data.Y[rows], augment=augment, shuffle=True, reused=True,
                                     **loader),
                 image_loader(paths[check_rows], size, data.Y[check_rows], reused=True, **loader), config,
                 device=run.device, checkpoint=checkpoint, key=fit_key, fresh=run.fresh, desc="architecture A")
    result.extra["checkpoint"] = str(checkpoint)
    val_probs = _sigmoid(run_on_images(model, paths[val_rows], size, desc="A validation", **loader))
    start = time.perf_counter()
    test_probs = _sigmoid(run_on_images(model, data.test_image_paths(), size, desc="A test", **loader))
    test_time = time.perf_counter() - start
    return ModelOutcome(
        name=f"A: fine-tuned {backbone_name}", model=model, fit=result, val_probs=val_probs, test_probs=test_probs,
        train_time_s=result.train_time_s, test_time_s=test_time, config=model_config, train_config=config,
        batch_size=settings.batch_size, train_rows=len(rows), key=key,
        train_time_note=f"{len(rows)} rows x {len(result.history)} epochs at {size} px",
    )


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
                  test_features: FeatureSet, *, model_config: ImageModelConfig, name: str,
                  backbone_train_s: float = 0.0) -> ModelOutcome:
    """The head trained with `config` (best validation epoch) on the frozen extractor's features.

    Training time = training the backbone (backbone_train_s: when it was trained from scratch here, as
    architecture A; 0 for pretrained weights) + extracting the train.csv features + optimising the head;
    testing time = extracting the test features + running the head. model_config describes the whole
    architecture B model (its head must be the trainer's).
    """
    if model_config.arch != "B" or (model_config.head_hidden, model_config.head_dropout) != (trainer.hidden,
                                                                                           trainer.dropout):
        raise ValueError(f"architecture B's config must describe the trainer's head, not {model_config}")
    head, result = trainer.train(config, desc="architecture B head")
    start = time.perf_counter()
    test_probs = trainer.predict(head, "test")
    head_test_s = time.perf_counter() - start
    return ModelOutcome(
        name=name, model=FrozenBackbone(extractor, head), fit=result,
        val_probs=trainer.predict(head, "val"), test_probs=test_probs,
        train_time_s=backbone_train_s + train_features.extract_s + result.train_time_s,
        test_time_s=test_features.extract_s + head_test_s, config=model_config, train_config=config,
        batch_size=trainer.batch_size, key=stable_hash([trainer.model_config(), config]),
        feature_cache=(train_features.path.name, test_features.path.name),
        train_time_note=(f"backbone trained from scratch (architecture A) {backbone_train_s:.1f} s + "
                         if backbone_train_s else "")
        + f"feature extraction {train_features.extract_s:.1f} s (every train.csv image, once) "
          f"+ head {result.train_time_s:.1f} s",
    )


@dataclass
class BackboneChoice:
    """Architecture B's backbone as notebook 03 settled it: pretrained `IMAGE_BACKBONE`, or (without weights) the
    network architecture A trained from scratch. Every later step reads it instead of branching."""

    name: str  # B's backbone: the registry name, or SCRATCH_NAME
    weights: str  # the weights asked for (IMAGE_WEIGHTS)
    extractor: nn.Module  # frozen, classifier removed
    feature_dim: int
    image_size: int
    preprocessing: str  # what B's features use ("reference" for the from-scratch network)
    pretrained: bool
    feature_tag: str  # names the backbone and its weights in the feature cache
    recipe: ScratchRecipe
    description: str  # what was chosen, in one or two lines
    model_a: ModelOutcome | None = None  # the from-scratch architecture A, when there were no weights
    images: DecodedImages | None = None  # its decoded images
    requested: str = ""  # what IMAGE_BACKBONE / IMAGE_WEIGHTS asked for, e.g. "resnet34 (weights DEFAULT)"

    @property
    def from_scratch(self) -> bool:
        return self.model_a is not None

    @property
    def backbone_train_s(self) -> float:
        """Seconds spent training B's backbone here (architecture A from scratch); 0 for pretrained weights."""
        return self.model_a.train_time_s if self.model_a is not None else 0.0

    def model_config(self, head_hidden: Sequence[int], head_dropout: float) -> ImageModelConfig:
        """Architecture B's config on this backbone with the given head."""
        return ImageModelConfig(arch="B", backbone=self.name, image_size=self.image_size,
                                widths=self.model_a.config.widths if self.model_a is not None else (),
                                pretrained=self.pretrained, trained_from_scratch=self.from_scratch,
                                preprocessing=self.preprocessing, head_hidden=tuple(head_hidden),
                                head_dropout=head_dropout)


def image_backbone(run: Run, name: str, weights: str, preprocessing: str, *, cutoff: float = 0.5) -> BackboneChoice:
    """Load `name` with `weights`; without them (offline, or weights "none") train architecture A from scratch and
    use its network, frozen, as B's backbone (the full profile stops instead when the weights are missing)."""
    check_backbone_name(name)
    check_preprocessing(preprocessing)
    cnn = run.profile.cnn
    backbone, pretrained = load_backbone(name, weights, require_pretrained=cnn.require_pretrained,
                                         download=not run.profile.offline)
    recipe = ScratchRecipe.from_settings(cnn)
    if pretrained:
        enum = resolve_weights(name, weights)
        dim = feature_dim(backbone)
        return BackboneChoice(name, weights, feature_extractor(backbone), dim, cnn.image_size, preprocessing, True,
                              weights_tag(name, enum, pretrained), recipe,
                              f"backbone: {name}, weights {enum.name}, preprocessing {preprocessing}",
                              requested=f"{name} (weights {weights})")
    images = decoded_images(run, recipe.image_size, cnn.num_workers)
    model_a = train_from_scratch(run, recipe, images, cutoff=cutoff)
    description = (f"{name} without pretrained weights: the image model is trained from scratch instead "
                   f"(pretrained_weights=False): {recipe.describe()}\n"
                   f"A (from scratch): best epoch {model_a.fit.best_epoch}, {model_a.train_time_s:.1f} s "
                   f"({model_a.train_time_note})")
    return BackboneChoice(SCRATCH_NAME, weights, scratch_extractor(model_a), model_a.model.fc.in_features,
                          recipe.image_size, "reference", False, f"{SCRATCH_NAME}_{model_a.key}", recipe, description,
                          model_a=model_a, images=images, requested=f"{name} (weights {weights}: not available)")


def frozen_features(run: Run, choice: BackboneChoice) -> tuple[FeatureSet, FeatureSet]:
    """B's input: the chosen backbone's features of every train.csv and test.csv image (cached)."""
    if choice.model_a is not None and choice.images is not None:
        return scratch_features(run, choice.model_a, choice.extractor, choice.images)
    return backbone_features(run, choice.extractor, dim=choice.feature_dim, tag=choice.feature_tag,
                             size=choice.image_size, settings=run.profile.cnn, preprocessing=choice.preprocessing)


def architecture_b(run: Run, choice: BackboneChoice, trainer: HeadTrainer, features: tuple[FeatureSet, FeatureSet],
                   head_config: TrainConfig) -> ModelOutcome:
    """Architecture B's final model: the head trained with head_config at the run's seed on the chosen backbone."""
    return finish_frozen(trainer, replace(head_config, seed=run.seed), choice.extractor, *features,
                         model_config=choice.model_config(trainer.hidden, trainer.dropout),
                         name=f"B: frozen {choice.name} + 3 FC", backbone_train_s=choice.backbone_train_s)


def architecture_a(run: Run, choice: BackboneChoice, *, lr: float, augment: bool, cutoff: float = 0.5,
                   preprocessing: str = "reference") -> ModelOutcome:
    """Architecture A: the from-scratch model when there were no weights, else the backbone (loaded afresh with its
    weights) fine-tuned with every weight trained."""
    if choice.model_a is not None:
        return choice.model_a
    cnn = run.profile.cnn
    backbone, pretrained = load_backbone(choice.name, choice.weights, require_pretrained=cnn.require_pretrained,
                                         download=not run.profile.offline)
    return train_finetuned(run, cnn, backbone, backbone_name=choice.name, pretrained=pretrained, lr=lr,
                           augment=augment, cutoff=cutoff, preprocessing=preprocessing)


WEIGHTS_KIND = "cnn_image_model"
HISTORY_NAME = "cnn"
BACKBONE_HISTORY_NAME = "cnn_backbone_scratch"  # the from-scratch backbone's training (architecture A offline)


def save_outcome(run: Run, outcome: ModelOutcome, val_y: np.ndarray, features: tuple[FeatureSet, FeatureSet],
                 extra: dict[str, Any] | None = None, *, backbone: ModelOutcome | None = None) -> Path:
    """Write the chosen model's hand-off; returns the weights file's path. The weights file's config is
    `outcome.config.to_state()` (read back with ImageModelConfig.from_state). backbone: the from-scratch
    architecture A that B's backbone came from (BackboneChoice.model_a); when it is not the chosen model its
    training history is saved too, as BACKBONE_HISTORY_NAME, and listed in the summary's "histories"."""
    train_rows, val_rows = run.split
    data = run.dataset
    weights_path = run.paths.checkpoints / f"cnn_final_{outcome.arch}.pt"
    save_weights(weights_path, kind=WEIGHTS_KIND, config=outcome.config.to_state(),
                 state_dict=outcome.model.state_dict())
    save_probabilities(run.paths, "cnn", "val", data.train["ImageID"].to_numpy()[val_rows], outcome.val_probs)
    save_probabilities(run.paths, "cnn", "test", data.test["ImageID"].to_numpy(), outcome.test_probs)
    save_history(run.paths, HISTORY_NAME, outcome.fit.history, outcome.fit.best_epoch)
    histories = [HISTORY_NAME]
    if backbone is not None and backbone is not outcome:
        save_history(run.paths, BACKBONE_HISTORY_NAME, backbone.fit.history, backbone.fit.best_epoch)
        histories.append(BACKBONE_HISTORY_NAME)
    save_summary(run.paths, "cnn", {
        "model": outcome.name, "arch": outcome.arch, "pretrained": outcome.pretrained,
        "trained_from_scratch": outcome.trained_from_scratch,
        "train_time_s": outcome.train_time_s, "train_time_note": outcome.train_time_note,
        "test_time_s": outcome.test_time_s, "size_bytes": outcome.size_bytes,
        "weights": [str(weights_path.relative_to(run.paths.out_dir))], "histories": histories,
        "feature_cache": [features[0].path.name, features[1].path.name],
        "config": outcome.config.to_state(), "train_config": asdict(outcome.train_config),
        "batch_size": outcome.batch_size, "train_rows": outcome.train_rows,
        "cutoff": outcome.cutoff, "best_epoch": outcome.fit.best_epoch, "convergence": outcome.convergence,
        "val_metrics": scores_at_cutoff(val_y, outcome.val_probs, outcome.cutoff), **(extra or {}),
    })
    return weights_path


def reference_epoch_seconds(extractor: nn.Module, feature_dim: int, paths: Sequence[str | Path],
                            targets: np.ndarray, size: int, *, total_rows: int, batch_size: int = 64,
                            num_workers: int = 0, device: torch.device | str = "cpu", seed: int = 0,
                            preprocessing: str = "reference") -> float:
    """Benchmark measurement: seconds one training epoch over total_rows images takes the reference's way
    (decoding every image and running the frozen backbone every epoch, then a head step: one epoch of
    helpers.engine.fit.fit on FrozenBackbone + a head drawn with `seed`). Timed on `paths`, extrapolated."""
    with seeded(seed):
        model = FrozenBackbone(extractor, FeatureHead(feature_dim))
    loader = image_loader(paths, size, targets, batch_size=batch_size, num_workers=num_workers, shuffle=True,
                          device=device, preprocessing=preprocessing)
    result = fit(model, loader, None, TrainConfig(epochs=1, seed=seed), device=device,
                 desc="reference-way epoch (timing)")
    return result.train_time_s * total_rows / max(len(paths), 1)


@dataclass(frozen=True)
class ReferenceWayTiming:
    """Architecture B trained the reference's way (backbone every epoch), extrapolated from one timed epoch."""

    epoch_s: float  # one epoch over every training row
    epochs: int
    backbone_train_s: float  # the from-scratch backbone must be trained first that way too
    timed_images: int

    @property
    def train_s(self) -> float:
        return self.epoch_s * self.epochs + self.backbone_train_s

    @property
    def note(self) -> str:
        return (f"{self.epoch_s:.1f} s per epoch x {self.epochs} epochs, extrapolated"
                + (f", + {self.backbone_train_s:.0f} s of backbone training" if self.backbone_train_s else ""))


def reference_way_timing(run: Run, choice: BackboneChoice) -> ReferenceWayTiming:
    """Benchmark measurement: one head epoch the reference's way on the profile's first reference_timing_rows
    training images, extrapolated to every training row and the profile's head epochs."""
    cnn, data, train_rows = run.profile.cnn, run.dataset, run.split[0]
    paths = data.train_image_paths()
    timing_rows = train_rows[: cnn.reference_timing_rows]
    epoch_s = reference_epoch_seconds(choice.extractor, choice.feature_dim, [paths[i] for i in timing_rows],
                                      data.Y[timing_rows], choice.image_size, total_rows=len(train_rows),
                                      batch_size=cnn.batch_size, num_workers=cnn.num_workers, device=run.device,
                                      seed=run.seed, preprocessing=choice.preprocessing)
    return ReferenceWayTiming(epoch_s, cnn.head_epochs, choice.backbone_train_s, len(timing_rows))


def throughput_report(run: Run, choice: BackboneChoice) -> pd.DataFrame:
    """Benchmark measurement, one row: bare forward img/s, extraction pipeline img/s (steady state), its start-up
    seconds, the ratio (helpers.engine.inference's measurements of the chosen backbone)."""
    settings = run.profile.cnn
    precision = choose_precision(run.device)
    paths = run.dataset.train_image_paths()[: settings.throughput_images]
    batch = min(settings.batch_size, len(paths))
    forward = measure_forward_throughput(choice.extractor, choice.image_size, n_images=len(paths), batch_size=batch,
                                         device=run.device, precision=precision)
    pipeline = measure_feature_throughput(choice.extractor, paths, choice.image_size, batch_size=batch,
                                          num_workers=settings.num_workers, device=run.device, precision=precision,
                                          preprocessing=choice.preprocessing)
    return pd.DataFrame([{
        "backbone": choice.name, "image size (px)": choice.image_size, "images": len(paths),
        "precision": precision.label, "DataLoader workers": settings.num_workers,
        "CPU threads": torch.get_num_threads(), "bare forward (img/s)": forward,
        "extraction pipeline (img/s)": pipeline["images_per_s"], "pipeline start-up (s)": pipeline["startup_s"],
        "pipeline / forward": pipeline["images_per_s"] / forward}])
