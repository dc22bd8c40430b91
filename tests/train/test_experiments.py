"""Experiments over settings and seeds: tidy rows, cached results, a damaged result set aside and recomputed."""
from __future__ import annotations

import pytest

from helpers.core.files import DamagedCacheWarning
from helpers.train.experiments import TIDY_COLUMNS, result_path, run_experiments


def counting_scorer(calls: list):
    def train_and_score(config: dict, seed: int) -> dict[str, float]:
        calls.append((config["lr"], seed))
        return {"micro_f1": config["lr"] + seed, "train_time_s": 1.0}
    return train_and_score


def test_tidy_rows_and_cache(tmp_path):
    calls: list = []
    settings = {"0.1": {"lr": 0.1}, "0.01": {"lr": 0.01}}
    tidy = run_experiments("exp", settings, (0, 1), counting_scorer(calls), tmp_path, key="data")
    assert list(tidy.columns) == TIDY_COLUMNS and len(tidy) == 2 * 2 * 2
    assert sorted(calls) == [(0.01, 0), (0.01, 1), (0.1, 0), (0.1, 1)]
    row = tidy[(tidy["setting"] == "0.1") & (tidy["seed"] == 1) & (tidy["metric"] == "micro_f1")]
    assert float(row["value"].iloc[0]) == pytest.approx(1.1)
    again = run_experiments("exp", settings, (0, 1), counting_scorer(calls), tmp_path, key="data")
    assert len(calls) == 4 and again.equals(tidy)  # every result read from the cache
    run_experiments("exp", settings, (0,), counting_scorer(calls), tmp_path, key="other data")
    assert len(calls) == 6  # another key: recomputed
    run_experiments("exp", settings, (0,), counting_scorer(calls), tmp_path, key="data", fresh=True)
    assert len(calls) == 8


@pytest.mark.parametrize("damage", [b'{"experiment": "exp", "scor', b"\x00\xffgarbage", b'{"scores": [1, 2]}'])
def test_damaged_result_is_set_aside_and_recomputed(tmp_path, damage):
    calls: list = []
    settings = {"0.1": {"lr": 0.1}}
    first = run_experiments("exp", settings, (0,), counting_scorer(calls), tmp_path, key="k")
    path = result_path(tmp_path, "exp", "k", {"lr": 0.1}, 0)
    path.write_bytes(damage)
    with pytest.warns(DamagedCacheWarning, match=path.name):
        again = run_experiments("exp", settings, (0,), counting_scorer(calls), tmp_path, key="k")
    assert len(calls) == 2 and again.equals(first)
    assert path.with_name(path.name + ".damaged").read_bytes() == damage
    run_experiments("exp", settings, (0,), counting_scorer(calls), tmp_path, key="k")
    assert len(calls) == 2  # the recomputed result is cached again
