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


def differences(rows):
    return pd.DataFrame(rows, columns=["setting", "diff", "low", "high", "significant"])


def test_paired_finding_says_real_only_where_the_interval_excludes_zero():
    from helpers.report.ablations import paired_finding

    table = differences([("ref", 0, 0, 0, False), ("big", 0.05, 0.03, 0.07, True), ("near", 0.01, -0.01, 0.02, False),
                         ("trivial baseline", -0.2, -0.22, -0.18, True)])
    text = paired_finding(table, "ref", "micro_f1")
    assert "'big' (+0.0500, 95% interval +0.0300 to +0.0700)" in text
    assert "1 other setting(s) are indistinguishable" in text
    assert "'near'" not in text and "+0.2000 (95% interval +0.1800 to +0.2200)" in text and "clearly above it" in text
    none = paired_finding(table[table.setting != "big"].assign(), "ref", "micro_f1")
    assert "finds no setting" in none and "indistinguishable" in none
    at_baseline = paired_finding(differences([("ref", 0, 0, 0, False), ("trivial baseline", 0.0, -0.01, 0.01, False)]),
                                 "ref", "micro_f1")
    assert "indistinguishable from it" in at_baseline and "clearly above" not in at_baseline
