"""Figures and tables as files: one theme, one naming scheme, atomic writes.

Figures are `figNN_<what>.png` and tables `tableNN_<what>.csv` plus `.md`, NN being the
reference study's figure or table number (20 and up for figures and tables it did not have).
"""
from __future__ import annotations

import re
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from helpers.core.files import atomic_path, write_text

DPI = 150
_NAME = re.compile(r"^(fig|table)\d{2}_[a-z0-9_]+$")


def set_theme() -> None:
    """The one plotting theme used by every notebook."""
    sns.set_theme(context="notebook", style="whitegrid", palette="colorblind")
    plt.rcParams.update({"figure.dpi": 100, "savefig.dpi": DPI, "savefig.bbox": "tight"})


def _check_name(name: str, kind: str) -> None:
    if not _NAME.match(name) or not name.startswith(kind):
        raise ValueError(f"{kind} name {name!r} must look like '{kind}NN_what' (lower case, digits, underscores)")


def save_fig(fig: plt.Figure, name: str, figures_dir: str | Path) -> Path:
    """Write `fig` as <figures_dir>/<name>.png (fixed dpi) and return the path."""
    _check_name(name, "fig")
    path = Path(figures_dir) / f"{name}.png"
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=DPI, bbox_inches="tight")
    return path


def save_table(df: pd.DataFrame, name: str, figures_dir: str | Path) -> Path:
    """Write `df` as <name>.csv (full precision) and <name>.md (rounded, for reading); return the CSV path."""
    _check_name(name, "table")
    figures_dir = Path(figures_dir)
    csv_path = figures_dir / f"{name}.csv"
    with atomic_path(csv_path) as tmp:
        df.to_csv(tmp, index=False)
    write_text(figures_dir / f"{name}.md", markdown_table(readable(df)) + "\n")
    return csv_path


def _is_whole(series: pd.Series) -> bool:
    values = series.dropna()
    return len(values) > 0 and bool(((values - values.round()).abs() < 1e-9).all())


def readable(df: pd.DataFrame, decimals: int = 4, seconds_decimals: int = 1) -> pd.DataFrame:
    """A copy of a table rounded for reading (the CSV keeps full precision).

    Float columns whose values are all whole numbers become integers (nullable, so gaps stay gaps);
    columns named like seconds (`*_s`, `... s`, `seconds`) get `seconds_decimals`; every other float
    column gets `decimals`.
    """
    shown = df.copy()
    for column in shown.columns:
        series = shown[column]
        if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_float_dtype(series):
            continue
        name = str(column).lower()
        if _is_whole(series):
            shown[column] = series.round().astype("Int64")
        elif name.endswith("_s") or name.endswith(" s") or "seconds" in name or name.endswith("(s)"):
            shown[column] = series.round(seconds_decimals)
        else:
            shown[column] = series.round(decimals)
    return shown


def baseline_line(ax: plt.Axes, value: float, label: str = "trivial baseline", orientation: str = "h") -> None:
    """Draw the trivial baseline as a dashed grey line with a legend entry (horizontal, or vertical with "v")."""
    style = dict(color="0.35", linestyle="--", linewidth=1.2, label=label, zorder=1)
    if orientation == "v":
        ax.axvline(value, **style)
    else:
        ax.axhline(value, **style)


def markdown_table(df: pd.DataFrame) -> str:
    """A GitHub-style Markdown table (no extra dependency such as tabulate)."""
    def cell(value: object) -> str:
        if value is None or (isinstance(value, float) and value != value) or value is pd.NA:
            return ""
        return str(value).replace("|", "\\|").replace("\n", " ")

    header = "| " + " | ".join(cell(c) for c in df.columns) + " |"
    rule = "| " + " | ".join("---" for _ in df.columns) + " |"
    rows = ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([header, rule, *rows])
