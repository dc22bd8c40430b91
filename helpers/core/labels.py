"""The 18 labels: COCO category ids 1..19 without 12, in one fixed column order."""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

LABEL_IDS: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 16, 17, 18, 19)
LABEL_NAMES: dict[int, str] = {
    1: "person", 2: "bicycle", 3: "car", 4: "motorcycle", 5: "airplane", 6: "bus",
    7: "train", 8: "truck", 9: "boat", 10: "traffic light", 11: "fire hydrant",
    13: "stop sign", 14: "parking meter", 15: "bench", 16: "bird", 17: "cat",
    18: "dog", 19: "horse",
}
N_LABELS = len(LABEL_IDS)
COLUMN_OF: dict[int, int] = {label: i for i, label in enumerate(LABEL_IDS)}


def label_title(label: int) -> str:
    """'8 truck' style name used on axes and in tables."""
    return f"{label} {LABEL_NAMES[label]}"


def parse_label_field(field: str) -> list[int]:
    """Parse a space-separated label field such as '1 3 8'.

    Raises ValueError naming the offending token when it is not one of LABEL_IDS.
    Order is kept, duplicates are removed.
    """
    labels: list[int] = []
    for token in str(field).split():
        try:
            value = int(token)
        except ValueError:
            raise ValueError(f"label {token!r} is not an integer") from None
        if value not in COLUMN_OF:
            raise ValueError(f"unknown label id {value} (valid ids: 1..19 without 12)")
        if value not in labels:
            labels.append(value)
    return labels


def labels_to_matrix(rows: Iterable[Sequence[int]]) -> np.ndarray:
    """Lists of label ids -> (n, 18) uint8 0/1 matrix in LABEL_IDS order."""
    rows = list(rows)
    matrix = np.zeros((len(rows), N_LABELS), dtype=np.uint8)
    for i, labels in enumerate(rows):
        for label in labels:
            matrix[i, COLUMN_OF[int(label)]] = 1
    return matrix


def matrix_to_labels(matrix: np.ndarray) -> list[list[int]]:
    """(n, 18) 0/1 matrix -> lists of label ids, ascending."""
    ids = np.asarray(LABEL_IDS)
    return [ids[np.flatnonzero(row)].tolist() for row in np.asarray(matrix)]
