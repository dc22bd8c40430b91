"""helpers.predictor.build: the predictor built from the notebooks' hand-offs."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from helpers.core.config import RunPaths
from helpers.core.handoff import encoded_captions_path
from helpers.core.labels import N_LABELS
from helpers.models.weights import MB, count_parameters, save_weights, tensor_bytes, to_half
from helpers.predictor.build import bundle_from_handoffs, handoff_parts
from helpers.predictor.file import PredictorFile
from helpers.predictor.predictor import (
    PROBABILITY_COLUMNS,
    Predictor,
)
from helpers.report.size_budget import predictor_components
from helpers.text.encoding import EncodedText, save_encoded
from tests.predictor.fakes import bundle_of, demo_rows, image_config, write_handoffs


def test_bundle_from_the_notebooks_hand_offs_equals_the_bundle_from_the_models(tmp_path, demo, parts):
    paths = RunPaths(demo, tmp_path)
    cnn_config = image_config("B")
    cnn_file = save_weights(paths.checkpoints / "cnn_final_B.pt", kind="cnn_B", config=cnn_config,
                            state_dict=parts["B"].state_dict())
    lstm_files = []
    for seed, model in enumerate(parts["lstms"]):
        config = model.config.to_state()
        lstm_files += [save_weights(paths.checkpoints / f"lstm_seed{seed}{suffix}.pt", kind="lstm", config=config,
                                    state_dict=state)
                       for suffix, state in (("", model.state_dict()), ("_fp16", to_half(model.state_dict())))]
    pre, empty = parts["pre"], torch.zeros(0, 20, dtype=torch.long)
    encoded = EncodedText("standard", parts["vocab"], 20, *(np.array([], dtype=str),) * 3, empty, empty, empty,
                          *(torch.zeros(0, dtype=torch.long),) * 3, torch.zeros(0, N_LABELS),
                          torch.zeros(0, N_LABELS), config=pre.describe())
    save_encoded(encoded_captions_path(paths, "standard"), encoded, key="test")
    summaries = {"cnn": {"weights": [str(cnn_file)], "config": cnn_config},
                 "lstm": {"weights": [str(p.relative_to(tmp_path)) for p in lstm_files], "text_variant": "standard"}}
    built = bundle_from_handoffs(paths, parts["fusion"], summaries)
    assert len(built["text"]["models"]) == 2  # the listed _fp16 copies are not a third and fourth model
    rows = demo_rows(demo)
    got = Predictor.from_bundle(built).predict(*rows, device="cpu")
    expected = Predictor.from_bundle(bundle_of(parts)).predict(*rows, device="cpu")
    np.testing.assert_array_equal(got[PROBABILITY_COLUMNS].to_numpy(), expected[PROBABILITY_COLUMNS].to_numpy())
    sizes = predictor_components(PredictorFile.from_state(built))
    names = ["image model (cnn_B)", "caption model 1 (lstm)", "caption model 2 (lstm)"]
    assert sizes["component"].tolist()[:3] == names
    models = (parts["B"], *parts["lstms"])
    assert sizes["parameters"].sum() == sum(count_parameters(m) for m in models)
    floats = sum(v.numel() for m in models for v in m.state_dict().values() if v.is_floating_point())
    assert sizes["parameters"].sum() < floats  # batch-norm running statistics are buffers, not parameters
    assert sizes["float32_MB"].iloc[0] == tensor_bytes(parts["B"].state_dict()) / MB  # buffers are stored, though
    # float16 halves the floating tensors; the batch-norm step counters (int64) keep their size
    assert sizes["float16_MB"].iloc[:3].sum() == pytest.approx(sizes["float32_MB"].iloc[:3].sum() / 2, rel=1e-3)


def test_handoff_parts_hold_every_model_and_each_row_gets_the_parts_it_needs(tmp_path, demo, parts):
    paths = RunPaths(demo, tmp_path)
    summaries = write_handoffs(paths, parts)
    handed = handoff_parts(paths, summaries)
    assert handed.image is not None and handed.text is not None and not handed.joints
    image_only = handed.predictor_file(parts["fusion"], ["image"])
    assert image_only.image is handed.image and image_only.text is None
    both = handed.predictor_file(parts["fusion"])  # default: the sources the fusion uses, checked
    assert both.image is handed.image and both.text is handed.text
    with pytest.raises(ValueError, match="uses source"):
        PredictorFile(parts["fusion"], image=handed.image).check_sources()  # the fusion needs the text model too
    assert handoff_parts(paths, summaries, sources=["text"]).image is None  # only what is asked for is read


def test_the_handed_over_caption_encoder_goes_into_the_file_of_a_fusion_that_uses_it(tmp_path, demo, parts):
    from helpers.core.files import write_atomic
    from helpers.fusion.methods import FusionMethod, fit_fusion
    from helpers.models.text_encoder import (
        TextEncoderConfig,
        build_caption_encoder,
        encoder_to_state,
        hf_config_dict,
        load_encoder,
    )
    from tests.encoder_fakes import tiny_encoder_folder

    paths = RunPaths(demo, tmp_path)
    summaries = write_handoffs(paths, parts)
    tokenizer, encoder = load_encoder(tiny_encoder_folder(tmp_path / "tiny"))
    model = build_caption_encoder(encoder, TextEncoderConfig(source="tiny", hf_config=hf_config_dict(encoder)))
    state_file = paths.checkpoints / "encoder_predictor_state.pt"
    write_atomic(state_file, lambda tmp: torch.save(encoder_to_state(model, tokenizer), tmp))
    summaries["encoder"] = {"model": "encoder", "weights": [str(state_file.relative_to(paths.out_dir))]}
    handed = handoff_parts(paths, summaries)
    assert handed.encoder is not None and handed.encoder.model.kind == "text_encoder"
    assert handoff_parts(paths, summaries, sources=["image", "text"]).encoder is None  # read only when asked for
    assert handed.predictor_file(parts["fusion"]).encoder is None  # an image + LSTM fusion leaves it out
    rng = np.random.default_rng(0)
    with_encoder = fit_fusion(FusionMethod("enc", "average", "label", sources=("image", "encoder")),
                              (rng.random((40, N_LABELS)) < 0.3).astype(np.uint8), rng.random((40, N_LABELS)),
                              rng.random((40, N_LABELS)))
    file = handed.predictor_file(with_encoder)
    assert file.encoder is handed.encoder and file.text is None and file.image is handed.image
