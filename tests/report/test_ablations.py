"""helpers.report.ablations: the seed spread and the finding that compares settings with it."""
from __future__ import annotations

import pandas as pd
import pytest

from helpers.report.ablations import seed_spread, spread_finding
from helpers.train.experiments import TIDY_COLUMNS


def tidy(values: dict[str, list[float]], metric: str = "micro_f1") -> pd.DataFrame:
    rows = [("x", setting, seed, metric, value) for setting, per_seed in values.items()
            for seed, value in enumerate(per_seed)]
    return pd.DataFrame(rows, columns=TIDY_COLUMNS)


def test_seed_spread_measures_between_and_within():
    spread = seed_spread(tidy({"a": [0.50, 0.52], "b": [0.60, 0.61]}), "micro_f1")
    assert spread["between"] == pytest.approx(0.605 - 0.51) and spread["within"] == pytest.approx(0.02)
    assert (spread["best"], spread["worst"], spread["n_seeds"]) == ("b", "a", 2)


def test_spread_finding_says_whether_settings_differ_by_more_than_the_seed_noise():
    assert "differ by more than the seed noise" in spread_finding(tidy({"a": [0.50, 0.52], "b": [0.60, 0.61]}),
                                                                  "micro_f1")
    assert "differ by no more than the seed noise" in spread_finding(tidy({"a": [0.5, 0.6], "b": [0.55, 0.56]}),
                                                                     "micro_f1")
    # boundary: a difference exactly as large as the spread is not called a difference
    assert "no more than" in spread_finding(tidy({"a": [0.25, 0.75], "b": [0.75, 1.25]}), "micro_f1")
    assert "not measured" in spread_finding(tidy({"a": [0.5], "b": [0.6]}), "micro_f1")
