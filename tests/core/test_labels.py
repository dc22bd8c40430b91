"""helpers.core.labels: COCO label ids without 12, parsing and the 0/1 matrix."""
from __future__ import annotations

import pytest

from helpers.core.labels import LABEL_IDS, LABEL_NAMES, labels_to_matrix, matrix_to_labels, parse_label_field


def test_labels_are_coco_ids_without_12():
    assert len(LABEL_IDS) == 18 and 12 not in LABEL_IDS and LABEL_NAMES[8] == "truck"
    assert parse_label_field("3 1 3") == [3, 1]
    with pytest.raises(ValueError, match="unknown label id 12"):
        parse_label_field("1 12")
    with pytest.raises(ValueError, match="not an integer"):
        parse_label_field("1 x")
    matrix = labels_to_matrix([[1, 19], [8]])
    assert matrix.shape == (2, 18) and matrix[0, 0] == 1 and matrix[0, 17] == 1 and matrix[1, 7] == 1
    assert matrix_to_labels(matrix) == [[1, 19], [8]]
