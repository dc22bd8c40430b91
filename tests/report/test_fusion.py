"""helpers.report.fusion: the fusion tables with their intervals, and the findings built from them."""
from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest

from helpers.data.split import kfold_indices
from helpers.fusion import crossfit
from helpers.fusion import methods as catalogue

matplotlib.use("Agg")

from helpers.report import fusion as fusion_report  # noqa: E402
from tests.fusion_fakes import fake_pair, fake_truth, fusion_data  # noqa: E402, F401
from tests.predictor.conftest import demo, parts  # noqa: E402, F401  (fixtures)
from tests.predictor.fakes import write_handoffs  # noqa: E402


def test_intervals_and_baseline_row_in_the_methods_table(data):
    from helpers.core.metrics import BASELINE_NAME, baseline_prediction
    from helpers.report import fusion as tables

    Y, p_img, p_txt = data
    folds = kfold_indices(Y, 3, seed=0)
    chosen = catalogue.standard_methods()[:6]
    table, fits = crossfit.compare_methods(chosen, Y, {"image": p_img, "text": p_txt}, folds)
    base = baseline_prediction(Y, len(Y))
    table = pd.concat([table, pd.DataFrame([tables.baseline_row(Y, base)])], ignore_index=True)
    preds = {name: fit.pred for name, fit in fits.items()} | {BASELINE_NAME: base}
    out = tables.with_intervals(table, Y, preds, reference=catalogue.REFERENCE_NAME, n_boot=200)
    t = out.set_index("method")
    assert t.loc[catalogue.REFERENCE_NAME, "diff"] == 0 and not t.loc[catalogue.REFERENCE_NAME, "significant"]
    assert (out["diff_low"] <= out["diff"] + 1e-12).all() and (out["diff"] <= out["diff_high"] + 1e-12).all()
    ref = t.loc[catalogue.REFERENCE_NAME, "samples_f1"]
    assert t.loc[BASELINE_NAME, "diff"] == pytest.approx(t.loc[BASELINE_NAME, "samples_f1"] - ref)
    assert t.loc[BASELINE_NAME, "significant"] and t.loc[BASELINE_NAME, "diff_high"] < 0


def test_lambda_finding_follows_the_curve():
    falling = pd.DataFrame({"lambda": [0.0, 0.5, 1.0], "cutoff": 0.5, "micro_f1": [0.8, 0.7, 0.6],
                            "samples_f1": [0.8, 0.72, 0.5], "diff": [0.08, 0.0, -0.22], "diff_low": [0.05, 0, -0.3],
                            "diff_high": [0.11, 0, -0.15], "significant": [True, False, True]})
    text = fusion_report.lambda_finding(falling)
    assert "falls steadily" in text and "best λ is 0 " in text and "at an end because the text model" in text
    assert "+0.080 samples-F1 (95 % paired bootstrap +0.050 to +0.110): more than row noise" in text
    peaked = falling.assign(samples_f1=[0.6, 0.75, 0.5], micro_f1=[0.7, 0.8, 0.6])
    text = fusion_report.lambda_finding(peaked.drop(columns=["diff", "diff_low", "diff_high", "significant"]))
    assert "peaks inside the range" in text and "at an end" not in text


def test_findings_are_built_from_the_table():
    table = pd.DataFrame({
        "method": ["ref", "best", "base", "a, tuned cut-offs", "a + expected-F1 sets",
                   "a + calibrated expected-F1 sets"],
        "samples_f1": [0.70, 0.74, 0.50, 0.72, 0.73, 0.71], "diff": [0, 0.04, -0.2, 0.02, 0.03, 0.01],
        "diff_low": [0, -0.01, -0.25, 0, 0, 0], "diff_high": [0, 0.09, -0.15, 0.04, 0.05, 0.02],
        "significant": [False, False, True, False, False, False]})
    pairs = [("a, tuned cut-offs", "a + expected-F1 sets", "a + calibrated expected-F1 sets")]
    joint = {"joint": "j", "late": "best", "joint_score": 0.73, "late_score": 0.74, "diff": -0.01, "low": -0.03,
             "high": 0.01}
    text = fusion_report.findings(table, "best", "ref", "base", pairs, ["j"], joint, "λ text.")
    assert "**best** (out-of-fold samples-F1 0.740)" in text and "cannot tell from no difference" in text
    assert "every method scores clearly above it" in text
    assert "for 1 of 1 combine rules as it is (mean change +0.010) and for 0 after calibration" in text
    assert "indistinguishable from it (the interval contains 0)" in text and text.endswith("λ text.")


def test_methods_table_chooses_toggles_the_fallback_and_adds_the_baseline(data):
    from helpers.core.metrics import BASELINE_NAME, baseline_prediction

    Y, p_img, p_txt = data
    methods = catalogue.standard_methods()[:6]
    base = baseline_prediction(Y, len(Y))
    got = fusion_report.fusion_methods_table(methods, Y, {"image": p_img, "text": p_txt}, kfold_indices(Y, 3, seed=0),
                                             base, n_boot=50, seed=0)
    table, fits = crossfit.compare_methods(methods, Y, {"image": p_img, "text": p_txt}, kfold_indices(Y, 3, seed=0))
    assert got.chosen == crossfit.best_method(table, methods, metric="samples_f1")
    names = got.table["method"].tolist()
    assert names[: len(methods)] == [m.name for m in methods]
    assert names[-1] == BASELINE_NAME and crossfit.toggled_fallback(got.chosen).name in names
    assert got.predictions[BASELINE_NAME] is base
    assert np.array_equal(got.predictions[got.chosen.name], fits[got.chosen.name].pred)
    assert got.table.set_index("method").loc[catalogue.REFERENCE_NAME, "diff"] == 0


def test_joint_versus_late_compares_the_best_of_each_with_a_paired_bootstrap(data):
    from helpers.core.metrics import paired_bootstrap

    Y, p_img, p_txt = data
    methods = catalogue.standard_methods(joint_sources=["joint concat"])
    joint = [m for m in methods if m.sources[0] == "joint concat"]
    late = [m for m in methods if m.sources == ("image", "text") and m.combine not in ("image", "text")]
    rng = np.random.default_rng(0)
    table = pd.DataFrame({"method": [m.name for m in (*joint, *late)],
                          "samples_f1": rng.random(len(joint) + len(late))})
    predictions = {name: (rng.random(Y.shape) < 0.3).astype(np.uint8) for name in table["method"]}
    got = fusion_report.joint_versus_late(table, methods, ["joint concat"], Y, predictions, n_boot=100, seed=1)
    t = table.set_index("method")["samples_f1"]
    assert got["joint"] == t[[m.name for m in joint]].idxmax() and got["late"] == t[[m.name for m in late]].idxmax()
    assert got["joint_score"] == t[got["joint"]]
    expected = paired_bootstrap(Y, predictions[got["joint"]], predictions[got["late"]], n_boot=100, seed=1)
    assert got["diff"] == expected["diff"] and got["low"] == expected["low"]
    assert fusion_report.joint_versus_late(table, methods, [], Y, predictions, n_boot=100, seed=1) is None


def test_summary_sections_hold_the_configuration_then_every_result_in_order():
    from types import SimpleNamespace

    method = catalogue.FusionMethod("avg", "average", "global")
    final = SimpleNamespace(fitted=SimpleNamespace(lam=np.full(18, 0.4)))
    summaries = {"cnn": {"model": "cnn B"}, "lstm": {"model": "lstm", "description": "3 seeds"}}
    texts = {k: f"<{k}>" for k in ("found", "lambda", "fusion", "size", "reproduce", "per_label", "training",
                                   "gallery", "pr")}
    tables = {"table10": pd.DataFrame({"a": [1]}), "table11": pd.DataFrame({"rule": [1], "b": [2]}),
              "budget": pd.DataFrame({"c": [3]}), "table22": None}
    sections = fusion_report.summary_sections({"seed": 7, "profile": "smoke"}, method, final, summaries, texts, tables)
    keys = list(sections)
    assert keys[0] == "Configuration" and keys[1] == "What we found" and len(keys) == 13
    assert "- **seed**: 7" in sections["Configuration"] and "- **text model**: 3 seeds" in sections["Configuration"]
    assert "- **λ**: 0.4" in sections["Configuration"] and f"{method.name}: {method.describe()}" in sections[
        "Configuration"]
    assert list(sections["Fusion methods (table11, out of fold)"].columns) == ["b"]
    assert sections["Precision-recall (fig23)"] == "<pr>"
    with_test = {**tables, "table22": tables["budget"]}
    scored = fusion_report.summary_sections({}, method, final, summaries, texts, with_test)
    assert list(scored)[-1] == "Submission scored against test_labels.csv (table22)"
    assert "comparability" not in sections["Configuration"]
    on_demo = fusion_report.summary_sections({"data": "/x/data/demo-600-150"}, method, final,
                                          {**summaries, "encoder": {"description": "encoder (fine-tuned) tiny"}},
                                          texts, tables)["Configuration"]
    assert "not comparable with the reference report's 86.1 %" in on_demo
    assert "- **caption encoder**: encoder (fine-tuned) tiny" in on_demo


def test_lambda_sweep_table_scores_every_lambda_and_the_baseline(data):
    from helpers.core.metrics import BASELINE_NAME, baseline_prediction, multilabel_scores
    from helpers.fusion import rules

    Y, p_img, p_txt = data
    table = fusion_report.lambda_sweep_table(Y, p_img, p_txt, baseline_prediction(Y, len(Y)), n_boot=50, seed=0)
    t = table.set_index("method")
    assert t.loc["λ=0.5", "diff"] == 0 and BASELINE_NAME in t.index
    assert t.loc["λ=1", "micro_f1"] == pytest.approx(multilabel_scores(Y, (p_img >= 0.5).astype(np.uint8))["micro_f1"])
    assert len(table) == len(rules.lambda_sweep(Y, p_img, p_txt)) + 1


def test_reproduction_finding_says_which_rows_differ():
    from pathlib import Path

    same = fusion_report.reproduction_finding(Path("p.pt"), Path("s.csv"), pd.DataFrame(), 9)
    assert same == "`p.pt`, loaded back, reproduces `s.csv` row for row (9 rows)."
    differ = fusion_report.reproduction_finding(Path("p.pt"), Path("s.csv"), pd.DataFrame({"ImageID": ["a"]}), 9)
    assert "on 1 of 9 rows" in differ
    noisy = fusion_report.reproduction_finding(Path("p.pt"), Path("s.csv"), pd.DataFrame(), 9, pipeline_differs=2)
    assert "the file's own prediction" in noisy and "other labels on 2 of 9 rows" in noisy
    agree = fusion_report.reproduction_finding(Path("p.pt"), Path("s.csv"), pd.DataFrame(), 9, pipeline_differs=0)
    assert agree.endswith("give the same labels on every row.")


def test_pipeline_agreement_counts_the_rows_whose_labels_differ_from_the_submission(tmp_path):
    from types import SimpleNamespace

    from helpers.data.submission import write_submission

    ids = ["b.jpg", "a.jpg", "c.jpg"]
    pred = np.zeros((3, 18), dtype=np.uint8)
    pred[:, 0] = 1
    path = write_submission(tmp_path / "s.csv", ["a.jpg", "b.jpg", "c.jpg"], [[1], [1, 2], [1]])
    assert fusion_report.pipeline_agreement(SimpleNamespace(test_pred=pred), ids, path) == 1  # b.jpg, by its name


def test_final_performance_writes_the_predictor_and_sizes_every_row_as_table21_measures_it(
        tmp_path, demo, parts):  # noqa: F811  (pytest fixtures imported above)
    from helpers.core.config import RunPaths
    from helpers.core.metrics import baseline_prediction
    from helpers.fusion.inputs import FusionInputs
    from helpers.predictor.build import handoff_parts
    from helpers.predictor.predictor import Predictor
    from helpers.report import size_budget

    paths = RunPaths(demo, tmp_path)
    summaries = write_handoffs(paths, parts)
    Y = fake_truth(90, seed=2)
    p_img, p_txt = fake_pair(Y, seed=2)
    ids = np.array([f"v{i}" for i in range(len(Y))])
    inputs = FusionInputs(ids, Y, ids[:10], {"image": p_img, "text": p_txt},
                          {"image": p_img[:10], "text": p_txt[:10]})
    base = baseline_prediction(Y, len(Y))
    comparison = fusion_report.fusion_methods_table(catalogue.standard_methods()[:6], Y, inputs.val,
                                                    kfold_indices(Y, 3, seed=0), base, n_boot=20, seed=0)
    final = crossfit.fit_final(comparison.chosen, inputs)
    got = fusion_report.final_performance(paths, inputs, comparison, final, {}, summaries, base, n_boot=20, seed=0)
    assert got.predictor_file.is_file() and not got.half
    loaded = Predictor.load(got.predictor_file)
    assert loaded.fusion.method == comparison.chosen
    t10 = got.table10.set_index("model")
    total = got.budget.iloc[-1]
    assert t10.loc["final fusion", "size_MB_float32"] == total["float32_MB"]  # one measurement: table21's total
    handed = handoff_parts(paths, summaries)
    for row, sources in (("image model", ["image"]), ("text model", ["text"]), ("reference fusion", ["image", "text"])):
        size = size_budget.predictor_size(handed.predictor_file(final.fitted, sources))
        assert t10.loc[row, "size_MB_float32"] == size["float32_MB"], row
        assert t10.loc[row, "size_MB_float16"] == size["float16_MB"], row
    assert t10.loc["reference fusion", "train_time_min"] > t10.loc["image model", "train_time_min"] == 1.0
    assert np.isnan(t10.iloc[-1]["size_MB_float32"])  # the trivial baseline needs no model
    assert "within the 100 MB budget" in got.size_text and got.predictor_file.name in got.size_text
    assert np.array_equal(got.predictions["final fusion"], comparison.crossfits[comparison.chosen.name].pred)


def test_methods_within_noise_of_the_chosen_one_are_a_tie_and_the_text_says_so():
    rng = np.random.default_rng(0)
    Y = (rng.random((300, 18)) < 0.2).astype(np.uint8)
    chosen = Y.copy()
    almost = Y.copy()
    almost[0, 0] = 1 - almost[0, 0]  # one cell apart: within noise
    poor = np.zeros_like(Y)
    table = pd.DataFrame({"method": ["chosen", "almost", "poor"], "samples_f1": [1.0, 0.999, 0.0]})
    marked = fusion_report.mark_ties(table, "chosen", Y, {"chosen": chosen, "almost": almost, "poor": poor},
                                     n_boot=200, seed=0)
    assert marked[fusion_report.TIE_COLUMN].tolist() == [False, True, False]
    text = fusion_report.tie_text(marked, "chosen")
    assert "**tied** with 1 other method(s)" in text and "almost (0.999)" in text and "poor" not in text
    assert fusion_report.tie_text(marked.assign(tied_with_chosen=False), "chosen") == ""


def test_joint_table_says_which_runs_stopped_on_a_plateau_and_which_hit_their_cap():
    from types import SimpleNamespace

    import torch

    def outcome(epochs: int, best: int, stopped: bool) -> SimpleNamespace:
        model = torch.nn.Linear(2, 1)
        model.config = SimpleNamespace(fusion="gated")
        fit = SimpleNamespace(history=pd.DataFrame({"epoch": range(1, epochs + 1)}), best_epoch=best,
                              best_val_micro_f1=0.8, train_time_s=1.0, stopped_early=stopped, status="trained afresh")
        return SimpleNamespace(model=model, fit=fit)

    table = fusion_report.joint_table({"a": outcome(19, 16, True), "b": outcome(12, 12, False)}).set_index("model")
    assert table.loc["a", "convergence"] == "stopped early"
    assert table.loc["b", "convergence"] == "unconverged (epoch cap 12, best epoch 12)"
    assert table.loc["b", "parameters"] == 3
