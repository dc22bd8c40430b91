"""A short hash of a data folder's contents: part of every cache key."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

from helpers.core.config import IMAGES_SUBDIR, TEST_CSV, TRAIN_CSV
from helpers.data.errors import DataError


def data_fingerprint(data_dir: str | Path, length: int = 16) -> str:
    """Short hex hash of train.csv + test.csv contents and the image folder's listing
    (names, sizes, modification times); keys the feature caches. Copying the images without
    keeping their modification times changes it."""
    data_dir = Path(data_dir).expanduser()
    digest = hashlib.sha256()
    for name in (TRAIN_CSV, TEST_CSV):
        path = data_dir / name
        if not path.is_file():
            raise DataError(f"{path}: file not found; the data folder must hold {TRAIN_CSV}, {TEST_CSV} and "
                            f"{IMAGES_SUBDIR}/ as given in the assignment.")
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    images_dir = data_dir / IMAGES_SUBDIR
    entries: list[str] = []
    if images_dir.is_dir():
        with os.scandir(images_dir) as it:
            for entry in it:
                if entry.is_file():
                    st = entry.stat()
                    entries.append(f"{entry.name}\t{st.st_size}\t{st.st_mtime_ns}")
    entries.sort()
    digest.update("\n".join(entries).encode("utf-8", "surrogateescape"))
    return digest.hexdigest()[:length]
