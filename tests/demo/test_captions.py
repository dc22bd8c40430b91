"""helpers.demo.captions: caption lengths and mention rates of the real set, label-free filler, CSV quirks."""
from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest

from helpers.core.facts import load_facts
from helpers.core.labels import LABEL_IDS, parse_label_field
from helpers.data import csv_format
from helpers.demo.captions import make_captions, quirk_count
from helpers.demo.label_sets import sample_label_sets
from helpers.demo.vocabulary import caption_vocabulary, mentioned_labels
from tests.demo.csv_records import read_records


@pytest.fixture(scope="module")
def captions_3000() -> tuple[list[list[int]], list[str]]:
    label_sets = sample_label_sets(3000, seed=5)
    return label_sets, make_captions(label_sets, seed=5)


def test_caption_lengths_follow_the_real_histogram(captions_3000: tuple[list[list[int]], list[str]]) -> None:
    real = {int(k): v for k, v in load_facts()["caption_word_counts"].items()}
    real_mean = sum(k * v for k, v in real.items()) / sum(real.values())
    lengths = np.array([len(c.split()) for c in captions_3000[1]])
    assert lengths.min() >= 7 and lengths.max() <= 49
    assert abs(lengths.mean() - real_mean) <= 0.10 * real_mean
    share_9_to_20 = sum(v for k, v in real.items() if 9 <= k <= 20) / sum(real.values())
    assert abs(np.mean((lengths >= 9) & (lengths <= 20)) - share_9_to_20) <= 0.03


def test_mention_rates_follow_the_real_ones(captions_3000: tuple[list[list[int]], list[str]]) -> None:
    label_sets, captions = captions_3000
    rates = load_facts()["caption_mentions"]
    named = [mentioned_labels(c) for c in captions]
    for label in LABEL_IDS:
        present = np.array([label in s for s in label_sets])
        said = np.array([label in m for m in named])
        for mask, key in ((present, "mention_rate_when_present"), (~present, "mention_rate_when_absent")):
            if mask.sum() < 20:
                continue
            p = rates[str(label)][key]
            # Loose: a few standard errors of a binomial rate plus a small absolute margin.
            tolerance = 0.03 + 3 * math.sqrt(max(p * (1 - p), 0.01) / mask.sum())
            assert abs(said[mask].mean() - p) <= tolerance, (label, key, said[mask].mean(), p)
    # Text alone must not solve the task: many captions name no present label at all.
    missed = np.mean([not (set(s) & m) for s, m in zip(label_sets, named, strict=True)])
    assert missed > 0.15


def test_filler_words_name_no_label() -> None:
    """Places, scenes and extra phrases must not mention a label, or the mention rates would drift."""
    vocab = caption_vocabulary()
    fillers = vocab.fillers()
    assert len(fillers) > 200 and "in a grassy field" in fillers and "curled up" in fillers
    assert [f for f in fillers if mentioned_labels(f)] == []
    # every label can be named, described and placed in a caption
    for table in (vocab.nouns, vocab.adjectives, vocab.predicates):
        assert sorted(table) == sorted(LABEL_IDS)
    assert mentioned_labels("A guy on a bike next to a jet and a puppy.") == {1, 2, 5, 18}


def test_captions_carry_the_csv_quirks(captions_3000: tuple[list[list[int]], list[str]], tmp_path: Path) -> None:
    label_sets, captions = captions_3000
    assert sum("\n" in c for c in captions) == quirk_count(3000, 4) == 1
    assert sum(c.endswith("/") for c in captions) == 1
    assert any(re.search(r' "\w[^"]*" ', c) for c in captions)  # unescaped inner quotes
    assert sum("," in c for c in captions) > 30
    assert sum("/" in c[:-1] for c in captions) > 3
    assert quirk_count(999, 4) == 0 and quirk_count(30000, 4) == 4

    # The hand-written CSV keeps every caption byte for byte.
    ids = [f"{i}.jpg" for i in range(len(captions))]
    path = tmp_path / "train.csv"
    csv_format.write_captions_csv(path, ids, captions, label_sets)
    records = read_records(path, 3)
    assert [r[2] for r in records] == captions
    assert [parse_label_field(r[1]) for r in records] == label_sets
