"""`make readme` copies a run's own tables and timings into README.md between markers, and nothing else."""
from __future__ import annotations

import json

import pytest

from helpers.report.readme_results import END, START, main, results_block, update_readme


def fake_run(out):
    (out / "executed").mkdir(parents=True)
    (out / "figures").mkdir()
    (out / "executed" / "timings.json").write_text(json.dumps({
        "profile": "cpu", "seed": 0, "data_dir": "/x/data/demo-6000-2000", "total_s": 600.0,
        "notebooks": {"01_eda": 30.0, "05_ensembling": 570.0}, "finished": "2026-12-01 10:00 UTC",
        "machine": {"cpu": "Test CPU", "cores": 2, "python": "3.11.7", "torch": "2.14.1", "gpu": None}}))
    table = "| model | micro_f1 |\n| --- | --- |\n| x | 0.8 |\n"
    (out / "figures" / "table10_ensemble_performance.md").write_text(table)


def test_block_holds_the_runs_numbers(tmp_path):
    fake_run(tmp_path)
    block = results_block(tmp_path)
    assert block.startswith(START) and block.endswith(END)
    assert "| x | 0.8 |" in block and "10.0 min" in block and "Test CPU (2 cores, no GPU)" in block
    assert "table11" not in block  # only tables the run wrote


def test_readme_is_updated_between_markers_only(tmp_path):
    fake_run(tmp_path / "run")
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{START}\nold numbers\n{END}\noutro\n")
    assert main(["--out", str(tmp_path / "run"), "--readme", str(readme)]) == 0
    text = readme.read_text()
    assert text.startswith("intro\n") and text.endswith("\noutro\n") and "old numbers" not in text
    once = text
    main(["--out", str(tmp_path / "run"), "--readme", str(readme)])
    assert readme.read_text() == once
    readme.write_text("no markers")
    with pytest.raises(ValueError, match="markers"):
        update_readme(readme, "x")
    assert main(["--out", str(tmp_path / "none"), "--readme", str(readme)]) == 2
