"""Left over from splitting the foundation tests, for the lead to place: figure naming, notebook selection."""
from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import pandas as pd
import pytest

from helpers.pipeline import NOTEBOOKS, select_notebooks
from helpers.report import figures

matplotlib.use("Agg")


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


def test_pipeline_selects_notebooks_in_order():
    assert select_notebooks(None) == list(NOTEBOOKS)
    assert select_notebooks("3,01") == ["01_eda", "03_cnn_training"]
    with pytest.raises(ValueError, match="no notebook matches 07"):
        select_notebooks("07")
