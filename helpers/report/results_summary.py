"""The results summary (figures/results_summary.md) and notebook 05's generated "What we found" paragraph.

Every sentence is built from the computed tables, so it cannot drift from them; the summary file is
what the README pastes between its results markers.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from helpers.core.atomic_io import write_text
from helpers.fusion.catalogue import ROW_RULE
from helpers.report.figures import markdown_table, readable


def write_results_summary(path: str | Path, title: str, sections: Mapping[str, str | pd.DataFrame]) -> Path:
    """Markdown file with one section per entry: a generated paragraph or a table (rounded for reading)."""
    parts = [f"# {title}", ""]
    for heading, body in sections.items():
        parts += [f"## {heading}", ""]
        parts.append(markdown_table(readable(body)) if isinstance(body, pd.DataFrame) else str(body))
        parts.append("")
    return write_text(path, "\n".join(parts))


def _interval(row: pd.Series) -> str:
    return f"{row['diff']:+.3f} (95 % interval {row['diff_low']:+.3f} to {row['diff_high']:+.3f})"


def what_we_found(table: pd.DataFrame, chosen: str, reference: str, baseline: str,
                  row_pairs: Sequence[tuple[str, str, str]], joint_sources: Sequence[str],
                  joint_vs_late: Mapping[str, float] | None, lambda_text: str, margin: float = 0.005) -> str:
    """Findings of notebook 05 from table11 (with intervals): chosen method, baseline, decision rule, joint model."""
    t = table.set_index("method")
    base = float(t.loc[baseline, "samples_f1"])
    parts = []
    ch = t.loc[chosen]
    parts.append(f"The final method is **{chosen}** (out-of-fold samples-F1 {ch['samples_f1']:.3f}); against the "
                 f"reference ({reference}, {t.loc[reference, 'samples_f1']:.3f}) it differs by {_interval(ch)}, "
                 + ("more than row noise." if ch["significant"] else "which the rows cannot tell from no difference."))
    near = [m for m in t.index if m != baseline and t.loc[m, "samples_f1"] <= base + margin]
    listed = "; ".join(near[:6]) + (f"; and {len(near) - 6} more" if len(near) > 6 else "")
    parts.append(f"The trivial baseline scores samples-F1 {base:.3f}; "
                 + (f"{len(near)} method(s) score within {margin} of it or below, i.e. learned next to nothing: "
                    f"{listed}." if near else "every method scores clearly above it."))
    if row_pairs:
        plain = [t.loc[r, "samples_f1"] - t.loc[c, "samples_f1"] for c, r, _ in row_pairs]
        calibrated = [t.loc[k, "samples_f1"] - t.loc[c, "samples_f1"] for c, _, k in row_pairs]
        best_pair = max(row_pairs, key=lambda p: max(t.loc[p[1], "samples_f1"], t.loc[p[2], "samples_f1"]))
        best_row = max(t.loc[best_pair[1], "samples_f1"], t.loc[best_pair[2], "samples_f1"])
        parts.append(f"The per-row expected-F1 rule beats per-label cut-offs on samples-F1 for "
                     f"{sum(d > 0 for d in plain)} of {len(row_pairs)} combine rules as it is (mean change "
                     f"{sum(plain) / len(plain):+.3f}) and for {sum(d > 0 for d in calibrated)} after calibration "
                     f"(mean {sum(calibrated) / len(calibrated):+.3f}); its best use is with "
                     f"{best_pair[1].removesuffix(f' + {ROW_RULE}')} ({best_row:.3f}).")
    if joint_sources and joint_vs_late is not None:
        verdict = ("better" if joint_vs_late["low"] > 0 else "worse" if joint_vs_late["high"] < 0
                   else "indistinguishable from it (the interval contains 0)")
        parts.append(f"The best joint image-caption model ({joint_vs_late['joint']}, samples-F1 "
                     f"{joint_vs_late['joint_score']:.3f}) against the best late fusion ({joint_vs_late['late']}, "
                     f"{joint_vs_late['late_score']:.3f}): {joint_vs_late['diff']:+.3f} (95 % interval "
                     f"{joint_vs_late['low']:+.3f} to {joint_vs_late['high']:+.3f}), {verdict}.")
    parts.append(lambda_text)
    return " ".join(parts)
