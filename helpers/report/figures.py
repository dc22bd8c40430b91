"""Figures, tables and findings as files: one theme, one naming scheme, readable column names, atomic writes.

Figures are `figNN_<what>.png` with an `.svg` beside it, tables `tableNN_<what>.csv` (full precision) plus
`.md` (for reading) and `.tex` (booktabs, for `\\input` in a report), NN being the reference study's figure or
table number (20 and up for figures and tables it did not have). Generated "What we found" sections are
`findings_NN.md`. Column code names (`val_micro_f1`, `diff_low`, `float16_MB`) are shown as words
("validation micro-F1", "difference, 95 % low", "float16 (MB)") in the Markdown, LaTeX and notebook views.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from helpers.core.config import REPO_ROOT
from helpers.core.files import atomic_path, write_text

DPI = 150
MISSING = "\u2014"  # an em dash: what an empty cell shows
_NAME = re.compile(r"^(fig|table)\d{2}_[a-z0-9_]+$")
_TEXT_NAME = re.compile(r"^[a-z]+_\d{2}$")


def set_theme() -> None:
    """The one plotting theme used by every notebook."""
    sns.set_theme(context="notebook", style="whitegrid", palette="colorblind")
    plt.rcParams.update({"figure.dpi": 100, "savefig.dpi": DPI, "savefig.bbox": "tight"})


def _check_name(name: str, kind: str) -> None:
    if not _NAME.match(name) or not name.startswith(kind):
        raise ValueError(f"{kind} name {name!r} must look like '{kind}NN_what' (lower case, digits, underscores)")


def save_fig(fig: plt.Figure, name: str, figures_dir: str | Path) -> Path:
    """Write `fig` as <figures_dir>/<name>.png (fixed dpi) and <name>.svg beside it; return the PNG path."""
    _check_name(name, "fig")
    path = Path(figures_dir) / f"{name}.png"
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=DPI, bbox_inches="tight")
    with atomic_path(path.with_suffix(".svg")) as tmp, plt.rc_context({"svg.hashsalt": name}):
        fig.savefig(tmp, format="svg", dpi=DPI, bbox_inches="tight", metadata={"Date": None})
    return path


def save_table(df: pd.DataFrame, name: str, figures_dir: str | Path) -> Path:
    """Write `df` as <name>.csv (full precision), <name>.md and <name>.tex (rounded, readable names); return the CSV."""
    _check_name(name, "table")
    figures_dir = Path(figures_dir)
    csv_path = figures_dir / f"{name}.csv"
    with atomic_path(csv_path) as tmp:
        df.to_csv(tmp, index=False)
    shown = readable(df)
    write_text(figures_dir / f"{name}.md", markdown_table(shown) + "\n")
    write_text(figures_dir / f"{name}.tex", latex_table(shown))
    return csv_path


def save_text(markdown: str, name: str, figures_dir: str | Path) -> Path:
    """Write a generated Markdown section (e.g. a notebook's "What we found") as <figures_dir>/<name>.md.

    The report document places `findings_01` ... `findings_05` in their sections; return the path.
    """
    if not _TEXT_NAME.match(name):
        raise ValueError(f"text name {name!r} must look like 'findings_NN' (lower case letters, two digits)")
    path = Path(figures_dir) / f"{name}.md"
    write_text(path, markdown.rstrip() + "\n")
    return path


# ---- readable column names: code name -> words
_WORDS = {
    "micro_f1": "micro-F1", "samples_f1": "samples-F1", "macro_f1": "macro-F1", "exact_match": "exact match",
    "hamming_accuracy": "Hamming accuracy", "diff": "difference", "diff_low": "difference, 95 % low",
    "diff_high": "difference, 95 % high", "significant": "interval excludes 0",
    "float16_MB": "float16 (MB)", "float32_MB": "float32 (MB)", "size_MB_float16": "size, float16 (MB)",
    "size_MB_float32": "size, float32 (MB)", "size_mb": "size (MB)", "train_time_s": "training time (s)",
    "test_time_s": "testing time (s)", "train_time_min": "training time (min)", "empty_rows": "empty rows",
    "best_epoch": "best epoch", "batch_size": "batch size", "learning_rate": "learning rate",
    "image_size_px": "image size (px)", "feature_dim": "feature dimension", "head_train_rows": "head training rows",
    "train_rows": "training rows", "trainable_parameters": "trainable parameters",
    "total_parameters": "total parameters", "pretrained_weights": "pretrained weights",
    "features_per_s": "features per s", "forward_per_s": "forward passes per s",
    "extraction_over_forward": "extraction / forward", "seed_range": "seed range", "ImageID": "image ID",
}
_PREFIXES = {"val": "validation", "test": "test", "train": "training"}


def column_name(code: object) -> str:
    """The words shown for a column's code name: val_micro_f1 -> "validation micro-F1".

    Names that are already words (with spaces and no underscores) are kept as they are.
    """
    text = str(code)
    if text in _WORDS:
        return _WORDS[text]
    if " " in text:  # "micro_f1 mean", "train_time_s std": translate the first word only
        head, rest = text.split(" ", 1)
        return f"{column_name(head)} {rest}" if "_" in head else text
    if "_" not in text:
        return text
    for suffix in ("seed_range",):
        if text.endswith("_" + suffix):
            return f"{column_name(text[: -len(suffix) - 1])}, {_WORDS[suffix]}"
    prefix, rest = text.split("_", 1)
    if prefix in _PREFIXES and rest in _WORDS:
        return f"{_PREFIXES[prefix]} {_WORDS[rest]}"
    if text.endswith("_s"):
        return f"{text[:-2].replace('_', ' ')} (s)"
    if text.endswith("_MB") or text.endswith("_mb"):
        return f"{text[:-3].replace('_', ' ')} (MB)"
    return text.replace("_", " ")


def _is_percent(column: object) -> bool:
    return "(%)" in str(column) or str(column).endswith("_pct")


def _is_seconds(column: object) -> bool:
    name = str(column).lower()
    return name.endswith("_s") or name.endswith(" s") or "seconds" in name or name.endswith("(s)")


def relative_path_text(value: str, roots: Iterable[str | Path] = ()) -> str:
    """A cell that names an absolute path, shown relative to the run's folder (or the repository) instead.

    A path under one of `roots` (or the repository root) loses that prefix; any other absolute path keeps its
    part from a known run folder (data/, artifacts/, figures/, executed/) on, or else only its last two parts.
    """
    if not isinstance(value, str) or not value.startswith(("/", "~")) or "\n" in value or " " in value.strip():
        return value
    for root in [*map(str, roots), str(REPO_ROOT)]:
        root = root.rstrip("/")
        if root and (value == root or value.startswith(root + "/")):
            return value[len(root) + 1:] or "."
    parts = Path(value).parts
    for i, part in enumerate(parts):
        if part in ("data", "artifacts", "figures", "executed") and i > 0:
            return "/".join(parts[i:])
    return "/".join(parts[-2:])


class ReadableTable(pd.DataFrame):
    """A DataFrame shown with readable column names, whole cells and em dashes for gaps.

    The data and its column labels stay as they are (so code keeps indexing `shown["micro_f1"]`);
    only the notebook display changes, and the pandas display options are set for that display alone.
    """

    @property
    def _constructor(self):  # noqa: ANN202 - pandas subclassing hook
        return ReadableTable

    def _display_frame(self) -> pd.DataFrame:
        shown = pd.DataFrame(self).copy()
        shown.columns = [column_name(c) for c in shown.columns]
        return shown.astype(object).where(shown.notna(), MISSING)

    def _repr_html_(self) -> str:
        with pd.option_context("display.max_colwidth", None, "display.max_columns", None,
                               "display.max_rows", None, "display.width", None):
            return self._display_frame().to_html(index=False, escape=True, na_rep=MISSING)

    def __repr__(self) -> str:
        with pd.option_context("display.max_colwidth", None, "display.max_columns", None,
                               "display.max_rows", None, "display.width", None):
            return self._display_frame().to_string(index=False)


def _is_whole(series: pd.Series) -> bool:
    values = series.dropna()
    return len(values) > 0 and bool(((values - values.round()).abs() < 1e-9).all())


def readable(df: pd.DataFrame, decimals: int = 4, seconds_decimals: int = 1, percent_decimals: int = 1,
             roots: Iterable[str | Path] = ()) -> ReadableTable:
    """A copy of a table rounded for reading (the CSV keeps full precision), shown with readable column names.

    Float columns whose values are all whole numbers become integers (nullable, so gaps stay gaps);
    columns named like seconds (`*_s`, `... s`, `seconds`) get `seconds_decimals`, percentages (`(%)`)
    `percent_decimals`; every other float column gets `decimals`. Absolute paths in text cells are shown
    relative to `roots` or the run's folders. The notebook display shows whole cells and the words of
    `column_name`; the column labels of the returned frame stay the code names.
    """
    shown = pd.DataFrame(df).copy()
    for column in shown.columns:
        series = shown[column]
        if pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series):
            shown[column] = series.map(lambda v: relative_path_text(v, roots))
            continue
        if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_float_dtype(series):
            continue
        if _is_whole(series):
            shown[column] = series.round().astype("Int64")
        elif _is_seconds(column):
            shown[column] = series.round(seconds_decimals)
        elif _is_percent(column):
            shown[column] = series.round(percent_decimals)
        else:
            shown[column] = series.round(decimals)
    return ReadableTable(shown)


def baseline_line(ax: plt.Axes, value: float, label: str = "trivial baseline", orientation: str = "h") -> None:
    """Draw the trivial baseline as a dashed grey line with a legend entry (horizontal, or vertical with "v")."""
    style = dict(color="0.35", linestyle="--", linewidth=1.2, label=label, zorder=1)
    if orientation == "v":
        ax.axvline(value, **style)
    else:
        ax.axhline(value, **style)


def _is_missing(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and value != value


def cell_text(value: object) -> str:
    """One table cell as text: an em dash for a gap, numbers as the rounded table holds them."""
    if _is_missing(value):
        return MISSING
    return str(value)


def markdown_table(df: pd.DataFrame) -> str:
    """A GitHub-style Markdown table with readable column names (no extra dependency such as tabulate)."""
    def cell(value: object) -> str:
        return cell_text(value).replace("|", "\\|").replace("\n", " ")

    header = "| " + " | ".join(cell(column_name(c)) for c in df.columns) + " |"
    rule = "| " + " | ".join("---" for _ in df.columns) + " |"
    rows = ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([header, rule, *rows])


_LATEX_SPECIALS = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                   "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
                   MISSING: "---"}


def latex_escape(text: str) -> str:
    """Text with LaTeX's special characters escaped (and the em dash of a gap written as ---)."""
    return "".join(_LATEX_SPECIALS.get(ch, ch) for ch in str(text))


def latex_table(df: pd.DataFrame) -> str:
    """A booktabs tabular (\\toprule, \\midrule, \\bottomrule) of an already rounded table, for \\input.

    Numeric columns are right-aligned, text columns left-aligned; gaps are em dashes; column names readable.
    """
    spec = "".join("r" if pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c]) else "l"
                   for c in df.columns)
    lines = ["% generated by helpers.report.figures; needs \\usepackage{booktabs}",
             f"\\begin{{tabular}}{{{spec}}}", r"\toprule",
             " & ".join(latex_escape(column_name(c)) for c in df.columns) + r" \\", r"\midrule"]
    for row in df.itertuples(index=False):
        lines.append(" & ".join(latex_escape(cell_text(v).replace("\n", " ")) for v in row) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", ""]
    return "\n".join(lines)
