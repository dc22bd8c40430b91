"""helpers.fusion.methods: fitting a method, its stored state, invalid methods."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from helpers.fusion import methods, rules
from tests.fusion_fakes import fake_pair, fake_truth, fusion_data  # noqa: F401


def test_logistic_falls_back_to_average_for_single_class_label(data):
    Y, p_img, p_txt = data
    Y = Y.copy()
    Y[:, 5] = 0
    fitted = methods.fit_fusion(methods.FusionMethod("lr", "logistic", "label"), Y, p_img, p_txt)
    assert not fitted.learned[5] and fitted.learned[0]
    probs = fitted.proba(p_img, p_txt)
    assert np.allclose(probs[:, 5], rules.weighted_average(p_img, p_txt, fitted.lam)[:, 5])


def test_fitted_fusion_round_trips_through_its_state_and_half_precision(tmp_path, data):
    Y, p_img, p_txt = data
    fitted = methods.fit_fusion(methods.FusionMethod("lr36", "logistic_all", "label", C=0.3), Y, p_img, p_txt)
    state = fitted.to_state()
    assert state["lam"].dtype == torch.float64 and state["learned"].dtype == torch.bool
    assert isinstance(state["method"]["sources"], list)  # plain values: lists, not tuples
    torch.save(state, tmp_path / "fusion.pt")
    loaded = methods.FittedFusion.from_state(torch.load(tmp_path / "fusion.pt", weights_only=True))
    assert loaded.method == fitted.method
    assert np.array_equal(loaded.predict(p_img, p_txt), fitted.predict(p_img, p_txt))
    check = fitted.half_precision_check(p_img, p_txt)
    assert check["changed_decisions"] < 0.01 and check["max_probability_change"] < 0.01


def test_invalid_method_is_rejected():
    with pytest.raises(ValueError, match="combine"):
        methods.FusionMethod("x", combine="max")
    with pytest.raises(ValueError, match="per label goes with"):
        methods.FusionMethod("x", combine="label_average", cutoffs="global")


def test_row_rule_and_calibration_round_trip_with_their_sources(tmp_path, data):
    Y, p_img, p_txt = data
    method = methods.FusionMethod("lr + calibrated rows", "logistic", "row_f1", calibrate=True,
                                  sources=("joint concat", "text"))
    fitted = methods.fit_fusion(method, Y, p_img, p_txt)
    assert not np.allclose(fitted.platt_slope, 1.0)
    pred = fitted.predict(p_img, p_txt)
    assert pred.any(axis=1).all()  # the per-row rule never leaves a row empty
    loaded = methods.FittedFusion.from_state(fitted.to_state())
    assert loaded.method == method and loaded.method.sources == ("joint concat", "text")
    assert np.array_equal(loaded.predict(p_img, p_txt), pred)
    with pytest.raises(KeyError, match="joint concat"):
        method.pick({"image": p_img, "text": p_txt})


def test_a_fusion_state_with_unknown_or_missing_keys_is_refused_naming_them(data):
    Y, p_img, p_txt = data
    state = methods.fit_fusion(methods.FusionMethod("avg", "average", "global"), Y, p_img, p_txt).to_state()
    with pytest.raises(ValueError, match=r"missing keys \['cutoffs'\]"):
        methods.FittedFusion.from_state({k: v for k, v in state.items() if k != "cutoffs"})
    with pytest.raises(ValueError, match=r"unknown keys \['extra'\]"):
        methods.FittedFusion.from_state({**state, "extra": 1})
    with pytest.raises(ValueError, match="fusion method state.*colour"):
        methods.FittedFusion.from_state({**state, "method": {**state["method"], "colour": "red"}})


def test_the_catalogue_is_unchanged_without_an_encoder_and_grows_with_one():
    from helpers.fusion.methods import row_rule_pairs, standard_methods

    plain = standard_methods(1.0, ["joint concat"])
    assert [m.name for m in standard_methods(1.0, ["joint concat"], ["text"])] == [m.name for m in plain]
    assert len(plain) == 26 and all(m.sources[1] == "text" for m in plain)
    grown = standard_methods(1.0, ["joint concat"], ["text", "encoder"])
    extra = grown[len(plain) - 4: len(plain) + 7]  # inserted before the joint model's 4 rows
    assert all(m.sources == ("image", "encoder") for m in extra) and len(grown) == len(plain) + 11
    assert {m.combine for m in extra} == {"text", "average", "label_average", "logistic_all"}
    assert [m.name for m in grown[-4:]] == [m.name for m in plain[-4:]]
    pairs = row_rule_pairs(grown)
    assert ("caption encoder, tuned cut-offs", "caption encoder + expected-F1 sets",
            "caption encoder + calibrated expected-F1 sets") in pairs
    assert len(pairs) == len(row_rule_pairs(plain)) + 3
