"""Architecture B's head on cached backbone features: single runs, and sweeps over settings and seeds.

Every run goes through helpers.engine.fit.fit (checkpointed, resumable, reused when unchanged; checkpoints named
by helpers.engine.fit.checkpoint_path); the sweeps are cached per (setting, seed) by
helpers.train.experiments.run_experiments; `setting_predictions` / `sweep_differences` give the per-row
predictions and the paired bootstrap that judge a sweep. The backbone comparison trains these heads too
(helpers.train.backbone_comparison).
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import torch

from helpers.core.files import stable_hash
from helpers.core.metrics import binarize, crossfit_cutoff_predictions, differences_to_reference, scores_at_cutoff
from helpers.core.seeding import seeded
from helpers.engine.fit import FitResult, TrainConfig, checkpoint_path, fit
from helpers.engine.inference import predict_proba
from helpers.models.image_model import HEAD_DROPOUT, HEAD_HIDDEN, FeatureHead
from helpers.train.experiments import run_experiments
from helpers.train.image_data import FeatureSet, batch_indices

if TYPE_CHECKING:
    from helpers.run import Run


class FeatureBatches:
    """Re-iterable (features, targets) batches from in-memory tensors; shuffled with torch's global generator."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, batch_size: int, shuffle: bool = False):
        self.x, self.y, self.batch_size, self.shuffle = x, y, batch_size, shuffle

    def __len__(self) -> int:
        return (len(self.x) + self.batch_size - 1) // self.batch_size

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for idx in batch_indices(len(self.x), self.batch_size, self.shuffle):
            yield self.x[idx], self.y[idx]


@contextmanager
def single_thread(device: torch.device | str) -> Iterator[None]:
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


def float_tensor(a: np.ndarray) -> torch.Tensor:
    """float32 tensor of an array (features or 0/1 targets)."""
    return torch.as_tensor(np.asarray(a, dtype=np.float32))


@dataclass
class HeadTrainer:
    """Architecture B's head on cached features of the run's fixed train / validation split."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    val_x: torch.Tensor
    val_y: np.ndarray
    test_x: torch.Tensor
    checkpoint_dir: Path
    results_dir: Path
    key: str  # data fingerprint + feature files: part of every checkpoint and sweep key
    batch_size: int = 256
    device: torch.device | str = "cpu"
    fresh: bool = False
    hidden: tuple[int, ...] = HEAD_HIDDEN
    dropout: float = HEAD_DROPOUT
    log_every: int | None = None
    _trained: dict[str, tuple[FeatureHead, FitResult]] = field(default_factory=dict, repr=False)

    @classmethod
    def from_run(cls, run: Run, train_features: FeatureSet, test_features: FeatureSet, batch_size: int) -> HeadTrainer:
        """A trainer on the run's split, from the cached features of every train.csv and test.csv image."""
        rows, val_rows = run.split
        feats, Y = train_features.features, run.dataset.Y
        key = stable_hash([run.fingerprint, train_features.path.name, test_features.path.name, len(rows)])
        return cls(train_x=float_tensor(feats[rows]), train_y=float_tensor(Y[rows]),
                   val_x=float_tensor(feats[val_rows]), val_y=Y[val_rows],
                   test_x=float_tensor(test_features.features), checkpoint_dir=run.paths.checkpoints,
                   results_dir=run.paths.results, key=key, batch_size=batch_size, device=run.device,
                   fresh=run.fresh)

    @property
    def in_dim(self) -> int:
        return int(self.train_x.shape[1])

    def model_config(self) -> dict[str, Any]:
        return {"arch": "B", "feature_dim": self.in_dim, "head_hidden": list(self.hidden),
                "head_dropout": self.dropout, "head_batch_size": self.batch_size, "data_key": self.key}

    def train(self, config: TrainConfig, desc: str = "head") -> tuple[FeatureHead, FitResult]:
        """Train (or reuse / resume from its checkpoint) one head; it holds its best-validation-epoch weights."""
        model_config = self.model_config()
        name = f"cnn_head_{stable_hash([model_config, config])}"
        if name in self._trained:
            return self._trained[name]
        with seeded(config.seed):
            head = FeatureHead(self.in_dim, hidden=self.hidden, dropout=self.dropout)
        head.set_standardisation(self.train_x)
        checkpoint = checkpoint_path(self.checkpoint_dir, "cnn_head", model_config, config)
        with single_thread(self.device):
            result = fit(head, FeatureBatches(self.train_x, self.train_y, self.batch_size, shuffle=True),
                         FeatureBatches(self.val_x, float_tensor(self.val_y), 4096), config, device=self.device,
                         checkpoint=checkpoint, key=stable_hash(model_config), fresh=self.fresh, desc=desc,
                         log_every=self.log_every)
        result.extra["checkpoint"] = str(checkpoint)
        self._trained[name] = (head, result)
        return head, result

    def predict(self, head: FeatureHead, split: str) -> np.ndarray:
        x = self.val_x if split == "val" else self.test_x
        with single_thread(self.device):
            return predict_proba(head, FeatureBatches(x, torch.zeros(len(x), 1), 4096), self.device)

    def val_scores(self, config: TrainConfig, cutoff: float | None = None) -> dict[str, float]:
        head, _ = self.train(config, desc=f"head {config.optimizer} lr={config.lr:g} {config.loss} seed {config.seed}")
        return scores_at_cutoff(self.val_y, self.predict(head, "val"), config.cutoff if cutoff is None else cutoff)

    def setting_predictions(self, settings: dict[str, TrainConfig], seeds: Sequence[int], *,
                            cutoffs: dict[str, float] | None = None, tuned: bool = False) -> dict[str, np.ndarray]:
        """Setting -> (n_seeds, n_val, 18) 0/1 validation predictions of its heads (trained or reused), labelled at
        the config's cut-off, at cutoffs[setting], or (tuned=True) at a cut-off cross-fitted over the validation
        rows (helpers.core.metrics.crossfit_cutoff_predictions): what the paired bootstrap compares."""
        out = {}
        for name, config in settings.items():
            per_seed = []
            for seed in seeds:
                head, _ = self.train(replace(config, seed=seed), desc=f"head {name} seed {seed}")
                probs = self.predict(head, "val")
                cutoff = (cutoffs or {}).get(name, config.cutoff)
                per_seed.append(crossfit_cutoff_predictions(self.val_y, probs, seed=seed)[0] if tuned
                                else binarize(probs, cutoff))
            out[name] = np.stack(per_seed)
        return out

    def sweep_differences(self, settings: dict[str, TrainConfig], seeds: Sequence[int], reference: str,
                          baseline_pred: np.ndarray, *, cutoffs: dict[str, float] | None = None, tuned: bool = False,
                          metric: str = "micro_f1", n_boot: int = 1000) -> pd.DataFrame:
        """Each setting (and the trivial baseline, "trivial baseline") against the reference setting: metric
        difference with its paired bootstrap interval over the validation rows (differences_to_reference)."""
        predictions = self.setting_predictions(settings, seeds, cutoffs=cutoffs, tuned=tuned)
        return differences_to_reference(self.val_y, predictions, reference, extra={"trivial baseline": baseline_pred},
                                        metric=metric, n_boot=n_boot)

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
