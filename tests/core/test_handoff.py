"""helpers.core.handoff: a missing hand-off names the notebook to run; one name per hand-off file."""
from __future__ import annotations

import pytest

from helpers.core.config import run_paths
from helpers.core.handoff import HandoffMissing, load_history, load_probabilities, load_summary


def test_missing_handoff_names_the_notebook(tmp_path):
    paths = run_paths(tmp_path, tmp_path / "out")
    with pytest.raises(HandoffMissing, match="04_lstm_training"):
        load_history(paths, "lstm_seed3")
    with pytest.raises(HandoffMissing, match="03_cnn_training"):
        load_probabilities(paths, "cnn", "val")
    paths.results.mkdir(parents=True)
    (paths.results / "lstm_summary.json").write_text("{not json")
    with pytest.raises(HandoffMissing, match="rerun notebook 04_lstm_training"):
        load_summary(paths, "lstm")
