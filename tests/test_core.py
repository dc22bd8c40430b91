"""Left over from splitting the core tests, for the lead to place: models.weights and report.figures.readable."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from helpers.models.weights import WeightsFileError, load_weights, save_weights
from helpers.report.figures import readable


def test_weights_file_round_trip_and_errors(tmp_path):
    model = torch.nn.Linear(3, 2)
    path = save_weights(tmp_path / "m.pt", kind="toy", config={"in": 3, "sizes": (3, 2)}, state_dict=model.state_dict(),
                        extra={"history": [{"epoch": 1, "loss": 0.5}]})
    loaded = load_weights(path, kind="toy")
    assert loaded.config == {"in": 3, "sizes": (3, 2)} and loaded.extra["history"][0]["epoch"] == 1
    assert torch.equal(loaded.state_dict["weight"], model.weight.detach())
    with pytest.raises(WeightsFileError, match="expected 'lstm'"):
        load_weights(path, kind="lstm")
    with pytest.raises(WeightsFileError, match="not found"):
        load_weights(tmp_path / "none.pt")
    payload = torch.load(path, weights_only=True)
    torch.save({**payload, "format_version": 99}, tmp_path / "future.pt")
    with pytest.raises(WeightsFileError, match="version 99"):
        load_weights(tmp_path / "future.pt")
    (tmp_path / "cut.pt").write_bytes(path.read_bytes()[:200])
    with pytest.raises(WeightsFileError, match="cut.pt: cannot be read"):
        load_weights(tmp_path / "cut.pt")
    torch.save({"weight": model.weight}, tmp_path / "bare.pt")
    with pytest.raises(WeightsFileError, match="no 'bimodal-weights' header"):
        load_weights(tmp_path / "bare.pt")


def test_readable_rounds_for_reading_only():
    df = pd.DataFrame({"micro_f1": [0.123456, 0.5], "rows": [1200.0, 300.0], "train_time_s": [12.345, 1.0],
                       "name": ["a", "b"], "gap": [1.0, np.nan]})
    shown = readable(df)
    assert shown["micro_f1"].tolist() == [0.1235, 0.5]
    assert str(shown["rows"].dtype) == "Int64" and shown["rows"].tolist() == [1200, 300]
    assert shown["train_time_s"].tolist() == [12.3, 1.0]
    assert shown["gap"].isna().tolist() == [False, True]
    assert df["micro_f1"][0] == 0.123456  # the original keeps full precision
