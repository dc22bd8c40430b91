"""Reading a cached artifact that may be damaged: name the file, set it aside, recompute.

A cache (features, encoded captions, results, checkpoints) can be truncated by a full disk, a
killed process or a Drive sync. Since it can be recomputed, a file that cannot be read is moved to
`<name>.damaged` (replacing an older one), a warning names it and says why, and the caller gets None
and recomputes. Nothing is deleted, so the user can still inspect the damaged file.
"""
from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


class DamagedCacheWarning(UserWarning):
    """A cached artifact could not be read and was set aside to be recomputed."""


def set_aside(path: str | Path, why: str, what: str = "cached file") -> Path:
    """Move a damaged file to <name>.damaged and warn, naming it; return the new path."""
    path = Path(path)
    aside = path.with_name(path.name + ".damaged")
    os.replace(path, aside)
    warnings.warn(f"{what} {path} cannot be read ({why}); moved it to {aside.name} and recomputing it",
                  DamagedCacheWarning, stacklevel=3)
    return aside


def read_cached(path: str | Path, reader: Callable[[Path], T], what: str = "cached file") -> T | None:
    """reader(path), or None when the file is missing or cannot be read (then it is set aside, with a warning)."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        return reader(path)
    except Exception as error:  # any failure to parse a cache means: recompute it
        set_aside(path, f"{type(error).__name__}: {error}", what)
        return None
