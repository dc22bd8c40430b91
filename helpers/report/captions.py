"""Captions of the report document: what each figure and table shows, plus the caveats of the run that made it.

A caption is the item's fixed description followed by the caveats read from the run: the data set (the
built-in synthetic demo data is never comparable with the reference report's 86.1 %), the profile, the
seeds, whether the image backbone was pretrained or trained from scratch, models whose best epoch was
their last (unconverged), and rows whose 95 % interval of a difference includes zero (indistinguishable).
The run's facts come from `collect_run_info(out_dir)`: the pipeline's executed/timings.json and
artifacts/results/*_summary.json with their training histories; every part may be missing.
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from helpers.core.config import DATA_ROOT, RunPaths
from helpers.train.lstm_ablations import ABLATIONS

DEMO_SENTENCE = "built-in synthetic demo data — scores are not comparable with the reference report's 86.1 %"
INTERVAL_COLUMNS = (("diff_low", "diff_high"), ("95% interval low", "95% interval high"))

# item id -> (what it shows, which model's caveats apply: "image", "lstm", "joint", "fusion" or "")
DESCRIPTIONS: dict[str, tuple[str, str]] = {
    "fig01": ("How many training rows carry each label.", ""),
    "fig02": ("How many labels each training row carries.", ""),
    "fig03": ("Example images of each label (one grid per label).", ""),
    "table01": ("The labels: their COCO names, how often they occur and how often a caption names them.", ""),
    "fig24": ("How often two labels occur in the same row (label co-occurrence).", ""),
    "table02": ("Captions before and after each preprocessing variant.", ""),
    "table04": ("Dictionary sizes and token statistics of each preprocessing variant.", ""),
    "fig05": ("Caption lengths in words.", ""),
    "fig06": ("The most frequent caption words, stop words removed.", ""),
    "fig13": ("The most frequent caption words, stop words kept.", ""),
    "fig08": ("LSTM ablation: architecture (validation micro-F1 per setting and seed).", "lstm"),
    "fig09": ("LSTM ablation: decision cut-off.", "lstm"),
    "fig10": ("LSTM ablation: learning rate.", "lstm"),
    "fig11": ("LSTM ablation: embedding dimension.", "lstm"),
    "fig12": ("LSTM ablation: hidden dimension.", "lstm"),
    "fig14": ("LSTM ablation: caption preprocessing.", "lstm"),
    "fig30": ("Learning curves of the caption LSTMs.", "lstm"),
    "table03": ("LSTM sizes: parameters and megabytes per architecture.", "lstm"),
    "table08": ("Design of the caption LSTM.", "lstm"),
    "table09": ("Validation performance of the caption LSTM.", "lstm"),
    "table30": ("LSTM ablation runs: architecture (one row per setting and seed).", "lstm"),
    "table31": ("LSTM ablation runs: decision cut-off.", "lstm"),
    "table32": ("LSTM ablation runs: learning rate.", "lstm"),
    "table33": ("LSTM ablation runs: embedding dimension.", "lstm"),
    "table34": ("LSTM ablation runs: hidden dimension.", "lstm"),
    "table35": ("LSTM ablation runs: caption preprocessing.", "lstm"),
    "table36": ("LSTM ablations summarised: mean and spread over seeds, difference from the reference setting.",
                "lstm"),
    "table37": ("A pretrained caption encoder (frozen and fine-tuned) beside the LSTM pair on the same validation "
                "rows, with the samples-F1 difference to the LSTM pair and its paired-bootstrap interval.", ""),
    "fig15": ("Image model: learning rate.", "image"),
    "fig16": ("Image model: decision cut-off.", "image"),
    "fig17": ("Image model: optimiser.", "image"),
    "fig18": ("Image model: number of epochs.", "image"),
    "fig25": ("Image model: head architectures.", "image"),
    "fig26": ("Image model: loss functions.", "image"),
    "fig27": ("Image backbones compared: score, size and speed.", "image"),
    "table06": ("Design of the image model.", "image"),
    "table07": ("Validation and test performance of the image model.", "image"),
    "table27": ("Image backbones compared.", "image"),
    "fig40": ("Late fusion: the weight λ of the image model's probabilities.", "fusion"),
    "fig41": ("Fusion methods compared (validation micro-F1 and its interval against the chosen method).", "fusion"),
    "table05": ("Late fusion: the λ sweep, with the paired-bootstrap interval of each difference.", "fusion"),
    "table10": ("The final models compared: scores, time and size.", "fusion"),
    "table11": ("Fusion methods compared, with the paired-bootstrap interval of each difference.", "fusion"),
    "table21": ("Size budget of each model component (float32 and float16).", "fusion"),
    "fig19": ("Captions of rows the models got wrong.", "fusion"),
    "fig20": ("F1 per label of each model.", "fusion"),
    "fig21": ("Training curves of the models.", "fusion"),
    "fig22": ("Predictions on example images.", "fusion"),
    "fig23": ("Precision and recall per label.", "fusion"),
    "table20": ("Precision, recall and F1 per label of each model.", "fusion"),
    "fig42": ("The predictor (python -m helpers.predict) on example images.", "fusion"),
    "table22": ("Scores of the submission file on the test labels.", "fusion"),
}


def is_demo_data(data_dir: str | Path | None) -> bool:
    """True when the data folder is one of the built-in demo data sets (data/demo-<train>-<test>)."""
    if not data_dir:
        return False
    path = Path(data_dir)
    return path.name.startswith("demo-") or path.parent == DATA_ROOT and path.name.startswith("demo")


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _history_unconverged(results: Path, names: Sequence[str], best_epochs: Sequence[Any]) -> bool:
    """True when some history's best epoch is its last one (the score was still rising when training stopped)."""
    for i, name in enumerate(names):
        path = results / f"{name}_history.csv"
        try:
            history = pd.read_csv(path)
        except (OSError, ValueError):
            continue
        if history.empty or "epoch" not in history:
            continue
        last = int(history["epoch"].max())
        if i < len(best_epochs) and best_epochs[i] is not None:
            best = int(best_epochs[i])
        elif "best" in history and history["best"].astype(bool).any():
            best = int(history.loc[history["best"].astype(bool), "epoch"].iloc[-1])
        elif "val_micro_f1" in history:
            best = int(history.loc[history["val_micro_f1"].idxmax(), "epoch"])
        else:
            continue
        if best >= last:
            return True
    return False


def model_facts(summary: Mapping[str, Any], results: Path) -> dict[str, Any]:
    """The caveat facts of one results summary: seeds, pretrained, unconverged."""
    best_epochs = summary.get("best_epochs") or [summary.get("best_epoch")]
    histories = list(summary.get("histories") or [])
    flag = summary.get("unconverged")
    if flag is None and summary.get("converged") is not None:
        flag = not summary["converged"]
    unconverged = bool(flag) if flag is not None else _history_unconverged(results, histories, best_epochs)
    config = summary.get("config") if isinstance(summary.get("config"), Mapping) else {}
    seeds = summary.get("seeds")
    if seeds is None:
        train = config.get("train_config") or summary.get("train_config") or {}
        seeds = [train["seed"]] if isinstance(train, Mapping) and "seed" in train else None
    pretrained = summary.get("pretrained", config.get("pretrained"))
    return {"model": summary.get("model"), "seeds": seeds, "pretrained": pretrained,
            "backbone": config.get("backbone"), "unconverged": unconverged}


def collect_run_info(out_dir: str | Path) -> dict[str, Any]:
    """Everything the report says about a run, read from its output folder; missing files give missing keys."""
    paths = RunPaths(data_dir=Path("."), out_dir=Path(out_dir))
    timings = _read_json(paths.executed / "timings.json")
    summaries = {}
    if paths.results.is_dir():
        for path in sorted(paths.results.glob("*_summary.json")):
            summaries[path.name[: -len("_summary.json")]] = _read_json(path)
    models = {name: model_facts(summary, paths.results) for name, summary in summaries.items()}
    info: dict[str, Any] = {"out_dir": str(paths.out_dir), "timings": timings, "summaries": summaries,
                            "models": models}
    for key in ("data_dir", "profile", "seed", "finished", "machine"):
        if key in timings:
            info[key] = timings[key]
    info["demo"] = is_demo_data(info.get("data_dir"))
    return info


def data_caveat(run_info: Mapping[str, Any]) -> str:
    """The data-set clause of every caption."""
    if run_info.get("demo"):
        return f"Data: {DEMO_SENTENCE}."
    data_dir = run_info.get("data_dir")
    return f"Data: {Path(data_dir).name}." if data_dir else "Data: not recorded."


def _models_of(kind: str, models: Mapping[str, Mapping[str, Any]]) -> list[tuple[str, Mapping[str, Any]]]:
    if kind == "image":
        return [(n, m) for n, m in models.items() if n == "cnn"]
    if kind == "lstm":
        return [(n, m) for n, m in models.items() if n == "lstm"]
    return list(models.items())  # fusion and error analysis use every model


def model_caveats(kind: str, run_info: Mapping[str, Any]) -> list[str]:
    """Seeds, pretrained or from scratch, unconverged: the clauses for the models an item is about."""
    models = run_info.get("models") or {}
    clauses: list[str] = []
    for name, facts in _models_of(kind, models):
        if kind in ("image", "lstm") and facts.get("seeds"):
            clauses.append(f"Seeds: {', '.join(str(s) for s in facts['seeds'])}.")
        if name == "cnn" and facts.get("pretrained") is not None:
            backbone = facts.get("backbone") or "backbone"
            clauses.append(f"Image backbone ({backbone}): "
                           f"{'pretrained' if facts['pretrained'] else 'trained from scratch, not pretrained'}.")
    unconverged = [str(facts.get("model") or name) for name, facts in _models_of(kind, models)
                   if facts.get("unconverged")]
    if unconverged:
        clauses.append(f"Unconverged: {', '.join(unconverged)} (best epoch = last epoch; more epochs may help).")
    return clauses


def indistinguishable_rows(table: pd.DataFrame) -> list[str]:
    """Rows whose 95 % interval of a difference includes zero (the reference row itself, 0 to 0, excluded)."""
    for low, high in INTERVAL_COLUMNS:
        if low in table and high in table:
            lows = pd.to_numeric(table[low], errors="coerce")
            highs = pd.to_numeric(table[high], errors="coerce")
            straddle = (lows <= 0) & (highs >= 0) & ~((lows == 0) & (highs == 0))
            label = table.columns[0]
            if "setting" in table and "experiment" in table:
                names = table["experiment"].astype(str) + ": " + table["setting"].astype(str)
            else:
                names = table[label].astype(str)
            return names[straddle.fillna(False)].tolist()
    return []


def interval_caveat(table: pd.DataFrame | None) -> str | None:
    """The "indistinguishable" clause of a table (or of a figure drawn from it), or None without intervals."""
    if table is None or not any(low in table and high in table for low, high in INTERVAL_COLUMNS):
        return None
    rows = indistinguishable_rows(table)
    if not rows:
        return "Every 95 % interval of a difference excludes 0."
    shown = ", ".join(rows[:8]) + (f" and {len(rows) - 8} more" if len(rows) > 8 else "")
    return f"Indistinguishable (95 % interval of the difference includes 0): {shown}."


def ablation_rows(item: str, table: pd.DataFrame | None) -> pd.DataFrame | None:
    """An LSTM ablation figure's rows of the ablation summary (table36 holds all six ablations); other items' tables
    as they are."""
    if table is None or "experiment" not in table:
        return table
    for name, ablation in ABLATIONS.items():
        if ablation.figure.split("_")[0] == item:
            return table[table["experiment"] == f"lstm_{name}"]
    return table


def caption(item: str, run_info: Mapping[str, Any], table: pd.DataFrame | None = None) -> str:
    """The full caption of one figure or table: what it shows, then the run's caveats."""
    description, kind = DESCRIPTIONS.get(item, (f"{item}.", ""))
    parts = [description, data_caveat(run_info)]
    if run_info.get("profile"):
        parts.append(f"Profile: {run_info['profile']}.")
    if kind:
        parts += model_caveats(kind, run_info)
    interval = interval_caveat(ablation_rows(item, table))
    if interval:
        parts.append(interval)
    return " ".join(parts)
