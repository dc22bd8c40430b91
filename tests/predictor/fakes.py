"""Helpers of the predictor tests: configs, bundles, demo rows and the probabilities computed by hand."""
from __future__ import annotations

import numpy as np
import torch

from helpers.data.csv_format import read_test_csv
from helpers.data.images import load_rgb, load_rgb_resized
from helpers.models.backbones import DEFAULT_WIDTHS, SCRATCH_NAME
from helpers.models.image_model import image_transform
from helpers.predictor.file import (
    ModelPart,
    TextPart,
    build_predictor_bundle,
    image_part,
)
from helpers.text.vocabulary import encode

SIZE = 32


DIM = DEFAULT_WIDTHS[-1]  # the from-scratch network's feature size


def image_config(arch: str, preprocessing: str = "reference") -> dict:
    return {"arch": arch, "backbone": SCRATCH_NAME, "head_hidden": [6], "head_dropout": 0.1, "image_size": SIZE,
            "preprocessing": preprocessing}


def stopwords_of(words):
    from helpers.text.stopwords import StopWords

    return StopWords(frozenset(words), "test")


def bundle_of(parts, arch: str = "B", preprocessing: str = "reference", **kwargs):
    image = image_part(f"cnn_{arch}", image_config(arch, preprocessing), parts[arch].state_dict())
    text = TextPart([ModelPart.of("lstm", m.config.to_state(), m) for m in parts["lstms"]],
                    parts["encoding"])
    return build_predictor_bundle(fusion=parts["fusion"], image=image, text=text, **kwargs)


def demo_rows(demo):
    rows = read_test_csv(demo / "test.csv")
    return [demo / "data" / i for i in rows["ImageID"]], rows["Caption"].tolist()


@torch.inference_mode()
def by_hand(parts, paths, captions, arch="B", preprocessing="reference"):
    """The fused probabilities computed directly from the original modules (not through the bundle)."""
    load = (lambda p: load_rgb_resized(p, SIZE)) if preprocessing == "reference" else load_rgb
    x = torch.stack([image_transform(SIZE, preprocessing)(load(p)) for p in paths])
    logits = parts[arch](x)
    tokens, lengths = encode(parts["pre"].tokenize_all(captions), parts["vocab"], parts["encoding"].config.max_len)
    text = np.mean([torch.sigmoid(m(tokens, lengths)).numpy() for m in parts["lstms"]], axis=0)
    return parts["fusion"].proba(torch.sigmoid(logits).numpy(), text)


def copy_demo(demo, target):
    import shutil

    shutil.copytree(demo, target)
    return target


def write_handoffs(paths, parts) -> dict:
    """What notebooks 02-04 hand over for the predictor (an architecture-B image model, one caption LSTM and the
    encoded captions), under `paths`; returns the summaries notebook 05 reads."""
    import torch

    from helpers.core.handoff import encoded_captions_path
    from helpers.core.labels import N_LABELS
    from helpers.models.weights import save_weights
    from helpers.text.encoding import EncodedText, save_encoded

    cnn = save_weights(paths.checkpoints / "cnn_final_B.pt", kind="cnn_B", config=image_config("B"),
                       state_dict=parts["B"].state_dict())
    lstm = save_weights(paths.checkpoints / "lstm_seed0.pt", kind="lstm", config=parts["lstms"][0].config.to_state(),
                        state_dict=parts["lstms"][0].state_dict())
    empty = torch.zeros(0, 20, dtype=torch.long)
    encoded = EncodedText("standard", parts["vocab"], 20, *(np.array([], dtype=str),) * 3, empty, empty, empty,
                          *(torch.zeros(0, dtype=torch.long),) * 3, torch.zeros(0, N_LABELS),
                          torch.zeros(0, N_LABELS), config=parts["pre"].describe())
    save_encoded(encoded_captions_path(paths, "standard"), encoded, key="test")
    return {"cnn": {"weights": [str(cnn)], "train_time_s": 60.0, "test_time_s": 2.0, "model": "cnn B"},
            "lstm": {"weights": [str(lstm)], "train_time_s": 30.0, "test_time_s": 1.0, "model": "lstm"}}
