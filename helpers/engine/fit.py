"""The one training loop for every model (`fit`): CNN head, fine-tuned and from-scratch CNNs, LSTM, joint model.

`fit` trains with a multi-label loss on logits (binary cross-entropy by default, see losses.py),
evaluates validation micro-F1 after each epoch, keeps the best weights, can stop early, and writes
an atomic checkpoint (a weights file) at the end of each epoch. Re-running with the same checkpoint
path and key resumes an interrupted run from its last finished epoch, or reuses a finished one
without training again. Every epoch reseeds the global generators from (seed, epoch) inside a forked
random state (helpers.core.seeding.seeded), so an interrupted-and-resumed run gives the same numbers as an
uninterrupted one on CPU, and the caller's random state is the same after `fit` as before it. On CUDA it
trains under autocast (bfloat16, or float16 with a GradScaler); on the CPU it runs in float32, unchanged.

A batch is a tuple whose last element is the 0/1 target matrix; the other elements are
passed to the model: logits = model(*batch[:-1]). A model with a method `param_groups(lr) -> list[dict]`
chooses its own optimiser parameter groups (e.g. a pretrained encoder at a lower learning rate than its head).
`checkpoint_path` is the one checkpoint-naming rule (hash-named .pt plus a sidecar .json).
"""
from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from torch import nn
from tqdm.auto import tqdm

from helpers.core.console import headless as is_headless
from helpers.core.files import read_cached, stable_hash, write_json
from helpers.core.metrics import binarize, micro_f1
from helpers.core.seeding import seed_all, seeded
from helpers.engine.device import autocast_dtype
from helpers.engine.inference import predict_proba, to_device
from helpers.engine.losses import make_loss
from helpers.models.weights import load_weights, save_weights

CHECKPOINT_KIND = "fit_checkpoint"  # a weights file whose state_dict is the best epoch's model


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings of one training run (stored in its checkpoint).

    Early stopping: an epoch improves when its score (validation micro-F1, or minus the training loss without
    validation data) is strictly greater than the best so far; a tie is not an improvement, so the earliest of
    equal epochs is kept. With patience=P the run stops at the end of the P-th epoch in a row without
    improvement: after best_epoch + P epochs (FitResult.stopped_early is True then, even when that is the last
    epoch), but never before epoch min_epochs (a slow start is not a plateau). patience=None trains every epoch.
    """

    epochs: int
    lr: float = 1e-3
    optimizer: str = "adam"  # "adam", "adamw" or "sgd" (momentum 0.9)
    weight_decay: float = 0.0
    cutoff: float = 0.5  # probability cut-off for the validation micro-F1
    patience: int | None = None  # stop after this many epochs in a row without improvement; None: all epochs
    min_epochs: int = 0  # patience can stop the run only from this epoch on
    seed: int = 0
    schedule: str = "constant"  # see SCHEDULES
    loss: str = "bce"  # see helpers.engine.losses.LOSS_NAMES
    warmup: float = 0.0  # schedule "linear": fraction of all steps spent warming up, in [0, 1)

    def __post_init__(self) -> None:
        if not 0.0 <= self.warmup < 1.0:
            raise ValueError(f"TrainConfig.warmup must be a fraction of the steps in [0, 1), not {self.warmup}")
        if self.warmup and self.schedule != "linear":
            raise ValueError(f"TrainConfig.warmup applies to schedule 'linear' only, not {self.schedule!r}")


@dataclass
class FitResult:
    history: pd.DataFrame  # one row per epoch: epoch, train_loss, val_loss, val_micro_f1, train_s, eval_s
    best_epoch: int  # 1-based epoch whose weights the model now holds
    best_val_micro_f1: float
    train_time_s: float  # optimisation time summed over epochs (validation excluded), resumed parts included
    resumed_from_epoch: int = 0  # 0: started fresh
    reused: bool = False  # True: a finished run was loaded from its checkpoint, nothing trained
    stopped_early: bool = False  # True: patience ran out before the epoch cap
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> str:
        """How this run came about: reused, resumed from epoch N, or trained afresh."""
        if self.reused:
            return "reused (finished run loaded from its checkpoint)"
        if self.resumed_from_epoch:
            return f"resumed from epoch {self.resumed_from_epoch}"
        return "trained afresh"


def checkpoint_path(directory: str | Path, prefix: str, model_config: Mapping[str, Any], config: TrainConfig) -> Path:
    """Where a training run's checkpoint lives: `<prefix>_<hash of model and training config>.pt`, with a sidecar
    `.json` naming both, so a teammate can tell the files apart. The one naming rule for every model's runs."""
    path = Path(directory) / f"{prefix}_{stable_hash([dict(model_config), config])}.pt"
    write_json(path.with_suffix(".json"), {**dict(model_config), "train_config": asdict(config)})
    return path


SCHEDULES = ("constant", "onecycle", "linear")


def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """The optimiser over the trainable parameters; a model's own `param_groups(lr)` when it has that method.

    Each group is a dict with "params" (and any per-group setting such as "lr"); parameters that do not
    require grad are dropped from it, and a group left without parameters is dropped.
    """
    if callable(getattr(model, "param_groups", None)):
        groups = [{**group, "params": [p for p in group["params"] if p.requires_grad]}
                  for group in model.param_groups(config.lr)]
        params: Any = [group for group in groups if group["params"]]
    else:
        params = [p for p in model.parameters() if p.requires_grad]
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    if config.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=config.lr, momentum=0.9, weight_decay=config.weight_decay)
    raise ValueError(f"unknown optimizer {config.optimizer!r}; use 'adam', 'adamw' or 'sgd'")


def linear_warmup_factor(step: int, total_steps: int, warmup_steps: int) -> float:
    """Learning-rate multiplier of the "linear" schedule before optimiser step `step` (0-based).

    Warm-up: step / warmup_steps for step < warmup_steps (0 at the first step, so with warm-up the first batch
    only computes the loss); then a linear decay from 1 at step warmup_steps to 0 at step total_steps (the last
    step, total_steps - 1, runs at 1 / (total_steps - warmup_steps)). Never negative.
    """
    if step < warmup_steps:
        return step / warmup_steps
    return max(0.0, (total_steps - step) / max(total_steps - warmup_steps, 1))


def make_scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig, steps_per_epoch: int):
    """The per-batch learning-rate schedule: None for "constant"; OneCycleLR peaking at each group's lr for
    "onecycle"; LambdaLR over linear_warmup_factor for "linear" (warm-up over config.warmup of all steps)."""
    if config.schedule == "constant":
        return None
    steps_per_epoch = max(steps_per_epoch, 1)
    if config.schedule == "onecycle":
        max_lr: Any = config.lr if len(optimizer.param_groups) == 1 else [g["lr"] for g in optimizer.param_groups]
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=max_lr, epochs=config.epochs,
                                                   steps_per_epoch=steps_per_epoch)
    if config.schedule == "linear":
        total = config.epochs * steps_per_epoch
        warm = round(config.warmup * total)
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: linear_warmup_factor(step, total, warm))
    raise ValueError(f"unknown schedule {config.schedule!r}; use one of {', '.join(map(repr, SCHEDULES))}")


def load_checkpoint(path: str | Path) -> dict:
    """A fit checkpoint as a dict: key, config, epoch, complete, best_model (the state_dict) and resume state."""
    saved = load_weights(path, kind=CHECKPOINT_KIND)
    return {**saved.extra, "config": saved.config, "best_model": saved.state_dict}


def _read_checkpoint(path: Path) -> dict | None:
    """The checkpoint, or None (with a warning, the file set aside) when it cannot be read."""
    return read_cached(path, load_checkpoint, "training checkpoint")


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
    log_every: int | None = None,
) -> FitResult:
    """Train `model` in place and leave it holding its best weights (by validation micro-F1).

    train_batches is iterated once per epoch (a DataLoader or any re-iterable).
    checkpoint/key: where to save after each epoch and what must match to resume or reuse;
    fresh=True ignores an existing checkpoint. One line per run says whether it was reused, resumed
    or trained afresh and which epoch was kept; log_every=N adds a line every N epochs.
    Runs in a forked random state: the caller's torch, NumPy and Python generators are unchanged afterwards.
    """
    with seeded():
        return _fit(model, train_batches, val_batches, config, device=torch.device(device),
                    checkpoint=Path(checkpoint) if checkpoint else None, key=key, fresh=fresh, desc=desc,
                    log_every=log_every)


def _fit(model: nn.Module, train_batches: Iterable[tuple], val_batches: Iterable[tuple] | None,
         config: TrainConfig, *, device: torch.device, checkpoint: Path | None, key: str, fresh: bool, desc: str,
         log_every: int | None) -> FitResult:
    """fit's body, run inside `seeded()`."""
    model.to(device)
    optimizer = make_optimizer(model, config)
    scheduler = make_scheduler(optimizer, config, _length(train_batches)) if config.schedule != "constant" else None
    loss_fn = make_loss(config.loss)
    amp_dtype = autocast_dtype(device)
    scaler = torch.amp.GradScaler("cuda", enabled=amp_dtype == torch.float16)
    full_key = f"{key}|{stable_hash(config)}"

    history: list[dict] = []
    best_state: dict | None = None
    best_score, best_epoch, start_epoch, train_time = float("-inf"), 0, 0, 0.0
    saved = _read_checkpoint(checkpoint) if checkpoint and not fresh else None
    if saved is not None and saved.get("key") == full_key:
        history = saved["history"]
        best_state, best_score, best_epoch = saved["best_model"], saved["best_score"], saved["best_epoch"]
        train_time, start_epoch = saved["train_time_s"], saved["epoch"]
        if saved["complete"]:
            model.load_state_dict(best_state)
            result = FitResult(pd.DataFrame(history), best_epoch, best_score, train_time,
                               resumed_from_epoch=start_epoch, reused=True,
                               stopped_early=saved.get("stopped_early", False))
            _report(desc, result, config)
            return result
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        if scheduler is not None and saved.get("scheduler"):
            scheduler.load_state_dict(saved["scheduler"])

    headless = is_headless()
    bar = tqdm(range(start_epoch, config.epochs), desc=desc, disable=headless, leave=False,
               initial=start_epoch, total=config.epochs)
    stopped_early = False
    for epoch in bar:
        seed_all(config.seed * 100_003 + epoch)
        model.train()
        t0 = time.perf_counter()
        total_loss, total_rows = 0.0, 0
        for batch in train_batches:
            batch = to_device(tuple(batch), device)
            with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
                logits = model(*batch[:-1])
            loss = loss_fn(logits.float(), batch[-1].float())
            extra = model.auxiliary_loss(loss_fn, batch[-1].float()) if hasattr(model, "auxiliary_loss") else None
            if extra is not None:  # a model's own extra terms (the gated joint model's branch losses)
                loss = loss + extra
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            if scheduler is not None:
                scheduler.step()
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
        if config.patience is not None and epoch + 1 >= config.min_epochs and epoch + 1 - best_epoch >= config.patience:
            stopped_early = True
        complete = stopped_early or epoch + 1 == config.epochs

        message = f"epoch {epoch + 1}/{config.epochs}: loss {row['train_loss']:.4f}"
        if "val_micro_f1" in row:
            message += f", val micro-F1 {row['val_micro_f1']:.4f}"
        bar.set_postfix_str(message)
        if log_every and (epoch + 1) % log_every == 0 and not complete:
            print(f"{desc} {message} ({train_s:.1f} s)", flush=True)

        if checkpoint:
            resume = {"key": full_key, "epoch": epoch + 1, "complete": complete, "stopped_early": stopped_early,
                      "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                      "scheduler": scheduler.state_dict() if scheduler is not None else {},
                      "best_score": best_score, "best_epoch": best_epoch, "history": history,
                      "train_time_s": train_time}
            save_weights(checkpoint, kind=CHECKPOINT_KIND, config=asdict(config), state_dict=best_state or {},
                         extra=resume)
        if stopped_early:
            break
    bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    result = FitResult(pd.DataFrame(history), best_epoch, best_score, train_time, resumed_from_epoch=start_epoch,
                       stopped_early=stopped_early)
    _report(desc, result, config)
    return result


def _length(batches: Iterable) -> int:
    """Batches per epoch (a schedule needs it): len() of a DataLoader or sequence, else one counting pass."""
    try:
        return len(batches)  # type: ignore[arg-type]
    except TypeError:
        return sum(1 for _ in batches)  # a re-iterable object such as a batch factory


def _report(desc: str, result: FitResult, config: TrainConfig) -> None:
    """The one line per training run: how it came about, where it ended and which epoch it kept."""
    epochs = len(result.history)
    ending = (f"stopped early after {epochs} of {config.epochs} epochs" if result.stopped_early
              else f"{epochs} epochs")
    validated = "val_micro_f1" in result.history
    kept = (f"val micro-F1 {result.best_val_micro_f1:.4f}" if validated  # without validation rows the score is
            else f"training loss {-result.best_val_micro_f1:.4f}")     # minus the training loss
    print(f"{desc}: {result.status}; {ending}, kept epoch {result.best_epoch} ({kept}), "
          f"{result.train_time_s:.1f} s of training", flush=True)
