"""Fusion inputs: every model's validation and test probabilities, aligned by ImageID with this run's rows."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from helpers.core.handoff import producer
from helpers.data.errors import duplicated_ids

if TYPE_CHECKING:
    from helpers.run import Run

TEXT_SOURCES = ("text", "encoder")  # the LSTM pair; the pretrained caption encoder (helpers.train.encoder_training)
OPTIONAL_SOURCES = {"encoder": "encoder"}  # source -> hand-off name, used when its files exist

@dataclass
class FusionInputs:
    """Probabilities of every source (image model, text model, joint models) on the validation and test rows.

    `val[source]` / `test[source]` are (rows, 18) arrays in the order of val_ids / test_ids; the
    image and text models are the sources "image" and "text", notebook 04's pretrained caption encoder (when one
    was loaded) the source "encoder".
    """

    val_ids: np.ndarray
    Y_val: np.ndarray  # (n_val, 18) truth
    test_ids: np.ndarray
    val: dict[str, np.ndarray] = field(default_factory=dict)
    test: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def val_image(self) -> np.ndarray:
        return self.val["image"]

    @property
    def val_text(self) -> np.ndarray:
        return self.val["text"]

    @property
    def text_sources(self) -> list[str]:
        """The caption sources present: "text" (the LSTM pair) and, when notebook 04 handed one over, "encoder"."""
        return [s for s in TEXT_SOURCES if s in self.val]

    @property
    def test_image(self) -> np.ndarray:
        return self.test["image"]

    @property
    def test_text(self) -> np.ndarray:
        return self.test["text"]

    def add_source(self, name: str, val_ids: Sequence[str], val_probs: np.ndarray, test_ids: Sequence[str],
                   test_probs: np.ndarray) -> None:
        """Add one more model's probabilities (e.g. a joint model), checked and aligned like the others."""
        self.val[name] = align_probabilities(self.val_ids, val_ids, val_probs, f"{name} val probabilities")
        self.test[name] = align_probabilities(self.test_ids, test_ids, test_probs, f"{name} test probabilities")


def align_probabilities(expected_ids: Sequence[str], ids: Sequence[str], probs: np.ndarray, what: str) -> np.ndarray:
    """Reorder `probs` (rows named by `ids`) into the order of `expected_ids`.

    Raises ValueError naming missing and unexpected ImageIDs when the two sets differ.
    """
    expected = [str(i) for i in expected_ids]
    ids = [str(i) for i in ids]
    position = {image_id: row for row, image_id in enumerate(ids)}
    problems = []
    if len(position) != len(ids):
        dup = sorted(duplicated_ids(ids))[:10]
        problems.append(f"duplicate ImageIDs {dup}")
    missing = [i for i in expected if i not in position]
    extra = sorted(set(ids) - set(expected))
    if missing:
        problems.append(f"{len(missing)} expected ImageID(s) missing, e.g. {missing[:10]}")
    if extra:
        problems.append(f"{len(extra)} unexpected ImageID(s), e.g. {extra[:10]}")
    if problems:
        raise ValueError(f"{what}: " + "; ".join(problems) + ". The probabilities were written for other rows "
                         "(another data set or split): rerun the notebook that produced them with the same "
                         "DATA_DIR and OUT_DIR.")
    return np.asarray(probs, dtype=np.float32)[[position[i] for i in expected]]


def load_fusion_inputs(run: Run, image_model: str = "cnn", text_model: str = "lstm",
                       optional: dict[str, str] | None = None) -> FusionInputs:
    """Load both models' validation and test probabilities and align them with run.split and test.csv.

    optional: {source: hand-off name} of sources used only when their files exist (default OPTIONAL_SOURCES: the
    caption encoder, which notebook 04 hands over only when one could be loaded).
    """
    from helpers.core.handoff import load_probabilities

    data = run.dataset
    val_rows = run.split[1]
    inputs = FusionInputs(val_ids=data.train["ImageID"].to_numpy()[val_rows], Y_val=data.Y[val_rows],
                          test_ids=data.test["ImageID"].to_numpy())
    for source, model in (("image", image_model), ("text", text_model)):
        for split, expected, target in (("val", inputs.val_ids, inputs.val), ("test", inputs.test_ids, inputs.test)):
            ids, probs = load_probabilities(run.paths, model, split)  # a missing file names its notebook
            target[source] = align_probabilities(expected, ids, probs, f"{model} {split} probabilities")
    for source, model in (OPTIONAL_SOURCES if optional is None else optional).items():
        files = [run.paths.probabilities / f"{model}_{split}.npz" for split in ("val", "test")]
        if all(f.is_file() for f in files):
            (val_ids, val), (test_ids, test) = (load_probabilities(run.paths, model, s) for s in ("val", "test"))
            inputs.add_source(source, val_ids, val, test_ids, test)
    return inputs


def handoff_summaries(run: Run, inputs: FusionInputs) -> dict[str, dict]:
    """The summaries of the models behind the inputs: "cnn", "lstm" and, when the encoder is a source, "encoder"."""
    from helpers.core.handoff import load_summary

    models = ["cnn", "lstm", *(model for source, model in OPTIONAL_SOURCES.items() if source in inputs.val)]
    return {model: load_summary(run.paths, model) for model in models}


def producer_histories(summary: dict, model: str) -> list[str]:
    """The history names a model notebook lists in its summary (never re-derived here: any seed works)."""
    names = summary.get("histories")
    if not names:
        raise KeyError(f"the {model!r} summary lists no training histories ('histories'); rerun notebook "
                       f"{producer(model)} (same DATA_DIR / OUT_DIR) with this version of the project")
    return list(names)
