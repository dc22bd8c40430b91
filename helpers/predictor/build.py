"""Building notebook 05's predictor file from what notebooks 02-04 hand over, and measuring it (table21).

The weights are read from the files each producer lists in its summary (never re-derived): the image
model from the "cnn" summary, the caption LSTMs from the "lstm" summary (float32 files; a listed
<stem>_fp16 copy is skipped, half precision is the bundle's own choice), a joint model from its own
summary; the caption dictionary and preprocessing from notebook 02's encoded captions of the variant
each text model was trained on.
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from helpers.core.config import RunPaths
from helpers.fusion.methods import FittedFusion
from helpers.models.weights import MB, load_weights, tensor_bytes
from helpers.predictor.file import (
    CaptionEncoding,
    JointPart,
    ModelPart,
    TextPart,
    build_predictor_bundle,
    image_part,
    used_sources,
)
from helpers.text.encoding import load_encoded

# ---- from report/predictor_build
JOINT_TEXT_VARIANT = "standard"  # the encoded captions the joint model trains on (helpers.train.joint_training)


def _listed(paths: RunPaths, summary: Mapping[str, Any], model: str) -> list[Path]:
    listed = [Path(p) if Path(p).is_absolute() else paths.out_dir / p for p in summary.get("weights", [])]
    kept = [p for p in listed if not p.stem.endswith("_fp16")]
    if not kept:
        raise FileNotFoundError(f"the {model!r} summary lists no weights file ('weights'); rerun the notebook that "
                                "trains it (same DATA_DIR / OUT_DIR)")
    return kept


def bundle_from_handoffs(paths: RunPaths, fusion: FittedFusion, summaries: Mapping[str, Mapping[str, Any]], *,
                         joint_models: Mapping[str, str] | None = None, half: bool = False,
                         description: str = "") -> dict[str, Any]:
    """The predictor bundle of a fitted fusion rule, from the producers' summaries and files.

    summaries: {"cnn": ..., "lstm": ..., <joint artifact>: ...} as notebook 05 loads them;
    joint_models: {fusion source name: artifact name}, e.g. {"joint concat": "joint_concat"} (entries for
    "image" and "text" are ignored, so notebook 05's model_of can be passed as it is).
    Only the models the fusion rule uses go in (a joint model brings the image backbone with it).
    """
    used = used_sources(fusion)
    joint_models = {s: a for s, a in (joint_models or {}).items() if s not in ("image", "text")}
    joint_name = next((s for s in used if s in joint_models), None)
    image = text = joint = None
    if "image" in used or joint_name:
        cnn = summaries["cnn"]
        saved = load_weights(_listed(paths, cnn, "cnn")[0])
        image = image_part(saved.kind, saved.config, saved.state_dict)
    if "text" in used:
        lstm = summaries["lstm"]
        models = [ModelPart.from_weights(load_weights(p, kind="lstm")) for p in _listed(paths, lstm, "lstm")]
        encoded = load_encoded(paths, lstm.get("text_variant", "standard"))
        text = TextPart(models, CaptionEncoding.from_encoded(encoded))
    if joint_name:
        artifact = joint_models[joint_name]
        weights = load_weights(_listed(paths, summaries[artifact], artifact)[0], kind="joint")
        joint = JointPart(joint_name, ModelPart.from_weights(weights),
                          CaptionEncoding.from_encoded(load_encoded(paths, JOINT_TEXT_VARIANT)))
    return build_predictor_bundle(fusion=fusion, image=image, text=text, joint=joint, half=half,
                                  description=description)


def predictor_components(bundle: Mapping[str, Any]) -> pd.DataFrame:
    """table21 rows of the predictor itself (size_budget's columns): one per network, with its parameters and MB
    at float32 / float16, and one for the caption dictionaries (size_budget.with_total adds the total)."""
    rows = []

    def add(component: str, part: Mapping[str, Any] | None) -> None:
        if part is not None:
            state = part["state_dict"]
            rows.append({"model": "predictor", "component": f"{component} ({part['kind']})",
                         "parameters": int(sum(v.numel() for v in state.values() if torch.is_floating_point(v))),
                         "float32_MB": tensor_bytes(state) / MB, "float16_MB": tensor_bytes(state, half=True) / MB})

    image = bundle.get("image") or {}
    add("image model", image.get("model"))
    add("image features", image.get("features"))
    for i, part in enumerate((bundle.get("text") or {}).get("models", [])):
        add(f"caption model {i + 1}", part)
    if bundle.get("joint"):
        add(bundle["joint"]["name"], bundle["joint"]["model"])
    vocabs = [section["encoding"]["vocab"] for section in (bundle.get("text"), bundle.get("joint")) if section]
    text_mb = sum(len(w.encode("utf-8")) + 1 for vocab in vocabs for w in vocab) / MB
    rows.append({"model": "predictor", "component": f"caption dictionaries ({sum(map(len, vocabs))} words)",
                 "parameters": 0, "float32_MB": text_mb, "float16_MB": text_mb})
    return pd.DataFrame(rows)
