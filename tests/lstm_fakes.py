"""A separable toy caption problem and a stand-in notebook run for the LSTM training tests."""
from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import torch

from helpers.core.config import RunPaths
from helpers.core.labels import N_LABELS
from helpers.core.profiles import get_profile
from helpers.models.lstm import LstmConfig

SMALL = LstmConfig(embed_dim=8, hidden_dim=12)


def toy_encoded(n_train: int = 600, n_val: int = 200, n_test: int = 100, vocab: int = 40, seed: int = 0,
                variant: str = "standard") -> SimpleNamespace:
    """Captions whose token 2 + k appears exactly when label k is on (a separable problem)."""
    generator = torch.Generator().manual_seed(seed)

    def part(n: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        Y = (torch.rand(n, N_LABELS, generator=generator) < 0.15).float()
        Y[Y.sum(1) == 0, 0] = 1
        width = 12
        tokens = torch.zeros(n, width, dtype=torch.long)
        lengths = torch.zeros(n, dtype=torch.long)
        for i in range(n):
            words = [2 + k for k in torch.nonzero(Y[i]).flatten().tolist()]
            words += torch.randint(2 + N_LABELS, vocab, (int(torch.randint(0, 4, (1,), generator=generator)),),
                                   generator=generator).tolist()
            words = [words[j] for j in torch.randperm(len(words), generator=generator).tolist()][:width]
            tokens[i, : len(words)] = torch.tensor(words)
            lengths[i] = len(words)
        return tokens, lengths, Y

    (trt, trl, trY), (vt, vl, vY), (tt, tl, _) = part(n_train), part(n_val), part(n_test)
    ids = lambda prefix, n: np.array([f"{prefix}{i}.jpg" for i in range(n)])  # noqa: E731
    return SimpleNamespace(
        variant=variant, vocab=["-PAD-", "-OOV-"] + [f"w{i}" for i in range(vocab - 2)], max_len=12,
        train_ids=ids("a", n_train), val_ids=ids("b", n_val), test_ids=ids("c", n_test),
        train_tokens=trt, val_tokens=vt, test_tokens=tt, train_lengths=trl, val_lengths=vl, test_lengths=tl,
        train_Y=trY, val_Y=vY, config={"key": f"toy{seed}{variant}"}, vocab_size=vocab)


def fake_run(tmp_path, profile: str = "smoke", fresh: bool = False, **lstm_settings) -> SimpleNamespace:
    """What the LSTM helpers read from helpers.run.Run; lstm_settings override the profile's LstmSettings."""
    base = get_profile(profile)
    return SimpleNamespace(paths=RunPaths(data_dir=tmp_path / "data", out_dir=tmp_path / "out"), fingerprint="fp",
                           fresh=fresh, device=torch.device("cpu"),
                           profile=replace(base, lstm=replace(base.lstm, **lstm_settings)))
