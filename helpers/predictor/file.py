"""The predictor file: everything needed to label new images and captions, in one torch.save'd dict.

`PredictorFile` and its parts (ImagePart, TextPart, JointPart, ModelPart, CaptionEncoding, and the fitted
fusion, helpers.fusion.methods.FittedFusion) write it with `to_state()` and read it back with `from_state()`.

Layout (plain Python values and tensors only, so `torch.load(weights_only=True)` reads it; nothing
is unpickled):

    {"format": "bimodal-predictor", "format_version": 1, "project_version": "0.2.0", "torch_version": ...,
     "labels": {"ids": [1, 2, ...], "names": ["person", ...]}, "half": False, "description": "...",
     "image": {"size": 64, "preprocessing": "reference", "mean": [...], "std": [...],
               "model": part | None,            # helpers.models.image_model: architecture A or B
               "features": part | None},        # a frozen feature extractor for a joint model, if needed
     "text": {"models": [part, ...], "encoding": encoding} | None,   # LSTMs, probabilities averaged
     "joint": {"name": "joint concat", "model": part, "encoding": encoding} | None,
     "encoder": {"model": part, "tokenizer_files": {name: str | bytes}} | None,  # a pretrained caption encoder
     "fusion": {"method": {...FusionMethod fields}, "lam": tensor (18,), "coef", "intercept", "learned",
                "cutoffs", "platt_slope", "platt_intercept"}}

with part = {"kind", "config", "state_dict"} (the fields of a helpers.models.weights file,
rebuilt by helpers.models.registry) and encoding = {"config": TextConfig fields,
"normalizer_used", "stopwords": [...], "vocab": [...]} (how captions become token ids). The fusion
method's `sources` name which probabilities it combines: "image", "text" (the LSTMs), "encoder" (the pretrained
caption encoder of notebook 04, kind "text_encoder", its tokenizer's files inside) or the joint model's name. A
file written before the encoder existed has no "encoder" key and reads as encoder None.
"""
from __future__ import annotations

import importlib.metadata
import pickle
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from helpers.core.config import REPO_ROOT
from helpers.core.files import atomic_path, stable_hash
from helpers.core.labels import LABEL_IDS, LABEL_NAMES
from helpers.fusion.methods import FittedFusion
from helpers.models.image_model import normalisation
from helpers.models.weights import WeightsFile, to_half
from helpers.text.preprocessing import TextConfig
from helpers.text.stopwords import load_stopwords

FORMAT = "bimodal-predictor"
FORMAT_VERSION = 1
PACKAGE_NAME = "bimodal-multilabel"
REBUILD = "rebuild it with notebook 05_ensembling of this project version"


class PredictorFileError(ValueError):
    """A predictor file that is missing, damaged, not a predictor, or of an incompatible format version."""


@dataclass
class ModelPart:
    """One network: its kind, the config its builder needs, its weights (as in a weights file)."""

    kind: str
    config: dict[str, Any]
    state_dict: Mapping[str, torch.Tensor]

    @classmethod
    def of(cls, kind: str, config: Mapping[str, Any], model: nn.Module | Mapping[str, torch.Tensor]) -> ModelPart:
        state = model.state_dict() if isinstance(model, nn.Module) else model
        return cls(kind, dict(config), state)

    @classmethod
    def from_weights(cls, weights: WeightsFile) -> ModelPart:
        """A model saved with helpers.models.weights (e.g. an LSTM of notebook 04, a joint model)."""
        return cls(weights.kind, dict(weights.config), weights.state_dict)

    def to_state(self, half: bool = False) -> dict[str, Any]:
        state = {k: v.detach().cpu().contiguous() for k, v in self.state_dict.items()}
        return {"kind": self.kind, "config": _plain(self.config), "state_dict": to_half(state) if half else state}

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> ModelPart:
        _keys(state, ("kind", "config", "state_dict"), "model part")
        return cls(str(state["kind"]), dict(state["config"]), dict(state["state_dict"]))


@dataclass
class CaptionEncoding:
    """How captions become token ids: the preprocessing settings, the stop word list and the dictionary."""

    config: TextConfig
    vocab: Sequence[str]
    stopwords: Iterable[str]
    normalizer_used: str = ""  # what the normalizer resolved to ("Snowball (English) stemmer", ...)

    @classmethod
    def from_encoded(cls, encoded: Any, stopwords: Iterable[str] | None = None) -> CaptionEncoding:
        """From notebook 02's EncodedText (its vocab and the preprocessor description in its config).

        stopwords: the list it was encoded with; default: load_stopwords(download=False), checked against the
        list's hash stored with the encoded captions (a different list would change the tokens).
        """
        described = dict(encoded.config)
        words = sorted(load_stopwords(download=False).words if stopwords is None else set(stopwords))
        stored = described.get("stopwords_hash")
        if stored is not None and stable_hash(words) != stored:
            raise ValueError(f"the stop word list found here (hash {stable_hash(words)}) is not the one the captions "
                             f"were encoded with (hash {stored}); pass that list as stopwords=...")
        names = TextConfig.__dataclass_fields__
        config = TextConfig(**{k: v for k, v in described.items() if k in names})
        return cls(config, list(encoded.vocab), words, str(described.get("normalizer_used", "")))

    def to_state(self) -> dict[str, Any]:
        config = asdict(self.config)
        if config["normalizer"] == "lemma":  # predict with the lemmatizer the dictionary was built with
            config["lemmatizer"] = "wordnet" if "WordNet" in self.normalizer_used else "rules"
        return {"config": config, "normalizer_used": self.normalizer_used,
                "stopwords": sorted(set(self.stopwords)), "vocab": [str(w) for w in self.vocab]}

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> CaptionEncoding:
        _keys(state, ("config", "normalizer_used", "stopwords", "vocab"), "caption encoding")
        config = dict(state["config"])
        names = TextConfig.__dataclass_fields__
        unknown = sorted(set(config) - set(names))
        if unknown:
            raise ValueError(f"caption encoding: unknown preprocessing settings {unknown}")
        return cls(TextConfig(**config), list(state["vocab"]), list(state["stopwords"]), str(state["normalizer_used"]))


@dataclass
class ImagePart:
    """The image model (a helpers.models.image_model config: architecture A, or B = frozen backbone + head),
    its input size and preprocessing, and, for a joint model when the image model is not architecture B,
    the frozen feature extractor (config: backbone name, widths of the from-scratch network)."""

    size: int
    model: ModelPart | None = None
    features: ModelPart | None = None
    preprocessing: str = "reference"  # helpers.models.image_model.PREPROCESSING
    mean: Sequence[float] | None = None  # None: the preprocessing's own (helpers.models.image_model.normalisation)
    std: Sequence[float] | None = None

    @property
    def normalisation(self) -> tuple[list[float], list[float]]:
        """(mean, std): as stored in the file, else the preprocessing's."""
        mean, std = normalisation(self.preprocessing)
        return list(mean if self.mean is None else self.mean), list(std if self.std is None else self.std)

    @property
    def has_features(self) -> bool:
        return self.features is not None or (self.model is not None and self.model.config.get("arch") == "B")

    def to_state(self, half: bool = False) -> dict[str, Any]:
        mean, std = self.normalisation
        return {"size": int(self.size), "preprocessing": self.preprocessing, "mean": mean, "std": std,
                "model": None if self.model is None else self.model.to_state(half),
                "features": None if self.features is None else self.features.to_state(half)}

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> ImagePart:
        _keys(state, ("size", "preprocessing", "mean", "std", "model", "features"), "image section")
        return cls(int(state["size"]), _part(state["model"]), _part(state["features"]), str(state["preprocessing"]),
                   list(state["mean"]), list(state["std"]))


@dataclass
class TextPart:
    """The caption model(s): their sigmoid outputs are averaged (notebook 04's several seeds)."""

    models: Sequence[ModelPart]
    encoding: CaptionEncoding

    def to_state(self, half: bool = False) -> dict[str, Any]:
        return {"models": [m.to_state(half) for m in self.models], "encoding": self.encoding.to_state()}

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> TextPart:
        _keys(state, ("models", "encoding"), "text section")
        return cls([ModelPart.from_state(m) for m in state["models"]], CaptionEncoding.from_state(state["encoding"]))


@dataclass
class JointPart:
    """A joint image-caption model on the image backbone's features; `name` is its fusion source name."""

    name: str
    model: ModelPart
    encoding: CaptionEncoding

    def to_state(self, half: bool = False) -> dict[str, Any]:
        return {"name": self.name, "model": self.model.to_state(half), "encoding": self.encoding.to_state()}

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> JointPart:
        _keys(state, ("name", "model", "encoding"), "joint section")
        return cls(str(state["name"]), ModelPart.from_state(state["model"]),
                   CaptionEncoding.from_state(state["encoding"]))


@dataclass
class EncoderPart:
    """A pretrained caption encoder with its head (registry kind "text_encoder") and its tokenizer's saved files."""

    model: ModelPart
    tokenizer_files: Mapping[str, str | bytes]

    @classmethod
    def from_encoder_state(cls, state: Mapping[str, Any]) -> EncoderPart:
        """From helpers.models.text_encoder.encoder_to_state's dict (what notebook 04 hands over)."""
        _keys(state, ("kind", "config", "state_dict", "tokenizer_files"), "caption encoder state")
        return cls(ModelPart(str(state["kind"]), dict(state["config"]), state["state_dict"]),
                   dict(state["tokenizer_files"]))

    @property
    def tokenizer_bytes(self) -> int:
        return sum(len(v.encode("utf-8") if isinstance(v, str) else v) for v in self.tokenizer_files.values())

    def to_state(self, half: bool = False) -> dict[str, Any]:
        return {"model": self.model.to_state(half), "tokenizer_files": dict(self.tokenizer_files)}

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> EncoderPart:
        _keys(state, ("model", "tokenizer_files"), "encoder section")
        return cls(ModelPart.from_state(state["model"]), dict(state["tokenizer_files"]))


@dataclass
class Versions:
    project: str = field(default_factory=lambda: project_version())
    torch: str = str(torch.__version__)


def project_version() -> str:
    """The installed package's version, else the one in the clone's pyproject.toml, else 'unknown'."""
    try:
        return importlib.metadata.version(PACKAGE_NAME)
    except importlib.metadata.PackageNotFoundError:
        pass
    pyproject = REPO_ROOT / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8") if pyproject.is_file() else ""
    match = re.search(r'^version\s*=\s*"([^"]+)"', text, re.MULTILINE)
    return match.group(1) if match else "unknown"


@dataclass
class PredictorFile:
    """The whole predictor file as the dataclasses that write and read it (`to_state` / `from_state`)."""

    fusion: FittedFusion
    image: ImagePart | None = None
    text: TextPart | None = None
    joint: JointPart | None = None
    half: bool = False
    description: str = ""
    versions: Versions = field(default_factory=Versions)
    encoder: EncoderPart | None = None
    format_version: int = FORMAT_VERSION

    def check_sources(self) -> None:
        """ValueError unless every probability source the fusion uses has its model (a joint model also needs
        image features: an architecture-B image model or ImagePart(features=...))."""
        image = self.image
        available = {"image": image is not None and image.model is not None, "text": self.text is not None,
                     "encoder": self.encoder is not None}
        if self.joint is not None:
            available[self.joint.name] = image is not None and image.has_features
        missing = [s for s in used_sources(self.fusion) if not available.get(s)]
        if missing:
            raise ValueError(f"the fusion rule {self.fusion.method.name!r} uses source(s) {missing}, but the file "
                             f"has no model for them (have: {sorted(s for s, ok in available.items() if ok)}); a "
                             "joint model also needs image features (an architecture-B image model, or "
                             "ImagePart(features=...))")

    def to_state(self) -> dict[str, Any]:
        """Plain values and tensors only (floating weights in float16 when half); see the module docstring."""
        half = self.half
        return {
            "format": FORMAT, "format_version": self.format_version, "project_version": self.versions.project,
            "torch_version": str(self.versions.torch), "description": self.description, "half": bool(half),
            "labels": {"ids": list(LABEL_IDS), "names": [LABEL_NAMES[i] for i in LABEL_IDS]},
            "image": None if self.image is None else self.image.to_state(half),
            "text": None if self.text is None else self.text.to_state(half),
            "joint": None if self.joint is None else self.joint.to_state(half),
            "encoder": None if self.encoder is None else self.encoder.to_state(half),
            "fusion": self.fusion.to_state(),
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> PredictorFile:
        """The dataclasses back from a checked bundle (load_predictor_bundle); ValueError names a bad section."""
        return cls(fusion=FittedFusion.from_state(state["fusion"]),
                   image=None if state["image"] is None else ImagePart.from_state(state["image"]),
                   text=None if state["text"] is None else TextPart.from_state(state["text"]),
                   joint=None if state["joint"] is None else JointPart.from_state(state["joint"]),
                   half=bool(state.get("half", False)), description=str(state.get("description", "")),
                   versions=Versions(str(state.get("project_version", "unknown")),
                                     str(state.get("torch_version", "unknown"))),
                   format_version=int(state["format_version"]),
                   encoder=None if state.get("encoder") is None else EncoderPart.from_state(state["encoder"]))


def build_predictor_bundle(*, fusion: FittedFusion, image: ImagePart | None = None, text: TextPart | None = None,
                           joint: JointPart | None = None, half: bool = False, description: str = "",
                           versions: Versions | None = None, encoder: EncoderPart | None = None) -> dict[str, Any]:
    """The predictor as one dict of plain values and tensors (floating weights in float16 when half).

    Every probability source the fusion uses must be present: "image" (image=), "text" (text=) or
    the joint model's name (joint=, which also needs image features: an architecture-B image model or
    ImagePart(features=...)).
    """
    predictor = PredictorFile(fusion, image, text, joint, half, description, versions or Versions(), encoder=encoder)
    predictor.check_sources()
    return predictor.to_state()


def used_sources(fusion: FittedFusion) -> list[str]:
    """The sources whose probabilities change the fused output (a weight of exactly 0 everywhere does not)."""
    first, second = fusion.method.sources
    learned = bool(np.any(fusion.learned))
    lam = np.asarray(fusion.lam)
    used = [first] if learned or np.any(lam != 0) else []
    return used + ([second] if learned or np.any(lam != 1) else [])


def save_predictor(path: str | Path, bundle: Mapping[str, Any], half: bool = False) -> Path:
    """Write the bundle atomically (a failed write leaves the previous file); half casts floating weights."""
    bundle = dict(bundle)
    if half and not bundle.get("half"):
        bundle = _halved(bundle)
    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save(bundle, tmp)
    return path


def load_predictor_bundle(path: str | Path) -> dict[str, Any]:
    """Read and check a predictor file on the CPU; PredictorFileError names the file and what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise PredictorFileError(f"{path}: predictor file not found; build it with notebook 05_ensembling (it writes "
                                 "<out>/artifacts/predictor.pt) or pass the right --model path")
    try:
        bundle = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:  # an object that only a full unpickler could rebuild: it never runs
        raise PredictorFileError(f"{path}: holds Python objects that would have to be unpickled (which can run "
                                 "code), not only plain values and tensors; refused. A predictor file is written by "
                                 f"save_predictor; {REBUILD}") from None
    except Exception as error:  # truncated, not a torch file
        raise PredictorFileError(f"{path}: cannot be read as a predictor file ({type(error).__name__}: "
                                 f"{str(error)[:200]}); it is damaged or not a predictor file: {REBUILD}") from None
    if not isinstance(bundle, dict) or bundle.get("format") != FORMAT:
        what = (f"a single-model weights file ({bundle.get('kind')!r}), not a predictor"
                if isinstance(bundle, dict) and bundle.get("format") == "bimodal-weights" else "not a predictor file")
        raise PredictorFileError(f"{path}: {what} (no '{FORMAT}' header); pass <out>/artifacts/predictor.pt")
    version = bundle.get("format_version")
    if version != FORMAT_VERSION:
        raise PredictorFileError(
            f"{path}: predictor format version {version} (written by project version "
            f"{bundle.get('project_version', '?')}), but this project version ({project_version()}) reads version "
            f"{FORMAT_VERSION}; {REBUILD}, or use the project version that wrote it")
    missing = [k for k in ("labels", "image", "text", "joint", "fusion") if k not in bundle]
    if missing:
        raise PredictorFileError(f"{path}: incomplete predictor file (no {missing}); {REBUILD}")
    if list(bundle["labels"].get("ids", [])) != list(LABEL_IDS):
        raise PredictorFileError(f"{path}: predicts labels {bundle['labels'].get('ids')}, not this project's "
                                 f"{list(LABEL_IDS)}; {REBUILD}")
    return bundle


def load_predictor_file(path: str | Path) -> PredictorFile:
    """A checked predictor file as its dataclasses (PredictorFile.from_state); PredictorFileError if it is bad."""
    bundle = load_predictor_bundle(path)
    try:
        return PredictorFile.from_state(bundle)
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        raise PredictorFileError(f"{path}: damaged predictor file ({error}); {REBUILD}") from None


def _keys(state: Mapping[str, Any], expected: Sequence[str], what: str) -> None:
    """ValueError naming the missing and unknown keys of one section of a predictor file."""
    if not isinstance(state, Mapping):
        raise ValueError(f"{what}: expected a mapping, found {type(state).__name__}")
    missing, unknown = [k for k in expected if k not in state], sorted(set(state) - set(expected))
    if missing or unknown:
        raise ValueError(f"{what}: missing keys {missing}, unknown keys {unknown}")


def _part(state: Mapping[str, Any] | None) -> ModelPart | None:
    return None if state is None else ModelPart.from_state(state)


def _halved(bundle: dict[str, Any]) -> dict[str, Any]:
    """Copy of a bundle with every model's floating weights in float16 (the fusion parameters unchanged)."""
    def half_part(part: Any) -> Any:
        if isinstance(part, dict) and "state_dict" in part:
            return {**part, "state_dict": to_half(part["state_dict"])}
        if isinstance(part, dict):
            return {k: half_part(v) for k, v in part.items()}
        if isinstance(part, list):
            return [half_part(v) for v in part]
        return part

    sections = [k for k in ("image", "text", "joint", "encoder") if k in bundle]
    return {**bundle, **{k: half_part(bundle[k]) for k in sections}, "half": True}


def _plain(value: Any) -> Any:
    """Tuples -> lists, numpy scalars -> Python numbers, recursively (what weights_only loading accepts)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def image_part(kind: str, config: Mapping[str, Any], state_dict: Mapping[str, torch.Tensor],
               features: ModelPart | None = None) -> ImagePart:
    """The image model as notebook 03 saves it (a weights file: kind, config, state_dict) as a bundle part.

    config: what build_image_model reads (arch, backbone, head_hidden, head_dropout, ...) plus
    image_size and preprocessing ("reference" or "weights").
    """
    return ImagePart(int(config["image_size"]), ModelPart(kind, dict(config), state_dict), features,
                     str(config.get("preprocessing", "reference")))
