"""The reference study's six LSTM ablations: each changes one setting of the reference LSTM.

The values each ablation tries are profile settings (helpers.core.profiles.LstmSettings.ablation_*),
defined once; every grid holds the reference setting, which the other settings are compared with.
The cut-off ablation scores the reference LSTM (trained once, at the reference cut-off) at each cut-off, as the
study does. Every setting is trained with every seed of the profile, with early stopping on a validation plateau
(LstmSettings.patience) under an epoch cap (ablation_epochs); each result records whether the run stopped
early or hit the cap (unconverged). Scores are on the validation rows, whose 0/1 predictions are kept beside
each cached result for the paired bootstrap against the reference setting (`setting_differences`), which also
decides what the final text model adopts (`final_design`).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from helpers.core.files import atomic_path, read_cached, stable_hash
from helpers.core.metrics import binarize, differences_to_reference, scores_at_cutoff
from helpers.core.profiles import LstmSettings
from helpers.models.lstm import ARCHITECTURES
from helpers.text.preprocessing import VARIANT_LABELS
from helpers.train.experiments import result_path, run_experiments
from helpers.train.lstm_training import LstmRun, final_run_config, predict, reference_run, train_lstm, trivial_baseline

if TYPE_CHECKING:
    from helpers.run import Run

@dataclass(frozen=True)
class Ablation:
    figure: str  # figNN_what
    table: str  # tableNN_what: the tidy results
    title: str
    xlabel: str
    grid: str  # the LstmSettings field holding the values tried
    apply: Callable[[LstmRun, Any], LstmRun]  # the reference run with one value of the grid


def _architecture(base: LstmRun, name: str) -> LstmRun:
    if name not in ARCHITECTURES:
        raise ValueError(f"unknown LSTM architecture {name!r} in ablation_architectures; "
                         f"choose from {', '.join(ARCHITECTURES)}")
    return replace(base, model=ARCHITECTURES[name])


ABLATIONS: dict[str, Ablation] = {
    "architecture": Ablation("fig08_lstm_architecture", "table30_lstm_ablation_architecture", "LSTM architecture",
                             "architecture", "ablation_architectures", _architecture),
    "cutoff": Ablation("fig09_lstm_cutoff", "table31_lstm_ablation_cutoff", "LSTM probability cut-off", "cut-off",
                       "ablation_cutoffs", lambda base, c: replace(base, score_cutoff=None if c == base.cutoff else c)),
    "learning_rate": Ablation("fig10_lstm_learning_rate", "table32_lstm_ablation_learning_rate",
                              "LSTM learning rate (Adam)", "learning rate", "ablation_learning_rates",
                              lambda base, lr: replace(base, lr=lr)),
    "embedding_dim": Ablation("fig11_lstm_embedding_dim", "table33_lstm_ablation_embedding_dim",
                              "LSTM embedding dimension", "embedding dimension", "ablation_embed_dims",
                              lambda base, d: replace(base, model=replace(base.model, embed_dim=d))),
    "hidden_dim": Ablation("fig12_lstm_hidden_dim", "table34_lstm_ablation_hidden_dim", "LSTM hidden dimension",
                           "hidden dimension", "ablation_hidden_dims",
                           lambda base, d: replace(base, model=replace(base.model, hidden_dim=d))),
    "preprocessing": Ablation("fig14_lstm_preprocessing", "table35_lstm_ablation_preprocessing",
                              "Caption preprocessing", "preprocessing", "ablation_text_variants",
                              lambda base, v: replace(base, variant=v)),
}


def ablation_base(settings: LstmSettings) -> LstmRun:
    """The reference LSTM as trained in every ablation of this profile: early stopping under an epoch cap."""
    return reference_run(settings, epochs=settings.ablation_epochs, patience=settings.patience,
                         max_train_rows=settings.ablation_max_rows)


def _setting_name(value: Any) -> str:
    if isinstance(value, str):
        return VARIANT_LABELS.get(value) or value.replace("_", " ").replace("first last", "first+last")
    return str(value)


def setting_values(name: str, settings: LstmSettings) -> dict[str, Any]:
    """Readable setting name -> the grid value it stands for, for one ablation."""
    return {_setting_name(value): value for value in getattr(settings, ABLATIONS[name].grid)}


def ablation_settings(name: str, settings: LstmSettings) -> tuple[dict[str, LstmRun], str]:
    """(readable setting name -> run config, the name of the reference setting) for one ablation."""
    ablation, base = ABLATIONS[name], ablation_base(settings)
    grid = getattr(settings, ablation.grid)
    runs = {setting: ablation.apply(base, value) for setting, value in setting_values(name, settings).items()}
    reference = [setting for setting, config in runs.items() if config == base]
    if not reference:
        raise ValueError(f"LstmSettings.{ablation.grid} = {grid} lacks the reference setting (the reference LSTM "
                         f"of this profile); add it so that the other settings can be compared with it")
    return runs, reference[0]


@dataclass
class AblationResult:
    name: str
    tidy: pd.DataFrame  # experiment, setting, seed, metric, value (validation rows)
    reference: str  # the setting the others are compared with
    val_Y: np.ndarray  # (n_val, 18) truth of the validation rows
    predictions: dict[str, np.ndarray]  # setting -> (n_seeds, n_val, 18) 0/1 validation predictions, seed order
    baseline_pred: np.ndarray  # (n_val, 18) the trivial baseline's prediction
    baseline: dict[str, float]  # its five scores on the validation rows

    @property
    def ablation(self) -> Ablation:
        return ABLATIONS[self.name]


def _save_predictions(path: Path, predictions: np.ndarray) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, predictions=predictions.astype(np.uint8))


def _read_predictions(path: Path) -> np.ndarray:
    with np.load(path, allow_pickle=False) as data:
        return data["predictions"]


def run_lstm_ablation(run: Run, name: str, load_encoded: Callable[[str], Any]) -> AblationResult:
    """Train every setting of one ablation with every seed of the profile; tidy results (cached) and predictions.

    Scores are on the validation rows: the five metrics at the setting's cut-off, the training time
    (optimisation only, all epochs) and the testing time (predicting every validation row).
    load_encoded(variant) returns notebook 02's EncodedText for that preprocessing variant.
    """
    lstm = run.profile.lstm
    settings, reference = ablation_settings(name, lstm)
    standard = load_encoded("standard")
    for config in settings.values():  # predictions of every variant are compared row by row
        if not np.array_equal(load_encoded(config.variant).val_ids, standard.val_ids):
            raise ValueError(f"the {config.variant!r} captions hold other validation rows than the 'standard' ones: "
                             "rerun notebook 02 with the same DATA_DIR and OUT_DIR")
    cache_dir = run.paths.results / "experiments"
    text_keys = sorted({load_encoded(config.variant).config.get("key", "") for config in settings.values()})
    key, experiment = stable_hash([run.fingerprint, text_keys]), f"lstm_{name}"

    def predictions_path(config: LstmRun, seed: int) -> Path:
        return result_path(cache_dir, experiment, key, config, seed).with_suffix(".npz")

    def trained_probs(config: LstmRun, seed: int) -> tuple[Any, np.ndarray, float]:
        encoded = load_encoded(config.variant)
        trained = train_lstm(run, encoded, config, seed, desc=f"{name} seed {seed}")
        probs, test_s = predict(trained.model, encoded.val_tokens, encoded.val_lengths, run.device)
        _save_predictions(predictions_path(config, seed), binarize(probs, config.applied_cutoff))
        return trained, probs, test_s

    def train_and_score(config: LstmRun, seed: int) -> dict[str, float]:
        trained, probs, test_s = trained_probs(config, seed)
        return {**scores_at_cutoff(load_encoded(config.variant).val_Y, probs, config.applied_cutoff),
                "train_time_s": trained.fit.train_time_s, "test_time_s": test_s, "best_epoch": trained.fit.best_epoch,
                "epochs_run": len(trained.fit.history), "stopped_early": float(trained.fit.stopped_early),
                "epoch_cap": config.epochs}

    tidy = run_experiments(experiment, settings, lstm.seeds, train_and_score, cache_dir, key=key, fresh=run.fresh)
    predictions = {}
    for setting, config in settings.items():
        per_seed = []
        for seed in lstm.seeds:
            saved = read_cached(predictions_path(config, seed), _read_predictions, f"{experiment} predictions")
            if saved is None:  # missing or damaged: the checkpoint is reused, only the prediction is redone
                saved = binarize(trained_probs(config, seed)[1], config.applied_cutoff)
            per_seed.append(saved)
        predictions[setting] = np.stack(per_seed)
    baseline_pred, baseline = trivial_baseline(standard)
    return AblationResult(name, tidy, reference, np.asarray(standard.val_Y, dtype=np.uint8), predictions,
                          baseline_pred, baseline)


def run_outcomes(result: AblationResult) -> pd.DataFrame:
    """One row per (setting, seed): epochs run, best epoch, the cap, whether it stopped early on a plateau, and
    whether it stalled: stopped early without ever beating the trivial baseline's micro-F1 (patience ran out on the
    flat start, before the run learned anything).

    A run that did not stop early ran to its epoch cap; both it and a stalled run are unconverged.
    """
    wide = result.tidy.pivot_table(index=["setting", "seed"], columns="metric", values="value", sort=False)
    wide = wide.reset_index()
    for column in ("epochs_run", "stopped_early", "epoch_cap", "best_epoch", "micro_f1"):
        if column not in wide:
            wide[column] = np.nan
    wide["stopped_early"] = wide["stopped_early"].fillna(0).astype(bool)
    baseline = result.baseline.get("micro_f1", float("-inf"))
    wide["stalled"] = wide["stopped_early"] & (wide["micro_f1"] <= baseline + 1e-9)
    return wide[["setting", "seed", "epochs_run", "best_epoch", "epoch_cap", "stopped_early", "stalled"]]


def unconverged_settings(result: AblationResult) -> dict[str, int]:
    """Setting -> how many of its seeds hit the epoch cap or stalled at the baseline (settings where none did are
    left out)."""
    outcomes = run_outcomes(result)
    capped = outcomes[~outcomes["stopped_early"] | outcomes["stalled"]].groupby("setting", sort=False).size()
    return {str(setting): int(n) for setting, n in capped.items()}


def setting_differences(result: AblationResult, metric: str = "micro_f1", n_boot: int = 1000,
                        seed: int = 0) -> pd.DataFrame:
    """Per setting (and the baseline, named BASELINE_SETTING): metric difference to the reference setting with its
    paired bootstrap interval over validation rows (columns setting, diff, low, high, significant; seeds paired as
    helpers.core.metrics.differences_to_reference pairs them)."""
    return differences_to_reference(result.val_Y, result.predictions, result.reference,
                                    extra={BASELINE_SETTING: result.baseline_pred}, metric=metric, n_boot=n_boot,
                                    seed=seed)


BASELINE_SETTING = "trivial baseline"  # the row name of the trivial baseline in the differences


def final_design(results: dict[str, AblationResult], settings: LstmSettings,
                 metric: str = "micro_f1") -> tuple[LstmRun, pd.DataFrame]:
    """The final text model's config: the reference design with, from each ablation, the setting that beats the
    reference setting (highest mean metric, paired bootstrap interval above 0); and one row per ablation saying
    what it found (ablation, reference, best, diff, low, high, adopted).

    Every change was tested alone against the reference; their combination is not tested by the ablations.
    """
    config, rows = final_run_config(settings), []
    for name, result in results.items():
        differences = setting_differences(result, metric).set_index("setting")
        means = result.tidy[result.tidy["metric"] == metric].groupby("setting", sort=False)["value"].mean()
        best = str(means.idxmax())
        found = differences.loc[best]
        adopted = best != result.reference and bool(found["significant"]) and float(found["diff"]) > 0
        if adopted:
            config = ABLATIONS[name].apply(config, setting_values(name, settings)[best])
            config = replace(config, cutoff=config.applied_cutoff, score_cutoff=None)  # trained at its cut-off
        rows.append({"ablation": name, "reference": result.reference, "best": best,
                     "diff": float(found["diff"]), "low": float(found["low"]), "high": float(found["high"]),
                     "adopted": adopted})
    return config, pd.DataFrame(rows)
