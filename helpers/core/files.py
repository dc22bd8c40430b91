"""Files that a killed run cannot damage: atomic writes, damaged caches set aside, stable hashes as cache keys.

Atomic writes: a file is written to a temporary file beside its destination and renamed onto it when
complete, so a killed run never leaves a half-written artifact. The finished file gets the permissions
the user's umask gives any new file (0644 with the usual umask 022), not the private 0600 of a temporary
file, so teammates and synced folders can read it. Temporary files carry the writer's process id;
`remove_stale_temporaries` deletes those whose writer is gone, never those of a process still writing.

Damaged caches: a cache (features, encoded captions, results, checkpoints) can be truncated by a full
disk, a killed process or a Drive sync. Since it can be recomputed, `read_cached` moves a file that cannot
be read to `<name>.damaged` (replacing an older one), warns naming it and why, and returns None so that
the caller recomputes. Nothing is deleted, so the user can still inspect the damaged file.

`stable_hash`: short hashes of configurations, the keys of every cache and checkpoint.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any, TypeVar

_TEMP_NAME = re.compile(r"^\..+\.pid(\d+)\.[^.]+\.tmp$")


def current_umask() -> int:
    """The process's umask, read without changing it where the OS allows (Linux), else set and restored."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def new_file_mode() -> int:
    """The mode a newly created regular file gets: 0666 minus the umask."""
    return 0o666 & ~current_umask()


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.pid{os.getpid()}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, new_file_mode())
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def remove_stale_temporaries(folder: str | Path) -> list[Path]:
    """Delete temporary files left under `folder` by atomic writes of processes that no longer run."""
    removed = []
    folder = Path(folder)
    if not folder.is_dir():
        return removed
    for candidate in folder.rglob(".*.tmp"):
        match = _TEMP_NAME.match(candidate.name)
        if match and candidate.is_file() and not _process_alive(int(match.group(1))):
            candidate.unlink(missing_ok=True)
            removed.append(candidate)
    return removed


def write_atomic(path: str | Path, writer: Callable[[Path], Any]) -> Path:
    """Call writer(tmp_path), then move the finished file onto path."""
    with atomic_path(path) as tmp:
        writer(tmp)
    return Path(path)


def write_text(path: str | Path, text: str) -> Path:
    return write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_json(path: str | Path, obj: Any) -> Path:
    return write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def read_json(path: str | Path) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))


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


def stable_hash(obj: Any, length: int = 12) -> str:
    """Short hex digest of a JSON-serialisable object (dataclasses and paths allowed)."""
    def default(o: Any) -> Any:
        if hasattr(o, "__dataclass_fields__"):
            return asdict(o)
        if isinstance(o, Path):
            return str(o)
        raise TypeError(f"cannot hash {type(o).__name__}")

    text = json.dumps(obj, sort_keys=True, default=default)
    return hashlib.sha256(text.encode()).hexdigest()[:length]
