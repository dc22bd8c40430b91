"""helpers.predictor.predictor: round trips, PIL inputs, float16, bad rows, the joint model, random state."""
from __future__ import annotations

import random
from dataclasses import asdict

import numpy as np
import pytest
import torch

import helpers.predictor.predictor as predictor_module
from helpers.core.labels import LABEL_IDS, N_LABELS
from helpers.data.images import ImageError, load_rgb, load_rgb_resized
from helpers.fusion.methods import FusionMethod, fit_fusion
from helpers.models.image_model import image_transform
from helpers.models.joint import JointConfig, build_joint
from helpers.predictor.file import (
    FORMAT_VERSION,
    JointPart,
    ModelPart,
    build_predictor_bundle,
    image_part,
    save_predictor,
)
from helpers.predictor.predictor import (
    PROBABILITY_COLUMNS,
    Predictor,
    measure_predict_throughput,
)
from helpers.text.vocabulary import encode
from tests.predictor.fakes import DIM, SIZE, bundle_of, by_hand, demo_rows, image_config


@pytest.mark.parametrize("arch, preprocessing", [("B", "reference"), ("A", "reference"), ("A", "weights")])
def test_round_trip_gives_identical_probabilities(tmp_path, demo, parts, arch, preprocessing):
    paths, captions = demo_rows(demo)
    bundle = bundle_of(parts, arch, preprocessing)
    in_memory = Predictor.from_bundle(bundle).predict(paths, captions, batch_size=7, device="cpu")
    path = save_predictor(tmp_path / "predictor.pt", bundle)
    loaded = Predictor.load(path)
    again = loaded.predict(paths, captions, batch_size=64, device="cpu")
    assert list(again.columns) == ["labels", *PROBABILITY_COLUMNS]
    assert len(again) == len(paths)
    np.testing.assert_array_equal(again[PROBABILITY_COLUMNS].to_numpy(), in_memory[PROBABILITY_COLUMNS].to_numpy())
    assert again["labels"].tolist() == in_memory["labels"].tolist()
    # by hand in float32; the predictor runs image networks at the pipeline's inference precision (bf16 autocast on
    # CPUs with fast bf16), which moves probabilities by ~1e-5 (a wrong preprocessing step moves them by ~1e-2)
    np.testing.assert_allclose(again[PROBABILITY_COLUMNS].to_numpy(),
                               by_hand(parts, paths, captions, arch, preprocessing), atol=1e-3)
    assert all(labels and set(labels) <= set(LABEL_IDS) for labels in again["labels"])  # fallback: never empty
    saved = torch.load(path, weights_only=True)  # nothing unpickled
    assert saved["format_version"] == FORMAT_VERSION and saved["labels"]["ids"] == list(LABEL_IDS)
    assert saved["project_version"] and saved["torch_version"] == torch.__version__
    assert saved["image"]["preprocessing"] == preprocessing and len(saved["image"]["mean"]) == 3


def test_pil_images_give_the_same_result_as_paths(demo, parts):
    paths, captions = demo_rows(demo)
    predictor = Predictor.from_bundle(bundle_of(parts))
    from_paths = predictor.predict(paths[:4], captions[:4], device="cpu")[PROBABILITY_COLUMNS].to_numpy()
    decoded = predictor.predict([load_rgb_resized(p, SIZE) for p in paths[:4]], captions[:4], device="cpu")
    np.testing.assert_array_equal(decoded[PROBABILITY_COLUMNS].to_numpy(), from_paths)
    # a full-size image is decoded without JPEG draft mode, so its pixels differ slightly from the file's
    full_size = predictor.predict([load_rgb(p) for p in paths[:4]], captions[:4], device="cpu")
    np.testing.assert_allclose(full_size[PROBABILITY_COLUMNS].to_numpy(), from_paths, atol=1e-3)


def test_float16_file_stores_half_the_weights_and_keeps_the_decisions(tmp_path, demo, parts):
    paths, captions = demo_rows(demo)
    bundle = bundle_of(parts)
    full = Predictor.load(save_predictor(tmp_path / "f32.pt", bundle)).predict(paths, captions, device="cpu")
    half_path = save_predictor(tmp_path / "f16.pt", bundle, half=True)
    saved = torch.load(half_path, weights_only=True)
    weights = [saved["image"]["model"], *saved["text"]["models"]]
    floats = [v for part in weights for v in part["state_dict"].values() if torch.is_floating_point(v)]
    assert saved["half"] and floats and all(v.dtype == torch.float16 for v in floats)
    assert saved["fusion"]["lam"].dtype == torch.float64  # the fusion's few numbers keep full precision
    half = Predictor.load(half_path).predict(paths, captions, device="cpu")
    change = np.abs(half[PROBABILITY_COLUMNS].to_numpy() - full[PROBABILITY_COLUMNS].to_numpy()).max()
    differing = sum(a != b for a, b in zip(half["labels"], full["labels"]))
    assert change < 1e-2
    assert differing <= 1, f"{differing} of {len(paths)} rows changed their labels in float16"


def test_throughput_is_rows_over_the_timed_call_with_a_one_batch_warm_up(demo, parts, monkeypatch):
    paths, captions = demo_rows(demo)
    predictor = Predictor.from_bundle(bundle_of(parts))
    seen, clock = [], iter([100.0, 104.0])
    monkeypatch.setattr(predictor, "predict", lambda images, *args, **kwargs: seen.append(len(images)))
    monkeypatch.setattr(predictor_module.time, "perf_counter", lambda: next(clock))
    rate = measure_predict_throughput(predictor, paths, captions, batch_size=8, device="cpu")
    assert seen == [8, len(paths)]  # the warm-up batch is not timed
    assert rate == len(paths) / 4.0


def _random_state():
    return torch.get_rng_state(), np.random.get_state(), random.getstate()


def _same_state(before, after):
    assert torch.equal(before[0], after[0])
    assert before[1][0] == after[1][0] and np.array_equal(before[1][1], after[1][1]) and before[1][2:] == after[1][2:]
    assert before[2] == after[2]


def test_loading_and_predicting_leave_the_callers_random_state_alone(tmp_path, demo, parts):
    path = save_predictor(tmp_path / "predictor.pt", bundle_of(parts))
    paths, captions = demo_rows(demo)
    torch.manual_seed(123), np.random.seed(123), random.seed(123)
    before = _random_state()
    predictor = Predictor.load(path)
    _same_state(before, _random_state())
    predictor.predict(paths[:5], captions[:5], batch_size=2, device="cpu")
    _same_state(before, _random_state())
    expected = torch.rand(3)  # and the caller's next draw is the one it would have made
    torch.manual_seed(123)
    assert torch.equal(torch.rand(3), expected)

def test_bad_rows_are_refused_before_anything_runs(demo, parts):
    paths, captions = demo_rows(demo)
    predictor = Predictor.from_bundle(bundle_of(parts))
    with pytest.raises(ValueError, match=r"empty caption.*row 1"):
        predictor.predict(paths[:3], [captions[0], "   ", captions[2]])
    with pytest.raises(ImageError, match="row 2: .*nowhere.jpg"):
        predictor.predict([*paths[:2], demo / "nowhere.jpg"], captions[:3])
    with pytest.raises(ValueError, match="3 images but 2 captions"):
        predictor.predict(paths[:3], captions[:2])


def test_joint_model_bundle_predicts_from_backbone_features(tmp_path, demo, parts):
    paths, captions = demo_rows(demo)
    config = JointConfig(vocab_size=len(parts["vocab"]), image_dim=DIM, width=8, embed_dim=8, lstm_hidden=8)
    model = build_joint(config).eval()
    rng = np.random.default_rng(1)
    y = (rng.random((60, N_LABELS)) < 0.3).astype(np.uint8)
    fusion = fit_fusion(FusionMethod("joint, tuned cut-offs", "image", "label", sources=("joint concat", "text")), y,
                        rng.random((60, N_LABELS)), rng.random((60, N_LABELS)))
    image = image_part("cnn_B", image_config("B"), parts["B"].state_dict())  # its backbone gives the features
    joint = JointPart("joint concat", ModelPart.of("joint", asdict(config), model), parts["encoding"])
    with pytest.raises(ValueError, match="uses source.*joint concat"):
        build_predictor_bundle(fusion=fusion, joint=joint)  # no image model for its features
    no_features = image_part("cnn_A", image_config("A"), parts["A"].state_dict())
    with pytest.raises(ValueError, match="image features"):
        build_predictor_bundle(fusion=fusion, image=no_features, joint=joint)
    path = save_predictor(tmp_path / "joint.pt", build_predictor_bundle(fusion=fusion, image=image, joint=joint))
    got = Predictor.load(path).predict(paths, captions, device="cpu")
    with torch.inference_mode():
        x = torch.stack([image_transform(SIZE)(load_rgb_resized(p, SIZE)) for p in paths])
        tokens, lengths = encode(parts["pre"].tokenize_all(captions), parts["vocab"], parts["encoding"].config.max_len)
        p_joint = torch.sigmoid(model(parts["B"].backbone(x), tokens, lengths)).numpy()
    expected = fusion.proba(p_joint, np.zeros_like(p_joint))
    np.testing.assert_allclose(got[PROBABILITY_COLUMNS].to_numpy(), expected, atol=1e-3)
    # an architecture-A image model carries the joint model's feature extractor beside it
    features = ModelPart.of("features", image_config("A"), parts["B"].backbone)
    beside = image_part("cnn_A", image_config("A"), parts["A"].state_dict(), features=features)
    again = Predictor.from_bundle(build_predictor_bundle(fusion=fusion, image=beside, joint=joint)).predict(
        paths, captions)
    np.testing.assert_array_equal(again[PROBABILITY_COLUMNS].to_numpy(), got[PROBABILITY_COLUMNS].to_numpy())


def test_caption_encoder_bundle_predicts_offline_from_the_one_file(tmp_path, demo, parts):
    from helpers.models.text_encoder import (
        TextEncoderConfig,
        build_caption_encoder,
        encoder_to_state,
        hf_config_dict,
        load_encoder,
        predict_captions,
    )
    from helpers.predictor.file import EncoderPart, PredictorFile
    from helpers.report.size_budget import predictor_components
    from tests.encoder_fakes import tiny_encoder_folder

    paths, captions = demo_rows(demo)
    folder = tiny_encoder_folder(tmp_path / "tiny")
    tokenizer, encoder = load_encoder(folder)
    config = TextEncoderConfig(source=str(folder), hf_config=hf_config_dict(encoder), max_length=16)
    model = build_caption_encoder(encoder, config, seed=2).eval()
    rng = np.random.default_rng(1)
    y = (rng.random((60, N_LABELS)) < 0.3).astype(np.uint8)
    fusion = fit_fusion(FusionMethod("image + encoder", "logistic", "label", sources=("image", "encoder")), y,
                        rng.random((60, N_LABELS)), rng.random((60, N_LABELS)))
    image = image_part("cnn_B", image_config("B"), parts["B"].state_dict())
    with pytest.raises(ValueError, match="uses source.*encoder"):
        build_predictor_bundle(fusion=fusion, image=image)  # no encoder in the file
    part = EncoderPart.from_encoder_state(encoder_to_state(model, tokenizer))
    path = save_predictor(tmp_path / "enc.pt", build_predictor_bundle(fusion=fusion, image=image, encoder=part))
    for name in list(folder.iterdir()):  # the file alone must do: no folder, no download
        name.unlink()
    loaded = Predictor.load(path)
    got = loaded.predict(paths, captions, device="cpu")
    with torch.inference_mode():
        x = torch.stack([image_transform(SIZE)(load_rgb_resized(p, SIZE)) for p in paths])
        p_image = torch.sigmoid(parts["B"](x)).numpy()
    p_text = predict_captions(model, tokenizer, captions)
    np.testing.assert_allclose(got[PROBABILITY_COLUMNS].to_numpy(), fusion.proba(p_image, p_text), atol=1e-3)
    assert "caption encoder" in loaded.describe()
    half = Predictor.load(save_predictor(tmp_path / "enc16.pt", build_predictor_bundle(
        fusion=fusion, image=image, encoder=part), half=True))
    assert half.file.encoder.model.state_dict["head.linear.weight"].dtype == torch.float16
    np.testing.assert_allclose(half.predict(paths, captions)[PROBABILITY_COLUMNS].to_numpy(),
                               got[PROBABILITY_COLUMNS].to_numpy(), atol=2e-2)
    components = predictor_components(PredictorFile.from_state(torch.load(path, weights_only=True)))
    encoder_row = components[components["component"] == "caption encoder (text_encoder)"].iloc[0]
    assert encoder_row["parameters"] == sum(p.numel() for p in model.parameters())
    assert components["component"].str.startswith("caption encoder's tokenizer").sum() == 1
