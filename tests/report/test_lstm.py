"""helpers.report.lstm: sizes, baseline rows, the bootstrap summary, generated findings and titles."""
from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest

from helpers.core.labels import N_LABELS
from helpers.core.metrics import BASELINE_NAME
from helpers.core.profiles import PROFILES
from helpers.models.lstm import (
    ARCHITECTURES,
    CaptionLSTM,
)
from helpers.models.weights import MB, model_bytes
from helpers.report.ablations import MIN_SCORE_SPAN, spread_finding
from helpers.report.lstm import (
    BASELINE_SETTING,
    STALLED,
    STOPPED_EARLY,
    UNCONVERGED,
    ablation_finding,
    ablation_summary,
    ablation_table,
    captions_overview,
    convergence_counts,
    design_finding,
    findings,
    learning_curve_text,
    learning_curves_title,
    performance_table,
    plot_ablation,
    reference_margin,
    run_status,
    size_table,
)
from helpers.train.experiments import TIDY_COLUMNS
from helpers.train.lstm_ablations import AblationResult
from helpers.train.lstm_training import LstmRun, train_final_lstm, trivial_baseline
from tests.lstm_fakes import SMALL, fake_run, toy_encoded

matplotlib.use("Agg")


pytestmark = pytest.mark.usefixtures("one_thread")  # the fixture is in conftest.py


def test_sizes_match_the_reference():
    """4,793-entry dictionary: the float32 weights give the study's 4.1 / 5.7 / 6.2 MB (MB = 10^6 bytes)."""
    expected = {"standard": 4.1, "bidirectional": 5.7, "two_layers": 6.2}
    for name, mb in expected.items():
        assert round(model_bytes(CaptionLSTM(ARCHITECTURES[name])) / MB, 1) == mb, name
    table = size_table(1000)
    assert list(table["architecture"]) == list(ARCHITECTURES)
    assert np.allclose(table["size MB (4,793 entries)"].iloc[:3], list(expected.values()), atol=0.05)
    assert (table["size MB (this dictionary)"] < table["size MB (4,793 entries)"]).all()
    assert np.allclose(table["size MB fp16 (this dictionary)"], table["size MB (this dictionary)"] / 2, rtol=0.001)


pytestmark = pytest.mark.usefixtures("one_thread")  # the fixture is in conftest.py


def known_result(n_seeds: int = 2, name: str = "cutoff", settings: tuple[str, str, str] = ("ref", "copy", "lazy"),
                 train_s: tuple[float, float, float] = (2.0, 2.0, 2.0), capped: tuple[str, ...] = ()) -> AblationResult:
    """The reference (first) predicts the truth, the second predicts it too, the third predicts the baseline.

    Runs of the settings in `capped` ran to their 20-epoch cap; the others stopped early after 8 epochs.
    """
    rng = np.random.default_rng(0)
    truth = (rng.random((300, N_LABELS)) < 0.2).astype(np.uint8)
    truth[:, 0] = 1
    baseline_pred = np.zeros_like(truth)
    baseline_pred[:, 0] = 1
    ref, copy, lazy = settings
    predictions = {ref: np.stack([truth] * n_seeds), copy: np.stack([truth] * n_seeds),
                   lazy: np.stack([baseline_pred] * n_seeds)}
    rows = []
    for setting, value, seconds in zip(settings, (1.0, 1.0, 0.4), train_s):
        for seed in range(n_seeds):
            for metric, v in (("micro_f1", value - 0.001 * seed), ("hamming_accuracy", value),
                              ("train_time_s", seconds + seed), ("test_time_s", 0.1), ("best_epoch", 3),
                              ("epochs_run", 20 if setting in capped else 8),
                              ("stopped_early", float(setting not in capped)), ("epoch_cap", 20)):
                rows.append({"experiment": f"lstm_{name}", "setting": setting, "seed": seed, "metric": metric,
                             "value": v})
    return AblationResult(name, pd.DataFrame(rows, columns=TIDY_COLUMNS), ref, truth, predictions,
                          baseline_pred, {"micro_f1": 0.4, "hamming_accuracy": 0.8, "samples_f1": 0.4})


def test_tables_carry_the_baseline_and_paired_bootstrap():
    result = known_result()
    table = ablation_table(result)
    baseline_rows = table[table["setting"] == BASELINE_SETTING]
    assert len(baseline_rows) == 3 and baseline_rows["seed"].isna().all()
    summary = ablation_summary([result]).set_index("setting")
    assert list(summary.index) == ["ref", "copy", "lazy", BASELINE_SETTING]
    assert summary.loc["ref", "micro_f1 minus reference"] == 0 and not summary.loc["ref", "differs from reference"]
    assert summary.loc["copy", "micro_f1 minus reference"] == 0 and not summary.loc["copy", "differs from reference"]
    for row in ("lazy", BASELINE_SETTING):
        assert summary.loc[row, "micro_f1 minus reference"] < 0 and summary.loc[row, "differs from reference"]
        assert summary.loc[row, "95% interval low"] <= summary.loc[row, "micro_f1 minus reference"] \
            <= summary.loc[row, "95% interval high"] < 0
    assert summary.loc["ref", "micro_f1 std"] == pytest.approx(np.std([1.0, 0.999], ddof=1))
    assert summary.loc[BASELINE_SETTING, "micro_f1 mean"] == 0.4
    assert summary.loc["ref", "runs stopped early"] == 2 and summary.loc["ref", "runs at epoch cap"] == 0
    assert summary.loc["ref", "convergence"] == STOPPED_EARLY
    assert set(table.loc[table["setting"].isin(["ref", "copy"]), "run"]) == {STOPPED_EARLY}
    assert set(table.loc[table["setting"] == "lazy", "run"]) == {STALLED}  # stopped early, never beat the baseline
    assert summary.loc["lazy", "runs stalled at baseline"] == 2 and summary.loc["lazy", "convergence"] == STALLED


def test_unconverged_runs_are_marked_in_rows_counts_and_figure():
    result = known_result(capped=("lazy",))
    table = ablation_table(result)
    assert set(table.loc[table["setting"] == "lazy", "run"]) == {UNCONVERGED}
    assert set(table.loc[table["setting"] == "copy", "run"]) == {STOPPED_EARLY}
    summary = ablation_summary([result]).set_index("setting")
    assert summary.loc["lazy", "runs at epoch cap"] == 2 and summary.loc["lazy", "convergence"] == UNCONVERGED
    assert convergence_counts(summary.reset_index()) == (4, 2)
    assert "unconverged (hit the 20-epoch cap): 'lazy'" in ablation_finding(result)
    labels = [tick.get_text() for tick in plot_ablation(result).axes[1].get_xticklabels()]
    assert labels[0] == "ref" and labels[2] == "lazy\n(unconverged\n2/2)"


def test_reference_margin_and_design_finding():
    result = known_result()
    margin = reference_margin(result, ablation_summary([result]))
    assert margin["reference"] == pytest.approx(0.9995) and margin["baseline"] == 0.4
    assert margin["margin"] > 0.5 and margin["low"] <= margin["margin"] <= margin["high"]
    design = pd.DataFrame([
        {"ablation": "cutoff", "reference": "0.5", "best": "0.25", "diff": 0.05, "low": 0.01, "high": 0.09,
         "adopted": True},
        {"ablation": "hidden_dim", "reference": "256", "best": "128", "diff": 0.01, "low": -0.01, "high": 0.03,
         "adopted": False},
        {"ablation": "embedding_dim", "reference": "128", "best": "128", "diff": 0.0, "low": 0.0, "high": 0.0,
         "adopted": False}])
    text = design_finding(design)
    assert "adopts what the ablations found better than the reference" in text and "cutoff '0.25' (+0.0500" in text
    assert "hidden_dim: best '128' is indistinguishable from the reference '256'" in text
    assert "embedding_dim: the reference '128' scored best" in text
    assert "keeps the reference design" in design_finding(design.assign(adopted=False))


def test_finding_figure_and_titles_follow_the_numbers():
    result = known_result()
    sentence = ablation_finding(result)
    assert "seed noise" not in sentence and "seeds of one setting lie up to 0.0010 apart" in sentence
    assert "4 of 6 runs stopped early on a validation plateau; unconverged (stalled: patience ran out before the " \
           "run ever beat the trivial baseline): 'lazy'" in sentence
    assert "'lazy'" in sentence and "predict(s) exactly the trivial baseline" in sentence
    assert "(0.9995) lies 0.5995 above the trivial baseline (0.4000)" in sentence
    one_seed = known_result(n_seeds=1)
    assert "not measured" in spread_finding(one_seed.tidy, "micro_f1")

    fig = plot_ablation(result)
    accuracy, f1, train_time, _ = fig.axes
    low, high = f1.get_ylim()
    assert high - low >= MIN_SCORE_SPAN and low <= 0.4 and high >= 1.0  # holds the baseline and every point
    assert any(line.get_linestyle() == "--" for line in f1.get_lines())
    assert train_time.get_ylim()[0] == 0

    history = pd.DataFrame({"epoch": [1, 2, 3]})
    assert run_status(history, 3, 3) == "unconverged: epoch cap 3 reached while still improving"
    assert run_status(history, 1, 8) == "stopped early at epoch 3 (kept 1)"
    assert run_status(history, 2, 3) == "unconverged: epoch cap 3 reached (kept 2)"
    capped, early = run_status(history, 3, 3), run_status(history, 1, 8)
    assert learning_curves_title([0, 1], [capped] * 2) == "unconverged: every run (2) hit the epoch cap"
    assert learning_curves_title([0, 1], [early] * 2) == "every run (2) stopped early on a validation plateau"
    mixed = learning_curves_title([0, 1], [early, capped])
    assert mixed == "1 of 2 runs stopped early; unconverged (epoch cap): seed 1"



def test_findings_are_built_from_the_numbers(tmp_path):
    run = fake_run(tmp_path)
    encoded = toy_encoded(200, 80, 20)
    final = train_final_lstm(run, encoded, LstmRun(model=SMALL, variant="standard", lr=1e-3, cutoff=0.5, epochs=1,
                                                   batch_size=64), seeds=(0, 1))
    baseline_pred, baseline = trivial_baseline(encoded)
    results = {"cutoff": known_result(),
               "learning_rate": known_result(name="learning_rate", settings=("0.001", "0.01", "0.1"),
                                             train_s=(2.0, 2.0, 10.0))}
    summary = ablation_summary(list(results.values()))
    full = PROFILES["full"].lstm
    text = findings(results, summary, final, baseline, baseline_pred, run.profile.lstm, full)
    assert f"micro-F1 {final.val_scores['micro_f1']:.4f}" in text and f"{baseline['micro_f1']:.4f}" in text
    assert "trained on 64 training rows with early stopping" in text  # the smoke profile's reduction
    assert "8 run(s) stopped early on a validation plateau after beating the trivial baseline, 4 are unconverged " \
           "(hit the cap, or stalled" in text  # 'lazy' of both ablations stalled at the baseline
    margin = reference_margin(results["cutoff"], summary)
    assert (f"The reference setting reaches micro-F1 0.9995, {margin['margin']:+.4f} against the trivial baseline's "
            f"0.4000 (95% paired bootstrap interval {margin['low']:+.4f}") in text
    assert "unconverged: epoch cap 1 reached" in text  # the final model's 1-epoch runs
    table = performance_table(final, baseline)
    assert list(table["run"]) == ["unconverged: epoch cap 1 reached while still improving"] * 2 + [
        "average of the runs above", "not trained"]
    curves = learning_curve_text(final).splitlines()
    first = final.runs[0].trained.fit.history["val_micro_f1"].iloc[0]
    assert curves[0] == f"seed 0, validation micro-F1 per epoch: {first:.3f} (unconverged: epoch cap 1 reached " \
                        "while still improving)" and len(curves) == 2
    assert "best 'ref'" in text and "the reference setting" in text
    assert "10.5 s per run against 2.5 s at the reference 0.001 (4.2x) on the same rows (epochs run 8.0 and 8.0" in text
    assert "Seeds of one setting differ by up to 1.0 s" in text and "slower by more than that spread" in text
    assert "LSTM probability cut-off 'lazy'" in text and "LSTM learning rate (Adam) '0.1'" in text
    if np.array_equal((final.val_probs >= 0.5).astype(np.uint8), baseline_pred):
        assert "identical to the trivial baseline on every validation row" in text


def test_captions_overview_states_the_data_and_the_baseline():
    encoded = toy_encoded(30, 20, 10)
    _, baseline = trivial_baseline(encoded)
    lines = captions_overview(encoded, baseline).splitlines()
    assert lines[0].startswith(f"dictionary: {encoded.vocab_size:,} entries; captions cut to 12 tokens")
    assert lines[1] == "rows: 30 training, 20 validation, 10 test"
    assert lines[2] == f"{BASELINE_NAME}: validation micro-F1 {baseline['micro_f1']:.4f}, " \
                       f"samples-F1 {baseline['samples_f1']:.4f}"


def test_learning_rate_timing_is_read_against_the_seed_spread_only_when_there_is_one():
    from dataclasses import replace

    from helpers.core.profiles import LstmSettings
    from helpers.report.lstm import learning_rate_timing_finding

    settings = replace(LstmSettings(), ablation_learning_rates=(0.1, 0.01, 0.001))
    one = known_result(n_seeds=1, name="learning_rate", settings=("0.01", "0.1", "0.001"), train_s=(2.0, 20.0, 2.0))
    text = learning_rate_timing_finding(one, settings)
    assert "took 20.0 s per run against 2.0 s at the reference 0.01 (10.0x)" in text
    assert "per epoch 2.50 s against 0.25 s" in text and "one measurement" in text and "slower by more" not in text
    two = known_result(n_seeds=2, name="learning_rate", settings=("0.01", "0.1", "0.001"), train_s=(2.0, 20.0, 2.0))
    text = learning_rate_timing_finding(two, settings)
    assert "Seeds of one setting differ by up to 1.0 s" in text and "slower by more than that spread" in text
    close = known_result(n_seeds=2, name="learning_rate", settings=("0.01", "0.1", "0.001"), train_s=(2.0, 2.5, 2.0))
    assert "within that spread" in learning_rate_timing_finding(close, settings)
