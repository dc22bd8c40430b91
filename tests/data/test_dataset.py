"""Loading and validating a data folder: every problem named with file, lines and IDs."""
from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from helpers.data.dataset import data_fingerprint, load_dataset, read_test_folder
from helpers.data.errors import DataError, DataWarning

TRAIN = [
    ("0.jpg", "1", "A man riding a horse."),
    ("1.jpg", "1 3", 'A car with "taxi" on it, in the rain'),
    ("2.jpg", "14", "A parking meter\nin the snow"),
    ("3.jpg", "19 1", "Un cheval près du café"),
]
TEST = [("10.jpg", "A bus/"), ("11.jpg", 'A "stop" sign')]


def make_folder(
    tmp_path: Path,
    train=TRAIN,
    test=TEST,
    images: list[str] | None = None,
    test_labels: str | None = None,
) -> Path:
    root = tmp_path / "data_set"
    (root / "data").mkdir(parents=True)
    lines = ["ImageID,Labels,Caption"] + [f'{i},{lab},"{cap}"' for i, lab, cap in train]
    (root / "train.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    if test is not None:
        lines = ["ImageID,Caption"] + [f'{i},"{cap}"' for i, cap in test]
        (root / "test.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    if images is None:
        images = [r[0] for r in train] + ([r[0] for r in test] if test else [])
    for name in images:
        Image.new("RGB", (8, 6), (10, 20, 30)).save(root / "data" / name, format="JPEG")
    if test_labels is not None:
        (root / "test_labels.csv").write_text(test_labels, encoding="utf-8")
    return root


def test_loads_a_valid_folder(tmp_path):
    root = make_folder(tmp_path)
    ds = load_dataset(root)
    assert list(ds.train.columns) == ["ImageID", "Labels", "Caption", "line"]
    assert list(ds.train["Labels"]) == [[1], [1, 3], [14], [19, 1]]
    assert ds.train["Caption"][2] == "A parking meter\nin the snow"
    assert ds.train["Caption"][3] == "Un cheval près du café"
    assert list(ds.train["line"]) == [2, 3, 4, 6]
    assert ds.Y.shape == (4, 18) and ds.Y.dtype == np.uint8
    assert ds.Y[1].tolist() == [1, 0, 1] + [0] * 15
    assert ds.Y[3, 17] == 1 and ds.Y[2, 12] == 1  # 19 is the last column, 14 the 13th
    assert list(ds.test["ImageID"]) == ["10.jpg", "11.jpg"] and ds.test["Caption"][1] == 'A "stop" sign'
    assert ds.test_Y is None and ds.skipped == []
    assert ds.images_dir == root / "data" and ds.image_path("0.jpg").is_file()
    assert all(p.is_file() for p in ds.train_image_paths() + ds.test_image_paths())


def test_test_labels_are_read_in_test_order(tmp_path):
    root = make_folder(tmp_path, test_labels="ImageID,Labels\n11.jpg,13\n10.jpg,6 1\n")
    ds = load_dataset(root)
    assert ds.test_Y.shape == (2, 18)
    assert ds.test_Y[0, [0, 5]].tolist() == [1, 1] and ds.test_Y[1, 11] == 1


def test_test_labels_must_match_test_csv(tmp_path):
    root = make_folder(tmp_path, test_labels="ImageID,Labels\n10.jpg,6\n99.jpg,1\n")
    with pytest.raises(DataError, match=r"test_labels\.csv.*no labels for test images 11\.jpg.*99\.jpg"):
        load_dataset(root)


def error_of(root: Path, **kwargs) -> str:
    with pytest.raises(DataError) as info:
        load_dataset(root, **kwargs)
    return str(info.value)


def test_unknown_label_id(tmp_path):
    train = [*TRAIN, ("5.jpg", "1 12", "x"), ("6.jpg", "20", "y")]
    message = error_of(make_folder(tmp_path, train=train))
    assert "train.csv" in message and "2 row(s) with an invalid label" in message
    assert "5.jpg (line 7)" in message and "unknown label id 12" in message
    assert "6.jpg (line 8)" in message and "unknown label id 20" in message


def test_empty_label_field(tmp_path):
    train = [*TRAIN, ("5.jpg", "", "no labels here")]
    message = error_of(make_folder(tmp_path, train=train))
    assert "empty Labels field: 5.jpg (line 7)" in message


def test_long_lists_are_capped(tmp_path):
    train = [*TRAIN] + [(f"{100 + i}.jpg", "", "c") for i in range(25)]
    message = error_of(make_folder(tmp_path, train=train))
    assert "25 row(s) with an empty Labels field" in message and "and 15 more" in message
    assert "124.jpg" not in message


def test_duplicate_ids_within_train_and_test(tmp_path):
    train = [*TRAIN, ("1.jpg", "1", "again")]
    test = [*TEST, ("10.jpg", "again")]
    message = error_of(make_folder(tmp_path, train=train, test=test))
    assert "train.csv: duplicate ImageIDs 1.jpg (line 3), 1.jpg (line 7)" in message
    assert "test.csv: duplicate ImageIDs 10.jpg (line 2), 10.jpg (line 4)" in message


def test_test_id_also_in_train(tmp_path):
    test = [*TEST, ("2.jpg", "seen before")]
    message = error_of(make_folder(tmp_path, test=test))
    assert "test.csv" in message and "also in train.csv: 2.jpg (line 4)" in message


def test_empty_caption(tmp_path):
    train = [*TRAIN, ("5.jpg", "1", "  ")]
    message = error_of(make_folder(tmp_path, train=train))
    assert "empty caption(s): 5.jpg (line 7)" in message


def test_missing_files_and_folders(tmp_path):
    root = make_folder(tmp_path, test=None)
    message = error_of(root)
    assert "test.csv: file not found" in message
    message = error_of(tmp_path / "nowhere")
    assert "data folder not found" in message
    root2 = make_folder(tmp_path / "b")
    for f in (root2 / "data").iterdir():
        f.unlink()
    (root2 / "data").rmdir()
    assert "image folder not found" in error_of(root2)


def test_missing_images_are_listed(tmp_path):
    root = make_folder(tmp_path, images=["0.jpg", "2.jpg", "3.jpg", "10.jpg"])
    message = error_of(root)
    assert "2 row(s) with an unusable image" in message
    assert "train.csv line 3: 1.jpg (missing image file)" in message
    assert "test.csv line 3: 11.jpg (missing image file)" in message
    assert "on_bad_image='skip'" in message
    # without the check the folder loads
    assert len(load_dataset(root, check_images=False).train) == 4


def test_skip_mode_drops_and_reports_training_rows(tmp_path):
    root = make_folder(tmp_path, images=["0.jpg", "3.jpg", "10.jpg", "11.jpg"])
    (root / "data" / "3.jpg").write_bytes(b"not a jpeg")  # corrupt, found with verify_images
    with pytest.warns(DataWarning, match=r"skipped 3 training row\(s\).*1 rows remain"):
        ds = load_dataset(root, on_bad_image="skip", verify_images=True)
    assert list(ds.train["ImageID"]) == ["0.jpg"] and list(ds.train.index) == [0]
    assert ds.Y.shape == (1, 18)
    assert ds.skipped == [
        "train.csv line 3: 1.jpg (missing image file)",
        "train.csv line 4: 2.jpg (missing image file)",
        "train.csv line 6: 3.jpg (corrupt image: not a format PIL can identify)",
    ]


def test_skip_mode_never_skips_test_rows(tmp_path):
    root = make_folder(tmp_path, images=["0.jpg", "1.jpg", "2.jpg", "3.jpg", "10.jpg"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        message = error_of(root, on_bad_image="skip")
    assert "test rows cannot be skipped" in message and "11.jpg" in message


def test_bad_on_bad_image_value(tmp_path):
    with pytest.raises(ValueError, match="on_bad_image"):
        load_dataset(make_folder(tmp_path), on_bad_image="ignore")


def test_fingerprint_tracks_csvs_and_image_listing(tmp_path):
    root = make_folder(tmp_path)
    first = data_fingerprint(root)
    assert first == data_fingerprint(root) and len(first) == 16
    int(first, 16)
    image = root / "data" / "0.jpg"
    os.utime(image, ns=(1, 1))
    touched = data_fingerprint(root)
    assert touched != first
    Image.new("RGB", (9, 6)).save(root / "data" / "extra.jpg", format="JPEG")
    added = data_fingerprint(root)
    assert added != touched
    with open(root / "test.csv", "a", encoding="utf-8") as f:
        f.write('12.jpg,"new"\n')
    assert data_fingerprint(root) != added


def test_fingerprint_reads_listing_not_image_contents(tmp_path):
    """Only names, sizes and modification times enter the hash (so 40,000 images cost one directory scan)."""
    root = make_folder(tmp_path)
    image = root / "data" / "1000.jpg"
    image.write_bytes(b"x" * 1000)
    before = data_fingerprint(root)
    stat = image.stat()
    image.write_bytes(b"y" * 1000)  # same size, other bytes, modification time put back
    os.utime(image, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert data_fingerprint(root) == before


def _test_folder_error(root: Path, csv: str = "test.csv") -> str:
    with pytest.raises(DataError) as info:
        read_test_folder(root, csv)
    return str(info.value)


@pytest.mark.parametrize("case", ["duplicate", "empty caption", "missing image", "broken image"])
def test_read_test_folder_gives_the_same_messages_as_load_dataset(tmp_path, case):
    """The predictor's folder reader and the pipeline's share one check per problem, word for word."""
    test = {"duplicate": [*TEST, ("10.jpg", "again")], "empty caption": [*TEST, ("12.jpg", "  ")]}.get(case, TEST)
    root = make_folder(tmp_path, test=test)
    if case == "missing image":
        (root / "data" / "11.jpg").unlink()
    if case == "broken image":
        (root / "data" / "11.jpg").write_bytes(b"not an image")
    predictor_message = _test_folder_error(root)
    pipeline_message = error_of(root, verify_images="header")
    expected = {
        "duplicate": "test.csv: duplicate ImageIDs 10.jpg (line 2), 10.jpg (line 4); every ImageID must appear once",
        "empty caption": "test.csv: 1 empty caption(s): 12.jpg (line 4); every row needs a caption text",
        "missing image": "1 row(s) with an unusable image: test.csv line 3: 11.jpg (missing image file)",
        "broken image": "1 row(s) with an unusable image: test.csv line 3: 11.jpg (corrupt image",
    }[case]
    assert expected in predictor_message and expected in pipeline_message
    assert str(root) in predictor_message


def test_read_test_folder_returns_the_rows_and_the_image_folder(tmp_path):
    root = make_folder(tmp_path)
    rows, images_dir = read_test_folder(root)
    assert list(rows["ImageID"]) == ["10.jpg", "11.jpg"] and list(rows["line"]) == [2, 3]
    assert images_dir == root / "data"
    (root / "other.csv").write_text('ImageID,Caption\n11.jpg,"x"\n', encoding="utf-8")
    assert list(read_test_folder(root, root / "other.csv")[0]["ImageID"]) == ["11.jpg"]  # an absolute path
    (root / "empty.csv").write_text("ImageID,Caption\n", encoding="utf-8")
    assert "no rows after the header" in _test_folder_error(root, "empty.csv")
    (root / "data" / "10.jpg").unlink()
    (root / "data").rename(root / "images")
    assert "image folder not found; put the images of test.csv in a folder named 'data'" in _test_folder_error(root)
