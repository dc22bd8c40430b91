"""helpers.train.lstm_ablations: grids from the profile, tidy cached results, kept predictions, refused variants."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.core.files import DamagedCacheWarning
from helpers.core.labels import N_LABELS
from helpers.core.profiles import PROFILES, LstmSettings
from helpers.models.lstm import ARCHITECTURES
from helpers.train.experiments import TIDY_COLUMNS
from helpers.train.lstm_ablations import (
    AblationResult,
    ablation_base,
    ablation_settings,
    final_design,
    run_lstm_ablation,
    run_outcomes,
    unconverged_settings,
)
from helpers.train.lstm_training import final_run_config
from tests.lstm_fakes import fake_run, toy_encoded

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
    assert ablation_base(settings).patience == settings.patience  # ablation runs stop early on a plateau
    runs, reference = ablation_settings("cutoff", settings)  # one trained model, scored at each cut-off
    assert {r.cutoff for r in runs.values()} == {settings.cutoff}
    assert [r.applied_cutoff for r in runs.values()] == list(settings.ablation_cutoffs)
    with pytest.raises(ValueError, match="ablation_cutoffs.*lacks the reference"):
        ablation_settings("cutoff", LstmSettings(ablation_cutoffs=(0.3, 0.7)))


def test_ablation_is_tidy_cached_and_keeps_predictions(tmp_path, monkeypatch):
    run = fake_run(tmp_path, ablation_cutoffs=(0.25, 0.5), ablation_epochs=1, ablation_max_rows=None, batch_size=64)
    encoded = toy_encoded(120, 40, 10)
    result = run_lstm_ablation(run, "cutoff", lambda variant: encoded)
    tidy = result.tidy
    assert list(tidy.columns) == TIDY_COLUMNS
    assert set(tidy["metric"]) >= {"micro_f1", "samples_f1", "macro_f1", "exact_match", "hamming_accuracy",
                                   "train_time_s", "test_time_s", "best_epoch", "epochs_run", "stopped_early",
                                   "epoch_cap"}
    assert len(list((run.paths.checkpoints / "lstm").glob("*.pt"))) == 1  # both cut-offs score one trained model
    outcomes = run_outcomes(result)
    assert list(outcomes["epoch_cap"]) == [1, 1] and not outcomes["stopped_early"].any()  # 1 epoch: the cap
    assert unconverged_settings(result) == {"0.25": 1, "0.5": 1}
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


def fake_result(name: str, settings: LstmSettings, better: str | None, gain: int) -> AblationResult:
    """One seed per setting; the reference predicts 100 of 200 rows right, `better` predicts `gain` more rows right."""
    runs, reference = ablation_settings(name, settings)
    truth = np.zeros((200, N_LABELS), dtype=np.uint8)
    truth[:, 0] = 1
    predictions, rows = {}, []
    for setting in runs:
        pred = np.zeros_like(truth)
        pred[: 100 + (gain if setting == better else 0), 0] = 1
        predictions[setting] = pred[None]
        f1 = 2 * pred[:, 0].sum() / (pred[:, 0].sum() + 200)
        rows.append({"experiment": f"lstm_{name}", "setting": setting, "seed": 0, "metric": "micro_f1", "value": f1})
    return AblationResult(name, pd.DataFrame(rows, columns=TIDY_COLUMNS), reference, truth, predictions,
                          np.zeros_like(truth), {"micro_f1": 0.0})


def test_the_final_design_adopts_only_settings_that_beat_the_reference():
    settings = LstmSettings()
    results = {"hidden_dim": fake_result("hidden_dim", settings, "128", gain=60),  # clearly better
               "embedding_dim": fake_result("embedding_dim", settings, "64", gain=1),  # within noise
               "cutoff": fake_result("cutoff", settings, "0.25", gain=60)}
    config, table = final_design(results, settings)
    table = table.set_index("ablation")
    assert bool(table.loc["hidden_dim", "adopted"]) and table.loc["hidden_dim", "low"] > 0
    assert table.loc["embedding_dim", "best"] == "64" and not table.loc["embedding_dim", "adopted"]
    base = final_run_config(settings)
    assert config.model.hidden_dim == 128 and config.model.embed_dim == base.model.embed_dim
    assert config.cutoff == 0.25 and config.score_cutoff is None  # the final model is trained at its cut-off
    assert (config.epochs, config.patience) == (base.epochs, base.patience)
    unchanged, _ = final_design({"embedding_dim": results["embedding_dim"]}, settings)
    assert unchanged == base
