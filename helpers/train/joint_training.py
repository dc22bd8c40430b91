"""Training the joint image-caption model on cached backbone features and encoded captions.

Inputs are what notebooks 02 and 03 already cached: the frozen backbone's features of every
train.csv and test.csv image (files named in notebook 03's summary) and the encoded captions of
the standard text variant; the caption branch starts from notebook 04's first trained LSTM (its weights
file, listed in the text model's summary), so it need not learn language from scratch in a few
epochs. Training rows train, validation rows choose the epoch (helpers.engine.fit.fit:
checkpointed, resumed after an interruption, reused when nothing changed); the model's validation
and test probabilities then enter notebook 05's comparison as one more fusion source. The final
weights are one helpers.models.weights file of kind "joint" (`load_joint` rebuilds the model).
"""
from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from helpers.core.files import read_cached, stable_hash
from helpers.core.handoff import save_history, save_probabilities, save_summary
from helpers.engine.fit import FitResult, TrainConfig, fit
from helpers.engine.inference import predict_proba
from helpers.models.joint import JointModel, build_joint, init_caption_branch, joint_config_for
from helpers.models.weights import WeightsFile, load_weights, model_bytes, save_weights

if TYPE_CHECKING:
    from helpers.run import Run

WEIGHTS_KIND = "joint"


@dataclass
class JointSplit:
    """Aligned inputs of one split: features (n, feature size), tokens (n, L), lengths (n,), targets (n, 18)."""

    ids: np.ndarray
    features: torch.Tensor
    tokens: torch.Tensor
    lengths: torch.Tensor
    Y: torch.Tensor


@dataclass
class JointData:
    train: JointSplit
    val: JointSplit
    test: JointSplit
    vocab_size: int
    key: str  # what the inputs are: feature files + encoded-caption key (part of every checkpoint key)


def _read_features(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with np.load(path, allow_pickle=False) as data:
        return data["image_ids"].astype(str), data["features"].astype(np.float32)


def feature_files(cnn_summary: dict[str, Any], feature_dir: Path) -> tuple[Path, Path]:
    """The train.csv and test.csv feature files notebook 03 lists in its summary."""
    names = cnn_summary.get("feature_cache")
    if not names or len(names) != 2:
        raise FileNotFoundError("the image model's summary (artifacts/results/cnn_summary.json) lists no feature "
                                "files ('feature_cache'); rerun notebook 03_cnn_training (same DATA_DIR / OUT_DIR)")
    return feature_dir / Path(names[0]).name, feature_dir / Path(names[1]).name


def _features_for(path: Path, ids: np.ndarray) -> torch.Tensor:
    cached = read_cached(path, _read_features, "cached image features")
    if cached is None:
        raise FileNotFoundError(f"{path}: image features missing or damaged; rerun notebook 03_cnn_training "
                                "(same DATA_DIR / OUT_DIR), which recomputes them")
    file_ids, features = cached
    position = {image_id: row for row, image_id in enumerate(file_ids)}
    missing = [i for i in ids if i not in position]
    if missing:
        raise ValueError(f"{path}: no features for {len(missing)} ImageID(s), e.g. {missing[:5]}; the features "
                         "belong to other data: rerun notebook 03_cnn_training")
    return torch.from_numpy(features[[position[i] for i in ids]])


def load_joint_data(run: Run, cnn_summary: dict[str, Any], encoded: Any) -> JointData:
    """Features and encoded captions of the same rows, aligned by ImageID (encoded: notebook 02's EncodedText)."""
    train_file, test_file = feature_files(cnn_summary, run.paths.feature_cache)
    splits = {}
    for name, feature_file in (("train", train_file), ("val", train_file), ("test", test_file)):
        ids = np.asarray(getattr(encoded, f"{name}_ids"), dtype=str)
        Y = getattr(encoded, f"{name}_Y", None)
        splits[name] = JointSplit(ids=ids, features=_features_for(feature_file, ids),
                                  tokens=getattr(encoded, f"{name}_tokens").long(),
                                  lengths=getattr(encoded, f"{name}_lengths").long(),
                                  Y=(Y if Y is not None else torch.zeros(len(ids), 18)).float())
    key = stable_hash([run.fingerprint, train_file.name, test_file.name, encoded.config.get("key", ""),
                       encoded.vocab_size])
    return JointData(**splits, vocab_size=encoded.vocab_size, key=key)


class JointBatches:
    """Re-iterable (features, tokens, lengths, targets) batches; each trimmed to its longest caption.

    shuffle=True draws a fresh permutation from torch's global generator every pass (fit reseeds it
    every epoch, so runs are reproducible and resumable).
    """

    def __init__(self, split: JointSplit, batch_size: int, shuffle: bool = False):
        self.split, self.batch_size, self.shuffle = split, batch_size, shuffle

    def __len__(self) -> int:
        return -(-len(self.split.ids) // self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, ...]]:
        n = len(self.split.ids)
        order = torch.randperm(n) if self.shuffle else torch.arange(n)
        for index in order.split(self.batch_size):
            lengths = self.split.lengths[index]
            yield (self.split.features[index], self.split.tokens[index, : int(lengths.max())], lengths,
                   self.split.Y[index])


@dataclass
class JointOutcome:
    """A trained joint model with its validation and test probabilities and what the size budget reads."""

    name: str  # the fusion source name, e.g. "joint concat"
    model: JointModel
    fit: FitResult
    val_probs: np.ndarray
    test_probs: np.ndarray
    test_time_s: float
    weights_path: Path
    summary: dict[str, Any]


def source_name(fusion: str) -> str:
    """The joint model's name as a fusion source and in tables ("joint concat", "joint gated")."""
    return f"joint {fusion}"


def artifact_name(fusion: str) -> str:
    """The name of its hand-off artifacts (probabilities, history, summary): joint_<fusion>."""
    return f"joint_{fusion}"


def caption_encoder(lstm_summary: dict[str, Any], out_dir: Path, vocab_size: int) -> tuple[Path, WeightsFile]:
    """The first float32 LSTM weights file the text model's summary lists, checked against these captions."""
    for listed in lstm_summary.get("weights", []):
        path = Path(listed) if Path(listed).is_absolute() else out_dir / listed
        saved = load_weights(path, kind="lstm")
        if all(v.dtype == torch.float32 for v in saved.state_dict.values() if v.is_floating_point()):
            if int(saved.config.get("vocab_size", -1)) != vocab_size or saved.extra.get("text_variant",
                                                                                      "standard") != "standard":
                raise ValueError(f"{path} was trained on other captions (dictionary {saved.config.get('vocab_size')}"
                                 f" entries, variant {saved.extra.get('text_variant')!r}; these have {vocab_size}, "
                                 "'standard'); rerun notebook 04_lstm_training")
            return path, saved
    raise FileNotFoundError("the text model's summary (artifacts/results/lstm_summary.json) lists no float32 LSTM "
                            "weights file; rerun notebook 04_lstm_training (same DATA_DIR / OUT_DIR)")


def train_joint(run: Run, data: JointData, fusion: str, width: int, encoder: tuple[Path, WeightsFile],
                train_config: TrainConfig, batch_size: int) -> JointOutcome:
    """Train (or resume, or reuse) one joint model; save its weights, probabilities, history and summary."""
    encoder_path, encoder_file = encoder
    config = joint_config_for(encoder_file.config, fusion, width, image_dim=int(data.train.features.shape[1]))
    name = artifact_name(fusion)
    model = build_joint(config, seed=train_config.seed)
    init_caption_branch(model, encoder_file.state_dict)
    encoder_key = stable_hash({k: float(v.float().sum()) for k, v in encoder_file.state_dict.items()})
    result = fit(model, JointBatches(data.train, batch_size, shuffle=True), JointBatches(data.val, 512),
                 train_config, device=run.device, checkpoint=run.paths.checkpoints / f"{name}_checkpoint.pt",
                 key=stable_hash([data.key, config.to_state(), encoder_path.name, encoder_key]), fresh=run.fresh,
                 desc=source_name(fusion))
    val_probs = predict_proba(model, JointBatches(data.val, 512), run.device)
    start = time.perf_counter()
    test_probs = predict_proba(model, JointBatches(data.test, 512), run.device)
    test_s = time.perf_counter() - start
    weights_path = save_weights(run.paths.checkpoints / f"{name}.pt", kind=WEIGHTS_KIND, config=config.to_state(),
                                state_dict=model.state_dict(),
                                extra={"train_config": asdict(train_config), "best_epoch": result.best_epoch,
                                       "caption_branch_from": encoder_path.name})
    save_probabilities(run.paths, name, "val", data.val.ids, val_probs)
    save_probabilities(run.paths, name, "test", data.test.ids, test_probs)
    save_history(run.paths, name, result.history, result.best_epoch)
    try:
        listed = weights_path.relative_to(run.paths.out_dir)  # portable: relative to the output folder
    except ValueError:
        listed = weights_path
    summary = {"model": source_name(fusion), "train_time_s": result.train_time_s, "test_time_s": test_s,
               "size_bytes": model_bytes(model), "weights": [str(listed)], "config": config.to_state(),
               "train_config": asdict(train_config), "best_epoch": result.best_epoch, "histories": [name],
               "caption_branch_from": encoder_path.name, "status": result.status}
    save_summary(run.paths, name, summary)
    return JointOutcome(source_name(fusion), model, result, val_probs, test_probs, test_s, weights_path, summary)


def train_joint_models(run: Run, data: JointData, lstm_summary: dict[str, Any], fusions: Sequence[str], *,
                       width: int, epochs: int, lr: float, patience: int, batch_size: int) -> dict[str, JointOutcome]:
    """One joint model per fusion module: same data, caption-branch start, seed and optimisation settings."""
    encoder = caption_encoder(lstm_summary, run.paths.out_dir, data.vocab_size)
    train_config = TrainConfig(epochs=epochs, lr=lr, patience=patience, seed=run.seed)
    return {source_name(f): train_joint(run, data, f, width, encoder, train_config, batch_size) for f in fusions}


def load_joint(path: str | Path) -> JointModel:
    """A saved joint model (float32 or float16 weights) as a float32 model in eval mode; nothing is unpickled."""
    saved = load_weights(path, kind=WEIGHTS_KIND)
    model = build_joint(saved.config)
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in saved.state_dict.items()})
    return model.eval()
