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

from helpers.core.atomic_io import atomic_path, write_text

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


def save_table(df: pd.DataFrame, name: str, figures_dir: str | Path, float_format: str = "{:.4f}") -> Path:
    """Write `df` as <name>.csv (full precision) and <name>.md (rounded, for reading); return the CSV path."""
    _check_name(name, "table")
    figures_dir = Path(figures_dir)
    csv_path = figures_dir / f"{name}.csv"
    with atomic_path(csv_path) as tmp:
        df.to_csv(tmp, index=False)
    shown = df.copy()
    for column in shown.columns:
        if pd.api.types.is_float_dtype(shown[column]):
            shown[column] = shown[column].map(lambda v: "" if pd.isna(v) else float_format.format(v))
    write_text(figures_dir / f"{name}.md", markdown_table(shown) + "\n")
    return csv_path


def markdown_table(df: pd.DataFrame) -> str:
    """A GitHub-style Markdown table (no extra dependency such as tabulate)."""
    def cell(value: object) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    header = "| " + " | ".join(cell(c) for c in df.columns) + " |"
    rule = "| " + " | ".join("---" for _ in df.columns) + " |"
    rows = ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([header, rule, *rows])
