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

from helpers.core.metrics import BASELINE_NAME, METRIC_NAMES, METRIC_TITLES, binarize, paired_bootstrap
from helpers.core.profiles import LstmSettings
from helpers.models.lstm import ARCHITECTURES, REFERENCE_VOCAB_SIZE, CaptionLSTM
from helpers.models.weights import MB, count_parameters, model_bytes
from helpers.report.ablations import metric_title, plot_seed_boxes, spread_finding
from helpers.report.figures import baseline_line
from helpers.train.experiments import TIDY_COLUMNS
from helpers.train.lstm_ablations import AblationResult
from helpers.train.lstm_training import FinalLstm, LstmRun

if TYPE_CHECKING:
    from helpers.run import Run


BASELINE_SETTING = "trivial baseline"  # the row / legend name of helpers.core.metrics.baseline_prediction
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


def ablation_table(result: AblationResult) -> pd.DataFrame:
    """The tidy results of one ablation with the trivial baseline's five scores as rows (no seed: it is not trained)."""
    experiment = result.tidy["experiment"].iloc[0]
    baseline = pd.DataFrame([{"experiment": experiment, "setting": BASELINE_SETTING, "seed": pd.NA, "metric": metric,
                              "value": value} for metric, value in result.baseline.items()], columns=TIDY_COLUMNS)
    table = pd.concat([result.tidy, baseline], ignore_index=True)
    table["seed"] = table["seed"].astype("Int64")
    return table


def reference_differences(result: AblationResult, metric: str = BOOTSTRAP_METRIC, n_boot: int = 1000,
                          seed: int = 0) -> pd.DataFrame:
    """Per setting (and the baseline): metric difference to the reference setting with its paired bootstrap interval.

    Predictions of all seeds are stacked (seed s of a setting paired with seed s of the reference), so the
    difference is the mean over seeds and the resampled rows are validation rows of every seed.
    """
    n_seeds = next(iter(result.predictions.values())).shape[0]
    truth = np.concatenate([result.val_Y] * n_seeds)
    reference = result.predictions[result.reference].reshape(-1, result.val_Y.shape[1])
    candidates = {setting: p.reshape(-1, result.val_Y.shape[1]) for setting, p in result.predictions.items()}
    candidates[BASELINE_SETTING] = np.concatenate([result.baseline_pred] * n_seeds)
    rows = []
    for setting, pred in candidates.items():
        if setting == result.reference:
            rows.append({"setting": setting, "diff": 0.0, "low": 0.0, "high": 0.0, "significant": False})
            continue
        rows.append({"setting": setting, **paired_bootstrap(truth, pred, reference, metric=metric, n_boot=n_boot,
                                                             seed=seed)})
    return pd.DataFrame(rows)


def ablation_summary(results: list[AblationResult], metric: str = BOOTSTRAP_METRIC) -> pd.DataFrame:
    """Mean and standard deviation over seeds of every metric, one row per (experiment, setting), the trivial
    baseline as a row per experiment, and each row's paired bootstrap difference to the experiment's reference."""
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
        parts.append(wide.merge(diffs, on="setting", how="left"))
    return pd.concat(parts, ignore_index=True)


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
    """Validation scores, best epoch, times and size of each seed's LSTM, of their average and of the baseline."""
    rows = [{"model": f"LSTM seed {seed}", **outcome.val_scores, "best epoch": outcome.trained.fit.best_epoch,
             "training time (s)": outcome.trained.fit.train_time_s, "testing time (s)": outcome.test_time_s,
             "size (MB)": outcome.size_bytes / MB} for seed, outcome in final.runs.items()]
    rows.append({"model": f"average of {len(final.runs)} LSTMs", **final.val_scores, "best epoch": np.nan,
                 "training time (s)": final.summary["train_time_s"], "testing time (s)": final.summary["test_time_s"],
                 "size (MB)": final.summary["size_bytes"] / MB})
    rows.append({"model": BASELINE_SETTING, **baseline, "best epoch": np.nan, "training time (s)": 0.0,
                 "testing time (s)": 0.0, "size (MB)": 0.0})
    return pd.DataFrame(rows).rename(columns={m: f"validation {METRIC_TITLES[m]}" for m in METRIC_NAMES})


ABLATION_PANELS = ("hamming_accuracy", "micro_f1", "train_time_s", "test_time_s")


def plot_ablation(result: AblationResult) -> plt.Figure:
    """The reference's four box plots over seeds: accuracy (per-label, as Keras' binary accuracy), micro-F1,
    training time and testing time; the trivial baseline dashed on the score panels."""
    ablation = result.ablation
    return plot_seed_boxes(result.tidy, ABLATION_PANELS, ablation.title, xlabel=ablation.xlabel,
                           baseline=result.baseline, baseline_label=BASELINE_SETTING)


def identical_to_baseline(result: AblationResult) -> list[str]:
    """Settings whose every seed predicts exactly the trivial baseline's label set on every validation row."""
    return [setting for setting, pred in result.predictions.items()
            if bool(np.all(pred == result.baseline_pred[None]))]


def ablation_finding(result: AblationResult, differences: pd.DataFrame | None = None) -> str:
    """What the figure shows, generated: seed spread vs differences, bootstrap against the reference, baseline."""
    metric = BOOTSTRAP_METRIC
    differences = reference_differences(result, metric) if differences is None else differences
    others = differences[~differences["setting"].isin([result.reference, BASELINE_SETTING])]
    significant = others[others["significant"]]
    parts = [spread_finding(result.tidy, metric)]
    if len(significant):
        listed = ", ".join(f"{row.setting!r} ({row.diff:+.4f}, 95% interval {row.low:+.4f} to {row.high:+.4f})"
                           for row in significant.itertuples())
        rest = len(others) - len(significant)
        parts.append(f"Against the reference setting {result.reference!r}, a paired bootstrap over validation rows "
                     f"finds a {metric_title(metric)} difference for {listed}"
                     + (f"; {rest} other setting(s) are indistinguishable from it." if rest else "."))
    elif len(others):
        parts.append(f"Against the reference setting {result.reference!r}, a paired bootstrap over validation rows "
                     f"finds no setting whose {metric_title(metric)} differs (every 95% interval contains 0).")
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
    return " ".join(parts)


def save_ablation(run: Run, result: AblationResult) -> tuple[plt.Figure, str]:
    """Write the ablation's tidy table (with the baseline rows) and its figure; return the figure and its sentence."""
    run.save_table(ablation_table(result), result.ablation.table)
    fig = plot_ablation(result)
    run.save_fig(fig, result.ablation.figure)
    return fig, ablation_finding(result)


def run_status(history: pd.DataFrame, best_epoch: int, max_epochs: int) -> str:
    """What ended one run: early stopping, or the epoch cap (while still improving, or not)."""
    last = int(history["epoch"].max())
    if last < max_epochs:
        return f"early stopping at epoch {last} (best {best_epoch})"
    if best_epoch == last:
        return f"epoch cap {max_epochs} reached while still improving"
    return f"epoch cap {max_epochs} reached (best epoch {best_epoch})"


def plot_learning_curves(final: FinalLstm, baseline_micro_f1: float) -> plt.Figure:
    """Training loss and validation micro-F1 per epoch for each seed; the kept (best) epoch marked."""
    fig, (loss_ax, f1_ax) = plt.subplots(1, 2, figsize=(11, 4.2))
    statuses = []
    for i, (seed, outcome) in enumerate(final.runs.items()):
        history, best_epoch, color = outcome.trained.fit.history, outcome.trained.fit.best_epoch, f"C{i}"
        statuses.append(run_status(history, best_epoch, final.config.epochs))
        loss_ax.plot(history["epoch"], history["train_loss"], marker="o", color=color, label=f"seed {seed}: training")
        loss_ax.plot(history["epoch"], history["val_loss"], marker="o", linestyle="--", color=color,
                     label=f"seed {seed}: validation")
        f1_ax.plot(history["epoch"], history["val_micro_f1"], marker="o", color=color, label=f"seed {seed}")
        best = history[history["epoch"] == best_epoch]
        f1_ax.scatter(best["epoch"], best["val_micro_f1"], s=140, facecolors="none", edgecolors=color,
                      linewidths=2, label=f"seed {seed}: kept epoch {best_epoch}")
    baseline_line(f1_ax, baseline_micro_f1, label=BASELINE_SETTING)
    f1_ax.set_ylim(0, 1)
    loss_ax.set(title="Binary cross-entropy", xlabel="epoch", ylabel="loss (mean per label)")
    f1_ax.set(title="Validation micro-F1", xlabel="epoch", ylabel="micro-F1")
    for ax in (loss_ax, f1_ax):
        ax.legend(fontsize=8)
        ax.xaxis.get_major_locator().set_params(integer=True)
    fig.suptitle("Final caption LSTM: " + learning_curves_title(list(final.runs), statuses), fontsize=11)
    fig.tight_layout()
    return fig


def learning_curves_title(seeds: list[int], statuses: list[str]) -> str:
    """Says what ended the runs: every run stopped early, every run hit the cap while improving, or each one."""
    detail = "; ".join(f"seed {seed}: {status}" for seed, status in zip(seeds, statuses))
    if all(s.startswith("early stopping") for s in statuses):
        return f"every run stopped early\n{detail}"
    if all("still improving" in s for s in statuses):
        return f"epoch cap reached while still improving (no early stop)\n{detail}"
    return detail


SLOWER = 1.5  # a training-time ratio above this is called out as slower


def _means(result: AblationResult, metric: str) -> pd.Series:
    data = result.tidy[result.tidy["metric"] == metric]
    return data.groupby("setting", sort=False)["value"].mean()


def _ablation_line(result: AblationResult, summary: pd.DataFrame) -> str:
    rows = summary[(summary["experiment"] == f"lstm_{result.name}") & (summary["setting"] != BASELINE_SETTING)]
    diff_col = f"{BOOTSTRAP_METRIC} minus reference"
    best = rows.loc[rows[f"{BOOTSTRAP_METRIC} mean"].idxmax()]
    text = f"{result.ablation.title}: best {best['setting']!r} (micro-F1 {best[f'{BOOTSTRAP_METRIC} mean']:.4f}"
    if best["setting"] == result.reference:
        text += ", the reference setting)"
    else:
        verdict = "a real difference" if bool(best["differs from reference"]) else "indistinguishable"
        text += (f", {best[diff_col]:+.4f} against the reference {result.reference!r}, 95% interval "
                 f"{best['95% interval low']:+.4f} to {best['95% interval high']:+.4f}: {verdict})")
    return text


def learning_rate_timing_finding(result: AblationResult, settings: LstmSettings) -> str:
    """The training time of the largest learning rate against the reference's, read against the seed spread."""
    times, epochs = _means(result, "train_time_s"), _means(result, "best_epoch")
    largest = str(max(settings.ablation_learning_rates))
    if largest == result.reference or largest not in times:
        return ""
    data = result.tidy[result.tidy["metric"] == "train_time_s"].groupby("setting")["value"]
    spread = float((data.max() - data.min())[[largest, result.reference]].max())
    ratio = times[largest] / times[result.reference]
    text = (f"Training at learning rate {largest} took {times[largest]:.1f} s per run against "
            f"{times[result.reference]:.1f} s at the reference {result.reference} ({ratio:.1f}x) for the same "
            f"epochs and rows (best epochs {epochs[largest]:.1f} and {epochs[result.reference]:.1f} on average); "
            f"seeds of one setting differ by up to {spread:.1f} s. ")
    if abs(times[largest] - times[result.reference]) <= spread:
        text += "The difference is within that spread: these times do not separate the learning rates. "
    elif ratio > SLOWER:
        text += "It is slower by more than that spread. "
    elif ratio < 1 / SLOWER:
        text += "It is faster by more than that spread. "
    text += ("Denormal floats are flushed to zero while training, so saturated gates at a large learning rate do "
             "not slow the CPU's arithmetic (helpers.engine.device.flush_denormals); the reference run is "
             "trained once and reused by five ablations, so its time was measured at another moment than the others', "
             "which on a shared machine can matter more than the setting.")
    return text


def findings(results: dict[str, AblationResult], summary: pd.DataFrame, final: FinalLstm,
                  baseline: dict[str, float], baseline_pred: np.ndarray, settings: LstmSettings,
                  full: LstmSettings) -> str:
    """Markdown list of findings; every number comes from the arguments (baseline: the trivial baseline's
    validation scores, baseline_pred its prediction)."""
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
    if np.array_equal(binarize(final.val_probs, final.config.cutoff), baseline_pred):
        lines.append("The final model's predictions are identical to the trivial baseline on every validation row: "
                     "it has learned only the most frequent label set (too few epochs or rows for this data).")
    if (settings.ablation_epochs, settings.ablation_max_rows) != (full.ablation_epochs, full.ablation_max_rows):
        rows = "every" if settings.ablation_max_rows is None else f"{settings.ablation_max_rows:,}"
        lines.append(f"The ablation runs trained {settings.ablation_epochs} epoch(s) on {rows} training rows "
                     f"(the reference: {full.ablation_epochs} epochs on every row), so differences partly reflect "
                     "how fast a setting learns.")
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
