"""The submission validator and writer: wrong files are rejected before anything is written."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.core.labels import labels_to_matrix
from helpers.data.submission import SubmissionError, score_submission, validate_submission, write_submission

IDS = ["30000.jpg", "30001.jpg", "30002.jpg"]


def table(rows, columns=("ImageID", "Labels")):
    return pd.DataFrame(rows, columns=list(columns))


def test_valid_submission_passes():
    validate_submission(table([("30000.jpg", "1 3"), ("30001.jpg", "19"), ("30002.jpg", "1")]), IDS)


@pytest.mark.parametrize(("rows", "columns", "message"), [
    ([("30000.jpg", "1"), ("30001.jpg", "1"), ("30002.jpg", "1")], ("ImageID", "Label"), "wrong header"),
    ([("30000.jpg", "1"), ("30001.jpg", "1"), ("30002.jpg", "1")], ("Labels", "ImageID"), "wrong header"),
    ([("30000.jpg", "1"), ("30002.jpg", "1")], None, r"1 test image\(s\) without a row: 30001.jpg"),
    ([("30000.jpg", "1"), ("30001.jpg", "12"), ("30002.jpg", "1")], None,
     r"row 2 \(30001.jpg\): unknown label '12'"),
    ([("30000.jpg", "1"), ("30001.jpg", "person"), ("30002.jpg", "1")], None, "unknown label 'person'"),
    ([("30000.jpg", "1,3"), ("30001.jpg", "1"), ("30002.jpg", "1")], None, "unknown label '1,3'"),
    ([("30000.jpg", "1  3"), ("30001.jpg", "1"), ("30002.jpg", "1")], None, "single spaces"),
    ([("30000.jpg", ""), ("30001.jpg", "1"), ("30002.jpg", "1")], None, r"row 1 \(30000.jpg\): no label"),
    ([("30000.jpg", "1 1"), ("30001.jpg", "1"), ("30002.jpg", "1")], None, "repeated label"),
    ([("30000.jpg", "1"), ("30002.jpg", "1"), ("30001.jpg", "1")], None, "not in test.csv order"),
    ([("30000.jpg", "1"), ("30001.jpg", "1"), ("30002.jpg", "1"), ("9.jpg", "1")], None,
     r"1 row\(s\) for images not in test.csv: 9.jpg"),
    ([("30000.jpg", "1"), ("30000.jpg", "1"), ("30001.jpg", "1"), ("30002.jpg", "1")], None, "duplicate rows"),
])
def test_invalid_submissions_are_rejected(rows, columns, message):
    with pytest.raises(SubmissionError, match=message):
        validate_submission(table(rows, columns or ("ImageID", "Labels")), IDS)


def test_write_validates_first_and_writes_nothing_when_invalid(tmp_path):
    path = tmp_path / "Predicted_labels.csv"
    with pytest.raises(SubmissionError, match="no label"):
        write_submission(path, IDS, [[1], [], [3]])
    with pytest.raises(SubmissionError, match="without a row"):
        write_submission(path, IDS[:2], [[1], [3]], test_ids=IDS)
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []  # no temporary file left behind either


def test_written_file_has_the_exact_format_and_scores_against_truth(tmp_path):
    path = tmp_path / "Predicted_labels.csv"
    pred = labels_to_matrix([[3, 1], [19], [1]])
    write_submission(path, IDS, pred, test_ids=IDS)
    assert path.read_text() == "ImageID,Labels\n30000.jpg,1 3\n30001.jpg,19\n30002.jpg,1\n"
    truth = labels_to_matrix([[1, 3], [18], [1]])
    scores = score_submission(path, IDS, truth)
    assert scores["exact_match"] == pytest.approx(2 / 3)
    assert scores["samples_f1"] == pytest.approx(2 / 3)
    assert scores["micro_f1"] == pytest.approx(2 * 3 / (4 + 4))
    assert set(scores) == {"micro_f1", "samples_f1", "macro_f1", "exact_match", "hamming_accuracy"}


def test_score_rejects_a_file_for_other_test_rows(tmp_path):
    path = tmp_path / "Predicted_labels.csv"
    write_submission(path, IDS, [[1], [1], [1]])
    with pytest.raises(SubmissionError, match="without a row"):
        score_submission(path, [*IDS, "30003.jpg"], np.ones((4, 18), dtype=np.uint8))
