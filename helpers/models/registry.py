"""The one builder registry: for every model kind, its config class and the builder that makes the untrained network.

Training and the predictor both build networks here, so a saved (kind, config, state_dict) is rebuilt by the
same code that built it:

    kind        config class      builder
    "image"     ImageModelConfig  build_image_model: architecture A (images -> logits) or B (FrozenBackbone)
    "features"  ImageModelConfig  build_feature_extractor: the frozen backbone without classifier, eval mode
    "lstm"      LstmConfig        build_lstm
    "joint"     JointConfig       build_joint
    "text_encoder" TextEncoderConfig build_text_encoder: a pretrained caption encoder's shape (its HF config)

Every config class has `to_state()` (plain values) and `from_state(state)` (ValueError naming unknown or
missing keys), so `build_model` takes either the dataclass or the state a weights file stored. `build_part`
rebuilds one part of a predictor file and loads its weights (float16 weights are cast back to float32).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from helpers.models.image_model import ImageModelConfig, build_feature_extractor, build_image_model
from helpers.models.joint import JointConfig, build_joint
from helpers.models.lstm import LstmConfig, build_lstm
from helpers.models.text_encoder import TextEncoderConfig, build_text_encoder


@dataclass(frozen=True)
class ModelKind:
    """One model kind: the config dataclass that describes it and the builder that makes it from that config.

    build(config) gives the untrained network; build(config, seed=s) draws its initial weights under seeded(s).
    """

    config_class: type
    build: Callable[..., nn.Module]


MODEL_KINDS: dict[str, ModelKind] = {
    "image": ModelKind(ImageModelConfig, build_image_model),
    "features": ModelKind(ImageModelConfig, build_feature_extractor),
    "lstm": ModelKind(LstmConfig, build_lstm),
    "joint": ModelKind(JointConfig, build_joint),
    "text_encoder": ModelKind(TextEncoderConfig, build_text_encoder),
}


def model_kind(kind: str) -> ModelKind:
    """The registry entry of `kind`; ValueError naming the known kinds otherwise."""
    try:
        return MODEL_KINDS[kind]
    except KeyError:
        raise ValueError(f"unknown model kind {kind!r}; known kinds: {', '.join(sorted(MODEL_KINDS))}") from None


def model_config(kind: str, config_or_state: Any) -> Any:
    """The kind's config dataclass: `config_or_state` itself, or `config_class.from_state` of a state mapping."""
    entry = model_kind(kind)
    if isinstance(config_or_state, entry.config_class):
        return config_or_state
    if isinstance(config_or_state, Mapping):
        return entry.config_class.from_state(config_or_state)
    raise TypeError(f"a {kind!r} model is built from a {entry.config_class.__name__} or its state (a mapping), "
                    f"not a {type(config_or_state).__name__}")


def build_model(kind: str, config_or_state: Any, seed: int | None = None) -> nn.Module:
    """The untrained network of `kind` from its config (a dataclass or its state); seed None: the builder's default."""
    entry = model_kind(kind)
    config = model_config(kind, config_or_state)
    return entry.build(config) if seed is None else entry.build(config, seed=seed)


def build_part(part: Mapping[str, Any], slot: str, what: str) -> nn.Module:
    """The float32 network of one predictor-file part ({"kind", "config", "state_dict"}) in eval mode.

    slot is the registry kind that rebuilds it ("image", "features", "lstm", "joint", "text_encoder"); float16
    weights are cast back to float32. ValueError starting with `what` when the config does not describe a model
    of that kind or the stored weights do not fit the model it describes.
    """
    try:
        model = build_model(slot, part["config"])
    except (TypeError, ValueError) as error:
        raise ValueError(f"{what}: its config does not describe a {slot!r} model: {error}") from None
    state = {k: v.float() if torch.is_floating_point(v) else v for k, v in part["state_dict"].items()}
    try:
        model.load_state_dict(state)
    except RuntimeError as error:
        raise ValueError(f"{what}: the stored weights do not fit the {part['kind']!r} model its config describes "
                         f"({part['config']}): {str(error)[:300]}") from None
    return model.eval()
