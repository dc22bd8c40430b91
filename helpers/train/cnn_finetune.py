"""Architecture A from pretrained weights: every weight of a torchvision backbone trained on the images.

Reduced size and rows where the profile says so; early stopping on a slice of the validation rows.
"""
from __future__ import annotations

import time
from dataclasses import asdict
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from helpers.core.atomic_io import write_json
from helpers.core.hashing import stable_hash
from helpers.core.profiles import CnnSettings
from helpers.models.image_models import build_finetuned, configure_device
from helpers.train.cnn_outcome import ModelOutcome
from helpers.train.fit import TrainConfig, fit
from helpers.train.image_features import image_loader, run_on_images

if TYPE_CHECKING:
    from helpers.run import Run


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
