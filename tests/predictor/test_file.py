"""helpers.predictor.file: the predictor file is read back through from_state, and a bad file is refused."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from helpers.fusion.methods import FittedFusion
from helpers.models.weights import save_weights
from helpers.predictor.file import (
    FORMAT_VERSION,
    CaptionEncoding,
    ImagePart,
    ModelPart,
    PredictorFile,
    PredictorFileError,
    TextPart,
    save_predictor,
)
from helpers.predictor.predictor import (
    Predictor,
)
from tests.predictor.fakes import bundle_of


def test_missing_corrupt_and_foreign_model_files_are_named(tmp_path, parts):
    with pytest.raises(PredictorFileError, match="not found"):
        Predictor.load(tmp_path / "nothing.pt")
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"this is not a torch file")
    with pytest.raises(PredictorFileError, match="garbage.pt.*damaged"):
        Predictor.load(garbage)
    whole = save_predictor(tmp_path / "whole.pt", bundle_of(parts))
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(PredictorFileError, match="truncated.pt.*damaged"):
        Predictor.load(truncated)
    weights = save_weights(tmp_path / "lstm.pt", kind="lstm", config={}, state_dict={})
    with pytest.raises(PredictorFileError, match="single-model weights file"):
        Predictor.load(weights)


def test_incompatible_format_version_is_refused(tmp_path, parts):
    bundle = {**bundle_of(parts), "format_version": FORMAT_VERSION + 1, "project_version": "9.9.9"}
    path = save_predictor(tmp_path / "future.pt", bundle)
    with pytest.raises(PredictorFileError, match=f"version {FORMAT_VERSION + 1} .*9.9.9.*reads version"):
        Predictor.load(path)


class _Payload:
    """An object whose unpickling would write a marker file (what a malicious predictor file could carry)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (Path.write_text, (Path(self.marker), "ran"))


def test_a_file_carrying_a_pickled_object_is_refused_and_the_object_never_runs(tmp_path, parts):
    marker = tmp_path / "marker.txt"
    bundle = bundle_of(parts)
    bundle["description"] = _Payload(marker)
    path = tmp_path / "evil.pt"
    torch.save(bundle, path)  # written as torch.save would, object included
    with pytest.raises(PredictorFileError, match="evil.pt: holds Python objects.*refused"):
        Predictor.load(path)
    assert not marker.exists()
    torch.load(path, weights_only=False)  # the payload is live: an unpickling reader would have run it
    assert marker.read_text() == "ran"


def test_the_file_is_read_back_through_from_state_into_the_dataclasses_that_wrote_it(parts):
    bundle = bundle_of(parts)
    read = PredictorFile.from_state(bundle)
    assert isinstance(read.image, ImagePart) and isinstance(read.image.model, ModelPart)
    assert isinstance(read.text, TextPart) and isinstance(read.text.encoding, CaptionEncoding)
    assert isinstance(read.fusion, FittedFusion) and read.fusion.method == parts["fusion"].method
    assert read.text.encoding.config == parts["encoding"].config
    again = read.to_state()
    assert again.keys() == bundle.keys()
    assert again["text"]["encoding"] == bundle["text"]["encoding"]
    for name in ("lam", "coef", "cutoffs", "learned"):
        assert torch.equal(again["fusion"][name], bundle["fusion"][name])
    assert all(torch.equal(again["image"]["model"]["state_dict"][k], v)
               for k, v in bundle["image"]["model"]["state_dict"].items())


def test_a_section_with_an_unknown_or_missing_key_is_refused_naming_it(tmp_path, parts):
    bundle = bundle_of(parts)
    with pytest.raises(ValueError, match="image section.*unknown keys \\['colour'\\]"):
        PredictorFile.from_state({**bundle, "image": {**bundle["image"], "colour": 1}})
    text = {k: v for k, v in bundle["text"].items() if k != "encoding"}
    with pytest.raises(ValueError, match="text section: missing keys \\['encoding'\\]"):
        PredictorFile.from_state({**bundle, "text": text})
    path = save_predictor(tmp_path / "odd.pt", {**bundle, "fusion": {**bundle["fusion"], "extra": 1}})
    with pytest.raises(PredictorFileError, match="odd.pt: damaged.*unknown keys \\['extra'\\]"):
        Predictor.load(path)
