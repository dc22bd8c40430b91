"""The real COMP5329 train.csv's statistics shipped with the project (counts only, no captions or images).

One loader for helpers/resources/dataset_facts.json: notebook 01 draws these counts beside the data
it is given, and the demo generator fits its synthetic data set to them.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from helpers.core.config import FACTS_FILE
from helpers.core.files import read_json


@lru_cache(maxsize=1)
def load_facts() -> dict[str, Any]:
    """Label counts, labels per row, co-occurrence, caption word counts and mention rates of the real train.csv."""
    return read_json(FACTS_FILE)
