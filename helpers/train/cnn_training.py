"""Training and comparing the two ResNet-34 architectures of notebook 03 (all through helpers.train.fit.fit).

- `HeadTrainer`: architecture B's head on cached features: single runs, sweeps over settings and
  seeds (lr, optimizer), cut-off sweeps without retraining, validation-F1-per-epoch curves.
- `train_finetuned`: architecture A from images (reduced size and rows where the profile says so).
- `reference_epoch_seconds`: one epoch the reference's way (backbone run on every image every epoch).
- `performance_row`, `plot_epoch_curves`, `plot_architectures`: the comparison table and figures.
Checkpoints go to run.paths.checkpoints with a JSON of their model config beside them.
"""
from __future__ import annotations

import textwrap
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from matplotlib.ticker import MaxNLocator, NullFormatter, ScalarFormatter
from torch import nn

from helpers.core.atomic_io import atomic_path, write_json
from helpers.core.handoff import save_history, save_probabilities, save_summary
from helpers.core.hashing import stable_hash
from helpers.core.metrics import METRIC_TITLES, binarize, multilabel_scores
from helpers.core.profiles import CnnSettings, get_profile
from helpers.models.cnn import (
    HEAD_DROPOUT,
    HEAD_HIDDEN,
    FeatureHead,
    FineTunedResNet,
    FrozenResNet,
    inference_precision,
    load_resnet34,
    state_size_bytes,
)
from helpers.train.experiments import run_experiments
from helpers.train.fit import FitResult, TrainConfig, fit, predict_proba
from helpers.train.image_features import (
    FeatureSet,
    cached_features,
    image_loader,
    measure_feature_throughput,
    measure_forward_throughput,
    run_on_images,
)

if TYPE_CHECKING:
    from helpers.run import Run

REPORTED_METRICS = ("micro_f1", "samples_f1", "macro_f1", "exact_match", "hamming_accuracy")


def scores(y_true: np.ndarray, probs: np.ndarray, cutoff: float) -> dict[str, float]:
    """The five named metrics at one probability cut-off."""
    return multilabel_scores(y_true, binarize(probs, cutoff))


class FeatureBatches:
    """Re-iterable (features, targets) batches from in-memory tensors; shuffled with torch's global generator."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, batch_size: int, shuffle: bool = False):
        self.x, self.y, self.batch_size, self.shuffle = x, y, batch_size, shuffle

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n = len(self.x)
        order = torch.randperm(n) if self.shuffle else torch.arange(n)
        for start in range(0, n, self.batch_size):
            idx = order[start:start + self.batch_size]
            yield self.x[idx], self.y[idx]


@contextmanager
def _single_thread(device: torch.device | str) -> Iterator[None]:
    """The head is tiny: on CPU one thread is faster than several (no sync overhead) and gives the same
    numbers whatever the machine's core count."""
    if torch.device(device).type != "cpu":
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _tensor(a: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(np.asarray(a, dtype=np.float32))


@dataclass
class HeadTrainer:
    """Architecture B's head on cached features of the run's fixed train / validation split."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    val_x: torch.Tensor
    val_y: np.ndarray
    test_x: torch.Tensor
    val_ids: np.ndarray
    test_ids: np.ndarray
    checkpoint_dir: Path
    results_dir: Path
    key: str  # data fingerprint + feature config: part of every checkpoint and sweep key
    batch_size: int = 256
    device: torch.device | str = "cpu"
    fresh: bool = False
    hidden: tuple[int, ...] = HEAD_HIDDEN
    dropout: float = HEAD_DROPOUT
    _trained: dict[str, tuple[FeatureHead, FitResult]] = field(default_factory=dict, repr=False)

    @classmethod
    def from_run(cls, run: Run, train_features: FeatureSet, test_features: FeatureSet, batch_size: int) -> HeadTrainer:
        train_rows, val_rows = run.split
        feats, Y = train_features.features, run.dataset.Y
        key = stable_hash([run.fingerprint, train_features.path.name, test_features.path.name])
        return cls(
            train_x=_tensor(feats[train_rows]), train_y=_tensor(Y[train_rows]), val_x=_tensor(feats[val_rows]),
            val_y=Y[val_rows], test_x=_tensor(test_features.features),
            val_ids=train_features.image_ids[val_rows], test_ids=test_features.image_ids,
            checkpoint_dir=run.paths.checkpoints, results_dir=run.paths.results, key=key, batch_size=batch_size,
            device=run.device, fresh=run.fresh,
        )

    def _model_config(self) -> dict[str, Any]:
        return {"arch": "B", "head_hidden": list(self.hidden), "head_dropout": self.dropout,
                "head_batch_size": self.batch_size, "data_key": self.key}

    def train(self, config: TrainConfig, desc: str = "head") -> tuple[FeatureHead, FitResult]:
        """Train (or reuse / resume from its checkpoint) one head; it holds its best-validation-epoch weights."""
        model_config = self._model_config()
        name = f"cnn_head_{stable_hash([model_config, config])}"
        if name in self._trained:
            return self._trained[name]
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            head = FeatureHead(hidden=self.hidden, dropout=self.dropout)
        head.set_standardisation(self.train_x)
        checkpoint = self.checkpoint_dir / f"{name}.pt"
        write_json(checkpoint.with_suffix(".json"), {**model_config, "train_config": asdict(config)})
        with _single_thread(self.device):
            result = fit(head, FeatureBatches(self.train_x, self.train_y, self.batch_size, shuffle=True),
                         FeatureBatches(self.val_x, _tensor(self.val_y), 4096), config, device=self.device,
                         checkpoint=checkpoint, key=stable_hash(model_config), fresh=self.fresh, desc=desc)
        result.extra["checkpoint"] = str(checkpoint)
        self._trained[name] = (head, result)
        return head, result

    def predict(self, head: FeatureHead, split: str) -> np.ndarray:
        x = self.val_x if split == "val" else self.test_x
        with _single_thread(self.device):
            return predict_proba(head, FeatureBatches(x, torch.zeros(len(x), 1), 4096), self.device)

    def val_scores(self, config: TrainConfig, cutoff: float | None = None) -> dict[str, float]:
        head, _ = self.train(config, desc=f"head {config.optimizer} lr={config.lr} seed {config.seed}")
        return scores(self.val_y, self.predict(head, "val"), config.cutoff if cutoff is None else cutoff)

    def sweep(self, experiment: str, settings: dict[str, TrainConfig], seeds: Sequence[int]) -> pd.DataFrame:
        """Validation scores of every setting and seed (tidy; cached per setting and seed)."""
        return run_experiments(experiment, settings, seeds, lambda cfg, seed: self.val_scores(replace(cfg, seed=seed)),
                               self.results_dir / "experiments", key=self.key, fresh=self.fresh)

    def cutoff_sweep(self, config: TrainConfig, cutoffs: Sequence[float], seeds: Sequence[int]) -> pd.DataFrame:
        """One trained head per seed, scored at every cut-off (no retraining)."""
        settings = {f"{c:g}": {"cutoff": float(c), "config": config} for c in cutoffs}
        return run_experiments("cnn_cutoff", settings, seeds,
                               lambda s, seed: self.val_scores(replace(config, seed=seed), cutoff=s["cutoff"]),
                               self.results_dir / "experiments", key=self.key, fresh=self.fresh)

    def epoch_curves(self, config: TrainConfig, seeds: Sequence[int]) -> pd.DataFrame:
        """Validation micro-F1 after every epoch, one run per seed: columns seed, epoch, val_micro_f1."""
        frames = []
        for seed in seeds:
            _, result = self.train(replace(config, seed=seed), desc=f"head seed {seed}")
            frames.append(result.history[["epoch", "val_micro_f1"]].assign(seed=seed))
        return pd.concat(frames, ignore_index=True)[["seed", "epoch", "val_micro_f1"]]


def reference_epoch_seconds(backbone: nn.Module, paths: Sequence[str | Path], targets: np.ndarray, size: int, *,
                            total_rows: int, batch_size: int = 64, num_workers: int = 0,
                            device: torch.device | str = "cpu", seed: int = 0) -> float:
    """Seconds one training epoch over total_rows images takes the reference's way: decoding every image
    and running the frozen backbone every epoch, then a head step. Timed on `paths`, extrapolated."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = FrozenResNet(backbone, FeatureHead()).to(device)
        optimizer = torch.optim.Adam(model.head.parameters(), lr=1e-3)
        loss_fn = nn.BCEWithLogitsLoss()
        model.train()
        loader = image_loader(paths, size, targets, batch_size=batch_size, num_workers=num_workers, shuffle=True,
                              device=device)
        start = time.perf_counter()
        for images, y in loader:
            loss = loss_fn(model(images.to(device)), y.to(device))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        seconds = time.perf_counter() - start
    return seconds * total_rows / max(len(paths), 1)


@dataclass
class ModelOutcome:
    """One trained image model, ready to compare and hand to notebook 05."""

    name: str  # e.g. "A: fine-tuned ResNet-34"
    arch: str  # "A" or "B"
    model: nn.Module  # what predicts from images (B: frozen backbone + head)
    fit: FitResult
    val_probs: np.ndarray
    test_probs: np.ndarray
    train_time_s: float
    test_time_s: float
    pretrained: bool
    config: dict[str, Any]
    train_time_note: str = ""

    @property
    def size_bytes(self) -> int:
        return state_size_bytes(self.model)


def finish_frozen(trainer: HeadTrainer, config: TrainConfig, backbone: nn.Module, train_features: FeatureSet,
                  test_features: FeatureSet, pretrained: bool, image_size: int) -> ModelOutcome:
    """Architecture B's final head (best validation epoch) and its probabilities, with honest timings:
    training = extracting the train.csv features + optimising the head; testing = extracting the
    test features + running the head."""
    head, result = trainer.train(config, desc="architecture B head")
    start = time.perf_counter()
    test_probs = trainer.predict(head, "test")
    head_test_s = time.perf_counter() - start
    config_dict = {**trainer._model_config(), "backbone": "resnet34 (frozen)", "pretrained": pretrained,
                   "image_size": image_size, "train_config": asdict(config),
                   "feature_cache": [train_features.path.name, test_features.path.name]}
    return ModelOutcome(
        name="B: frozen ResNet-34 + 3 FC", arch="B", model=FrozenResNet(backbone, head), fit=result,
        val_probs=trainer.predict(head, "val"), test_probs=test_probs,
        train_time_s=train_features.extract_s + result.train_time_s,
        test_time_s=test_features.extract_s + head_test_s, pretrained=pretrained, config=config_dict,
        train_time_note=f"feature extraction {train_features.extract_s:.1f}s (every train.csv image, once) "
                        f"+ head {result.train_time_s:.1f}s",
    )


def finetune_rows(train_rows: np.ndarray, max_rows: int | None, seed: int) -> np.ndarray:
    """The training rows architecture A uses: all, or a seeded random subset of max_rows (sorted)."""
    if max_rows is None or max_rows >= len(train_rows):
        return np.asarray(train_rows)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(train_rows, size=max_rows, replace=False))


def train_finetuned(run: Run, settings: CnnSettings, *, lr: float, augment: bool, cutoff: float = 0.5,
                    require_pretrained: bool = False) -> ModelOutcome:
    """Architecture A: every ResNet-34 weight trained from images at settings.finetune_image_size.

    Early stopping looks at the first settings.finetune_val_rows validation rows (all when None);
    the returned validation probabilities cover every validation row.
    """
    data, (train_rows, val_rows) = run.dataset, run.split
    rows = finetune_rows(train_rows, settings.finetune_max_rows, run.seed)
    check_rows = val_rows if settings.finetune_val_rows is None else val_rows[:settings.finetune_val_rows]
    backbone, pretrained = load_resnet34(require_pretrained=require_pretrained)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(run.seed)
        model = FineTunedResNet(backbone)
    if torch.device(run.device).type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    paths = np.asarray(data.train_image_paths(), dtype=object)
    size = settings.finetune_image_size
    config = TrainConfig(epochs=settings.finetune_epochs, lr=lr, optimizer="adam", cutoff=cutoff, seed=run.seed)
    model_config = {"arch": "A", "backbone": "resnet34 (every weight trained)", "pretrained": pretrained,
                    "image_size": size, "augment": augment, "train_rows": len(rows),
                    "rows_hash": stable_hash(rows.tolist()), "early_stopping_val_rows": len(check_rows),
                    "batch_size": settings.batch_size, "fingerprint": run.fingerprint}
    checkpoint = run.paths.checkpoints / f"cnn_finetune_{stable_hash([model_config, config])}.pt"
    write_json(checkpoint.with_suffix(".json"), {**model_config, "train_config": asdict(config)})
    loader = dict(batch_size=settings.batch_size, num_workers=settings.num_workers, device=run.device)
    result = fit(model, image_loader(paths[rows], size, data.Y[rows], augment=augment, shuffle=True, **loader),
                 image_loader(paths[check_rows], size, data.Y[check_rows], **loader), config, device=run.device,
                 checkpoint=checkpoint, key=stable_hash(model_config), fresh=run.fresh, desc="architecture A")
    result.extra["checkpoint"] = str(checkpoint)
    val_probs = _sigmoid(run_on_images(model, paths[val_rows], size, desc="A validation", **loader))
    start = time.perf_counter()
    test_probs = _sigmoid(run_on_images(model, data.test_image_paths(), size, desc="A test", **loader))
    test_time = time.perf_counter() - start
    return ModelOutcome(
        name="A: fine-tuned ResNet-34", arch="A", model=model, fit=result, val_probs=val_probs, test_probs=test_probs,
        train_time_s=result.train_time_s, test_time_s=test_time, pretrained=pretrained,
        config={**model_config, "train_config": asdict(config)},
        train_time_note=f"{len(rows)} rows x {len(result.history)} epochs at {size} px",
    )


def run_features(run: Run, backbone: nn.Module, weights: str, settings: CnnSettings) -> tuple[FeatureSet, FeatureSet]:
    """Frozen-backbone features of every train.csv and test.csv image: computed once, then read from the cache."""
    data = run.dataset
    common = dict(cache_dir=run.paths.feature_cache, size=settings.image_size, weights=weights,
                  fingerprint=run.fingerprint, batch_size=settings.batch_size, num_workers=settings.num_workers,
                  device=run.device, fresh=run.fresh)
    train = cached_features(backbone, data.train["ImageID"], data.images_dir, image_set="train", **common)
    test = cached_features(backbone, data.test["ImageID"], data.images_dir, image_set="test", **common)
    return train, test


def feature_table(features: dict[str, FeatureSet]) -> pd.DataFrame:
    return pd.DataFrame([{"image set": name, "images": len(fs.image_ids), "from cache": fs.from_cache,
                          "extraction time (s)": fs.extract_s, "images per second": fs.images_per_s,
                          "cache file": fs.path.name} for name, fs in features.items()])


def throughput_report(run: Run, backbone: nn.Module, settings: CnnSettings, size: int) -> pd.DataFrame:
    """Bare-model forward throughput vs the full extraction pipeline (decode + resize + model) at `size`."""
    precision = inference_precision(run.device)
    paths = run.dataset.train_image_paths()[: settings.throughput_images]
    forward = measure_forward_throughput(backbone, size, n_images=len(paths),
                                         batch_size=min(settings.batch_size, len(paths)),
                                         device=run.device, precision=precision)
    pipeline = measure_feature_throughput(backbone, paths, size, batch_size=settings.batch_size,
                                          num_workers=settings.num_workers, device=run.device, precision=precision)
    return pd.DataFrame([{"image size (px)": size, "images": len(paths), "precision": precision.label,
                          "DataLoader workers": settings.num_workers, "bare forward (img/s)": forward,
                          "extraction pipeline (img/s)": pipeline, "pipeline / forward": pipeline / forward}])


def performance_table(outcomes: Sequence[ModelOutcome], val_y: np.ndarray, test_y: np.ndarray | None,
                      reference_train_s: float | None = None, reference_note: str = "") -> pd.DataFrame:
    """table07: every metric (validation, and test where labels exist), training / testing time, size."""
    rows = [performance_row(o.name, pretrained=o.pretrained, val_y=val_y, val_probs=o.val_probs, test_y=test_y,
                            test_probs=o.test_probs, cutoff=o.config["train_config"]["cutoff"],
                            train_time_s=o.train_time_s,
                            test_time_s=o.test_time_s, size_bytes=o.size_bytes, note=o.train_time_note)
            for o in outcomes]
    table = pd.DataFrame(rows)
    if reference_train_s is not None:
        b = next(o for o in outcomes if o.arch == "B")
        table = pd.concat([table, pd.DataFrame([{
            "model": "B, backbone run every epoch (reference's way)", "pretrained_weights": b.pretrained,
            "train_time_s": reference_train_s, "size_mb": b.size_bytes / 1e6, "note": reference_note}])],
            ignore_index=True)
    return table


def design_table(outcomes: Sequence[ModelOutcome]) -> pd.DataFrame:
    """table06: how each architecture is built and trained."""
    rows = []
    for o in outcomes:
        c, t = o.config, o.config["train_config"]
        rows.append({
            "model": o.name, "backbone": c["backbone"], "pretrained_weights": o.pretrained,
            "head": (" -> ".join(map(str, [512, *c["head_hidden"], 18])) + f", ReLU, dropout {c['head_dropout']}")
            if o.arch == "B" else "512 -> 18",
            "trainable_parameters": sum(p.numel() for p in o.model.parameters() if p.requires_grad),
            "total_parameters": sum(p.numel() for p in o.model.parameters()),
            "image_size_px": c["image_size"], "augmentation": c.get("augment", False),
            "optimizer": t["optimizer"], "learning_rate": t["lr"], "epochs": t["epochs"],
            "best_epoch": o.fit.best_epoch, "batch_size": c.get("batch_size", c.get("head_batch_size")),
            "cutoff": t["cutoff"], "train_rows": c.get("train_rows", "all"),
        })
    return pd.DataFrame(rows)


def choose_by_validation(outcomes: Sequence[ModelOutcome], val_y: np.ndarray) -> ModelOutcome:
    """The model with the best validation micro-F1 (test rows are never looked at)."""
    return max(outcomes, key=lambda o: scores(val_y, o.val_probs, o.config["train_config"]["cutoff"])["micro_f1"])


def save_outcome(run: Run, outcome: ModelOutcome, val_y: np.ndarray, extra: dict[str, Any] | None = None) -> Path:
    """Hand the chosen image model to notebook 05: probabilities, summary, history, and one weights file
    (everything needed to predict, with its config)."""
    train_rows, val_rows = run.split
    data = run.dataset
    weights_path = run.paths.checkpoints / f"cnn_final_{outcome.arch}.pt"
    with atomic_path(weights_path) as tmp:
        torch.save({"config": outcome.config, "state_dict": outcome.model.state_dict()}, tmp)
    save_probabilities(run.paths, "cnn", "val", data.train["ImageID"].to_numpy()[val_rows], outcome.val_probs)
    save_probabilities(run.paths, "cnn", "test", data.test["ImageID"].to_numpy(), outcome.test_probs)
    cutoff = outcome.config["train_config"]["cutoff"]
    save_summary(run.paths, "cnn", {
        "model": outcome.name, "arch": outcome.arch, "pretrained": outcome.pretrained,
        "train_time_s": outcome.train_time_s, "train_time_note": outcome.train_time_note,
        "test_time_s": outcome.test_time_s, "size_bytes": outcome.size_bytes, "weights": [str(weights_path)],
        "config": outcome.config, "cutoff": cutoff, "best_epoch": outcome.fit.best_epoch,
        "val_metrics": scores(val_y, outcome.val_probs, cutoff), **(extra or {}),
    })
    save_history(run.paths, "cnn", outcome.fit.history, outcome.fit.best_epoch)
    return weights_path


def _sigmoid(logits: np.ndarray) -> np.ndarray:
    return torch.sigmoid(torch.from_numpy(logits)).numpy()


def performance_row(model: str, *, pretrained: bool, val_y: np.ndarray, val_probs: np.ndarray,
                    test_y: np.ndarray | None, test_probs: np.ndarray | None, cutoff: float, train_time_s: float,
                    test_time_s: float, size_bytes: int, note: str = "") -> dict[str, Any]:
    """One row of table07: every metric on validation (and test when labels exist), times, size."""
    row: dict[str, Any] = {"model": model, "pretrained_weights": pretrained, "cutoff": cutoff}
    row.update({f"val_{k}": v for k, v in scores(val_y, val_probs, cutoff).items()})
    if test_y is not None and test_probs is not None:
        row.update({f"test_{k}": v for k, v in scores(test_y, test_probs, cutoff).items()})
    row.update({"train_time_s": train_time_s, "test_time_s": test_time_s, "size_mb": size_bytes / 1e6, "note": note})
    return row


def describe_reductions(settings: CnnSettings, profile: str) -> str:
    """Markdown list of where this profile's image-model settings differ from the full (reference) profile."""
    full = get_profile("full").cnn
    names = {
        "image_size": "image size for features (px)", "head_epochs": "architecture B head epochs",
        "experiment_epochs": "epochs per lr / optimizer experiment run", "seeds": "seeds per setting",
        "finetune_epochs": "architecture A epochs", "finetune_image_size": "architecture A image size (px)",
        "finetune_max_rows": "architecture A training rows", "finetune_val_rows": "architecture A early-stopping "
        "validation rows", "reference_timing_rows": "images timed for the backbone-every-epoch estimate",
        "throughput_images": "images for the throughput measurement",
    }
    lines = []
    for name, title in names.items():
        mine, ref = getattr(settings, name), getattr(full, name)
        if mine != ref:
            fmt = lambda v: "all" if v is None else (len(v) if isinstance(v, tuple) else v)
            lines.append(f"- {title}: **{fmt(mine)}** (full profile: {fmt(ref)})")
    if not lines:
        return f"Profile `{profile}` uses the reference settings everywhere."
    return f"Profile `{profile}` reduces these settings:\n\n" + "\n".join(lines)


def plot_epoch_curves(curves: pd.DataFrame, title: str) -> plt.Figure:
    """Validation micro-F1 per epoch: mean over seeds with the min-max band, and each seed thinly."""
    fig, ax = plt.subplots(figsize=(7, 4))
    stats = curves.groupby("epoch")["val_micro_f1"].agg(["mean", "min", "max"])
    for seed, part in curves.groupby("seed"):
        ax.plot(part["epoch"], part["val_micro_f1"], lw=0.8, alpha=0.5, label=f"seed {seed}")
    ax.plot(stats.index, stats["mean"], color="black", lw=2, label="mean over seeds")
    ax.fill_between(stats.index, stats["min"], stats["max"], color="grey", alpha=0.25, label="min-max over seeds")
    best = stats["mean"].idxmax()
    ax.axvline(best, color="tab:red", ls="--", lw=1, label=f"best mean epoch ({best})")
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(f"validation {METRIC_TITLES['micro_f1']}")
    ax.set_title(title)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def plot_architectures(table: pd.DataFrame) -> plt.Figure:
    """Architectures side by side: validation micro-F1, training time (log scale), model size."""
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6))
    panels = [("val_micro_f1", f"validation {METRIC_TITLES['micro_f1']}", False),
              ("train_time_s", "training time (s, log scale)", True), ("size_mb", "model size (MB)", False)]
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    labels = [textwrap.fill(m, 18) for m in table["model"]]
    for ax, (column, title, log) in zip(axes, panels, strict=True):
        values = table[column].to_numpy(dtype=float)
        bars = ax.bar(range(len(values)), np.nan_to_num(values), color=colors[:len(values)])
        ax.bar_label(bars, labels=["n/a" if np.isnan(v) else f"{v:.3g}" for v in values], fontsize=8)
        ax.set_xticks(range(len(values)), labels, fontsize=8)
        ax.set_ylabel(title)
        ax.set_title(title)
        if log:
            ax.set_yscale("log")
            ax.yaxis.set_major_formatter(ScalarFormatter())
            ax.yaxis.set_minor_formatter(NullFormatter())
        else:
            ax.margins(y=0.15)
    fig.suptitle("ResNet-34 image models: architecture A (fine-tuned) vs B (frozen backbone + head)")
    fig.tight_layout()
    return fig
