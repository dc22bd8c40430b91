"""Left over for the lead: helpers.bench's LSTM training throughput (belongs with the benchmark's tests)."""
from __future__ import annotations

import pytest
import torch

from helpers.bench import measure_train_throughput
from tests.lstm_fakes import SMALL

pytestmark = pytest.mark.usefixtures("one_thread")  # the fixture is in conftest.py


def test_throughput_counts_every_sample_of_every_epoch_and_restores_threads(monkeypatch):
    import helpers.bench as lstm_module

    clock = iter([100.0, 104.0])  # the timed part takes 4 "seconds" on this fake clock
    monkeypatch.setattr(lstm_module.time, "perf_counter", lambda: next(clock))
    before = torch.get_num_threads()
    rate = measure_train_throughput(SMALL, vocab_size=50, n_rows=256, batch_size=128, epochs=2, threads=1)
    assert rate == pytest.approx(2 * 256 / 4.0)
    assert torch.get_num_threads() == before
