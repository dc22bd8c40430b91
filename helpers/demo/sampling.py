"""Seeds and exact rounding shared by the demo generator's label sets and captions."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

REAL_ROWS = 30000  # the real statistics are counts over 30,000 training rows


def derived_seed(seed: int, *keys: int) -> int:
    """A 63-bit seed for one purpose (train labels, test captions, image 123...) of one run."""
    return int(np.random.SeedSequence([seed, *keys]).generate_state(2, np.uint32).view(np.uint64)[0] >> 1)


def exact_counts(weights: Sequence[float], n: int, rng: np.random.Generator) -> np.ndarray:
    """Split n into integer counts proportional to weights (largest remainder, random ties)."""
    raw = np.asarray(weights, float) / np.sum(weights) * n
    counts = np.floor(raw).astype(int)
    order = np.lexsort((rng.random(len(raw)), -(raw - counts)))
    counts[order[: n - counts.sum()]] += 1
    return counts


def histogram_draw(hist: dict[int, int], n: int, rng: np.random.Generator) -> np.ndarray:
    """n values with exactly the histogram's proportions (exact rounding), in random order."""
    sizes = sorted(hist)
    values = np.repeat(sizes, exact_counts([hist[k] for k in sizes], n, rng))
    rng.shuffle(values)
    return values
