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
    ablation_finding,
    ablation_summary,
    ablation_table,
    captions_overview,
    findings,
    learning_curves_title,
    plot_ablation,
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


def test_finding_figure_and_titles_follow_the_numbers():
    result = known_result()
    sentence = ablation_finding(result)
    assert "differ by more than the seed noise" in sentence
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
    assert run_status(history, 3, 3) == "epoch cap 3 reached while still improving"
    assert run_status(history, 1, 8) == "early stopping at epoch 3 (best 1)"
    assert run_status(history, 2, 3) == "epoch cap 3 reached (best epoch 2)"
    assert learning_curves_title([0, 1], ["epoch cap 3 reached while still improving"] * 2).startswith(
        "epoch cap reached while still improving")
    assert learning_curves_title([0, 1], ["early stopping at epoch 3 (best 1)"] * 2).startswith(
        "every run stopped early")


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
    assert "trained 1 epoch(s) on 64 training rows" in text  # the smoke profile's reduction
    assert "best 'ref'" in text and "the reference setting" in text
    assert "10.5 s per run against 2.5 s at the reference 0.001 (4.2x)" in text
    assert "seeds of one setting differ by up to 1.0 s" in text and "slower by more than that spread" in text
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
