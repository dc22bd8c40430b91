"""LSTM ablations: grids from the profile, tidy cached results, kept predictions, baseline rows, bootstrap
summary, generated sentences and titles."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest

from helpers.core.files import DamagedCacheWarning
from helpers.core.labels import N_LABELS
from helpers.core.profiles import PROFILES, LstmSettings
from helpers.models.lstm import ARCHITECTURES
from helpers.report.ablations import MIN_SCORE_SPAN, spread_sentence
from helpers.report.lstm import (
    BASELINE_SETTING,
    ablation_sentence,
    ablation_summary,
    ablation_table,
    learning_curves_title,
    plot_ablation,
    run_status,
    what_we_found,
)
from helpers.train.experiments import TIDY_COLUMNS
from helpers.train.lstm_ablations import AblationResult, ablation_base, ablation_settings, run_lstm_ablation
from helpers.train.lstm_training import LstmRun, train_final_lstm, trivial_baseline
from tests.lstm_fakes import SMALL, fake_run, toy_encoded

pytestmark = pytest.mark.usefixtures("one_thread")  # the fixture is in conftest.py


def test_grids_come_from_the_profile_and_hold_the_reference():
    settings = LstmSettings()
    runs, reference = ablation_settings("learning_rate", settings)
    assert list(runs) == ["0.1", "0.01", "0.001"] and reference == "0.001"
    assert runs[reference] == ablation_base(settings)
    runs, reference = ablation_settings("architecture", settings)
    assert [r.model for r in runs.values()] == list(ARCHITECTURES.values()) and reference == "standard"
    assert list(ablation_settings("preprocessing", settings)[0]) == ["standard", "with stop words", "no stemming",
                                                                      "lemmatized"]
    for name in ("cutoff", "embedding_dim", "hidden_dim"):
        assert ablation_settings(name, PROFILES["cpu"].lstm)[1]  # every profile's grids hold the reference
    with pytest.raises(ValueError, match="ablation_cutoffs.*lacks the reference"):
        ablation_settings("cutoff", LstmSettings(ablation_cutoffs=(0.3, 0.7)))


def test_ablation_is_tidy_cached_and_keeps_predictions(tmp_path, monkeypatch):
    run = fake_run(tmp_path, ablation_cutoffs=(0.25, 0.5), ablation_epochs=1, ablation_max_rows=None, batch_size=64)
    encoded = toy_encoded(120, 40, 10)
    result = run_lstm_ablation(run, "cutoff", lambda variant: encoded)
    tidy = result.tidy
    assert list(tidy.columns) == TIDY_COLUMNS
    assert set(tidy["metric"]) >= {"micro_f1", "samples_f1", "macro_f1", "exact_match", "hamming_accuracy",
                                   "train_time_s", "test_time_s", "best_epoch"}
    assert set(tidy["setting"]) == {"0.25", "0.5"} and result.reference == "0.5"
    assert {k: v.shape for k, v in result.predictions.items()} == {"0.25": (1, 40, N_LABELS), "0.5": (1, 40, N_LABELS)}
    assert result.predictions["0.25"].sum() >= result.predictions["0.5"].sum()  # a lower cut-off predicts more
    assert result.baseline_pred.shape == (40, N_LABELS) and set(result.baseline) >= {"micro_f1", "samples_f1"}

    monkeypatch.setattr("helpers.train.lstm_ablations.train_lstm",
                        lambda *a, **k: pytest.fail("cached: must not retrain"))
    again = run_lstm_ablation(run, "cutoff", lambda variant: encoded)
    columns = ["setting", "metric"]
    assert again.tidy.sort_values(columns, ignore_index=True).equals(tidy.sort_values(columns, ignore_index=True))
    assert all(np.array_equal(again.predictions[s], result.predictions[s]) for s in result.predictions)


def test_damaged_predictions_are_set_aside_and_redone_from_the_checkpoint(tmp_path):
    run = fake_run(tmp_path, ablation_cutoffs=(0.5,), ablation_epochs=1, ablation_max_rows=None, batch_size=64)
    encoded = toy_encoded(120, 40, 10)
    first = run_lstm_ablation(run, "cutoff", lambda variant: encoded)
    [saved] = list((run.paths.results / "experiments" / "lstm_cutoff").glob("*.npz"))
    saved.write_bytes(saved.read_bytes()[:40])  # truncated, as by a full disk
    with pytest.warns(DamagedCacheWarning, match=saved.name):
        again = run_lstm_ablation(run, "cutoff", lambda variant: encoded)
    assert np.array_equal(again.predictions["0.5"], first.predictions["0.5"])
    assert saved.with_name(saved.name + ".damaged").is_file() and saved.is_file()


def test_variants_with_other_validation_rows_are_refused(tmp_path):
    run = fake_run(tmp_path, ablation_text_variants=("standard", "nostem"))
    encoded = {"standard": toy_encoded(40, 20, 5), "nostem": toy_encoded(40, 21, 5, variant="nostem")}
    with pytest.raises(ValueError, match="'nostem' captions hold other validation rows.*rerun notebook 02"):
        run_lstm_ablation(run, "preprocessing", encoded.get)


def known_result(n_seeds: int = 2, name: str = "cutoff", settings: tuple[str, str, str] = ("ref", "copy", "lazy"),
                 train_s: tuple[float, float, float] = (2.0, 2.0, 2.0)) -> AblationResult:
    """The reference (first) predicts the truth, the second predicts it too, the third predicts the baseline."""
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
                              ("train_time_s", seconds + seed), ("test_time_s", 0.1), ("best_epoch", 3)):
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


def test_sentence_figure_and_titles_follow_the_numbers():
    result = known_result()
    sentence = ablation_sentence(result)
    assert "differ by more than the seed noise" in sentence
    assert "'lazy'" in sentence and "predict(s) exactly the trivial baseline" in sentence
    assert "(0.9995) lies 0.5995 above the trivial baseline (0.4000)" in sentence
    one_seed = known_result(n_seeds=1)
    assert "not measured" in spread_sentence(one_seed.tidy, "micro_f1")

    fig = plot_ablation(result)
    accuracy, f1, train_time, _ = fig.axes
    low, high = f1.get_ylim()
    assert high - low >= MIN_SCORE_SPAN and low <= 0.4 and high >= 1.0  # holds the baseline and every point
    assert any(line.get_linestyle() == "--" for line in f1.get_lines())
    assert train_time.get_ylim()[0] == 0

    history = pd.DataFrame({"epoch": [1, 2, 3]})
    assert run_status(history, 3, 3) == "epoch cap 3 reached while still improving"
    assert run_status(history, 1, 8) == "early stopping at epoch 3 (best 1)"
    assert run_status(history, 2, 3) == "epoch cap 3 reached (best epoch 2)"
    assert learning_curves_title([0, 1], ["epoch cap 3 reached while still improving"] * 2).startswith(
        "epoch cap reached while still improving")
    assert learning_curves_title([0, 1], ["early stopping at epoch 3 (best 1)"] * 2).startswith(
        "every run stopped early")


def test_what_we_found_is_built_from_the_numbers(tmp_path):
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
    text = what_we_found(results, summary, final, baseline, baseline_pred, run.profile.lstm, full)
    assert f"micro-F1 {final.val_scores['micro_f1']:.4f}" in text and f"{baseline['micro_f1']:.4f}" in text
    assert "trained 1 epoch(s) on 64 training rows" in text  # the smoke profile's reduction
    assert "best 'ref'" in text and "the reference setting" in text
    assert "10.5 s per run against 2.5 s at the reference 0.001 (4.2x)" in text
    assert "seeds of one setting differ by up to 1.0 s" in text and "slower by more than that spread" in text
    assert "LSTM probability cut-off 'lazy'" in text and "LSTM learning rate (Adam) '0.1'" in text
    if np.array_equal((final.val_probs >= 0.5).astype(np.uint8), baseline_pred):
        assert "identical to the trivial baseline on every validation row" in text
