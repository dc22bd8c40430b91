"""The COMP5329 CSV reader on hand-made files holding every quirk of the real ones."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from helpers.data.csv_format import (
    CsvFormatError,
    read_labels_csv,
    read_test_csv,
    read_train_csv,
    write_labels_csv,
)

# (ImageID, Labels, caption text exactly as it must come back)
TRAIN_ROWS = [
    ("0.jpg", "1", "A woman wearing a net on her head cutting a cake."),
    ("552.jpg", "11", 'A fire hydrant with "caution" tape around it.'),
    ("3.jpg", "1 3", '"Stop" says the sign, next to a car'),
    ("4.jpg", "2", 'A bike leaning on a wall that reads "no parking"'),
    ("5.jpg", "3 8", "Cars, trucks, and buses / all on one road"),
    ("6.jpg", "16", "A bird on a\nbranch"),
    ("7.jpg", "18", "Two dogs\n2 cats, 3 birds and\n4.jpg files"),
    ("8.jpg", "6", "A bus at the stop/"),
    ("9.jpg", "19", "Un cheval près du café, 馬 — naïve"),
    ("10.jpg", "1 15", 'He said "hi, there", then sat on the bench "/'),
    ("11.jpg", "17", ""),
    ("12.JPEG", "5", "An airplane\n"),
]


def csv_text(rows, with_labels: bool = True, newline: str = "\n") -> str:
    header = "ImageID,Labels,Caption" if with_labels else "ImageID,Caption"
    body = [f'{i},{lab},"{cap}"' if with_labels else f'{i},"{cap}"' for i, lab, cap in rows]
    return newline.join([header, *body]).replace("\n", newline) + newline


def write(tmp_path: Path, text: str, name: str = "train.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def check_rows(df, rows, with_labels: bool = True) -> None:
    assert len(df) == len(rows)
    assert list(df["ImageID"]) == [r[0] for r in rows]
    assert list(df["Caption"]) == [r[2] for r in rows]
    if with_labels:
        assert list(df["Labels"]) == [r[1] for r in rows]


def test_every_quirk_round_trips_exactly(tmp_path):
    df = read_train_csv(write(tmp_path, csv_text(TRAIN_ROWS)))
    check_rows(df, TRAIN_ROWS)
    assert list(df.columns) == ["ImageID", "Labels", "Caption", "line"]
    # line numbers count the embedded newlines of earlier captions
    assert list(df["line"]) == [2, 3, 4, 5, 6, 7, 9, 12, 13, 14, 15, 16]


def test_test_csv_round_trips(tmp_path):
    df = read_test_csv(write(tmp_path, csv_text(TRAIN_ROWS, with_labels=False), "test.csv"))
    check_rows(df, TRAIN_ROWS, with_labels=False)
    assert list(df.columns) == ["ImageID", "Caption", "line"]


@pytest.mark.parametrize("variant", ["bom", "crlf", "no_final_newline", "trailing_blank_lines", "all"])
def test_encoding_and_line_ending_variants(tmp_path, variant):
    newline = "\r\n" if variant in ("crlf", "all") else "\n"
    text = csv_text(TRAIN_ROWS, newline=newline)
    if variant in ("bom", "all"):
        text = "\ufeff" + text
    if variant in ("no_final_newline", "all"):
        text = text.rstrip("\r\n")
    if variant in ("trailing_blank_lines", "all"):
        text = text + newline + newline + "  " + newline
    df = read_train_csv(write(tmp_path, text))
    # CRLF is read as LF, also inside captions: same captions as the original file
    check_rows(df, TRAIN_ROWS)


def test_lone_carriage_return_is_kept(tmp_path):
    rows = [("1.jpg", "1", "a\rb")]
    assert read_train_csv(write(tmp_path, csv_text(rows)))["Caption"][0] == "a\rb"


def test_large_file_is_read_completely(tmp_path):
    """Full-size files (30,000 + 10,000 rows) are read whole; their speed is a benchmark matter, not asserted here."""
    rows = [(f"{i}.jpg", "1 3", f'Caption {i}, with "quotes" / slash') for i in range(30_000)]
    rows[100] = ("100.jpg", "2", "line one\nline two")
    path = write(tmp_path, csv_text(rows))
    test_rows = [(f"{30_000 + i}.jpg", "", f"Test caption {i}/") for i in range(10_000)]
    test_path = write(tmp_path, csv_text(test_rows, with_labels=False), "test.csv")
    train, test = read_train_csv(path), read_test_csv(test_path)
    assert len(train) == 30_000 and len(test) == 10_000
    assert train["Caption"][100] == "line one\nline two"
    assert train["Caption"][29_999] == 'Caption 29999, with "quotes" / slash'
    assert test["Caption"][9_999] == "Test caption 9999/"
    assert train["line"][101] == 104  # row 100 starts on line 102 and spans two lines of the file


@pytest.mark.parametrize(
    ("body", "line_no", "needle"),
    [
        ('0.jpg,1,"ok"\n1.jpg,1,no quotes\n', 3, "double quotes"),
        ('0.jpg,1,"ok"\n1.jpg,"missing labels field"\n', 3, "3 fields"),
        ('0.jpg,1,"ok"\n1.jpg,1,"no closing quote\n', 3, "closing double quote"),
        ('0.jpg,1,"ok"\n1.jpg,1\n', 3, "3 fields"),
        ('0.jpg,1,"ok"\nstray text\n2.jpg,1,"ok"\n', 3, "after the closing quote"),
        ('0.jpg,1,"ok" extra,field\n', 2, "after the closing quote"),
        ('not a record\n0.jpg,1,"ok"\n', 2, "expected a record"),
        ('0.jpg,1,"ok"\n7.gif,1,"a gif"\n', 3, "not an image file name"),
    ],
)
def test_malformed_rows_name_file_and_line(tmp_path, body, line_no, needle):
    path = write(tmp_path, "ImageID,Labels,Caption\n" + body)
    with pytest.raises(CsvFormatError) as info:
        read_train_csv(path)
    message = str(info.value)
    assert str(path) in message
    assert f"line {line_no}" in message
    assert needle in message


def test_error_shows_the_line_content(tmp_path):
    path = write(tmp_path, 'ImageID,Labels,Caption\n0.jpg,1,"ok"\n1.jpg,1,no quotes\n')
    with pytest.raises(CsvFormatError, match="1.jpg,1,no quotes"):
        read_train_csv(path)


def test_wrong_header(tmp_path):
    path = write(tmp_path, 'ImageID,Caption\n0.jpg,"a"\n')
    with pytest.raises(CsvFormatError, match=r"line 1.*wrong header.*ImageID,Labels,Caption"):
        read_train_csv(path)
    path = write(tmp_path, '0.jpg,1,"a"\n')
    with pytest.raises(CsvFormatError, match="wrong header"):
        read_train_csv(path)


def test_train_file_given_as_test_file(tmp_path):
    path = write(tmp_path, csv_text(TRAIN_ROWS), "test.csv")
    with pytest.raises(CsvFormatError, match="wrong header"):
        read_test_csv(path)


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(CsvFormatError, match="not found"):
        read_train_csv(tmp_path / "train.csv")
    with pytest.raises(CsvFormatError, match="empty"):
        read_train_csv(write(tmp_path, "\n\n"))


def test_header_only_gives_empty_frame(tmp_path):
    df = read_test_csv(write(tmp_path, "ImageID,Caption\n", "test.csv"))
    assert len(df) == 0 and list(df.columns) == ["ImageID", "Caption", "line"]


def test_not_utf8(tmp_path):
    path = write(tmp_path, 'ImageID,Labels,Caption\n0.jpg,1,"café"\n', encoding="latin-1")
    with pytest.raises(CsvFormatError, match=r"line 2.*UTF-8"):
        read_train_csv(path)


def test_labels_csv_round_trip(tmp_path):
    path = tmp_path / "sub" / "Predicted_labels.csv"
    write_labels_csv(path, ["30000.jpg", "30001.jpg", "30002.jpg"], [[3, 1], [], [19, 19]])
    assert path.read_text() == "ImageID,Labels\n30000.jpg,1 3\n30001.jpg,\n30002.jpg,19\n"
    df = read_labels_csv(path)
    assert list(df["ImageID"]) == ["30000.jpg", "30001.jpg", "30002.jpg"]
    assert list(df["Labels"]) == ["1 3", "", "19"]
    assert list(df["line"]) == [2, 3, 4]
    assert not list(path.parent.glob(".*.tmp"))  # atomic write left no temporary file


def test_write_labels_from_matrix(tmp_path):
    matrix = np.zeros((2, 18), dtype=np.uint8)
    matrix[0, [0, 2]] = 1  # labels 1 and 3
    matrix[1, 17] = 1  # label 19
    path = write_labels_csv(tmp_path / "p.csv", ["a.jpg", "b.jpg"], matrix)
    assert path.read_text() == "ImageID,Labels\na.jpg,1 3\nb.jpg,19\n"


def test_write_labels_rejects_bad_input(tmp_path):
    with pytest.raises(ValueError, match="2 image ids but 1"):
        write_labels_csv(tmp_path / "p.csv", ["a.jpg", "b.jpg"], [[1]])
    with pytest.raises(ValueError, match="comma"):
        write_labels_csv(tmp_path / "p.csv", ["a,b.jpg"], [[1]])
    assert not (tmp_path / "p.csv").exists()


def test_labels_csv_errors(tmp_path):
    path = write(tmp_path, "ImageID,Labels\n1.jpg,1\n2.jpg,1,3\n", "test_labels.csv")
    with pytest.raises(CsvFormatError, match=r"line 3.*2 fields"):
        read_labels_csv(path)
    path = write(tmp_path, "ImageID,Label\n1.jpg,1\n", "test_labels.csv")
    with pytest.raises(CsvFormatError, match="wrong header"):
        read_labels_csv(path)
