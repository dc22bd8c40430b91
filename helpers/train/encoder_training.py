"""Training a pretrained caption encoder (fine-tuned end to end, or frozen with only its head trained) as a text source.

`train_encoder` takes plain captions, a 0/1 label matrix and a loaded (tokenizer, encoder) pair, so it needs no
notebook code. Fine-tuning goes through the one training loop (helpers.engine.fit.fit: checkpointed, resumable,
reused when unchanged) with AdamW, linear warm-up then linear decay per batch, the encoder at a lower learning
rate than the head (CaptionEncoderModel.param_groups), early stopping on validation micro-F1, and dynamic
padding: captions are tokenized once, grouped into length-sorted buckets like the LSTM's
(helpers.models.lstm.LengthBuckets) and every batch is cut to its own longest caption. The maximum length
comes from the training captions' token counts (`choose_max_length`). The frozen option computes the pooled
embeddings once (no_grad, cached on disk, atomic write) and fits only the head on them through `fit`.

The result holds the validation and test probabilities (a source like the LSTM's), the history, the
training time, captions per second of training and of inference measured on the real loops (report them,
never assert on them), and the parameter count and MB at float32/float16.
"""
from __future__ import annotations

import copy
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from helpers.core.files import read_cached, stable_hash, write_atomic
from helpers.core.labels import N_LABELS
from helpers.engine.device import autocast_dtype
from helpers.engine.fit import FitResult, TrainConfig, checkpoint_path, fit
from helpers.engine.inference import to_device
from helpers.models.lstm import LengthBuckets
from helpers.models.text_encoder import (
    DEFAULT_TEXT_ENCODER,
    CaptionEncoderModel,
    TextEncoderConfig,
    build_caption_encoder,
    hf_config_dict,
    load_encoder,
    predict_captions,
    shown_source,
)
from helpers.models.weights import count_parameters, tensor_bytes

EMBEDDINGS_KIND = "encoder_embeddings"


@dataclass(frozen=True)
class EncoderSettings:
    """Everything that decides one encoder run (the checkpoint and embedding caches are keyed by it).

    lr is the head's learning rate; the encoder trains at lr * encoder_lr_factor (fine-tuning only).
    Frozen runs fit only the head, which is cheap, so they use head_epochs / head_patience instead.
    """

    source: str = DEFAULT_TEXT_ENCODER  # TEXT_ENCODER: a Hugging Face id or a local folder
    frozen: bool = False
    pooling: str = "mean"
    dropout: float = 0.1
    epochs: int = 3
    patience: int | None = 1
    lr: float = 1e-3
    encoder_lr_factor: float = 0.05  # encoder lr 5e-5 with the default head lr
    weight_decay: float = 0.01
    warmup: float = 0.1  # fraction of all steps spent warming up (schedule "linear")
    batch_size: int = 32
    max_length_quantile: float = 0.99  # max_length = this quantile of the training captions' token counts...
    max_length_cap: int = 128  # ...capped here
    head_epochs: int = 40
    head_patience: int | None = 5
    cutoff: float = 0.5
    inference_batch_size: int = 64
    train_word_embeddings: bool = True  # False: keep the (vocabulary x width) matrix fixed, a cheaper AdamW step


@dataclass
class EncoderResult:
    """One trained encoder source: probabilities on the run's validation/test rows and what it cost."""

    name: str  # "encoder (fine-tuned)" or "encoder (frozen)"
    model: CaptionEncoderModel
    tokenizer: Any
    val_probs: np.ndarray
    test_probs: np.ndarray
    fit: FitResult
    max_length: int
    train_captions_per_s: float  # training captions x epochs run / training time (frozen: the head's epochs only)
    infer_captions_per_s: float  # the whole model on the test rows, through the predictor's predict_captions
    n_parameters: int
    mb_float32: float
    mb_float16: float
    checkpoint: Path

    @property
    def history(self) -> pd.DataFrame:
        return self.fit.history

    @property
    def train_time_s(self) -> float:
        return self.fit.train_time_s

    def summary(self) -> dict[str, Any]:
        """One table row: size, time and speed (the F1 columns come from the caller's metrics)."""
        return {"model": self.name, "parameters": self.n_parameters, "MB float32": round(self.mb_float32, 1),
                "MB float16": round(self.mb_float16, 1), "max length": self.max_length,
                "training s": round(self.train_time_s, 1), "train captions/s": round(self.train_captions_per_s, 1),
                "inference captions/s": round(self.infer_captions_per_s, 1), "best epoch": self.fit.best_epoch}


def token_counts(tokenizer: Any, captions: Sequence[str]) -> np.ndarray:
    """Tokens per caption, special tokens included, without truncation."""
    if not len(captions):
        return np.zeros(0, dtype=np.int64)
    encoded = tokenizer(list(captions), add_special_tokens=True, truncation=False)
    return np.array([len(ids) for ids in encoded["input_ids"]], dtype=np.int64)


def choose_max_length(counts: np.ndarray, quantile: float = 0.99, cap: int = 128, floor: int = 8) -> int:
    """The maximum caption length: the `quantile` of the token counts, rounded up, within [floor, cap]."""
    if len(counts) == 0:
        return floor
    return int(min(cap, max(floor, int(np.ceil(np.quantile(counts, quantile))))))


@dataclass
class TokenizedCaptions:
    """Captions tokenized once: ids padded to the longest one (pad id), and each caption's real length."""

    input_ids: torch.Tensor  # (n, width) int64
    lengths: torch.Tensor  # (n,) int64, >= 1


def tokenize(tokenizer: Any, captions: Sequence[str], max_length: int) -> TokenizedCaptions:
    """Tokenize every caption once (truncated to max_length, special tokens included)."""
    if not len(captions):
        return TokenizedCaptions(torch.zeros((0, 1), dtype=torch.long), torch.zeros(0, dtype=torch.long))
    encoded = tokenizer(list(captions), add_special_tokens=True, truncation=True, max_length=max_length)
    rows = encoded["input_ids"]
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    width = max((len(r) for r in rows), default=1)
    ids = torch.full((len(rows), width), int(pad), dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = torch.tensor(row, dtype=torch.long)
    return TokenizedCaptions(ids, torch.tensor([max(len(r), 1) for r in rows], dtype=torch.long))


class CaptionBatches:
    """Re-iterable (input_ids, attention_mask, Y) batches, each cut to its own longest caption (dynamic padding).

    shuffle=True: the LSTM's length-sorted buckets (LengthBuckets: a fresh permutation from torch's global
    generator every pass, which fit reseeds per epoch). shuffle=False: captions sorted by length for speed;
    `order` gives the original row of each yielded row, so `unsort` puts outputs back in data order.
    """

    def __init__(self, tokens: TokenizedCaptions, Y: np.ndarray | torch.Tensor | None = None, *,
                 batch_size: int, shuffle: bool = False):
        n = len(tokens.lengths)
        target = torch.zeros(n, N_LABELS) if Y is None else torch.as_tensor(np.asarray(Y), dtype=torch.float32)
        self.order = torch.arange(n) if shuffle else torch.argsort(tokens.lengths, stable=True)
        self.buckets = LengthBuckets(tokens.input_ids[self.order], tokens.lengths[self.order], target[self.order],
                                     batch_size=batch_size, shuffle=shuffle)

    def __len__(self) -> int:
        return len(self.buckets)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        for ids, lengths, y in self.buckets:
            mask = (torch.arange(ids.shape[1]).unsqueeze(0) < lengths.unsqueeze(1)).long()
            yield ids, mask, y

    def unsort(self, rows: np.ndarray) -> np.ndarray:
        """Outputs in yielded order -> outputs in the captions' original order."""
        out = np.empty_like(rows)
        out[self.order.numpy()] = rows
        return out


class EmbeddingBatches:
    """Re-iterable (embeddings, Y) batches of cached embeddings (shuffled from torch's global generator)."""

    def __init__(self, embeddings: torch.Tensor, Y: np.ndarray | None, *, batch_size: int, shuffle: bool):
        self.x = embeddings.float()
        self.y = torch.zeros(len(embeddings), N_LABELS) if Y is None else torch.as_tensor(np.asarray(Y)).float()
        self.batch_size, self.shuffle = batch_size, shuffle

    def __len__(self) -> int:
        return -(-len(self.x) // self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        order = torch.randperm(len(self.x)) if self.shuffle else torch.arange(len(self.x))
        for index in order.split(self.batch_size):
            yield self.x[index], self.y[index]


@torch.inference_mode()
def embed_captions(model: CaptionEncoderModel, batches: CaptionBatches, device: torch.device | str) -> torch.Tensor:
    """Pooled embeddings of every caption, in the captions' original order (the device's autocast policy)."""
    device = torch.device(device)
    model.to(device).eval()
    dtype = autocast_dtype(device)
    parts = []
    for batch in batches:
        ids, mask, _ = to_device(tuple(batch), device)
        with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
            parts.append(model.embed(ids, mask).float().cpu())
    width = int(model.encoder.config.hidden_size)
    rows = torch.cat(parts).numpy() if parts else np.zeros((0, width), dtype=np.float32)
    return torch.from_numpy(batches.unsort(rows))


def cached_embeddings(model: CaptionEncoderModel, tokens: TokenizedCaptions, key: dict[str, Any],
                      cache_dir: str | Path, device: torch.device | str, batch_size: int,
                      fresh: bool = False) -> torch.Tensor:
    """The pooled embeddings of these captions, read from the cache when it has them (computed once, atomic write)."""
    path = Path(cache_dir) / f"{EMBEDDINGS_KIND}_{stable_hash(key)}.pt"
    saved = None if fresh else read_cached(path, lambda p: torch.load(p, weights_only=True), "encoder embeddings")
    if saved is not None and saved.get("kind") == EMBEDDINGS_KIND and saved.get("key") == stable_hash(key):
        return saved["embeddings"]
    embeddings = embed_captions(model, CaptionBatches(tokens, batch_size=batch_size), device)
    record = {"kind": EMBEDDINGS_KIND, "key": stable_hash(key), "embeddings": embeddings}
    write_atomic(path, lambda tmp: torch.save(record, tmp))
    return embeddings


def _captions_hash(*parts: Sequence[str]) -> str:
    return stable_hash([list(map(str, part)) for part in parts])


def train_encoder(captions_train: Sequence[str], Y_train: np.ndarray, captions_val: Sequence[str], Y_val: np.ndarray,
                  captions_test: Sequence[str], settings: EncoderSettings = EncoderSettings(), *,
                  cache_dir: str | Path, checkpoint_dir: str | Path, device: torch.device | str = "cpu",
                  seed: int = 0, fresh: bool = False, loaded: tuple[Any, nn.Module] | None = None,
                  desc: str | None = None, head_init: dict[str, torch.Tensor] | None = None) -> EncoderResult:
    """Fine-tune (or, frozen, fit the head of) a caption encoder; probabilities on the validation and test rows.

    loaded: an already loaded (tokenizer, encoder) pair; None loads settings.source with load_encoder
    (which raises EncoderUnavailable when it cannot). Fine-tuning trains a copy: the caller's encoder keeps its
    pretrained weights, so one loaded pair serves the frozen and the fine-tuned run.
    head_init: the head's starting weights (a frozen run's trained head: "linear probing, then fine-tuning", which
    keeps a random head's large early gradients from distorting the pretrained features; Kumar et al., ICLR 2022).
    """
    tokenizer, encoder = loaded if loaded is not None else load_encoder(settings.source)
    if not settings.frozen:
        encoder = copy.deepcopy(encoder)
    max_length = choose_max_length(token_counts(tokenizer, captions_train), settings.max_length_quantile,
                                   settings.max_length_cap)
    config = TextEncoderConfig(source=settings.source, hf_config=hf_config_dict(encoder), pooling=settings.pooling,
                               dropout=settings.dropout, max_length=max_length, frozen=settings.frozen,
                               encoder_lr_factor=settings.encoder_lr_factor)
    model = build_caption_encoder(encoder, config, seed)
    if head_init is not None:
        model.head.load_state_dict(head_init)
    if not settings.frozen and not settings.train_word_embeddings:
        model.encoder.get_input_embeddings().requires_grad_(False)
    data_key = {"captions": _captions_hash(captions_train, captions_val, captions_test),
                "labels": stable_hash([np.asarray(Y).astype(int).tolist() for Y in (Y_train, Y_val)]),
                "weights": _weights_fingerprint(encoder),
                "head_init": None if head_init is None else _tensors_fingerprint(head_init.values())}
    tokens = [tokenize(tokenizer, c, max_length) for c in (captions_train, captions_val, captions_test)]
    name = "encoder (frozen)" if settings.frozen else "encoder (fine-tuned)"
    run = _fit_frozen if settings.frozen else _fit_end_to_end
    result, path = run(model, tokens, Y_train, Y_val, settings, config, data_key, cache_dir, checkpoint_dir,
                       torch.device(device), seed, fresh, desc or name)
    # The hand-off's probabilities come from the predictor's own function (float32, its batching), so that the
    # predictor file reproduces the submission label for label; during training the engine's loop validates.
    val_probs = predict_captions(model, tokenizer, captions_val, device=device)
    start = time.perf_counter()
    test_probs = predict_captions(model, tokenizer, captions_test, device=device)
    infer_rate = len(test_probs) / max(time.perf_counter() - start, 1e-9)
    epochs_run = len(result.history)
    train_rate = len(captions_train) * epochs_run / max(result.train_time_s, 1e-9) if epochs_run else 0.0
    state = model.state_dict()
    return EncoderResult(name=name, model=model.cpu().eval(), tokenizer=tokenizer, val_probs=val_probs,
                         test_probs=test_probs, fit=result, max_length=max_length, train_captions_per_s=train_rate,
                         infer_captions_per_s=infer_rate, n_parameters=count_parameters(model),
                         mb_float32=tensor_bytes(state) / 1e6, mb_float16=tensor_bytes(state, half=True) / 1e6,
                         checkpoint=path)


def _tensors_fingerprint(tensors: Iterable[Any]) -> str:
    """A cheap fingerprint of floating-point tensors (sum and sum of squares of each)."""
    with torch.no_grad():
        stats = [[round(float(p.double().sum()), 6), round(float(p.double().pow(2).sum()), 6)]
                 for p in tensors if torch.is_tensor(p) and p.is_floating_point()]
    return stable_hash(stats)


def _weights_fingerprint(encoder: nn.Module) -> str:
    """A cheap fingerprint of the pretrained weights."""
    return _tensors_fingerprint(encoder.state_dict().values())


def _fit_end_to_end(model: CaptionEncoderModel, tokens: list[TokenizedCaptions], Y_train: np.ndarray,
                    Y_val: np.ndarray, settings: EncoderSettings, config: TextEncoderConfig, data_key: dict,
                    cache_dir: str | Path, checkpoint_dir: str | Path, device: torch.device, seed: int, fresh: bool,
                    desc: str) -> tuple[FitResult, Path]:
    train_config = TrainConfig(epochs=settings.epochs, lr=settings.lr, optimizer="adamw",
                               weight_decay=settings.weight_decay, cutoff=settings.cutoff, patience=settings.patience,
                               seed=seed, schedule="linear", warmup=settings.warmup)
    model_key = {**config.key(), **data_key, "batch_size": settings.batch_size,
                 "train_word_embeddings": settings.train_word_embeddings}
    path = checkpoint_path(checkpoint_dir, "encoder", model_key, train_config)
    train = CaptionBatches(tokens[0], Y_train, batch_size=settings.batch_size, shuffle=True)
    val = CaptionBatches(tokens[1], Y_val, batch_size=settings.inference_batch_size)
    result = fit(model, train, val, train_config, device=device, checkpoint=path, key=stable_hash(model_key),
                 fresh=fresh, desc=desc)
    return result, path


def _fit_frozen(model: CaptionEncoderModel, tokens: list[TokenizedCaptions], Y_train: np.ndarray, Y_val: np.ndarray,
                settings: EncoderSettings, config: TextEncoderConfig, data_key: dict, cache_dir: str | Path,
                checkpoint_dir: str | Path, device: torch.device, seed: int, fresh: bool,
                desc: str) -> tuple[FitResult, Path]:
    embed_key = {"source": config.source, "hf_config": stable_hash(config.hf_config), "pooling": config.pooling,
                 "max_length": config.max_length, **data_key}
    embedded = [cached_embeddings(model, part, {**embed_key, "split": split}, cache_dir, device,
                                  settings.inference_batch_size, fresh=fresh)
                for split, part in zip(("train", "val"), tokens)]
    train_config = TrainConfig(epochs=settings.head_epochs, lr=settings.lr, optimizer="adamw",
                               weight_decay=settings.weight_decay, cutoff=settings.cutoff,
                               patience=settings.head_patience, seed=seed, schedule="linear", warmup=settings.warmup)
    model_key = {**config.key(), **data_key, "batch_size": settings.batch_size, "head_only": True}
    path = checkpoint_path(checkpoint_dir, "encoder", model_key, train_config)
    head = model.head
    result = fit(head, EmbeddingBatches(embedded[0], Y_train, batch_size=settings.batch_size, shuffle=True),
                 EmbeddingBatches(embedded[1], Y_val, batch_size=settings.inference_batch_size, shuffle=False),
                 train_config, device=device, checkpoint=path, key=stable_hash(model_key), fresh=fresh, desc=desc)
    return result, path


def frozen_settings(settings: EncoderSettings = EncoderSettings()) -> EncoderSettings:
    """The same settings with the encoder frozen (embeddings cached, head only)."""
    return replace(settings, frozen=True)


HANDOFF_NAME = "encoder"  # notebook 04's hand-off of the better encoder run (a source like the LSTM's "text")
HISTORY_NAMES = {True: "encoder_frozen", False: "encoder_fine_tuned"}


def profile_encoder_settings(source: str, profile_settings: Any) -> EncoderSettings:
    """EncoderSettings for TEXT_ENCODER from a profile's TextEncoderSettings (helpers.core.profiles)."""
    return EncoderSettings(source=str(source), epochs=profile_settings.epochs, patience=profile_settings.patience,
                           head_epochs=profile_settings.head_epochs, head_patience=profile_settings.head_patience,
                           batch_size=profile_settings.batch_size, lr=profile_settings.lr,
                           encoder_lr_factor=profile_settings.encoder_lr_factor,
                           max_length_cap=profile_settings.max_length_cap)


@dataclass
class EncoderRuns:
    """Notebook 04's encoder runs on this run's rows: frozen and fine-tuned, and which one was handed over."""

    runs: dict[str, EncoderResult]  # "encoder (frozen)", "encoder (fine-tuned)"
    chosen: str  # the better one on the validation rows (samples-F1 at its cut-off), handed over as "encoder"
    val_ids: np.ndarray
    Y_val: np.ndarray
    summary: dict[str, Any]


def clear_encoder_handoff(paths: Any) -> list[Path]:
    """Remove an earlier run's encoder hand-off, so that notebook 05 never fuses a stale encoder; the removed files."""
    candidates = [paths.probabilities / f"{HANDOFF_NAME}_{split}.npz" for split in ("val", "test")]
    candidates.append(paths.results / f"{HANDOFF_NAME}_summary.json")
    removed = [p for p in candidates if p.is_file()]
    for path in removed:
        path.unlink()
    return removed


def run_text_encoders(run: Any, text_encoder: str, *, say: Any = print) -> EncoderRuns | None:
    """Train the caption encoder TEXT_ENCODER frozen and fine-tuned on this run's rows; hand over the better one.

    None (after one line through `say`, and nothing written) when the encoder cannot be loaded and the profile is
    not "full"; the full profile stops with EncoderUnavailable naming what to download. The chosen run (higher
    validation samples-F1) is saved as the hand-off source "encoder": its probabilities, its summary and history,
    and its predictor state (encoder_to_state, tokenizer included) in a file the summary lists under "weights".
    """
    from helpers.core.handoff import save_history, save_probabilities, save_summary
    from helpers.core.metrics import scores_at_cutoff
    from helpers.models.text_encoder import encoder_to_state, load_encoder_or_skip

    loaded = load_encoder_or_skip(text_encoder, required=run.profile.name == "full", say=say,
                                  local_files_only=True if run.profile.offline else None)
    if loaded is None:
        clear_encoder_handoff(run.paths)
        return None
    data, (train_rows, val_rows) = run.dataset, run.split
    profile_settings = run.profile.text_encoder
    if profile_settings.max_rows is not None:
        train_rows = train_rows[: profile_settings.max_rows]
    captions = data.train["Caption"].astype(str).to_numpy()
    settings = profile_encoder_settings(text_encoder, profile_settings)
    runs: dict[str, EncoderResult] = {}
    head_init = None
    for chosen_settings in (frozen_settings(settings), settings):  # the frozen run's head starts the fine-tuning
        result = train_encoder(list(captions[train_rows]), data.Y[train_rows], list(captions[val_rows]),
                               data.Y[val_rows], data.test["Caption"].astype(str).tolist(), chosen_settings,
                               cache_dir=run.paths.artifacts / "encoder_cache", checkpoint_dir=run.paths.checkpoints,
                               device=run.device, seed=run.seed, fresh=run.fresh, loaded=loaded, head_init=head_init)
        head_init = {k: v.detach().clone() for k, v in result.model.head.state_dict().items()}
        runs[result.name] = result
        save_history(run.paths, HISTORY_NAMES[chosen_settings.frozen], result.history, result.fit.best_epoch)
    Y_val = data.Y[val_rows]
    scores = {name: scores_at_cutoff(Y_val, r.val_probs, settings.cutoff) for name, r in runs.items()}
    chosen = max(runs, key=lambda name: (scores[name]["samples_f1"], name))
    best = runs[chosen]
    val_ids, test_ids = data.train["ImageID"].to_numpy()[val_rows], data.test["ImageID"].to_numpy()
    state_path = run.paths.checkpoints / f"{HANDOFF_NAME}_predictor_state.pt"
    write_atomic(state_path, lambda tmp: torch.save(encoder_to_state(best.model, best.tokenizer), tmp))
    save_probabilities(run.paths, HANDOFF_NAME, "val", val_ids, best.val_probs)
    save_probabilities(run.paths, HANDOFF_NAME, "test", test_ids, best.test_probs)
    summary = {
        "model": HANDOFF_NAME, "description": f"{chosen} {shown_source(text_encoder)}", "source": str(text_encoder),
        "frozen": best.model.config.frozen, "train_time_s": best.train_time_s,
        "test_time_s": len(test_ids) / max(best.infer_captions_per_s, 1e-9), "size_bytes": int(best.mb_float32 * 1e6),
        "n_parameters": best.n_parameters, "max_length": best.max_length, "cutoff": settings.cutoff,
        "train_rows": len(train_rows), "val_metrics": scores[chosen], "best_epoch": best.fit.best_epoch,
        "epochs_run": len(best.history), "epoch_cap": settings.head_epochs if best.model.config.frozen
        else settings.epochs, "histories": [HISTORY_NAMES[best.model.config.frozen]],
        "weights": [str(state_path.relative_to(run.paths.out_dir))],
        "runs": {name: {**r.summary(), "val_metrics": scores[name],
                        "epoch cap": settings.head_epochs if r.model.config.frozen else settings.epochs}
                 for name, r in runs.items()},
    }
    save_summary(run.paths, HANDOFF_NAME, summary)
    return EncoderRuns(runs, chosen, val_ids, Y_val, summary)
