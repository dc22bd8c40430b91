"""The one reader of a data folder in the COMP5329 layout: train.csv, test.csv, data/<ImageID>.

`load_dataset` reads the whole folder for the pipeline (and test_labels.csv for the built-in demo data);
`read_test_folder` reads a test.csv and its images for the predictor. Both run the same row checks
(duplicate ImageIDs via helpers.data.errors.duplicated_ids, empty captions) and the same image check,
with the same messages: every problem names the file, the line numbers and the ImageIDs at fault, and
nothing is dropped silently. Only unusable images of training rows can be skipped (on_bad_image="skip");
each skipped row is listed in ImageCaptionData.skipped and announced in a warning.
`data_fingerprint` is a short hash of the folder's contents, part of every cache key.
"""
from __future__ import annotations

import hashlib
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.core.config import IMAGES_SUBDIR, TEST_CSV, TEST_LABELS_CSV, TRAIN_CSV
from helpers.core.labels import labels_to_matrix, parse_label_field
from helpers.data.csv_format import read_labels_csv, read_test_csv, read_train_csv
from helpers.data.errors import DataError, DataWarning, duplicated_ids, listing
from helpers.data.images import check_image_files, verify_level


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


ON_BAD_IMAGE = ("error", "skip")


@dataclass
class ImageCaptionData:
    """A validated data folder.

    train: ImageID, Labels (list[int]), Caption, line (line number in train.csv)
    test:  ImageID, Caption, line
    Y / test_Y: (rows, 18) uint8 0/1 matrices in helpers.core.labels.LABEL_IDS order;
    test_Y is None unless test_labels.csv exists (the demo data).
    skipped: one line per training row left out because of its image.
    """

    data_dir: Path
    train: pd.DataFrame
    test: pd.DataFrame
    Y: np.ndarray
    test_Y: np.ndarray | None
    images_dir: Path
    skipped: list[str] = field(default_factory=list)

    @property
    def n_train(self) -> int:
        return len(self.train)

    @property
    def n_test(self) -> int:
        return len(self.test)

    def image_path(self, image_id: str) -> Path:
        return self.images_dir / image_id

    def train_image_paths(self) -> list[Path]:
        return [self.images_dir / i for i in self.train["ImageID"]]

    def test_image_paths(self) -> list[Path]:
        return [self.images_dir / i for i in self.test["ImageID"]]


def _row(image_id: str, line: int) -> str:
    return f"{image_id} (line {line})"


def _rows(df: pd.DataFrame) -> list[str]:
    """'ID (line N)' for every row of df (lists, not pandas iteration, for speed)."""
    return [_row(i, ln) for i, ln in zip(df["ImageID"].tolist(), df["line"].tolist(), strict=True)]


def _duplicates(df: pd.DataFrame) -> list[str]:
    """'ID (line N)' for every row whose ImageID occurs more than once, in file order."""
    repeated = set(duplicated_ids(df["ImageID"].tolist()))
    return _rows(df[df["ImageID"].isin(repeated)]) if repeated else []


def _row_problems(df: pd.DataFrame, path: Path) -> list[str]:
    """The row checks every CSV of ImageIDs and captions gets: duplicate ImageIDs, empty (or blank) captions."""
    problems = []
    dup = _duplicates(df)
    if dup:
        problems.append(f"{path}: duplicate ImageIDs {listing(dup)}; "
                        "every ImageID must appear once, remove the extra rows")
    empty = df[df["Caption"].str.strip() == ""]
    if len(empty):
        rows = _rows(empty)
        problems.append(f"{path}: {len(rows)} empty caption(s): {listing(rows)}; every row needs a caption text")
    return problems


def _unusable_images(images_dir: Path, tables: dict[str, pd.DataFrame], verify: str,
                     cache: Path | None = None) -> tuple[set[str], dict[str, list[str]]]:
    """(ImageIDs whose file is missing or unreadable, 'CSV line N: ID (reason)' per such row of each table).

    tables maps a CSV file name to its rows; the image folder must exist.
    """
    if not images_dir.is_dir():
        raise DataError(f"{images_dir}: image folder not found; put the images of {' and '.join(tables)} "
                        f"in a folder named '{IMAGES_SUBDIR}' beside them.")
    report = check_image_files(images_dir, [i for df in tables.values() for i in df["ImageID"]], verify, cache)
    bad = set(report.bad)
    described = {}
    for csv_name, df in tables.items():
        rows = df[df["ImageID"].isin(bad)]
        pairs = zip(rows["ImageID"].tolist(), rows["line"].tolist(), strict=True)
        described[csv_name] = [f"{csv_name} line {ln}: {i} ({report.reasons[i]})" for i, ln in pairs]
    return bad, described


def _image_error(images_dir: Path, rows: list[str], extra: str = "", hint: str = "") -> DataError:
    return DataError(f"{images_dir}: {len(rows)} row(s) with an unusable image{extra}: {listing(rows)}; "
                     f"copy the missing or broken files into {images_dir}{hint}.")


def _check_image_folder(train: pd.DataFrame, test: pd.DataFrame, images_dir: Path, verify: str, on_bad_image: str,
                        cache: Path | None = None) -> tuple[set[str], list[str]]:
    """Check the image files of both tables; return the training ImageIDs to skip and one description per row."""
    bad, described = _unusable_images(images_dir, {TRAIN_CSV: train, TEST_CSV: test}, verify, cache)
    if not bad:
        return set(), []
    bad_train, bad_test = described[TRAIN_CSV], described[TEST_CSV]
    if on_bad_image == "error":
        raise _image_error(images_dir, bad_train + bad_test,
                           hint=", or pass on_bad_image='skip' to leave such training rows out")
    if bad_test:
        raise _image_error(images_dir, bad_test,
                           " (test rows cannot be skipped: every test image needs a prediction)")
    return bad & set(train["ImageID"]), bad_train


def _parse_train_labels(train: pd.DataFrame, path: Path) -> list[list[int]]:
    parsed: list[list[int]] = []
    empty: list[str] = []
    bad: list[str] = []
    cache: dict[str, list[int]] = {}  # few distinct label fields: parse each once
    columns = (train["ImageID"].tolist(), train["Labels"].tolist(), train["line"].tolist())
    for image_id, field_, line in zip(*columns, strict=True):
        try:
            if field_ not in cache:
                cache[field_] = parse_label_field(field_)
            labels = list(cache[field_])
        except ValueError as err:
            bad.append(f"{_row(image_id, line)}: {str(err).split(' (valid')[0]}")
            labels = []
        else:
            if not labels:
                empty.append(_row(image_id, line))
        parsed.append(labels)
    problems = []
    if bad:
        problems.append(f"{len(bad)} row(s) with an invalid label: {listing(bad)}")
    if empty:
        problems.append(f"{len(empty)} row(s) with an empty Labels field: {listing(empty)}")
    if problems:
        raise DataError(
            f"{path}: " + "; ".join(problems)
            + ". Every training row needs at least one label id out of 1..19 without 12, separated by spaces; "
            "fix or remove these rows."
        )
    return parsed


def _read_test_labels(path: Path, test: pd.DataFrame) -> np.ndarray:
    table = read_labels_csv(path)
    problems = []
    dup = _duplicates(table)
    if dup:
        problems.append(f"duplicate ImageIDs {listing(dup)}")
    by_id: dict[str, list[int]] = {}
    bad: list[str] = []
    columns = (table["ImageID"].tolist(), table["Labels"].tolist(), table["line"].tolist())
    for image_id, field_, line in zip(*columns, strict=True):
        try:
            by_id[image_id] = parse_label_field(field_)
        except ValueError as err:
            bad.append(f"{_row(image_id, line)}: {err}")
    if bad:
        problems.append(f"invalid labels: {listing(bad)}")
    test_ids = list(test["ImageID"])
    missing = [i for i in test_ids if i not in by_id]
    extra = sorted(set(by_id) - set(test_ids))
    if missing:
        problems.append(f"no labels for test images {listing(missing)}")
    if extra:
        problems.append(f"labels for images not in {TEST_CSV}: {listing(extra)}")
    if problems:
        raise DataError(f"{path}: " + "; ".join(problems)
                        + f". It must hold one row per row of {TEST_CSV}; fix it or delete it (it is optional).")
    return labels_to_matrix(by_id[i] for i in test_ids)


def _validate_rows(train: pd.DataFrame, test: pd.DataFrame, train_path: Path, test_path: Path) -> None:
    problems = _row_problems(train, train_path) + _row_problems(test, test_path)
    both = test[test["ImageID"].isin(set(train["ImageID"]))]
    if len(both):
        rows = _rows(both)
        problems.append(f"{test_path}: {len(rows)} test ImageID(s) also in {train_path.name}: {listing(rows)}; "
                        "train and test images must be different files")
    if problems:
        raise DataError("\n".join(problems))


def load_dataset(
    data_dir: str | Path,
    check_images: bool = True,
    on_bad_image: str = "error",
    verify_images: bool | str = False,
    image_check_cache: str | Path | None = None,
) -> ImageCaptionData:
    """Read and validate train.csv, test.csv (and test_labels.csv if present) and the image folder.

    check_images: every ImageID must have a file in data/ (one directory listing).
    verify_images: False / 'exists' - only that; True / 'header' - also open every image header
    with PIL (finds files that are not images); 'full' - also decode every image at a tiny scale
    (finds truncated files too; ~1-2 ms per image over every CPU). Whatever is not checked here
    raises ImageError naming the file when it is first decoded.
    on_bad_image: 'error' raises DataError; 'skip' leaves training rows with a missing/corrupt
    image out, lists them in ImageCaptionData.skipped and warns (test rows are never skipped).
    image_check_cache: JSON file keeping the header / full check's result, so that the next load of
    the same data skips the slow part; the caller must key its name by data_fingerprint(data_dir).
    """
    if on_bad_image not in ON_BAD_IMAGE:
        raise ValueError(f"on_bad_image must be one of {ON_BAD_IMAGE}, got {on_bad_image!r}")
    verify = verify_level(verify_images)
    data_dir = Path(data_dir).expanduser()
    if not data_dir.is_dir():
        raise DataError(f"{data_dir}: data folder not found; "
                        f"pass the folder that holds {TRAIN_CSV}, {TEST_CSV} and {IMAGES_SUBDIR}/.")
    train_path, test_path = data_dir / TRAIN_CSV, data_dir / TEST_CSV
    for path in (train_path, test_path):
        if not path.is_file():
            raise DataError(f"{path}: file not found; the data folder must hold {TRAIN_CSV}, {TEST_CSV} and "
                            f"{IMAGES_SUBDIR}/ as given in the assignment.")
    train = read_train_csv(train_path)
    test = read_test_csv(test_path)
    if train.empty:
        raise DataError(f"{train_path}: no rows after the header; use the full train.csv.")
    if test.empty:
        raise DataError(f"{test_path}: no rows after the header; use the full test.csv.")

    train["Labels"] = pd.Series(_parse_train_labels(train, train_path), index=train.index, dtype=object)
    _validate_rows(train, test, train_path, test_path)
    labels_path = data_dir / TEST_LABELS_CSV
    test_Y = _read_test_labels(labels_path, test) if labels_path.is_file() else None

    images_dir = data_dir / IMAGES_SUBDIR
    skipped: list[str] = []
    if check_images or verify != "exists":
        cache = None if image_check_cache is None else Path(image_check_cache)
        skip_ids, skipped = _check_image_folder(train, test, images_dir, verify, on_bad_image, cache)
    if skipped:
        train = train[~train["ImageID"].isin(skip_ids)].reset_index(drop=True)
        warnings.warn(
            f"skipped {len(skipped)} training row(s) whose image is missing or corrupt "
            f"({len(train)} rows remain): {listing(skipped)}",
            DataWarning,
            stacklevel=2,
        )
        if train.empty:
            raise DataError(f"{images_dir}: no training row has a usable image; check the image folder.")
    train = train[["ImageID", "Labels", "Caption", "line"]]
    Y = labels_to_matrix(train["Labels"])
    return ImageCaptionData(data_dir=data_dir, train=train, test=test, Y=Y, test_Y=test_Y,
                   images_dir=images_dir, skipped=skipped)


def read_test_folder(data_dir: str | Path, csv: str | Path = TEST_CSV) -> tuple[pd.DataFrame, Path]:
    """The rows of a COMP5329-format test.csv and its image folder (data_dir/data), checked as load_dataset checks
    them: the same row checks and messages, and every image's header opened (verify level 'header').

    csv: a file name inside data_dir, or an absolute path. Raises DataError naming the file, lines and ImageIDs.
    """
    data_dir = Path(data_dir).expanduser()
    csv_path = Path(csv) if Path(csv).is_absolute() else data_dir / csv
    rows = read_test_csv(csv_path)
    if rows.empty:
        raise DataError(f"{csv_path}: no rows after the header; nothing to label")
    problems = _row_problems(rows, csv_path)
    if problems:
        raise DataError("\n".join(problems))
    images_dir = data_dir / IMAGES_SUBDIR
    bad, described = _unusable_images(images_dir, {csv_path.name: rows}, "header")
    if bad:
        raise _image_error(images_dir, described[csv_path.name])
    return rows, images_dir
