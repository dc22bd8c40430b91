"""Notebook 04's encoder comparison: same rows, paired intervals against the LSTM pair, unconverged runs named."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd

from helpers.report.text_encoders import BASELINE_ROW, LSTM_ROW, encoder_comparison_table, encoder_finding
from helpers.train.encoder_training import EncoderRuns


def _result(probs, epochs):
    history = pd.DataFrame({"epoch": np.arange(1, epochs + 1)})
    return SimpleNamespace(val_probs=probs, history=history, fit=SimpleNamespace(history=history), n_parameters=1000,
                           mb_float32=4.0, mb_float16=2.0, train_time_s=12.0, train_captions_per_s=50.0,
                           infer_captions_per_s=200.0)


def _case(n=200, seed=0):
    rng = np.random.default_rng(seed)
    Y = (rng.random((n, 18)) < 0.2).astype(np.uint8)
    Y[:, 0] = 1
    perfect = Y.astype(np.float32) * 0.9 + 0.05
    noisy = np.where(rng.random(Y.shape) < 0.3, 1 - perfect, perfect)
    ids = np.array([f"{i}.jpg" for i in range(n)])
    runs = EncoderRuns(runs={"encoder (frozen)": _result(noisy, 4), "encoder (fine-tuned)": _result(perfect, 2)},
                       chosen="encoder (fine-tuned)", val_ids=ids, Y_val=Y,
                       summary={"runs": {"encoder (frozen)": {"epoch cap": 10},
                                         "encoder (fine-tuned)": {"epoch cap": 2}}})
    return runs, ids, noisy, Y


def test_rows_are_scored_on_the_same_rows_against_the_lstm_pair():
    runs, ids, noisy, Y = _case()
    baseline = np.tile((np.arange(18) == 0).astype(np.uint8), (len(Y), 1))
    lstm_summary = {"cutoff": 0.5, "size_bytes": 4_000_000, "train_time_s": 30.0, "test_time_s": 2.0}
    table = encoder_comparison_table(runs, ids[::-1], noisy[::-1], lstm_summary, baseline, n_test=100, n_boot=200)
    by = table.set_index("model")
    assert list(table["model"]) == [BASELINE_ROW, LSTM_ROW, "encoder (frozen)", "encoder (fine-tuned) (handed over)"]
    assert by.loc["encoder (frozen)", "diff_vs_lstm"] == 0.0  # the same probabilities as the LSTM, once aligned
    assert by.loc["encoder (frozen)", "verdict"] == "indistinguishable"
    assert by.loc["encoder (fine-tuned) (handed over)", "samples_f1"] == 1.0
    assert by.loc["encoder (fine-tuned) (handed over)", "verdict"] == "real"
    assert by.loc["encoder (fine-tuned) (handed over)", "stopped"].startswith("unconverged")
    assert by.loc["encoder (frozen)", "stopped"] == "early stopping"
    assert by.loc[LSTM_ROW, "parameters"] == 1_000_000 and by.loc[LSTM_ROW, "inference captions/s"] == 50.0
    text = encoder_finding(table, runs, "tiny")
    assert "better than the LSTM pair" in text and "indistinguishable from the LSTM pair" in text
    assert "**unconverged**" in text and "**encoder (fine-tuned)**" in text
