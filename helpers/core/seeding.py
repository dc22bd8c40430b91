"""The one seeding rule: random work runs under `seeded(seed)`, which never changes the caller's generators.

`seeded` forks torch's CPU generator (and CUDA's when it is initialised), NumPy's and Python's global
generators, seeds all three from `seed`, and restores them on exit. Builders and the training loop use
it, so that building a model, loading a predictor or training leaves the caller's random state as it was.
"""
from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch


def seed_all(seed: int) -> None:
    """Seed Python's, NumPy's and torch's global generators (inside a `seeded` block, or a script's main)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


@contextmanager
def seeded(seed: int | None = None) -> Iterator[None]:
    """Run the block with every global generator seeded from `seed` (None: forked, not reseeded); restore after."""
    python_state, numpy_state = random.getstate(), np.random.get_state()
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_initialized() else []
    with torch.random.fork_rng(devices=devices):
        try:
            if seed is not None:
                seed_all(seed)
            yield
        finally:
            random.setstate(python_state)
            np.random.set_state(numpy_state)
