"""Fake image and text probabilities with a known truth, for the fusion and error-analysis tests.

Probabilities carry a real signal (a noisy function of the truth, with a different strength per
label and model), so that fusion can and should beat either model alone.
"""
from __future__ import annotations

import numpy as np
import pytest

from helpers.core.labels import N_LABELS

FREQ = np.array([.76, .05, .15, .04, .03, .05, .04, .07, .04, .03, .01, .01, .008, .04, .03, .04, .04, .03])


def fake_truth(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    Y = (rng.random((n, N_LABELS)) < FREQ).astype(np.uint8)
    Y[~Y.any(axis=1), 0] = 1
    return Y


def fake_probs(Y: np.ndarray, strength: np.ndarray, seed: int) -> np.ndarray:
    """Sigmoid of (±strength + noise + prior logit): informative, imperfect probabilities."""
    rng = np.random.default_rng(seed)
    z = (Y.astype(np.float64) * 2 - 1) * strength[None] + rng.normal(size=Y.shape) + np.log(FREQ / (1 - FREQ))
    return (1 / (1 + np.exp(-z))).astype(np.float32)


def fake_pair(Y: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(image probs, text probs): each model strong on different labels."""
    rng = np.random.default_rng(seed + 100)
    return (fake_probs(Y, rng.uniform(0.5, 3.0, N_LABELS), seed + 1),
            fake_probs(Y, rng.uniform(0.5, 3.0, N_LABELS), seed + 2))


@pytest.fixture(scope="module", name="data")
def fusion_data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(truth, image probs, text probs) for 600 rows: the fusion tests' shared example (fixture name `data`)."""
    Y = fake_truth(600, seed=3)
    p_img, p_txt = fake_pair(Y, seed=3)
    return Y, p_img, p_txt
