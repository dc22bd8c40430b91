"""A joint image-caption model: one network on both inputs, trained end to end with one loss.

Image branch: the frozen backbone's cached d-dimensional features (d = the backbone's width, `image_dim`:
512 for ResNet-34, 256 for the offline from-scratch network) (notebook 03's feature files) -> Linear ->
ReLU -> dropout. Caption branch: the caption LSTM encoder of helpers.models.lstm (embedding + LSTM,
read at each caption's last real token, so padding never feeds the output) in the shape of notebook
04's final LSTM, whose per-label heads become a projection to the branch width; its embedding and
LSTM can start from that trained model (`init_caption_branch`). Fusion modules (`FUSIONS`):

- concat: [image; caption] -> Linear -> ReLU -> dropout -> Linear(18): an MLP over both branches;
- gated:  each branch predicts 18 logits, and a learned gate g = sigmoid(Linear([image; caption]))
          (per example and per label) mixes them: g·image_logits + (1 − g)·caption_logits.

Trained on the fused output alone, the branch that learns fastest (here the caption LSTM, which starts trained)
takes over and the other barely learns ("modality competition"; Wang, Tran and Feiszli, "What makes training
multi-modal classification networks hard?", CVPR 2020: a gated model's image branch alone scored micro-F1 0.38 on
the demo data). `aux_weight` > 0 (gated only) adds each branch's own loss on its 18 logits (deep supervision, the
idea behind their gradient blending), so both branches stay predictors the gate can mix.

A cross-attention of caption tokens over the backbone's spatial feature map is not offered: the
feature cache holds pooled d-dimensional vectors only (a 7x7x512 map per image at 224 px would be 49 times
the cache, about 3 GB in float32 for 30,000 images).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

import torch
from torch import nn

from helpers.core.labels import N_LABELS
from helpers.core.seeding import seeded
from helpers.models.lstm import CaptionLSTM, LstmConfig

FUSIONS = ("concat", "gated")


@dataclass(frozen=True)
class JointConfig:
    """Everything needed to rebuild a joint model (stored in its weights file)."""

    vocab_size: int
    fusion: str = "concat"  # one of FUSIONS
    image_dim: int = 512  # backbone feature size (ResNet-34: 512)
    width: int = 128  # each branch's output size
    embed_dim: int = 128  # caption branch: the reference LSTM's shape unless given (see joint_config_for)
    lstm_hidden: int = 256
    num_layers: int = 1
    bidirectional: bool = False
    readout: str = "last"
    dropout: float = 0.3
    n_labels: int = N_LABELS
    aux_weight: float = 0.0  # gated only: weight of each branch's own loss beside the fused output's (see module doc)

    def __post_init__(self) -> None:
        if self.fusion not in FUSIONS:
            raise ValueError(f"fusion must be one of {FUSIONS}, not {self.fusion!r}")

    def to_state(self) -> dict[str, Any]:
        """The config as plain values (what a weights file stores)."""
        return asdict(self)

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> JointConfig:
        """The config `to_state` wrote; ValueError names unknown keys or missing required ones."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(state) - names)
        if unknown:
            raise ValueError(f"joint model config: unknown keys {unknown} (known: {sorted(names)})")
        if "vocab_size" not in state:
            raise ValueError("joint model config: missing key ['vocab_size']")
        return cls(**dict(state))

    def lstm_config(self) -> LstmConfig:
        """The caption branch: the reference LSTM's shape, its heads projecting to the branch width."""
        return replace(LstmConfig(), vocab_size=self.vocab_size, embed_dim=self.embed_dim, hidden_dim=self.lstm_hidden,
                       num_layers=self.num_layers,
                       bidirectional=self.bidirectional, readout=self.readout, dropout=self.dropout,
                       n_labels=self.width)


class JointModel(nn.Module):
    """forward(image_features (n, image_dim), tokens (n, L) post-padded, lengths (n,)) -> logits (n, 18)."""

    def __init__(self, config: JointConfig):
        super().__init__()
        self.config = config
        self.image = nn.Sequential(nn.Linear(config.image_dim, config.width), nn.ReLU(), nn.Dropout(config.dropout))
        self.caption = CaptionLSTM(config.lstm_config())
        both = 2 * config.width
        if config.fusion == "concat":
            self.fuse = nn.Sequential(nn.Linear(both, config.width), nn.ReLU(), nn.Dropout(config.dropout),
                                      nn.Linear(config.width, config.n_labels))
        else:
            self.image_logits = nn.Linear(config.width, config.n_labels)
            self.caption_logits = nn.Linear(config.width, config.n_labels)
            self.gate = nn.Linear(both, config.n_labels)
        if config.aux_weight and config.fusion != "gated":
            raise ValueError("aux_weight needs the gated fusion (its branches predict logits of their own)")
        self._branch_logits: tuple[torch.Tensor, torch.Tensor] | None = None

    def branches(self, image_features: torch.Tensor, tokens: torch.Tensor, lengths: torch.Tensor
                 ) -> tuple[torch.Tensor, torch.Tensor]:
        """(image branch, caption branch) outputs, each (n, width)."""
        return self.image(image_features), torch.relu(self.caption(tokens, lengths))

    def forward(self, image_features: torch.Tensor, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        image, caption = self.branches(image_features, tokens, lengths)
        both = torch.cat([image, caption], dim=1)
        if self.config.fusion == "concat":
            return self.fuse(both)
        gate = torch.sigmoid(self.gate(both))
        image_logits, caption_logits = self.image_logits(image), self.caption_logits(caption)
        self._branch_logits = (image_logits, caption_logits) if self.training and self.config.aux_weight else None
        return gate * image_logits + (1 - gate) * caption_logits

    def auxiliary_loss(self, loss_fn: nn.Module, targets: torch.Tensor) -> torch.Tensor | None:
        """The branches' own losses of the last training forward pass, times aux_weight (None when there are none);
        helpers.engine.fit adds it to the fused output's loss."""
        if self._branch_logits is None:
            return None
        image_logits, caption_logits = self._branch_logits
        self._branch_logits = None
        return self.config.aux_weight * (loss_fn(image_logits.float(), targets) + loss_fn(caption_logits.float(),
                                                                                          targets))

    @torch.inference_mode()
    def gate_values(self, image_features: torch.Tensor, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """The gated model's weight of the image branch per example and label (n, 18)."""
        if self.config.fusion != "gated":
            raise ValueError("only a gated joint model has gate values")
        image, caption = self.branches(image_features, tokens, lengths)
        return torch.sigmoid(self.gate(torch.cat([image, caption], dim=1)))


def build_joint(config: JointConfig | Mapping[str, Any], seed: int | None = None) -> JointModel:
    """A freshly initialised joint model from its config (a JointConfig or its state, as a weights file stores it).

    The weights are drawn under `seeded(seed)`: the caller's random state is left as it was (None: drawn from
    it without advancing it).
    """
    if not isinstance(config, JointConfig):
        config = JointConfig.from_state(config)
    with seeded(seed):
        return JointModel(config)


def joint_config_for(lstm_config: dict[str, Any], fusion: str, width: int, image_dim: int) -> JointConfig:
    """A joint config for image features of `image_dim` values whose caption branch has the shape of a
    trained LSTM (its weights file's config)."""
    return JointConfig(vocab_size=int(lstm_config["vocab_size"]), fusion=fusion, width=width, image_dim=image_dim,
                       embed_dim=int(lstm_config["embed_dim"]), lstm_hidden=int(lstm_config["hidden_dim"]),
                       num_layers=int(lstm_config["num_layers"]), bidirectional=bool(lstm_config["bidirectional"]),
                       readout=str(lstm_config["readout"]))


def init_caption_branch(model: JointModel, lstm_state: dict[str, torch.Tensor]) -> None:
    """Copy a trained CaptionLSTM's embedding and LSTM weights into the caption branch (its heads stay fresh)."""
    encoder = {k: v.float() if v.is_floating_point() else v for k, v in lstm_state.items()
               if not k.startswith("heads.")}
    advice = "build the joint config with joint_config_for(the LSTM's config)"
    try:
        missing, unexpected = model.caption.load_state_dict(encoder, strict=False)
    except RuntimeError as error:  # same names, other shapes
        raise ValueError(f"the trained LSTM does not fit the caption branch ({error}); {advice}") from None
    if unexpected or any(not k.startswith("heads.") for k in missing):
        raise ValueError(f"the trained LSTM does not fit the caption branch (missing {missing}, unexpected "
                         f"{unexpected}); {advice}")
