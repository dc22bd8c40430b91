"""Tests of helpers.report.figures: SVG beside PNG, LaTeX tables, readable names, whole cells, save_text."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from helpers.core.config import REPO_ROOT  # noqa: E402
from helpers.report import figures  # noqa: E402
from helpers.report.figures import readable  # noqa: E402


def test_save_fig_writes_svg_beside_png(tmp_path):
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1], [0, 1])
    path = figures.save_fig(fig, "fig07_line", tmp_path)
    plt.close(fig)
    assert path == tmp_path / "fig07_line.png" and path.read_bytes()[:4] == b"\x89PNG"
    svg = (tmp_path / "fig07_line.svg").read_text()
    assert "<svg" in svg and "</svg>" in svg


def test_save_table_writes_booktabs_latex_with_escapes_and_readable_names(tmp_path):
    df = pd.DataFrame({"method": ["a_b & c", "50% off"], "val_micro_f1": [0.812345, np.nan],
                       "diff_low": [-0.01, 0.02], "float16_MB": [1.25, 3.5], "share (%)": [12.3456, 7.0]})
    figures.save_table(df, "table05_test", tmp_path)
    tex = (tmp_path / "table05_test.tex").read_text()
    body = tex[tex.index(r"\toprule"):]
    assert r"\toprule" in tex and r"\midrule" in tex and r"\bottomrule" in tex
    assert r"a\_b \& c" in body and r"50\% off" in body
    assert "validation micro-F1" in body and r"difference, 95 \% low" in body and "float16 (MB)" in body
    assert "val_micro_f1" not in body and "val\\_micro\\_f1" not in body
    assert "0.8123" in body and "12.3" in body and "12.35" not in body  # percentages get one decimal
    assert "nan" not in body.lower() and "None" not in body and "---" in body  # a gap is an em dash
    md = (tmp_path / "table05_test.md").read_text()
    assert "| method | validation micro-F1 |" in md and "\u2014" in md and "nan" not in md


def test_column_names_are_words():
    assert figures.column_name("val_micro_f1") == "validation micro-F1"
    assert figures.column_name("diff_low") == "difference, 95 % low"
    assert figures.column_name("diff_high") == "difference, 95 % high"
    assert figures.column_name("float16_MB") == "float16 (MB)"
    assert figures.column_name("micro_f1 mean") == "micro-F1 mean"
    assert figures.column_name("test_time_s") == "testing time (s)"
    assert figures.column_name("already words (%)") == "already words (%)"


def test_readable_never_truncates_a_long_cell_and_shows_words():
    long = "word " * 60  # 300 characters
    shown = figures.readable(pd.DataFrame({"caption": [long.strip() + "!"], "val_micro_f1": [0.5]}))
    assert shown["val_micro_f1"].tolist() == [0.5]  # code still indexes the code names
    page = shown._repr_html_()
    assert long.strip() + "!" in page and "..." not in page and "\u2026" not in page
    assert "validation micro-F1" in page
    assert long.strip() + "!" in repr(shown)
    assert pd.get_option("display.max_colwidth") == 50  # the global options are left alone


def test_readable_shows_gaps_as_em_dash_and_paths_relative():
    df = pd.DataFrame({"file": [str(REPO_ROOT / "figures" / "x.png"), "/somewhere/else/run/data/demo-1-2"],
                       "score": [np.nan, 0.5]})
    shown = figures.readable(df)
    assert shown["file"].tolist() == ["figures/x.png", "data/demo-1-2"]
    assert "\u2014" in shown._repr_html_() and "NaN" not in shown._repr_html_()
    assert figures.readable(pd.DataFrame({"f": ["/a/b/run7/out.csv"]}), roots=["/a/b"])["f"].item() == "run7/out.csv"


def test_save_text_writes_named_markdown(tmp_path):
    path = figures.save_text("## What we found\n\nA finding.", "findings_03", tmp_path)
    assert path == tmp_path / "findings_03.md" and path.read_text() == "## What we found\n\nA finding.\n"
    with pytest.raises(ValueError, match="findings_NN"):
        figures.save_text("x", "What we found", tmp_path)


def test_readable_rounds_for_reading_only():
    df = pd.DataFrame({"micro_f1": [0.123456, 0.5], "rows": [1200.0, 300.0], "train_time_s": [12.345, 1.0],
                       "name": ["a", "b"], "gap": [1.0, np.nan]})
    shown = readable(df)
    assert shown["micro_f1"].tolist() == [0.1235, 0.5]
    assert str(shown["rows"].dtype) == "Int64" and shown["rows"].tolist() == [1200, 300]
    assert shown["train_time_s"].tolist() == [12.3, 1.0]
    assert shown["gap"].isna().tolist() == [False, True]
    assert df["micro_f1"][0] == 0.123456  # the original keeps full precision


def test_save_fig_and_table_use_fixed_names(tmp_path):
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    path = figures.save_fig(fig, "fig01_test_plot", tmp_path)
    assert path.name == "fig01_test_plot.png" and path.read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="figNN_what"):
        figures.save_fig(fig, "Figure 1", tmp_path)
    plt.close(fig)
    df = pd.DataFrame({"model": ["a|b"], "f1": [0.123456]})
    figures.save_table(df, "table01_test", tmp_path)
    assert pd.read_csv(tmp_path / "table01_test.csv")["f1"].item() == pytest.approx(0.123456)
    md = (tmp_path / "table01_test.md").read_text()
    assert "| model | f1 |" in md and "0.1235" in md and "a\\|b" in md
