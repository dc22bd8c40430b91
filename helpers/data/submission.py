"""The submission file Predicted_labels.csv: validated before it is written, scored after (demo data).

Format: header `ImageID,Labels`; one row per test image in test.csv order; labels are known ids
separated by single spaces; no row is empty (an empty row scores 0 on the competition's metric).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.core.labels import COLUMN_OF, labels_to_matrix, matrix_to_labels
from helpers.core.metrics import multilabel_scores
from helpers.data.csv_format import LABELS_HEADER, read_labels_csv, write_labels_csv
from helpers.data.errors import duplicated_ids, listing


class SubmissionError(ValueError):
    """The submission does not have the required format; the message lists the offending rows."""


def _field_problem(field: object) -> str | None:
    """Why a Labels field is invalid, or None."""
    text = str(field)
    if not text.strip():
        return "no label (every test image needs at least one)"
    if text != text.strip() or "  " in text:
        return f"labels {text!r} must be separated by single spaces, without leading or trailing blanks"
    for token in text.split(" "):
        if not token.isdigit() or int(token) not in COLUMN_OF:
            return f"unknown label {token!r} (valid ids: 1..19 without 12)"
    if len(set(text.split(" "))) != len(text.split(" ")):
        return f"repeated label in {text!r}"
    return None


def validate_submission(df: pd.DataFrame, test_ids: Sequence[str]) -> None:
    """Check a submission table (columns ImageID, Labels as text) against the test ImageIDs, in order.

    Raises SubmissionError listing every problem: wrong header, missing, extra, duplicate or
    misplaced rows, unknown labels, bad separators and empty rows.
    """
    columns = tuple(c for c in df.columns if c != "line")
    if columns != LABELS_HEADER:
        raise SubmissionError(f"wrong header {','.join(map(str, columns))!r}; it must be exactly "
                              f"{','.join(LABELS_HEADER)!r}")
    ids = [str(i) for i in df["ImageID"]]
    expected = [str(i) for i in test_ids]
    problems = []
    duplicates = sorted(duplicated_ids(ids))
    if duplicates:
        problems.append(f"duplicate rows for {listing(duplicates)}")
    known = set(expected)
    missing = [i for i in expected if i not in set(ids)]
    extra = [i for i in ids if i not in known]
    if missing:
        problems.append(f"{len(missing)} test image(s) without a row: {listing(missing)}")
    if extra:
        problems.append(f"{len(extra)} row(s) for images not in test.csv: {listing(extra)}")
    if not (missing or extra or duplicates) and ids != expected:
        moved = [f"row {k + 1}: {a} (expected {b})" for k, (a, b) in enumerate(zip(ids, expected, strict=True))
                 if a != b]
        problems.append(f"rows are not in test.csv order: {listing(moved)}")
    bad = [f"row {k + 1} ({image_id}): {why}" for k, (image_id, field) in enumerate(zip(ids, df["Labels"], strict=True))
           if (why := _field_problem(field)) is not None]
    if bad:
        problems.append(f"{len(bad)} row(s) with invalid labels: {listing(bad)}")
    if problems:
        raise SubmissionError("invalid submission: " + "; ".join(problems) + ".")


def submission_table(image_ids: Sequence[str], label_lists: Iterable[Sequence[int]] | np.ndarray) -> pd.DataFrame:
    """ImageID, Labels (ascending ids joined by spaces) from label lists or an (n, 18) 0/1 matrix."""
    if isinstance(label_lists, np.ndarray) and label_lists.ndim == 2:
        label_lists = matrix_to_labels(label_lists)
    fields = [" ".join(str(v) for v in sorted({int(v) for v in labels})) for labels in label_lists]
    if len(fields) != len(image_ids):
        raise SubmissionError(f"{len(image_ids)} image ids but {len(fields)} label lists")
    return pd.DataFrame({"ImageID": [str(i) for i in image_ids], "Labels": fields})


def write_submission(path: str | Path, image_ids: Sequence[str], label_lists: Iterable[Sequence[int]] | np.ndarray,
                     test_ids: Sequence[str] | None = None) -> Path:
    """Validate, then write the submission atomically; test_ids defaults to image_ids (order as given)."""
    table = submission_table(image_ids, label_lists)
    validate_submission(table, list(image_ids) if test_ids is None else test_ids)
    return write_labels_csv(path, list(table["ImageID"]), [[int(v) for v in f.split()] for f in table["Labels"]])


def read_submission(path: str | Path, test_ids: Sequence[str]) -> pd.DataFrame:
    """Read a submission file back from disk and validate it."""
    table = read_labels_csv(path)
    validate_submission(table, test_ids)
    return table.drop(columns="line")


def score_submission(path: str | Path, test_ids: Sequence[str], test_Y: np.ndarray) -> dict[str, float]:
    """All five metrics of a submission file (read back from disk) against the true test labels."""
    table = read_submission(path, test_ids)
    pred = labels_to_matrix([int(v) for v in field.split()] for field in table["Labels"])
    return multilabel_scores(test_Y, pred)
