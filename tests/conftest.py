"""Shared test fixtures."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from helpers.core.config import run_paths
from helpers.core.profiles import get_profile
from helpers.run import Run
from helpers.text import stopwords as stopword_lists
from tests.text_fakes import STOP, write_tiny_data


@pytest.fixture
def one_thread():
    """Tiny models run fastest on one thread (and a shared machine does not stall them)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def tiny_run(tmp_path, monkeypatch):
    """A run over tests.text_fakes' tiny caption data set, with the bundled stop words (no download)."""
    monkeypatch.setattr(stopword_lists, "load_stopwords", lambda download=True, timeout_s=5.0: STOP)
    data = write_tiny_data(tmp_path / "data")
    return Run(paths=run_paths(data, tmp_path / "out"), profile=get_profile("smoke"))


@pytest.fixture
def images(tmp_path):
    """(folder, ids): six random-noise JPEGs of different heights in tmp_path/data."""
    folder = tmp_path / "data"
    folder.mkdir()
    rng = np.random.default_rng(0)
    ids = []
    for i in range(6):
        name = f"{i}.jpg"
        Image.fromarray(rng.integers(0, 256, (40 + 10 * i, 60, 3), dtype=np.uint8)).save(folder / name)
        ids.append(name)
    return folder, ids
