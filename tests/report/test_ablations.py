"""helpers.report.ablations: the seed spread, the sentence that describes it, wrapped tick labels."""
from __future__ import annotations

import pandas as pd
import pytest

from helpers.report.ablations import seed_spread, spread_finding, wrap_label
from helpers.train.experiments import TIDY_COLUMNS


def tidy(values: dict[str, list[float]], metric: str = "micro_f1") -> pd.DataFrame:
    rows = [("x", setting, seed, metric, value) for setting, per_seed in values.items()
            for seed, value in enumerate(per_seed)]
    return pd.DataFrame(rows, columns=TIDY_COLUMNS)


def test_seed_spread_measures_between_and_within():
    spread = seed_spread(tidy({"a": [0.50, 0.52], "b": [0.60, 0.61]}), "micro_f1")
    assert spread["between"] == pytest.approx(0.605 - 0.51) and spread["within"] == pytest.approx(0.02)
    assert (spread["best"], spread["worst"], spread["n_seeds"]) == ("b", "a", 2)


def test_spread_finding_describes_the_spread_and_never_gives_a_verdict():
    text = spread_finding(tidy({"a": [0.50, 0.52], "b": [0.60, 0.61]}), "micro_f1")
    assert text.startswith("On micro-F1, the settings' means span 0.0950 (best 'b', worst 'a')")
    assert "seeds of one setting lie up to 0.0200 apart (2 seeds per setting" in text
    wide = spread_finding(tidy({"a": [0.5, 0.6], "b": [0.55, 0.56]}), "micro_f1")
    for sentence in (text, wide):  # neither a large nor a small spread makes a difference real
        assert "seed noise" not in sentence and "does not say whether settings differ" in sentence
    assert "not measured" in spread_finding(tidy({"a": [0.5], "b": [0.6]}), "micro_f1")


def test_long_tick_labels_wrap_instead_of_spilling():
    assert wrap_label("bidirectional first+last") == "bidirectional\nfirst+last"
    assert wrap_label("lazy\n(unconverged 2/2)") == "lazy\n(unconverged\n2/2)"
    assert wrap_label("0.001") == "0.001"
