"""helpers.fusion.inputs: probabilities aligned by ImageID, history names from the summaries."""
from __future__ import annotations

import numpy as np
import pytest

from helpers.fusion import inputs


def test_align_probabilities_reorders_and_rejects_other_rows():
    probs = np.arange(3 * 18, dtype=np.float32).reshape(3, 18)
    out = inputs.align_probabilities(["b", "c", "a"], ["a", "b", "c"], probs, "cnn val")
    assert np.array_equal(out, probs[[1, 2, 0]])
    with pytest.raises(ValueError, match=r"cnn val: 1 expected ImageID\(s\) missing.*'d'.*unexpected.*'c'"):
        inputs.align_probabilities(["a", "b", "d"], ["a", "b", "c"], probs, "cnn val")


def test_history_names_come_from_the_producers_summary():
    assert inputs.producer_histories({"histories": ["lstm_seed3", "lstm_seed4"]}, "lstm") == ["lstm_seed3",
                                                                                              "lstm_seed4"]
    with pytest.raises(KeyError, match="rerun notebook 04_lstm_training"):
        inputs.producer_histories({"weights": []}, "lstm")


def test_an_added_source_is_aligned_by_image_id():
    ids = np.array(["a", "b", "c"])
    fused = inputs.FusionInputs(val_ids=ids, Y_val=np.zeros((3, 18)), test_ids=ids[:2])
    probs = np.arange(3 * 18, dtype=np.float32).reshape(3, 18)
    fused.add_source("joint concat", ids[::-1], probs, ids[:2], probs[:2])
    assert np.array_equal(fused.val["joint concat"], probs[::-1])
    with pytest.raises(ValueError, match="joint gated test probabilities"):
        fused.add_source("joint gated", ids, probs, ["a", "x"], probs[:2])
