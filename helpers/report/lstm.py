"""Notebook 04's report: its tables, figures and generated findings, computed from the LSTM results only.

Tables: stored sizes (table03), ablation results (table30-35) and their summary with paired bootstrap
intervals (table36), the final model's design (table08) and performance (table09). Figures: the ablation
box plots (fig08-fig12, fig14) with the finding under each (`ablation_finding`), and the final model's
learning curves (fig30), titled by what happened (early stopping or the epoch cap). `findings` is the
closing "What we found" list.
"""
from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from helpers.core.metrics import BASELINE_NAME, METRIC_NAMES, METRIC_TITLES, binarize
from helpers.core.profiles import LstmSettings
from helpers.models.lstm import ARCHITECTURES, REFERENCE_VOCAB_SIZE, CaptionLSTM
from helpers.models.weights import MB, count_parameters, model_bytes
from helpers.report.ablations import metric_title, paired_finding, plot_seed_boxes, seed_spread
from helpers.report.figures import baseline_line
from helpers.train.experiments import TIDY_COLUMNS
from helpers.train.lstm_ablations import (
    BASELINE_SETTING,
    AblationResult,
    run_outcomes,
    setting_differences,
    unconverged_settings,
)
from helpers.train.lstm_training import FinalLstm, LstmRun

if TYPE_CHECKING:
    from helpers.run import Run


REFERENCE_MB = {"standard": 4.1, "bidirectional": 5.7, "two_layers": 6.2}  # the study's stored sizes
BOOTSTRAP_METRIC = "micro_f1"  # the study's F1, the metric of the ablation figures


def captions_overview(standard: Any, baseline: dict[str, float]) -> str:
    """What notebook 04 trains on (notebook 02's standard EncodedText) and what the trivial baseline scores."""
    return "\n".join([
        f"dictionary: {standard.vocab_size:,} entries; captions cut to {standard.max_len} tokens, "
        f"mean length {standard.train_lengths.float().mean():.1f} tokens",
        f"rows: {len(standard.train_ids):,} training, {len(standard.val_ids):,} validation, "
        f"{len(standard.test_ids):,} test",
        f"{BASELINE_NAME}: validation micro-F1 {baseline['micro_f1']:.4f}, samples-F1 {baseline['samples_f1']:.4f}",
    ])


def size_table(vocab_size: int) -> pd.DataFrame:
    """Size (float32 tensors, MB = 10^6 bytes) of every architecture, for this run's dictionary and for the
    reference's 4,793 entries, beside the reference's figures."""
    rows = []
    for name, config in ARCHITECTURES.items():
        mine = CaptionLSTM(replace(config, vocab_size=vocab_size))
        reference = CaptionLSTM(replace(config, vocab_size=REFERENCE_VOCAB_SIZE))
        rows.append({
            "architecture": name,
            "parameters (this dictionary)": count_parameters(mine),
            "size MB (this dictionary)": model_bytes(mine) / MB,
            "size MB fp16 (this dictionary)": model_bytes(mine, half=True) / MB,
            "size MB (4,793 entries)": model_bytes(reference) / MB,
            "reference MB (4,793 entries)": REFERENCE_MB.get(name, float("nan")),
        })
    return pd.DataFrame(rows)


UNCONVERGED = "unconverged (epoch cap)"
STOPPED_EARLY = "stopped early"
STALLED = "unconverged (stalled at the baseline)"


def ablation_table(result: AblationResult) -> pd.DataFrame:
    """The tidy results of one ablation with the trivial baseline's five scores as rows (no seed: it is not trained),
    and a column "run" saying whether that run stopped early on a plateau or hit its epoch cap (unconverged)."""
    experiment = result.tidy["experiment"].iloc[0]
    baseline = pd.DataFrame([{"experiment": experiment, "setting": BASELINE_SETTING, "seed": pd.NA, "metric": metric,
                              "value": value} for metric, value in result.baseline.items()], columns=TIDY_COLUMNS)
    outcomes = run_outcomes(result)
    status = {(row.setting, row.seed): STALLED if row.stalled else STOPPED_EARLY if row.stopped_early else UNCONVERGED
              for row in outcomes.itertuples()}
    tidy = result.tidy.assign(run=[status.get((s, seed), "") for s, seed in zip(result.tidy["setting"],
                                                                                   result.tidy["seed"])])
    table = pd.concat([tidy, baseline.assign(run="not trained")], ignore_index=True)
    table["seed"] = table["seed"].astype("Int64")
    return table


def reference_differences(result: AblationResult, metric: str = BOOTSTRAP_METRIC, n_boot: int = 1000,
                          seed: int = 0) -> pd.DataFrame:
    """Per setting (and the baseline): metric difference to the reference setting with its paired bootstrap interval
    over validation rows (helpers.train.lstm_ablations.setting_differences)."""
    return setting_differences(result, metric, n_boot=n_boot, seed=seed)


def ablation_summary(results: list[AblationResult], metric: str = BOOTSTRAP_METRIC) -> pd.DataFrame:
    """Mean and standard deviation over seeds of every metric, one row per (experiment, setting), the trivial
    baseline as a row per experiment, each row's paired bootstrap difference to the experiment's reference, and
    how many of its runs stopped early on a plateau and how many hit the epoch cap ("unconverged" when any did)."""
    parts = []
    for result in results:
        tidy = ablation_table(result)
        grouped = tidy.groupby(["experiment", "setting", "metric"], sort=False)["value"]
        table = grouped.agg(["mean", "std"]).reset_index()
        wide = table.pivot_table(index=["experiment", "setting"], columns="metric", values=["mean", "std"],
                                 sort=False, dropna=False)
        wide.columns = [f"{m} {stat}" for stat, m in wide.columns]
        order = [f"{m} {s}" for m in (*METRIC_NAMES, "train_time_s", "test_time_s") for s in ("mean", "std")]
        wide = wide[[c for c in order if c in wide.columns]].reset_index()
        wide.insert(2, "reference setting", result.reference)
        diffs = reference_differences(result, metric).rename(columns={
            "diff": f"{metric} minus reference", "low": "95% interval low", "high": "95% interval high",
            "significant": "differs from reference"})
        outcomes = run_outcomes(result).groupby("setting", sort=False).agg(
            early=("stopped_early", "sum"), runs=("stopped_early", "size"), stalled=("stalled", "sum"),
            epochs=("epochs_run", "mean"))
        outcomes = pd.DataFrame({"setting": outcomes.index,
                                 "runs stopped early": (outcomes["early"] - outcomes["stalled"]).astype(int),
                                 "runs stalled at baseline": outcomes["stalled"].astype(int),
                                 "runs at epoch cap": (outcomes["runs"] - outcomes["early"]).astype(int),
                                 "mean epochs run": outcomes["epochs"]}).reset_index(drop=True)
        table = wide.merge(diffs, on="setting", how="left").merge(outcomes, on="setting", how="left")
        table["convergence"] = [("not trained" if setting == BASELINE_SETTING else UNCONVERGED if capped
                                 else STALLED if stalled else STOPPED_EARLY)
                                for setting, capped, stalled in zip(table["setting"], table["runs at epoch cap"],
                                                                    table["runs stalled at baseline"])]
        parts.append(table)
    return pd.concat(parts, ignore_index=True)


def convergence_counts(summary: pd.DataFrame) -> tuple[int, int]:
    """(runs that stopped early after learning, runs that hit their epoch cap or stalled at the baseline) over every
    ablation of table36."""
    trained = summary[summary["setting"] != BASELINE_SETTING]
    stalled = int(trained["runs stalled at baseline"].sum()) if "runs stalled at baseline" in trained else 0
    return int(trained["runs stopped early"].sum()), int(trained["runs at epoch cap"].sum()) + stalled


def design_table(config: LstmRun, vocab_size: int) -> pd.DataFrame:
    """The final text model's layers and training settings, one row each."""
    m = config.model
    rows = [
        ("dictionary", f"{vocab_size} entries (index 0 padding, 1 out-of-vocabulary)"),
        ("embedding", f"{m.embed_dim} dimensions"),
        ("LSTM", f"{m.num_layers} layer(s), hidden size {m.hidden_dim}, "
                 f"{'bidirectional' if m.bidirectional else 'forward only'}, readout at the last real token"),
        ("dropout", f"{m.dropout} on the LSTM features"),
        ("output", f"{m.n_labels} linear heads (one per label), sigmoid"),
        ("loss", "binary cross-entropy"),
        ("optimiser", f"Adam, learning rate {config.lr}"),
        ("batch", f"{config.batch_size} captions, grouped by length"),
        ("epochs", f"at most {config.epochs}, early stopping after {config.patience} epochs without "
                   "a better validation micro-F1"),
        ("cut-off", f"{config.cutoff}"),
        ("text", f"variant {config.variant!r}"),
        ("parameters", f"{count_parameters(CaptionLSTM(replace(m, vocab_size=vocab_size))):,}"),
    ]
    return pd.DataFrame(rows, columns=["component", "setting"])


def performance_table(final: FinalLstm, baseline: dict[str, float]) -> pd.DataFrame:
    """Validation scores, best epoch, how the run ended (stopped early, or unconverged at the epoch cap), times and size
    of each seed's LSTM, of their average and of the baseline."""
    rows = [{"model": f"LSTM seed {seed}", **outcome.val_scores, "best epoch": outcome.trained.fit.best_epoch,
             "run": run_status(outcome.trained.fit.history, outcome.trained.fit.best_epoch, final.config.epochs),
             "training time (s)": outcome.trained.fit.train_time_s, "testing time (s)": outcome.test_time_s,
             "size (MB)": outcome.size_bytes / MB} for seed, outcome in final.runs.items()]
    rows.append({"model": f"average of {len(final.runs)} LSTMs", **final.val_scores, "best epoch": np.nan,
                 "run": "average of the runs above",
                 "training time (s)": final.summary["train_time_s"], "testing time (s)": final.summary["test_time_s"],
                 "size (MB)": final.summary["size_bytes"] / MB})
    rows.append({"model": BASELINE_SETTING, **baseline, "best epoch": np.nan, "run": "not trained",
                 "training time (s)": 0.0,
                 "testing time (s)": 0.0, "size (MB)": 0.0})
    return pd.DataFrame(rows).rename(columns={m: f"validation {METRIC_TITLES[m]}" for m in METRIC_NAMES})


ABLATION_PANELS = ("hamming_accuracy", "micro_f1", "train_time_s", "test_time_s")


def plot_ablation(result: AblationResult) -> plt.Figure:
    """The reference's four box plots over seeds: accuracy (per-label, as Keras' binary accuracy), micro-F1,
    training time and testing time; the trivial baseline dashed on the score panels. A setting with a run that hit
    its epoch cap is labelled "unconverged" on the axis."""
    ablation = result.ablation
    capped, n_seeds = unconverged_settings(result), result.tidy["seed"].nunique()
    names = {setting: f"{setting}\n(unconverged{'' if n_seeds == 1 else f' {n}/{n_seeds}'})"
             for setting, n in capped.items()}
    tidy = result.tidy.assign(setting=result.tidy["setting"].map(lambda s: names.get(s, s)))
    title = ablation.title + (", every run stopped early" if not capped else "")
    return plot_seed_boxes(tidy, ABLATION_PANELS, title, xlabel=ablation.xlabel,
                           baseline=result.baseline, baseline_label=BASELINE_SETTING)


def identical_to_baseline(result: AblationResult) -> list[str]:
    """Settings whose every seed predicts exactly the trivial baseline's label set on every validation row."""
    return [setting for setting, pred in result.predictions.items()
            if bool(np.all(pred == result.baseline_pred[None]))]


def ablation_finding(result: AblationResult, differences: pd.DataFrame | None = None) -> str:
    """What the figure shows, generated: seed spread vs differences, bootstrap against the reference, baseline."""
    metric = BOOTSTRAP_METRIC
    differences = reference_differences(result, metric) if differences is None else differences
    spread = seed_spread(result.tidy, metric)
    parts = [f"On {metric_title(metric)}, the settings' means span {spread['between']:.4f} (best {spread['best']!r}, "
             f"worst {spread['worst']!r})" + (f"; seeds of one setting lie up to {spread['within']:.4f} apart"
                                               if spread["n_seeds"] > 1 else "") + ".",
             paired_finding(differences[differences["setting"] != BASELINE_SETTING], result.reference, metric)]
    reference_mean = result.tidy[(result.tidy["metric"] == metric) & (result.tidy["setting"] == result.reference)]
    reference_score = float(reference_mean["value"].mean())
    gap = reference_score - result.baseline[metric]
    parts.append(f"The reference setting's mean {metric_title(metric)} ({reference_score:.4f}) lies {abs(gap):.4f} "
                 f"{'above' if gap > 0 else 'below'} the trivial baseline ({result.baseline[metric]:.4f})"
                 + ("." if gap > 0 else ": it has not learned even what the most frequent label set gives."))
    same = identical_to_baseline(result)
    if same:
        parts.append(f"{', '.join(repr(s) for s in same)} predict(s) exactly the trivial baseline's label set on "
                     "every validation row for every seed: nothing was learned there.")
    parts.append(convergence_finding(result))
    return " ".join(parts)


def convergence_finding(result: AblationResult) -> str:
    """How the ablation's runs ended: early stopping on a plateau, or the epoch cap (unconverged, named)."""
    outcomes = run_outcomes(result)
    capped = unconverged_settings(result)
    cap = int(outcomes["epoch_cap"].max()) if outcomes["epoch_cap"].notna().any() else 0
    early = int((outcomes["stopped_early"] & ~outcomes["stalled"]).sum())
    text = f"{early} of {len(outcomes)} runs stopped early on a validation plateau"
    if not capped:
        return text + "."
    stalled = [repr(s) for s in outcomes.loc[outcomes["stalled"], "setting"].unique()]
    at_cap = [repr(s) for s in outcomes.loc[~outcomes["stopped_early"], "setting"].unique()]
    if at_cap:
        text += f"; unconverged (hit the {cap}-epoch cap): {', '.join(at_cap)}, whose score may still rise"
    if stalled:
        text += (f"; unconverged (stalled: patience ran out before the run ever beat the trivial baseline): "
                 f"{', '.join(stalled)}, so their score says nothing about the setting")
    return text + "."


def save_ablation(run: Run, result: AblationResult) -> tuple[plt.Figure, str]:
    """Write the ablation's tidy table (with the baseline rows) and its figure; return the figure and its sentence."""
    run.save_table(ablation_table(result), result.ablation.table)
    fig = plot_ablation(result)
    run.save_fig(fig, result.ablation.figure)
    return fig, ablation_finding(result)


def run_status(history: pd.DataFrame, best_epoch: int, max_epochs: int) -> str:
    """What ended one run: early stopping on a plateau, or the epoch cap (unconverged; while still improving or not)."""
    last = int(history["epoch"].max())
    if last < max_epochs:
        return f"stopped early at epoch {last} (kept {best_epoch})"
    if best_epoch == last:
        return f"unconverged: epoch cap {max_epochs} reached while still improving"
    return f"unconverged: epoch cap {max_epochs} reached (kept {best_epoch})"


def plot_learning_curves(final: FinalLstm, baseline_micro_f1: float) -> plt.Figure:
    """Training loss and validation micro-F1 per epoch for each seed; the kept (best) epoch marked, and each seed's
    ending (early stop or the epoch cap: unconverged) in its legend entry."""
    fig, (loss_ax, f1_ax) = plt.subplots(1, 2, figsize=(11, 5.2))
    statuses, scores = [], [baseline_micro_f1]
    for i, (seed, outcome) in enumerate(final.runs.items()):
        history, best_epoch, color = outcome.trained.fit.history, outcome.trained.fit.best_epoch, f"C{i}"
        status = run_status(history, best_epoch, final.config.epochs)
        statuses.append(status)
        loss_ax.plot(history["epoch"], history["train_loss"], marker="o", color=color, label=f"seed {seed}: training")
        loss_ax.plot(history["epoch"], history["val_loss"], marker="o", linestyle="--", color=color,
                     label=f"seed {seed}: validation")
        f1_ax.plot(history["epoch"], history["val_micro_f1"], marker="o", color=color, label=f"seed {seed}: {status}")
        scores += list(history["val_micro_f1"])
        best = history[history["epoch"] == best_epoch]
        f1_ax.scatter(best["epoch"], best["val_micro_f1"], s=140, facecolors="none", edgecolors=color,
                      linewidths=2, label=f"seed {seed}: kept epoch {best_epoch}")
    baseline_line(f1_ax, baseline_micro_f1, label=BASELINE_SETTING)
    f1_ax.set_ylim(max(0.0, min(scores) - 0.05), min(1.0, max(scores) + 0.05))
    loss_ax.set(title="Binary cross-entropy", xlabel="epoch", ylabel="loss (mean per label)")
    f1_ax.set(title="Validation micro-F1", xlabel="epoch", ylabel="micro-F1")
    for ax in (loss_ax, f1_ax):  # legends under the panels, never over a curve
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, frameon=False)
        ax.xaxis.get_major_locator().set_params(integer=True)
    fig.suptitle("Final caption LSTM: " + learning_curves_title(list(final.runs), statuses), fontsize=11)
    fig.tight_layout()
    return fig


def learning_curve_text(final: FinalLstm) -> str:
    """The measured learning curves, printed: each seed's validation micro-F1 per epoch and how the run ended."""
    lines = []
    for seed, outcome in final.runs.items():
        fit = outcome.trained.fit
        curve = " ".join(f"{v:.3f}" for v in fit.history["val_micro_f1"])
        lines.append(f"seed {seed}, validation micro-F1 per epoch: {curve} "
                     f"({run_status(fit.history, fit.best_epoch, final.config.epochs)})")
    return "\n".join(lines)


def learning_curves_title(seeds: list[int], statuses: list[str]) -> str:
    """What ended the runs, said once: every run stopped early, every run hit the cap (unconverged), or how many of
    each (the per-seed detail is in the legend)."""
    early = sum(s.startswith("stopped early") for s in statuses)
    if early == len(statuses):
        return f"every run ({len(statuses)}) stopped early on a validation plateau"
    if early == 0:
        return f"unconverged: every run ({len(statuses)}) hit the epoch cap"
    capped = [str(seed) for seed, s in zip(seeds, statuses) if not s.startswith("stopped early")]
    return f"{early} of {len(statuses)} runs stopped early; unconverged (epoch cap): seed {', '.join(capped)}"


SLOWER = 1.5  # a training-time ratio above this is called out as slower


def _means(result: AblationResult, metric: str) -> pd.Series:
    data = result.tidy[result.tidy["metric"] == metric]
    return data.groupby("setting", sort=False)["value"].mean()


def _ablation_line(result: AblationResult, summary: pd.DataFrame) -> str:
    rows = summary[(summary["experiment"] == f"lstm_{result.name}") & (summary["setting"] != BASELINE_SETTING)]
    diff_col = f"{BOOTSTRAP_METRIC} minus reference"
    best = rows.loc[rows[f"{BOOTSTRAP_METRIC} mean"].idxmax()]
    capped = unconverged_settings(result)
    mark = {setting: ", unconverged" if setting in capped else "" for setting in rows["setting"]}
    text = (f"{result.ablation.title}: best {best['setting']!r} (micro-F1 {best[f'{BOOTSTRAP_METRIC} mean']:.4f}"
            f"{mark[best['setting']]}")
    if best["setting"] == result.reference:
        text += ", the reference setting)"
    else:
        verdict = ("the interval excludes 0: a real difference" if bool(best["differs from reference"])
                   else "the interval contains 0: indistinguishable")
        text += (f", {best[diff_col]:+.4f} against the reference {result.reference!r}{mark[result.reference]}, "
                 f"95% paired bootstrap interval {best['95% interval low']:+.4f} to {best['95% interval high']:+.4f}: "
                 f"{verdict})")
    return text


def reference_margin(result: AblationResult, summary: pd.DataFrame) -> dict[str, float]:
    """The reference setting's micro-F1 minus the trivial baseline's, with its paired bootstrap interval."""
    rows = summary[summary["experiment"] == f"lstm_{result.name}"].set_index("setting")
    baseline = rows.loc[BASELINE_SETTING]
    diff_col = f"{BOOTSTRAP_METRIC} minus reference"
    return {"reference": float(rows.loc[result.reference, f"{BOOTSTRAP_METRIC} mean"]),
            "baseline": float(baseline[f"{BOOTSTRAP_METRIC} mean"]), "margin": -float(baseline[diff_col]),
            "low": -float(baseline["95% interval high"]), "high": -float(baseline["95% interval low"])}


def design_finding(design: pd.DataFrame) -> str:
    """Whether the final text model uses what the ablations found best, and why not where it does not."""
    adopted = design[design["adopted"]]
    kept = design[~design["adopted"]]
    why = []
    for row in kept.itertuples():
        if row.best == row.reference:
            why.append(f"{row.ablation}: the reference {row.reference!r} scored best")
        else:
            why.append(f"{row.ablation}: best {row.best!r} is indistinguishable from the reference {row.reference!r} "
                       f"({row.diff:+.4f}, interval {row.low:+.4f} to {row.high:+.4f})")
    if len(adopted):
        listed = ", ".join(f"{row.ablation} {row.best!r} ({row.diff:+.4f}, interval {row.low:+.4f} to "
                           f"{row.high:+.4f})" for row in adopted.itertuples())
        text = ("The final text model adopts what the ablations found better than the reference (paired bootstrap "
                f"interval above 0): {listed}")
        if len(adopted) > 1:
            text += "; each change was tested alone, so their combination is untested by the ablations"
    else:
        text = "The final text model keeps the reference design: no ablation found a setting better than the reference"
    return text + (f". Kept from the reference: {'; '.join(why)}." if why else ".")


def learning_rate_timing_finding(result: AblationResult, settings: LstmSettings) -> str:
    """The training time of the largest learning rate against the reference's, read against the seed spread."""
    times, epochs = _means(result, "train_time_s"), _means(result, "epochs_run")
    largest = str(max(settings.ablation_learning_rates))
    if largest == result.reference or largest not in times:
        return ""
    data = result.tidy[result.tidy["metric"] == "train_time_s"].groupby("setting")["value"]
    n_seeds = int(data.size()[[largest, result.reference]].min())
    spread = float((data.max() - data.min())[[largest, result.reference]].max())
    ratio = times[largest] / times[result.reference]
    per_epoch = {s: times[s] / max(float(epochs.get(s, np.nan)), 1.0) for s in (largest, result.reference)}
    text = (f"Training at learning rate {largest} took {times[largest]:.1f} s per run against "
            f"{times[result.reference]:.1f} s at the reference {result.reference} ({ratio:.1f}x) on the same "
            f"rows (epochs run {epochs.get(largest, np.nan):.1f} and {epochs.get(result.reference, np.nan):.1f} "
            f"on average, early stopping included; per epoch {per_epoch[largest]:.2f} s against "
            f"{per_epoch[result.reference]:.2f} s). ")
    if n_seeds < 2:
        text += ("With one seed per setting each time is one measurement: the spread over seeds is not measured, "
                 "so these times alone do not separate the learning rates. ")
    else:
        text += f"Seeds of one setting differ by up to {spread:.1f} s. "
        if abs(times[largest] - times[result.reference]) <= spread:
            text += "The difference is within that spread: these times do not separate the learning rates. "
        elif ratio > SLOWER:
            text += "It is slower by more than that spread. "
        elif ratio < 1 / SLOWER:
            text += "It is faster by more than that spread. "
    text += ("An epoch does the same arithmetic at every learning rate, and denormal floats are flushed to zero "
             "while training (helpers.engine.device.flush_denormals); a different time per epoch comes from the "
             "values a large step produces or from the machine's load at that moment (the reference run is trained "
             "once and reused by five ablations, so its time was measured at another moment), which this "
             "measurement does not separate.")
    return text


def findings(results: dict[str, AblationResult], summary: pd.DataFrame, final: FinalLstm,
             baseline: dict[str, float], baseline_pred: np.ndarray, settings: LstmSettings,
             full: LstmSettings, design: pd.DataFrame | None = None) -> str:
    """Markdown list of findings; every number comes from the arguments (baseline: the trivial baseline's
    validation scores, baseline_pred its prediction; design: helpers.train.lstm_ablations.final_design's table)."""
    seeds = {seed: outcome.val_scores["micro_f1"] for seed, outcome in final.runs.items()}
    best_seed = max(seeds, key=seeds.get)
    avg = final.val_scores["micro_f1"]
    lines = [
        f"The final text model (average of {len(seeds)} LSTMs) reaches validation micro-F1 {avg:.4f} and "
        f"samples-F1 {final.val_scores['samples_f1']:.4f}, against {baseline['micro_f1']:.4f} and "
        f"{baseline['samples_f1']:.4f} for the trivial baseline; the average is "
        f"{'at least as good as' if avg >= seeds[best_seed] else 'below'} its best single run "
        f"(seed {best_seed}, {seeds[best_seed]:.4f}).",
    ]
    statuses = [run_status(o.trained.fit.history, o.trained.fit.best_epoch, final.config.epochs)
                for o in final.runs.values()]
    lines.append("Its runs: " + "; ".join(f"seed {seed} {status}" for seed, status in zip(final.runs, statuses))
                 + ("." if all(s.startswith("stopped early") for s in statuses)
                    else ": an unconverged run may still improve with a higher epoch cap."))
    if design is not None:
        lines.append(design_finding(design))
    if np.array_equal(binarize(final.val_probs, final.config.cutoff), baseline_pred):
        lines.append("The final model's predictions are identical to the trivial baseline on every validation row: "
                     "it has learned only the most frequent label set (too few epochs or rows for this data).")
    early, capped = convergence_counts(summary)
    rows = ("every training row" if settings.ablation_max_rows is None
            else f"{settings.ablation_max_rows:,} training rows")
    line = (f"The ablation runs trained on {rows} with early stopping (patience {settings.patience}, "
            f"cap {settings.ablation_epochs} epochs; the reference study: {full.ablation_epochs} epochs): "
            f"{early} run(s) stopped early on a validation plateau after beating the trivial baseline, ")
    line += ("none is unconverged." if capped == 0 else
             f"{capped} are unconverged (hit the cap, or stalled: patience ran out before they beat the baseline; "
             "their differences from the reference say how fast a setting starts to learn, not where it ends up).")
    if settings.ablation_max_rows is not None:
        line += " Training on a subset, the ablations' scores sit below what every row gives."
    lines.append(line)
    if results:
        margin = reference_margin(next(iter(results.values())), summary)
        lines.append(f"The reference setting reaches micro-F1 {margin['reference']:.4f}, {margin['margin']:+.4f} "
                     f"against the trivial baseline's {margin['baseline']:.4f} (95% paired bootstrap interval "
                     f"{margin['low']:+.4f} to {margin['high']:+.4f}).")
    lines += [_ablation_line(result, summary) + "." for result in results.values()]
    if "learning_rate" in results:
        timing = learning_rate_timing_finding(results["learning_rate"], settings)
        if timing:
            lines.append(timing)
    same = [f"{result.ablation.title} {setting!r}" for result in results.values()
            for setting in identical_to_baseline(result)]
    if same:
        lines.append(f"Identical to the trivial baseline on every validation row and seed (nothing learned): "
                     f"{', '.join(same)}.")
    else:
        lines.append("No setting predicts exactly the trivial baseline everywhere.")
    return "\n".join(f"- {line}" for line in lines)
