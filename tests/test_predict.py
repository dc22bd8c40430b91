"""The predictor file and helpers.predictor.predictor: round trips, float16, the command line, and bad input."""
from __future__ import annotations

from dataclasses import asdict

import numpy as np
import pandas as pd
import pytest
import torch

from helpers.core.config import RunPaths
from helpers.core.labels import LABEL_IDS, N_LABELS
from helpers.data.csv_format import read_test_csv
from helpers.data.images import ImageError, load_rgb, load_rgb_resized
from helpers.data.submission import read_submission
from helpers.demo import generate_demo_data
from helpers.fusion.methods import FusionMethod, fit_fusion
from helpers.models.backbones import DEFAULT_WIDTHS, SCRATCH_NAME, ScratchResNet
from helpers.models.image_model import FeatureHead, FrozenBackbone, feature_extractor, image_transform
from helpers.models.joint import JointConfig, build_joint
from helpers.models.lstm import LstmConfig, build_lstm, lstm_config
from helpers.models.weights import save_weights, to_half
from helpers.predictor.build import bundle_from_handoffs, predictor_components
from helpers.predictor.cli import main
from helpers.predictor.file import (
    FORMAT_VERSION,
    CaptionEncoding,
    JointPart,
    ModelPart,
    PredictorFileError,
    TextPart,
    build_predictor_bundle,
    image_part,
    save_predictor,
)
from helpers.predictor.predictor import (
    PROBABILITY_COLUMNS,
    Predictor,
    differing_rows,
    measure_predict_throughput,
)
from helpers.text.encoding import EncodedText, encoded_path, save_encoded
from helpers.text.preprocessing import Preprocessor, TextConfig
from helpers.text.stopwords import bundled_stopwords
from helpers.text.vocabulary import build_vocab, encode

SIZE = 32
DIM = DEFAULT_WIDTHS[-1]  # the from-scratch network's feature size


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return generate_demo_data(tmp_path_factory.mktemp("demo"), 40, 20, seed=0, workers=1, progress=False)


@pytest.fixture(scope="module")
def parts(demo):
    """Small random models of every kind the bundle holds, a caption encoding and a fitted fusion rule."""
    torch.manual_seed(0)
    head = FeatureHead(DIM, hidden=(6,), dropout=0.1)
    head.set_standardisation(torch.randn(64, DIM))
    frozen, network = FrozenBackbone(feature_extractor(ScratchResNet()), head), ScratchResNet()
    for module in (frozen.backbone, network):  # non-trivial batch-norm statistics
        module.train()
        with torch.no_grad():
            module(torch.randn(16, 3, SIZE, SIZE))
    frozen.eval(), network.eval()
    train = pd.read_csv(demo / "train.csv")
    config, stopwords = TextConfig(), bundled_stopwords()
    pre = Preprocessor(config, _stopwords(stopwords), download=False)
    vocab = build_vocab(pre.tokenize_all(train["Caption"]))
    lstms = [build_lstm(lstm_config(len(vocab), LstmConfig(embed_dim=8, hidden_dim=8))).eval() for _ in range(2)]
    rng = np.random.default_rng(0)
    y = (rng.random((60, N_LABELS)) < 0.3).astype(np.uint8)
    p1, p2 = rng.random((60, N_LABELS)), rng.random((60, N_LABELS))
    fusion = fit_fusion(FusionMethod("per-label λ", "label_average", "label"), y, p1, p2)
    encoding = CaptionEncoding(config, vocab, stopwords, pre.normalizer_name)
    return {"B": frozen, "A": network, "lstms": lstms, "fusion": fusion, "encoding": encoding, "pre": pre,
            "vocab": vocab}


def _image_config(arch: str, preprocessing: str = "reference") -> dict:
    return {"arch": arch, "backbone": SCRATCH_NAME, "head_hidden": [6], "head_dropout": 0.1, "image_size": SIZE,
            "preprocessing": preprocessing}


def _stopwords(words):
    from helpers.text.stopwords import StopWords

    return StopWords(frozenset(words), "test")


def _bundle(parts, arch: str = "B", preprocessing: str = "reference", **kwargs):
    image = image_part(f"cnn_{arch}", _image_config(arch, preprocessing), parts[arch].state_dict())
    text = TextPart([ModelPart.of("lstm", lstm_config(len(parts["vocab"]), m.config), m) for m in parts["lstms"]],
                    parts["encoding"])
    return build_predictor_bundle(fusion=parts["fusion"], image=image, text=text, **kwargs)


def _test_rows(demo):
    rows = read_test_csv(demo / "test.csv")
    return [demo / "data" / i for i in rows["ImageID"]], rows["Caption"].tolist()


@torch.inference_mode()
def _by_hand(parts, paths, captions, arch="B", preprocessing="reference"):
    """The fused probabilities computed directly from the original modules (not through the bundle)."""
    load = (lambda p: load_rgb_resized(p, SIZE)) if preprocessing == "reference" else load_rgb
    x = torch.stack([image_transform(SIZE, preprocessing)(load(p)) for p in paths])
    logits = parts[arch](x)
    tokens, lengths = encode(parts["pre"].tokenize_all(captions), parts["vocab"], parts["encoding"].config.max_len)
    text = np.mean([torch.sigmoid(m(tokens, lengths)).numpy() for m in parts["lstms"]], axis=0)
    return parts["fusion"].proba(torch.sigmoid(logits).numpy(), text)


@pytest.mark.parametrize("arch, preprocessing", [("B", "reference"), ("A", "reference"), ("A", "weights")])
def test_round_trip_gives_identical_probabilities(tmp_path, demo, parts, arch, preprocessing):
    paths, captions = _test_rows(demo)
    bundle = _bundle(parts, arch, preprocessing)
    in_memory = Predictor(bundle).predict(paths, captions, batch_size=7, device="cpu")
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
                               _by_hand(parts, paths, captions, arch, preprocessing), atol=1e-3)
    assert all(labels and set(labels) <= set(LABEL_IDS) for labels in again["labels"])  # fallback: never empty
    saved = torch.load(path, weights_only=True)  # nothing unpickled
    assert saved["format_version"] == FORMAT_VERSION and saved["labels"]["ids"] == list(LABEL_IDS)
    assert saved["project_version"] and saved["torch_version"] == torch.__version__
    assert saved["image"]["preprocessing"] == preprocessing and len(saved["image"]["mean"]) == 3


def test_pil_images_give_the_same_result_as_paths(demo, parts):
    paths, captions = _test_rows(demo)
    predictor = Predictor(_bundle(parts))
    from_paths = predictor.predict(paths[:4], captions[:4], device="cpu")[PROBABILITY_COLUMNS].to_numpy()
    decoded = predictor.predict([load_rgb_resized(p, SIZE) for p in paths[:4]], captions[:4], device="cpu")
    np.testing.assert_array_equal(decoded[PROBABILITY_COLUMNS].to_numpy(), from_paths)
    # a full-size image is decoded without JPEG draft mode, so its pixels differ slightly from the file's
    full_size = predictor.predict([load_rgb(p) for p in paths[:4]], captions[:4], device="cpu")
    np.testing.assert_allclose(full_size[PROBABILITY_COLUMNS].to_numpy(), from_paths, atol=1e-3)


def test_float16_file_stores_half_the_weights_and_keeps_the_decisions(tmp_path, demo, parts):
    paths, captions = _test_rows(demo)
    bundle = _bundle(parts)
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


def test_command_line_writes_the_same_labels_as_predict(tmp_path, demo, parts, capsys):
    model = save_predictor(tmp_path / "predictor.pt", _bundle(parts))
    out, probs = tmp_path / "labels.csv", tmp_path / "probs.csv"
    assert main(["--model", str(model), "--data-dir", str(demo), "--out", str(out), "--probabilities",
                 str(probs), "--batch-size", "8"]) == 0
    rows = read_test_csv(demo / "test.csv")
    written = read_submission(out, rows["ImageID"])  # validated: header, order, known labels, no empty row
    paths, captions = _test_rows(demo)
    expected = Predictor.load(model).predict(paths, captions, device="cpu")
    assert written["Labels"].tolist() == [" ".join(map(str, labels)) for labels in expected["labels"]]
    assert out.read_text().splitlines()[0] == "ImageID,Labels"
    table = pd.read_csv(probs)
    assert table["ImageID"].tolist() == rows["ImageID"].tolist()
    np.testing.assert_allclose(table[PROBABILITY_COLUMNS].to_numpy(), expected[PROBABILITY_COLUMNS].to_numpy(),
                               atol=1e-6)
    assert "wrote" in capsys.readouterr().out
    predictor = Predictor.load(model)
    assert differing_rows(predictor, demo, out).empty
    lines = out.read_text().splitlines()
    changed = "19" if lines[1].split(",")[1] != "19" else "1"
    lines[1] = f"{lines[1].split(',')[0]},{changed}"
    out.write_text("\n".join(lines) + "\n")
    assert differing_rows(predictor, demo, out)["submission"].tolist() == [changed]


def test_throughput_is_measured(demo, parts):
    paths, captions = _test_rows(demo)
    assert measure_predict_throughput(Predictor(_bundle(parts)), paths, captions, device="cpu") > 0


def test_missing_corrupt_and_foreign_model_files_are_named(tmp_path, parts):
    with pytest.raises(PredictorFileError, match="not found"):
        Predictor.load(tmp_path / "nothing.pt")
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"this is not a torch file")
    with pytest.raises(PredictorFileError, match="garbage.pt.*damaged"):
        Predictor.load(garbage)
    whole = save_predictor(tmp_path / "whole.pt", _bundle(parts))
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(PredictorFileError, match="truncated.pt.*damaged"):
        Predictor.load(truncated)
    weights = save_weights(tmp_path / "lstm.pt", kind="lstm", config={}, state_dict={})
    with pytest.raises(PredictorFileError, match="single-model weights file"):
        Predictor.load(weights)


def test_incompatible_format_version_is_refused(tmp_path, parts):
    bundle = {**_bundle(parts), "format_version": FORMAT_VERSION + 1, "project_version": "9.9.9"}
    path = save_predictor(tmp_path / "future.pt", bundle)
    with pytest.raises(PredictorFileError, match=f"version {FORMAT_VERSION + 1} .*9.9.9.*reads version"):
        Predictor.load(path)


def test_bad_rows_are_refused_before_anything_runs(demo, parts):
    paths, captions = _test_rows(demo)
    predictor = Predictor(_bundle(parts))
    with pytest.raises(ValueError, match=r"empty caption.*row 1"):
        predictor.predict(paths[:3], [captions[0], "   ", captions[2]])
    with pytest.raises(ImageError, match="row 2: .*nowhere.jpg"):
        predictor.predict([*paths[:2], demo / "nowhere.jpg"], captions[:3])
    with pytest.raises(ValueError, match="3 images but 2 captions"):
        predictor.predict(paths[:3], captions[:2])


def _copy_demo(demo, target):
    import shutil

    shutil.copytree(demo, target)
    return target


def _fails(capsys, model, data_dir, out, match):
    out.write_text("previous content\n")
    assert main(["--model", str(model), "--data-dir", str(data_dir), "--out", str(out)]) == 1
    assert out.read_text() == "previous content\n"  # nothing half-written, the old file kept
    err = capsys.readouterr().err
    assert match in err, err


def test_command_line_names_bad_input_and_writes_nothing(tmp_path, demo, parts, capsys):
    model = save_predictor(tmp_path / "predictor.pt", _bundle(parts))
    out = tmp_path / "labels.csv"
    _fails(capsys, tmp_path / "missing.pt", demo, out, "missing.pt: predictor file not found")

    broken = _copy_demo(demo, tmp_path / "no_image")
    first = read_test_csv(broken / "test.csv")["ImageID"].iloc[0]
    (broken / "data" / first).unlink()
    _fails(capsys, model, broken, out, f"line 2: {first} (missing image file)")

    header = _copy_demo(demo, tmp_path / "header")
    text = (header / "test.csv").read_text()
    (header / "test.csv").write_text(text.replace("ImageID,Caption", "ImageID,Text", 1))
    _fails(capsys, model, header, out, "wrong header, expected 'ImageID,Caption'")

    empty = _copy_demo(demo, tmp_path / "empty")
    lines = (empty / "test.csv").read_text().splitlines()
    lines[3] = lines[3].split(",", 1)[0] + ',"  "'
    (empty / "test.csv").write_text("\n".join(lines) + "\n")
    _fails(capsys, model, empty, out, "1 empty caption(s): line 4")


def test_joint_model_bundle_predicts_from_backbone_features(tmp_path, demo, parts):
    paths, captions = _test_rows(demo)
    config = JointConfig(vocab_size=len(parts["vocab"]), image_dim=DIM, width=8, embed_dim=8, lstm_hidden=8)
    model = build_joint(config).eval()
    rng = np.random.default_rng(1)
    y = (rng.random((60, N_LABELS)) < 0.3).astype(np.uint8)
    fusion = fit_fusion(FusionMethod("joint, tuned cut-offs", "image", "label", sources=("joint concat", "text")), y,
                        rng.random((60, N_LABELS)), rng.random((60, N_LABELS)))
    image = image_part("cnn_B", _image_config("B"), parts["B"].state_dict())  # its backbone gives the features
    joint = JointPart("joint concat", ModelPart.of("joint", asdict(config), model), parts["encoding"])
    with pytest.raises(ValueError, match="uses source.*joint concat"):
        build_predictor_bundle(fusion=fusion, joint=joint)  # no image model for its features
    no_features = image_part("cnn_A", _image_config("A"), parts["A"].state_dict())
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
    features = ModelPart.of("features", {"backbone": SCRATCH_NAME}, parts["B"].backbone)
    beside = image_part("cnn_A", _image_config("A"), parts["A"].state_dict(), features=features)
    again = Predictor(build_predictor_bundle(fusion=fusion, image=beside, joint=joint)).predict(paths, captions)
    np.testing.assert_array_equal(again[PROBABILITY_COLUMNS].to_numpy(), got[PROBABILITY_COLUMNS].to_numpy())


def test_bundle_from_the_notebooks_hand_offs_equals_the_bundle_from_the_models(tmp_path, demo, parts):
    paths = RunPaths(demo, tmp_path)
    cnn_config = _image_config("B")
    cnn_file = save_weights(paths.checkpoints / "cnn_final_B.pt", kind="cnn_B", config=cnn_config,
                            state_dict=parts["B"].state_dict())
    lstm_files = []
    for seed, model in enumerate(parts["lstms"]):
        config = lstm_config(len(parts["vocab"]), model.config)
        lstm_files += [save_weights(paths.checkpoints / f"lstm_seed{seed}{suffix}.pt", kind="lstm", config=config,
                                    state_dict=state)
                       for suffix, state in (("", model.state_dict()), ("_fp16", to_half(model.state_dict())))]
    pre, empty = parts["pre"], torch.zeros(0, 20, dtype=torch.long)
    encoded = EncodedText("standard", parts["vocab"], 20, *(np.array([], dtype=str),) * 3, empty, empty, empty,
                          *(torch.zeros(0, dtype=torch.long),) * 3, torch.zeros(0, N_LABELS),
                          torch.zeros(0, N_LABELS), config=pre.describe())
    save_encoded(encoded_path(paths, "standard"), encoded, key="test")
    summaries = {"cnn": {"weights": [str(cnn_file)], "config": cnn_config},
                 "lstm": {"weights": [str(p.relative_to(tmp_path)) for p in lstm_files], "text_variant": "standard"}}
    built = bundle_from_handoffs(paths, parts["fusion"], summaries)
    assert len(built["text"]["models"]) == 2  # the listed _fp16 copies are not a third and fourth model
    rows = _test_rows(demo)
    got = Predictor(built).predict(*rows, device="cpu")
    expected = Predictor(_bundle(parts)).predict(*rows, device="cpu")
    np.testing.assert_array_equal(got[PROBABILITY_COLUMNS].to_numpy(), expected[PROBABILITY_COLUMNS].to_numpy())
    sizes = predictor_components(built)
    names = ["image model (cnn_B)", "caption model 1 (lstm)", "caption model 2 (lstm)"]
    assert sizes["component"].tolist()[:3] == names
    models = (parts["B"], *parts["lstms"])
    floats = sum(v.numel() for m in models for v in m.state_dict().values() if v.is_floating_point())
    assert sizes["parameters"].sum() == floats
    # float16 halves the floating tensors; the batch-norm step counters (int64) keep their size
    assert sizes["float16_MB"].iloc[:3].sum() == pytest.approx(sizes["float32_MB"].iloc[:3].sum() / 2, rel=1e-3)
