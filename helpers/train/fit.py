"""One training loop for every model: the CNN head, the fine-tuned CNN and the caption LSTM.

`fit` trains with binary cross-entropy on logits, evaluates validation micro-F1 after each
epoch, keeps the best weights, can stop early, and writes an atomic checkpoint at the end of
each epoch. Re-running with the same checkpoint path and key resumes an interrupted run from
its last finished epoch, or reuses a finished one without training again. Every epoch reseeds
torch from (seed, epoch), so an interrupted-and-resumed run gives the same numbers as an
uninterrupted one on CPU.

A batch is a tuple whose last element is the 0/1 target matrix; the other elements are
passed to the model: logits = model(*batch[:-1]).
"""
from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm.auto import tqdm

from helpers.core.atomic_io import atomic_path
from helpers.core.console import headless as is_headless
from helpers.core.device import seed_everything
from helpers.core.hashing import stable_hash
from helpers.core.metrics import binarize, micro_f1


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings of one training run (stored in its checkpoint)."""

    epochs: int
    lr: float = 1e-3
    optimizer: str = "adam"  # "adam" or "sgd" (momentum 0.9)
    weight_decay: float = 0.0
    cutoff: float = 0.5  # probability cut-off for the validation micro-F1
    patience: int | None = None  # early stopping after this many epochs without improvement; None: all epochs
    seed: int = 0


@dataclass
class FitResult:
    history: pd.DataFrame  # one row per epoch: epoch, train_loss, val_loss, val_micro_f1, train_s, eval_s
    best_epoch: int  # 1-based epoch whose weights the model now holds
    best_val_micro_f1: float
    train_time_s: float  # optimisation time summed over epochs (validation excluded), resumed parts included
    resumed_from_epoch: int = 0  # 0: started fresh
    reused: bool = False  # True: a finished run was loaded from its checkpoint, nothing trained
    extra: dict[str, Any] = field(default_factory=dict)








def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=config.lr, momentum=0.9, weight_decay=config.weight_decay)
    raise ValueError(f"unknown optimizer {config.optimizer!r}; use 'adam' or 'sgd'")


def _to_device(batch: tuple, device: torch.device) -> tuple:
    return tuple(t.to(device, non_blocking=True) if torch.is_tensor(t) else t for t in batch)


@torch.inference_mode()
def predict_proba(
    model: nn.Module, batches: Iterable[tuple], device: torch.device | str = "cpu", with_targets: bool = False
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Sigmoid outputs for every batch, concatenated; optionally the targets too."""
    device = torch.device(device)
    model.eval()
    probs, targets = [], []
    for batch in batches:
        batch = _to_device(tuple(batch), device)
        probs.append(torch.sigmoid(model(*batch[:-1]).float()).cpu())
        targets.append(batch[-1].cpu())
    p = torch.cat(probs).numpy() if probs else np.zeros((0, 0), dtype=np.float32)
    if with_targets:
        return p, (torch.cat(targets).numpy() if targets else np.zeros_like(p))
    return p




def _save_checkpoint(path: Path, state: dict) -> None:
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_checkpoint(path: str | Path) -> dict:
    """Load a checkpoint safely (tensors and plain Python values only; nothing is unpickled)."""
    return torch.load(path, map_location="cpu", weights_only=True)


def fit(
    model: nn.Module,
    train_batches: Iterable[tuple],
    val_batches: Iterable[tuple] | None,
    config: TrainConfig,
    *,
    device: torch.device | str = "cpu",
    checkpoint: str | Path | None = None,
    key: str = "",
    fresh: bool = False,
    desc: str = "training",
) -> FitResult:
    """Train `model` in place and leave it holding its best weights (by validation micro-F1).

    train_batches is iterated once per epoch (a DataLoader or any re-iterable).
    checkpoint/key: where to save after each epoch and what must match to resume or reuse;
    fresh=True ignores an existing checkpoint.
    """
    device = torch.device(device)
    model.to(device)
    optimizer = make_optimizer(model, config)
    loss_fn = nn.BCEWithLogitsLoss()
    checkpoint = Path(checkpoint) if checkpoint else None
    full_key = f"{key}|{stable_hash(config)}"

    history: list[dict] = []
    best_state: dict | None = None
    best_score, best_epoch, start_epoch, train_time = -1.0, 0, 0, 0.0
    if checkpoint and checkpoint.exists() and not fresh:
        saved = load_checkpoint(checkpoint)
        if saved.get("key") == full_key:
            model.load_state_dict(saved["model"])
            history = saved["history"]
            best_state, best_score, best_epoch = saved["best_model"], saved["best_score"], saved["best_epoch"]
            train_time, start_epoch = saved["train_time_s"], saved["epoch"]
            if saved["complete"]:
                model.load_state_dict(best_state)
                return FitResult(pd.DataFrame(history), best_epoch, best_score, train_time,
                                 resumed_from_epoch=start_epoch, reused=True)
            optimizer.load_state_dict(saved["optimizer"])

    headless = is_headless()
    bar = tqdm(range(start_epoch, config.epochs), desc=desc, disable=headless, leave=True,
               initial=start_epoch, total=config.epochs)
    stopped_early = False
    for epoch in bar:
        seed_everything(config.seed * 100_003 + epoch)
        model.train()
        t0 = time.perf_counter()
        total_loss, total_rows = 0.0, 0
        for batch in train_batches:
            batch = _to_device(tuple(batch), device)
            logits = model(*batch[:-1])
            loss = loss_fn(logits.float(), batch[-1].float())
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total_loss += float(loss.detach()) * len(batch[-1])
            total_rows += len(batch[-1])
        train_s = time.perf_counter() - t0
        train_time += train_s

        row = {"epoch": epoch + 1, "train_loss": total_loss / max(total_rows, 1), "train_s": train_s}
        if val_batches is not None:
            t1 = time.perf_counter()
            probs, targets = predict_proba(model, val_batches, device, with_targets=True)
            row["val_loss"] = float(nn.functional.binary_cross_entropy(
                torch.from_numpy(probs).clamp(1e-7, 1 - 1e-7), torch.from_numpy(targets).float()))
            row["val_micro_f1"] = micro_f1(targets, binarize(probs, config.cutoff))
            row["eval_s"] = time.perf_counter() - t1
        history.append(row)

        score = row.get("val_micro_f1", -row["train_loss"])
        if score > best_score:
            best_score, best_epoch = score, epoch + 1
            best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        if config.patience is not None and epoch + 1 - best_epoch >= config.patience:
            stopped_early = True
        complete = stopped_early or epoch + 1 == config.epochs

        message = f"{desc} epoch {epoch + 1}/{config.epochs}: loss {row['train_loss']:.4f}"
        if "val_micro_f1" in row:
            message += f", val micro-F1 {row['val_micro_f1']:.4f}"
        if headless:
            print(message + f" ({train_s:.1f}s)", flush=True)
        else:
            bar.set_postfix_str(message.split(": ", 1)[1])

        if checkpoint:
            _save_checkpoint(checkpoint, {
                "key": full_key, "config": asdict(config), "epoch": epoch + 1, "complete": complete,
                "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "best_model": best_state, "best_score": best_score, "best_epoch": best_epoch,
                "history": history, "train_time_s": train_time,
            })
        if stopped_early:
            break
    bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    return FitResult(pd.DataFrame(history), best_epoch, best_score, train_time, resumed_from_epoch=start_epoch)
