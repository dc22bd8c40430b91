"""Fake outputs of notebooks 03 and 04 (probabilities, summaries, histories, weights) for the fusion tests.

Probabilities carry a real signal (a noisy function of the truth, with a different strength per
label and model), so that fusion can and should beat either model alone.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from helpers.core.config import RunPaths
from helpers.core.handoff import save_history, save_probabilities, save_summary
from helpers.core.labels import N_LABELS
from helpers.models.weights import save_weights

HISTORIES = {"cnn": ["cnn"], "lstm": ["lstm_seed3", "lstm_seed4"]}  # a non-zero seed: names come from summaries
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


def write_fake_upstream(paths: RunPaths, val_ids: np.ndarray, Y_val: np.ndarray, test_ids: np.ndarray,
                        test_Y: np.ndarray | None = None, seed: int = 0) -> None:
    """Write everything notebook 05 reads from notebooks 03 and 04, for these validation and test rows."""
    test_Y = fake_truth(len(test_ids), seed + 7) if test_Y is None else test_Y
    rng = np.random.default_rng(seed + 100)
    strengths = {"cnn": rng.uniform(0.5, 3.0, N_LABELS), "lstm": rng.uniform(0.5, 3.0, N_LABELS)}
    for k, (model, strength) in enumerate(strengths.items()):
        save_probabilities(paths, model, "val", val_ids, fake_probs(Y_val, strength, seed + 10 + k))
        save_probabilities(paths, model, "test", test_ids, fake_probs(test_Y, strength, seed + 20 + k))
        weights = save_weights(paths.checkpoints / f"{model}_final.pt", kind=model, config={"fake": model},
                               state_dict={"fc.weight": torch.zeros(N_LABELS, 64), "fc.bias": torch.zeros(N_LABELS)})
        save_summary(paths, model, {
            "train_time_s": 12.5 + k, "test_time_s": 1.5 + k, "size_bytes": (N_LABELS * 65) * 4 + 1000 * k,
            "weights": [str(weights)], "config": {"fake": model}, "pretrained": False,
            "histories": HISTORIES[model], **({"feature_cache": ["train_fake.npz", "test_fake.npz"]} if model == "cnn"
                                              else {}),
        })
    for name in (name for names in HISTORIES.values() for name in names):
        epochs = np.arange(1, 6)
        history = pd.DataFrame({"epoch": epochs, "train_loss": 0.5 / epochs, "val_loss": 0.4 + 0.01 * (epochs - 3) ** 2,
                                "val_micro_f1": 0.8 - 0.01 * (epochs - 3) ** 2})
        save_history(paths, name, history, best_epoch=3)


def write_fake_features(paths: RunPaths, train_ids: np.ndarray, test_ids: np.ndarray, seed: int = 0) -> None:
    """Random 512-d "backbone features" for every train.csv and test.csv image (the files the cnn summary lists)."""
    rng = np.random.default_rng(seed)
    paths.feature_cache.mkdir(parents=True, exist_ok=True)
    for name, ids in (("train_fake.npz", train_ids), ("test_fake.npz", test_ids)):
        np.savez(paths.feature_cache / name, image_ids=np.asarray(ids, dtype=str),
                 features=rng.normal(size=(len(ids), 512)).astype(np.float32))


def write_fake_for_run(data_dir: str | Path, out_dir: str | Path, profile: str = "smoke") -> None:
    """Fake outputs of notebooks 03 and 04 matching setup_run(data_dir, profile, out_dir)'s split and test rows
    (run notebook 02 first: notebook 05's joint model reads its encoded captions)."""
    from helpers.run import setup_run

    run = setup_run(str(data_dir), profile, str(out_dir))
    data = run.dataset
    val_rows = run.split[1]
    write_fake_upstream(run.paths, data.train["ImageID"].to_numpy()[val_rows], data.Y[val_rows],
                        data.test["ImageID"].to_numpy(), data.test_Y)
    write_fake_features(run.paths, data.train["ImageID"].to_numpy(), data.test["ImageID"].to_numpy())


if __name__ == "__main__":
    import sys

    write_fake_for_run(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else "smoke")
