"""helpers.demo.label_sets: label statistics of the real set, valid label sets at every size."""
from __future__ import annotations

import numpy as np

from helpers.core.facts import load_facts
from helpers.core.labels import LABEL_IDS, labels_to_matrix
from helpers.demo.label_sets import sample_label_sets


def test_label_statistics_match_the_real_set_at_full_size() -> None:
    facts = load_facts()
    matrix = labels_to_matrix(sample_label_sets(30000, seed=0))
    real_co = np.asarray(facts["cooccurrence_counts"])
    co = matrix.T.astype(np.int64) @ matrix
    real_counts = np.array([facts["label_counts"][str(label)] for label in LABEL_IDS])
    assert np.all(np.abs(co.diagonal() - real_counts) <= 0.10 * real_counts)

    per_row = np.bincount(matrix.sum(axis=1), minlength=8)
    assert per_row[0] == 0 and per_row.sum() == 30000
    for k, real in facts["labels_per_example"].items():
        if real >= 50:
            assert abs(per_row[int(k)] - real) <= 0.10 * real, (k, per_row[int(k)], real)

    big = real_co >= 100
    assert np.all(np.abs(co - real_co)[big] <= 0.10 * real_co[big])
    # Entries under 100 rows get the tolerance of an entry of 100 (10 rows), so the rule does not
    # jump at the threshold; pure sampling noise would already be about sqrt(count) <= 10.
    assert np.all(np.abs(co - real_co)[~big] <= 10)


def test_label_sets_are_valid_and_scale_down() -> None:
    sets = sample_label_sets(240, seed=3)
    assert len(sets) == 240
    assert all(1 <= len(s) <= 7 and len(set(s)) == len(s) and s == sorted(s) for s in sets)
    assert all(label in LABEL_IDS for s in sets for label in s)
    person = sum(1 in s for s in sets)
    assert abs(person - 22797 * 240 / 30000) <= 5
    assert sample_label_sets(240, seed=3) == sets and sample_label_sets(240, seed=4) != sets
