"""helpers.core.files: atomic writes (mode, stale temporaries, nothing left on failure) and damaged caches set aside."""
from __future__ import annotations

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

from helpers.core import files as atomic_io
from helpers.core.files import DamagedCacheWarning, read_cached


def test_atomic_write_gets_the_umask_mode(tmp_path):
    old = os.umask(0o022)
    try:
        path = atomic_io.write_text(tmp_path / "a.txt", "x")
        assert (path.stat().st_mode & 0o777) == 0o644
        os.umask(0o077)
        private = atomic_io.write_text(tmp_path / "b.txt", "x")
        assert (private.stat().st_mode & 0o777) == 0o600
    finally:
        os.umask(old)


def test_stale_temporaries_of_dead_writers_are_removed(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    stale = tmp_path / "sub" / f".cnn_head_x.pt.pid{dead_pid}.abc123.tmp"
    live = tmp_path / f".other.pt.pid{os.getpid()}.def456.tmp"
    unrelated = tmp_path / ".notes.tmp"
    stale.parent.mkdir()
    for path in (stale, live, unrelated):
        path.write_text("partial")
    assert atomic_io.remove_stale_temporaries(tmp_path) == [stale]
    assert not stale.exists() and live.exists() and unrelated.exists()


def test_a_damaged_cache_is_set_aside_with_a_warning(tmp_path):
    path = tmp_path / "features.npz"
    path.write_bytes(b"PK\x03\x04 truncated")
    with pytest.warns(DamagedCacheWarning, match="features.npz"):
        assert read_cached(path, lambda p: np.load(p, allow_pickle=False)["x"], "feature cache") is None
    assert not path.exists() and (tmp_path / "features.npz.damaged").exists()
    assert read_cached(tmp_path / "absent.npz", np.load) is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.savez(tmp_path / "good.npz", x=np.arange(3))
        assert read_cached(tmp_path / "good.npz", lambda p: np.load(p)["x"].sum()) == 3


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "result.json"
    atomic_io.write_json(target, {"a": 1})
    with pytest.raises(RuntimeError):
        with atomic_io.atomic_path(target) as tmp:
            tmp.write_text("half written")
            raise RuntimeError("killed")
    assert atomic_io.read_json(target) == {"a": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.json"]
