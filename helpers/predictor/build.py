"""Building notebook 05's predictor file from what notebooks 02-04 hand over (their summaries and files).

The weights are read from the files each producer lists in its summary (never re-derived): the image
model from the "cnn" summary, the caption LSTMs from the "lstm" summary (float32 files; a listed
<stem>_fp16 copy is skipped, half precision is the bundle's own choice), a joint model from its own
summary; the caption dictionary and preprocessing from notebook 02's encoded captions of the variant
each text model was trained on; the pretrained caption encoder (with its tokenizer) from the state file the
"encoder" summary lists.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from helpers.core.config import RunPaths
from helpers.fusion.methods import FittedFusion
from helpers.models.weights import load_weights
from helpers.predictor.file import (
    CaptionEncoding,
    EncoderPart,
    ImagePart,
    JointPart,
    ModelPart,
    PredictorFile,
    TextPart,
    image_part,
    used_sources,
)
from helpers.text.encoding import load_encoded

JOINT_TEXT_VARIANT = "standard"  # the encoded captions the joint model trains on (helpers.train.joint_training)


def _listed(paths: RunPaths, summary: Mapping[str, Any], model: str) -> list[Path]:
    listed = [Path(p) if Path(p).is_absolute() else paths.out_dir / p for p in summary.get("weights", [])]
    kept = [p for p in listed if not p.stem.endswith("_fp16")]
    if not kept:
        raise FileNotFoundError(f"the {model!r} summary lists no weights file ('weights'); rerun the notebook that "
                                "trains it (same DATA_DIR / OUT_DIR)")
    return kept


@dataclass
class HandoffParts:
    """Every model the producers handed over, as predictor-file parts: the image model, the caption models, and
    the joint models by fusion source name (each predicts from the image model's backbone features)."""

    image: ImagePart | None = None
    text: TextPart | None = None
    joints: dict[str, JointPart] = field(default_factory=dict)
    encoder: EncoderPart | None = None

    def predictor_file(self, fusion: FittedFusion, sources: Sequence[str] | None = None, half: bool = False,
                       description: str = "") -> PredictorFile:
        """The predictor file of `fusion` holding only the parts its sources need (default: the sources it uses);
        a joint model brings the image model with it (for its features)."""
        used = list(used_sources(fusion) if sources is None else sources)
        joint_name = next((s for s in used if s in self.joints), None)
        file = PredictorFile(fusion, image=self.image if "image" in used or joint_name else None,
                             text=self.text if "text" in used else None,
                             joint=self.joints[joint_name] if joint_name else None, half=half,
                             description=description, encoder=self.encoder if "encoder" in used else None)
        if sources is None:
            file.check_sources()
        return file


def handoff_parts(paths: RunPaths, summaries: Mapping[str, Mapping[str, Any]],
                  joint_models: Mapping[str, str] | None = None, sources: Sequence[str] | None = None
                  ) -> HandoffParts:
    """The parts of the models named by `sources` (default: all), read from the files their summaries list.

    summaries: {"cnn": ..., "lstm": ..., <joint artifact>: ...} as notebook 05 loads them;
    joint_models: {fusion source name: artifact name}, e.g. {"joint concat": "joint_concat"} (entries for
    "image" and "text" are ignored, so notebook 05's model_of can be passed as it is).
    """
    joint_models = {s: a for s, a in (joint_models or {}).items() if s not in ("image", "text", "encoder")}
    wanted = set(["image", "text", *joint_models] if sources is None else sources)
    if sources is None and "encoder" in summaries:
        wanted.add("encoder")
    joints = [s for s in joint_models if s in wanted]
    parts = HandoffParts()
    if "image" in wanted or joints:
        saved = load_weights(_listed(paths, summaries["cnn"], "cnn")[0])
        parts.image = image_part(saved.kind, saved.config, saved.state_dict)
    if "text" in wanted:
        lstm = summaries["lstm"]
        models = [ModelPart.from_weights(load_weights(p, kind="lstm")) for p in _listed(paths, lstm, "lstm")]
        encoded = load_encoded(paths, lstm.get("text_variant", "standard"))
        parts.text = TextPart(models, CaptionEncoding.from_encoded(encoded))
    if "encoder" in wanted:
        state = torch.load(_listed(paths, summaries["encoder"], "encoder")[0], map_location="cpu", weights_only=True)
        parts.encoder = EncoderPart.from_encoder_state(state)
    if joints:
        encoding = CaptionEncoding.from_encoded(load_encoded(paths, JOINT_TEXT_VARIANT))
        for name in joints:
            artifact = joint_models[name]
            weights = load_weights(_listed(paths, summaries[artifact], artifact)[0], kind="joint")
            parts.joints[name] = JointPart(name, ModelPart.from_weights(weights), encoding)
    return parts


def bundle_from_handoffs(paths: RunPaths, fusion: FittedFusion, summaries: Mapping[str, Mapping[str, Any]], *,
                         joint_models: Mapping[str, str] | None = None, half: bool = False,
                         description: str = "") -> dict[str, Any]:
    """The predictor bundle of a fitted fusion rule, from the producers' summaries and files (handoff_parts).

    Only the models the fusion rule uses go in (a joint model brings the image model with it).
    """
    parts = handoff_parts(paths, summaries, joint_models, used_sources(fusion))
    return parts.predictor_file(fusion, half=half, description=description).to_state()
