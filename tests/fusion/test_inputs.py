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


def test_the_encoder_is_a_source_only_when_notebook_04_handed_it_over(tmp_path):
    from types import SimpleNamespace

    import pandas as pd

    from helpers.core.config import RunPaths
    from helpers.core.handoff import save_probabilities, save_summary

    paths = RunPaths(tmp_path, tmp_path / "out")
    train = pd.DataFrame({"ImageID": ["a", "b", "c", "d"]})
    run = SimpleNamespace(paths=paths, split=(np.array([0, 1]), np.array([2, 3])),
                          dataset=SimpleNamespace(train=train, Y=np.eye(4, 18), test=pd.DataFrame({"ImageID": ["t"]})))
    probs = np.full((2, 18), 0.25, dtype=np.float32)
    for model in ("cnn", "lstm"):
        save_probabilities(paths, model, "val", ["c", "d"], probs)
        save_probabilities(paths, model, "test", ["t"], probs[:1])
        save_summary(paths, model, {"model": model})
    without = inputs.load_fusion_inputs(run)
    assert without.text_sources == ["text"] and set(without.val) == {"image", "text"}
    assert set(inputs.handoff_summaries(run, without)) == {"cnn", "lstm"}
    save_probabilities(paths, "encoder", "val", ["d", "c"], np.stack([probs[0] * 2, probs[0]]))
    save_probabilities(paths, "encoder", "test", ["t"], probs[:1])
    save_summary(paths, "encoder", {"model": "encoder"})
    fused = inputs.load_fusion_inputs(run)
    assert fused.text_sources == ["text", "encoder"]
    assert np.array_equal(fused.val["encoder"][:, 0], [0.25, 0.5])  # aligned by ImageID
    assert set(inputs.handoff_summaries(run, fused)) == {"cnn", "lstm", "encoder"}
