"""models.registry: one entry per kind, built from a config or its state, parts rebuilt with their weights."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

import pytest
import torch
from torch import nn

from helpers.core.seeding import seeded
from helpers.models import registry
from helpers.models.registry import MODEL_KINDS, ModelKind, build_model, build_part


@dataclass(frozen=True)
class FakeConfig:
    width: int = 3

    def to_state(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> FakeConfig:
        unknown = sorted(set(state) - {f.name for f in fields(cls)})
        if unknown:
            raise ValueError(f"fake config: unknown keys {unknown}")
        return cls(**state)


BUILT: list[tuple[FakeConfig, int | None]] = []


def build_fake(config: FakeConfig, seed: int | None = None) -> nn.Module:
    BUILT.append((config, seed))
    with seeded(seed):
        return nn.Linear(config.width, 2)


@pytest.fixture
def fake_kind(monkeypatch):
    BUILT.clear()
    monkeypatch.setitem(MODEL_KINDS, "fake", ModelKind(FakeConfig, build_fake))
    return "fake"


def test_the_registry_holds_the_five_kinds_of_the_contract():
    from helpers.models.image_model import ImageModelConfig, build_feature_extractor, build_image_model
    from helpers.models.joint import JointConfig, build_joint
    from helpers.models.lstm import LstmConfig, build_lstm
    from helpers.models.text_encoder import TextEncoderConfig, build_text_encoder

    assert MODEL_KINDS == {"image": ModelKind(ImageModelConfig, build_image_model),
                           "features": ModelKind(ImageModelConfig, build_feature_extractor),
                           "lstm": ModelKind(LstmConfig, build_lstm), "joint": ModelKind(JointConfig, build_joint),
                           "text_encoder": ModelKind(TextEncoderConfig, build_text_encoder)}


def test_build_model_takes_a_config_or_its_state_and_passes_the_seed(fake_kind):
    model = build_model(fake_kind, FakeConfig(4), seed=7)
    assert model.in_features == 4 and BUILT[-1] == (FakeConfig(4), 7)
    again = build_model(fake_kind, {"width": 4}, seed=7)
    assert BUILT[-1] == (FakeConfig(4), 7) and torch.equal(model.weight, again.weight)
    build_model(fake_kind, {"width": 5})
    assert BUILT[-1] == (FakeConfig(5), None)  # no seed given: the builder's own default


def test_build_model_names_what_is_wrong(fake_kind):
    with pytest.raises(ValueError, match="unknown model kind 'nope'; known kinds: .*fake.*lstm"):
        build_model("nope", {})
    with pytest.raises(ValueError, match=r"unknown keys \['depth'\]"):
        build_model(fake_kind, {"width": 2, "depth": 3})
    with pytest.raises(TypeError, match="FakeConfig or its state"):
        build_model(fake_kind, [("width", 2)])


def test_build_part_casts_float16_back_and_loads_the_weights(fake_kind):
    trained = nn.Linear(3, 2)
    half = {k: v.half() for k, v in trained.state_dict().items()}
    model = build_part({"kind": "fake_file", "config": {"width": 3}, "state_dict": half}, fake_kind, "file.pt: fake")
    assert model.weight.dtype == torch.float32 and not model.training
    assert torch.equal(model.weight, trained.weight.half().float())


def test_build_part_refuses_weights_that_do_not_fit_and_configs_of_another_kind(fake_kind):
    part = {"kind": "fake_file", "config": {"width": 4}, "state_dict": nn.Linear(3, 2).state_dict()}
    with pytest.raises(ValueError, match=r"^file.pt: fake: the stored weights do not fit the 'fake_file' model"):
        build_part(part, fake_kind, "file.pt: fake")
    with pytest.raises(ValueError, match=r"^file.pt: fake: its config does not describe a 'fake' model"):
        build_part({**part, "config": {"colour": 1}}, fake_kind, "file.pt: fake")


def test_the_lstm_kind_builds_what_build_lstm_builds():
    from helpers.models.lstm import LstmConfig, build_lstm

    lstm = LstmConfig(vocab_size=40, embed_dim=8, hidden_dim=8)
    built = build_model("lstm", lstm.to_state(), seed=3)
    direct = build_lstm(lstm, seed=3)
    assert all(torch.equal(a, b) for a, b in zip(built.state_dict().values(), direct.state_dict().values()))


def test_the_joint_kind_rebuilds_a_joint_part():
    from helpers.models.joint import JointConfig, build_joint

    joint = JointConfig(vocab_size=40, image_dim=16, width=8, embed_dim=8, lstm_hidden=8)
    part = {"kind": "joint", "config": joint.to_state(), "state_dict": build_joint(joint, 1).state_dict()}
    rebuilt = build_part(part, "joint", "joint")
    assert all(torch.equal(a, b) for a, b in zip(rebuilt.state_dict().values(),
                                                 build_joint(joint, 1).state_dict().values()))


def test_the_text_encoder_kind_rebuilds_an_encoder_part(tmp_path):
    from helpers.models.text_encoder import TextEncoderConfig, build_caption_encoder, hf_config_dict, load_encoder
    from tests.encoder_fakes import tiny_encoder_folder

    _, encoder = load_encoder(tiny_encoder_folder(tmp_path))
    model = build_caption_encoder(encoder, TextEncoderConfig(source="tiny", hf_config=hf_config_dict(encoder)), 3)
    part = {"kind": "text_encoder", "config": model.config.to_state(), "state_dict": model.state_dict()}
    rebuilt = build_part(part, "text_encoder", "encoder")
    assert all(torch.equal(a, b) for a, b in zip(rebuilt.state_dict().values(), model.state_dict().values()))
    assert not rebuilt.training


def test_the_registry_module_has_no_scratch_branch():
    import inspect

    assert "SCRATCH_NAME" not in inspect.getsource(registry)  # the image config's builder handles the network
