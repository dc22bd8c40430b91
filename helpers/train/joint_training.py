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

import copy
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

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
                train_config: TrainConfig, batch_size: int, aux_weight: float = 0.0) -> JointOutcome:
    """Train (or resume, or reuse) one joint model; save its weights, probabilities, history and summary.

    aux_weight: the gated model's branch losses (JointConfig.aux_weight); ignored for the concat fusion."""
    encoder_path, encoder_file = encoder
    config = replace(joint_config_for(encoder_file.config, fusion, width, image_dim=int(data.train.features.shape[1])),
                     aux_weight=aux_weight if fusion == "gated" else 0.0)
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
                       width: int, epochs: int, lr: float, patience: int, batch_size: int,
                       aux_weight: float = 0.0) -> dict[str, JointOutcome]:
    """One joint model per fusion module: same data, caption-branch start, seed and optimisation settings."""
    encoder = caption_encoder(lstm_summary, run.paths.out_dir, data.vocab_size)
    train_config = TrainConfig(epochs=epochs, lr=lr, patience=patience, seed=run.seed)
    return {source_name(f): train_joint(run, data, f, width, encoder, train_config, batch_size, aux_weight)
            for f in fusions}


def load_joint(path: str | Path) -> JointModel:
    """A saved joint model (float32 or float16 weights) as a float32 model in eval mode; nothing is unpickled."""
    saved = load_weights(path, kind=WEIGHTS_KIND)
    model = build_joint(saved.config)
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in saved.state_dict.items()})
    return model.eval()


def _log_loss(Y: np.ndarray, probs: np.ndarray) -> float:
    p = np.clip(np.asarray(probs, dtype=np.float64), 1e-7, 1 - 1e-7)
    return float(-np.mean(Y * np.log(p) + (1 - Y) * np.log(1 - p)))


def branch_fit_gap(run: Run, data: JointData, summaries: dict[str, dict[str, Any]]) -> Any:
    """Why a joint model trained on the training rows over-trusts its branches: the image model (its head on the
    cached features) and the LSTM the caption branch starts from, scored on the training rows (where they were
    trained) and on the validation rows (where the late fusions are fitted): micro-F1 at 0.5 and log-loss.
    An architecture-A image model (it reads images, not the cached features) has no row."""
    import pandas as pd

    from helpers.core.metrics import binarize, micro_f1
    from helpers.models.registry import build_part
    from helpers.train.lstm_training import predict

    listed = summaries["cnn"]["weights"][0]
    saved = load_weights(Path(listed) if Path(listed).is_absolute() else run.paths.out_dir / listed)
    image = None  # architecture A reads images, not the cached features: its gap is not measured here
    if saved.config.get("arch") == "B":
        image = build_part({"kind": saved.kind, "config": saved.config, "state_dict": saved.state_dict}, "image",
                           "image model")
    _, lstm_file = caption_encoder(summaries["lstm"], run.paths.out_dir, data.vocab_size)
    lstm = build_part({"kind": "lstm", "config": lstm_file.config, "state_dict": lstm_file.state_dict}, "lstm",
                      "caption LSTM")
    rows = []
    for split_name in ("train", "val"):
        split = getattr(data, split_name)
        Y = split.Y.numpy()
        branches = []
        if image is not None:
            with torch.inference_mode():
                branches.append(("image model", torch.sigmoid(torch.cat([image.head(x) for x in
                                                                        split.features.split(4096)])).numpy()))
        branches.append(("caption LSTM", predict(lstm, split.tokens, split.lengths, run.device)[0]))
        for branch, probs in branches:
            rows.append({"branch": branch, "rows": "training" if split_name == "train" else "validation",
                         "n": len(Y), "micro_f1": micro_f1(Y, binarize(probs, 0.5)), "log_loss": _log_loss(Y, probs)})
    return pd.DataFrame(rows)


def branch_gap_finding(gap: Any) -> str:
    """Which branch looks better on the training rows than on the validation rows, from branch_fit_gap's table."""
    parts = []
    for branch, group in gap.groupby("branch", sort=False):
        train, val = (group[group["rows"] == r].iloc[0] for r in ("training", "validation"))
        parts.append(f"the {branch} scores micro-F1 {train['micro_f1']:.3f} (log-loss {train['log_loss']:.3f}) on "
                     f"the training rows against {val['micro_f1']:.3f} ({val['log_loss']:.3f}) on the validation "
                     "rows")
    worse = gap.pivot(index="branch", columns="rows", values="log_loss")
    gaps = (worse["validation"] - worse["training"]).sort_values(ascending=False)
    missing = "" if "image model" in set(gap["branch"]) else (" (the image model is architecture A, which reads "
                                                               "images rather than the cached features: not measured)")
    head = "Branch fit on training vs validation rows: " + "; ".join(parts) + missing + "."
    if gaps.iloc[0] <= 0:
        return head + " Neither branch looks more reliable on the training rows than on new rows."
    return (head + " A fusion module trained on the training rows sees branches that look more reliable than they "
            f"are on new rows, the {gaps.index[0]} most (log-loss gap {gaps.iloc[0]:+.3f}); the fusion module "
            "refitted on the validation rows (cross-fitted) is meant to remove that, and table11 shows whether it "
            "does.")


class _FusionModule(nn.Module):
    """The fusion layers of a joint model, fed its (frozen) branch outputs: forward(image, caption) -> logits."""

    def __init__(self, model: JointModel):
        super().__init__()
        self.fusion = model.config.fusion
        if self.fusion == "concat":
            self.fuse = copy.deepcopy(model.fuse)
        else:
            self.image_logits, self.caption_logits = copy.deepcopy(model.image_logits), copy.deepcopy(
                model.caption_logits)
            self.gate = copy.deepcopy(model.gate)

    def forward(self, image: torch.Tensor, caption: torch.Tensor) -> torch.Tensor:
        both = torch.cat([image, caption], dim=1)
        if self.fusion == "concat":
            return self.fuse(both)
        gate = torch.sigmoid(self.gate(both))
        return gate * self.image_logits(image) + (1 - gate) * self.caption_logits(caption)

    def into(self, model: JointModel) -> JointModel:
        """A copy of `model` whose fusion layers are these."""
        out = copy.deepcopy(model)
        for name in (("fuse",) if self.fusion == "concat" else ("image_logits", "caption_logits", "gate")):
            setattr(out, name, copy.deepcopy(getattr(self, name)))
        return out.eval()


class _BranchBatches:
    """Re-iterable (image, caption, targets) batches of cached branch outputs (shuffled from torch's generator)."""

    def __init__(self, image: torch.Tensor, caption: torch.Tensor, Y: torch.Tensor, batch_size: int,
                 shuffle: bool = False):
        self.image, self.caption, self.Y, self.batch_size, self.shuffle = image, caption, Y, batch_size, shuffle

    def __len__(self) -> int:
        return -(-len(self.Y) // self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, ...]]:
        order = torch.randperm(len(self.Y)) if self.shuffle else torch.arange(len(self.Y))
        for index in order.split(self.batch_size):
            yield self.image[index], self.caption[index], self.Y[index]


@torch.inference_mode()
def _branch_outputs(model: JointModel, split: JointSplit) -> tuple[torch.Tensor, torch.Tensor]:
    model.eval()
    parts = [model.branches(*batch[:3]) for batch in JointBatches(split, 512)]
    return torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])


def refit_name(name: str) -> str:
    """The source name of a joint model whose fusion module was refitted on the validation rows."""
    return f"{name} (fusion fitted on validation)"


def refit_on_validation(run: Run, outcome: JointOutcome, data: JointData,
                        folds: Sequence[tuple[np.ndarray, np.ndarray]], *, epochs: int, lr: float, batch_size: int,
                        weight_decay: float = 1e-4, fold_ids: Sequence[str] | None = None) -> JointOutcome:
    """The joint model with its fusion module refitted on the validation rows, scored by cross-fitting.

    Its branches stay as trained on the training rows; only the fusion layers (concat: the MLP; gated: the two
    logit layers and the gate) are trained further, from the trained model's values, on the branch outputs of
    the validation rows: for each fold on the other folds (its out-of-fold probabilities are the validation
    probabilities, as the late fusions are scored), then once on every validation row for the test rows and the
    saved model. A fixed number of epochs (no early stopping: no held-out rows choose anything).
    fold_ids: the ImageIDs the folds index (notebook 05's FusionInputs.val_ids, so that the joint model is
    cross-fitted on the very folds of the late fusions); None: the folds index data.val's rows.
    """
    if fold_ids is not None:
        position = {str(i): row for row, i in enumerate(data.val.ids)}
        ids = [str(i) for i in fold_ids]
        folds = [(np.array([position[ids[r]] for r in fit_rows]), np.array([position[ids[r]] for r in held]))
                 for fit_rows, held in folds]
    val_image, val_caption = _branch_outputs(outcome.model, data.val)
    test_image, test_caption = _branch_outputs(outcome.model, data.test)
    Y = data.val.Y
    config = TrainConfig(epochs=epochs, lr=lr, patience=None, seed=run.seed, weight_decay=weight_decay,
                         optimizer="adamw")

    def trained(rows: np.ndarray) -> _FusionModule:
        module = _FusionModule(outcome.model)
        index = torch.as_tensor(rows)
        fit(module, _BranchBatches(val_image[index], val_caption[index], Y[index], batch_size, shuffle=True), None,
            config, device="cpu", desc=f"{refit_name(outcome.name)} fold")
        return module.eval()

    start = time.perf_counter()
    val_probs = np.zeros(tuple(Y.shape), dtype=np.float32)
    for fit_rows, held_out in folds:
        module = trained(np.asarray(fit_rows))
        with torch.inference_mode():
            index = torch.as_tensor(np.asarray(held_out))
            val_probs[held_out] = torch.sigmoid(module(val_image[index], val_caption[index])).numpy()
    final = trained(np.arange(len(Y)))
    train_s = time.perf_counter() - start
    with torch.inference_mode():
        test_probs = torch.sigmoid(final(test_image, test_caption)).numpy()
    model = final.into(outcome.model)
    name = f"{artifact_name(model.config.fusion)}_valfit"
    weights_path = save_weights(run.paths.checkpoints / f"{name}.pt", kind=WEIGHTS_KIND,
                                config=model.config.to_state(), state_dict=model.state_dict(),
                                extra={"fusion_fitted_on": "validation rows"})
    save_probabilities(run.paths, name, "val", data.val.ids, val_probs)
    save_probabilities(run.paths, name, "test", data.test.ids, test_probs)
    summary = {**outcome.summary, "model": refit_name(outcome.name), "artifact": name,
               "train_time_s": outcome.summary["train_time_s"] + train_s, "weights": [str(
                   weights_path.relative_to(run.paths.out_dir))], "fusion_refit_epochs": epochs,
               "fusion_refit_folds": len(folds)}
    save_summary(run.paths, name, summary)
    return JointOutcome(refit_name(outcome.name), model, outcome.fit, val_probs, test_probs, outcome.test_time_s,
                        weights_path, summary)
