"""Rebuilding the predictor's networks from (kind, config, state_dict) with each model family's own builder.

The one place that knows how each network is constructed, by its slot in the bundle:
- image model: helpers.models.image_model.build_image_model, architecture A (images -> logits) or B
  (a FrozenBackbone whose `backbone` gives the features and `head` the logits), from its weights file's config;
- image features for a joint model when the image model is not architecture B: a backbone from
  helpers.models.backbones (torchvision's registry or the from-scratch network), classifier removed;
- caption LSTM: helpers.models.lstm.build_lstm; joint model: helpers.models.joint.build_joint.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import nn

from helpers.models.backbones import DEFAULT_WIDTHS, SCRATCH_NAME, ScratchResNet, load_backbone
from helpers.models.image_model import build_image_model, feature_extractor
from helpers.models.joint import build_joint
from helpers.models.lstm import build_lstm


# ---- from report/predictor_modules
def _feature_extractor(config: Mapping[str, Any]) -> nn.Module:
    """A frozen backbone without its classifier (the from-scratch network with the widths it was trained with)."""
    name = str(config["backbone"])
    backbone = ScratchResNet(config.get("widths", DEFAULT_WIDTHS)) if name == SCRATCH_NAME else \
        load_backbone(name, "none")[0]
    return feature_extractor(backbone)


BUILDERS: dict[str, Callable[[Mapping[str, Any]], nn.Module]] = {
    "image": lambda config: build_image_model(dict(config)), "features": _feature_extractor,
    "lstm": lambda config: build_lstm(dict(config)), "joint": lambda config: build_joint(dict(config)),
}


def build_part(part: Mapping[str, Any], slot: str, what: str) -> nn.Module:
    """The float32 network of one bundle part in eval mode (float16 weights are cast back)."""
    model = BUILDERS[slot](part["config"])
    state = {k: v.float() if torch.is_floating_point(v) else v for k, v in part["state_dict"].items()}
    try:
        model.load_state_dict(state)
    except RuntimeError as error:
        raise ValueError(f"{what}: the stored weights do not fit the {part['kind']!r} model its config describes "
                         f"({part['config']}): {str(error)[:300]}") from None
    return model.eval()
