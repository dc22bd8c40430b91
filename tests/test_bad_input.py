"""Bad input, end to end: every defect in a data folder gives a clear message or a reported skip.

Each case copies one tiny demo data set, applies one defect and loads it twice:
- in process, through setup_run(...).dataset, exactly as every notebook does (fast);
- through `python -m helpers.pipeline --only 01` (marked slow: one Jupyter kernel per case),
  checking the exit code and that stderr shows our error class and message, not a library traceback.

A failing case must name the file, the row (line) or ImageID and what to do; an acceptable one
must keep every row. Nothing may change the number of rows silently.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from helpers.data import images as images_module
from helpers.data.csv_format import CsvFormatError
from helpers.data.errors import DataError, DataWarning
from helpers.data.images import check_images, load_rgb_resized
from helpers.demo.generator import generate_demo_data
from helpers.pipeline import short_error
from helpers.run import setup_run

ROOT = Path(__file__).resolve().parents[1]
N_TRAIN, N_TEST = 120, 30
OUR_ERRORS = ("CsvFormatError", "DataError", "ImageError", "FileNotFoundError")
NON_ASCII = 'Ein Café, "crème brûlée" — 東京の自転車 🚲 naïve'


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    return generate_demo_data(tmp_path_factory.mktemp("demo"), N_TRAIN, N_TEST, seed=0, workers=1, progress=False)


# ---------------------------------------------------------------- defects

def copy_data(base: Path, dest: Path) -> Path:
    """A private copy of the data folder (copy2 keeps modification times)."""
    shutil.copytree(base, dest, copy_function=shutil.copy2)
    return dest


def line_of(csv: Path, image_id: str) -> int:
    """1-based line number of the record for image_id."""
    lines = csv.read_text(encoding="utf-8").split("\n")
    return next(i for i, line in enumerate(lines, 1) if line.startswith(f"{image_id},"))


def edit_line(csv: Path, image_id: str, new: str | Callable[[str], str]) -> int:
    lines = csv.read_text(encoding="utf-8").split("\n")
    n = line_of(csv, image_id)
    lines[n - 1] = new(lines[n - 1]) if callable(new) else new
    csv.write_text("\n".join(lines), encoding="utf-8")
    return n


def set_train_row(csv: Path, image_id: str, labels: str | None = None, caption: str | None = None) -> int:
    """Replace the Labels field and/or the caption of one train.csv row; return its line number."""
    def change(line: str) -> str:
        _, old_labels, old_caption = line.split(",", 2)
        return (f"{image_id},{old_labels if labels is None else labels},"
                f"{old_caption if caption is None else chr(34) + caption + chr(34)}")

    return edit_line(csv, image_id, change)


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def save_as(path: Path, mode: str, fmt: str = "JPEG") -> None:
    """Re-save an image in another PIL mode (fmt PNG keeps the .jpg name: a PNG renamed .jpg)."""
    with Image.open(path) as im:
        rgb = im.convert("RGB")
    if mode == "I;16":
        out = Image.fromarray(np.asarray(rgb.convert("L"), dtype=np.uint16) * 257)  # mode I;16
    else:
        out = rgb.convert(mode)
    out.save(path, format=fmt)


@dataclass
class Case:
    """One defect and what must come out of it."""

    name: str
    apply: Callable[[Path], None]
    error: type[Exception] | None = None  # None: the data is acceptable (or skipped, see skipped)
    expect: tuple[str, ...] = ()  # fragments of the message: file, line/ID, what to do
    on_bad_image: str = "error"
    skipped: tuple[str, ...] = ()  # ImageIDs that skip mode must leave out and list
    extra: Callable[[Path], None] | None = field(default=None, repr=False)


def _malformed_no_closing_quote(d: Path) -> None:
    edit_line(d / "train.csv", "5.jpg", lambda line: line.rstrip('"'))


def _malformed_no_comma(d: Path) -> None:
    lines = (d / "train.csv").read_text(encoding="utf-8").split("\n")
    n = line_of(d / "train.csv", "7.jpg")
    lines.insert(n, "this line is not a record")  # becomes line n + 1
    (d / "train.csv").write_text("\n".join(lines), encoding="utf-8")


def _unusual_modes(d: Path) -> None:
    images = d / "data"
    save_as(images / "0.jpg", "CMYK")
    save_as(images / "1.jpg", "L")
    save_as(images / "2.jpg", "P", fmt="PNG")
    save_as(images / "3.jpg", "LA", fmt="PNG")
    save_as(images / "4.jpg", "I;16", fmt="PNG")
    save_as(images / f"{N_TRAIN}.jpg", "CMYK")  # a test image too


def _non_ascii(d: Path) -> None:
    set_train_row(d / "train.csv", "8.jpg", caption=NON_ASCII)
    edit_line(d / "test.csv", f"{N_TRAIN + 1}.jpg", f'{N_TRAIN + 1}.jpg,"{NON_ASCII}"')


def _check_non_ascii(d: Path) -> None:
    ds = setup_run(str(d), "smoke", str(d / "out")).dataset
    assert ds.train.loc[ds.train["ImageID"] == "8.jpg", "Caption"].item() == NON_ASCII
    assert ds.test.loc[ds.test["ImageID"] == f"{N_TRAIN + 1}.jpg", "Caption"].item() == NON_ASCII


def _check_modes(d: Path) -> None:
    for image_id in ("0.jpg", "1.jpg", "2.jpg", "3.jpg", "4.jpg", f"{N_TRAIN}.jpg"):
        image = load_rgb_resized(d / "data" / image_id, 32)
        assert image.mode == "RGB" and image.size == (32, 32)


def _skip_mix(d: Path) -> None:
    (d / "data" / "10.jpg").unlink()
    (d / "data" / "11.jpg").write_bytes(b"\x00garbage, not a JPEG")
    truncate(d / "data" / "12.jpg")


CASES = [
    Case("missing test.csv", lambda d: (d / "test.csv").unlink(), DataError,
         ("test.csv: file not found", "the data folder must hold train.csv, test.csv")),
    Case("no closing quote", _malformed_no_closing_quote, CsvFormatError,
         ("train.csv, line 7", "no closing double quote", "use the original file")),
    Case("line without comma", _malformed_no_comma, CsvFormatError,
         ("train.csv, line 10", "this line is not a record", "use the original file")),
    Case("unknown label 12", lambda d: set_train_row(d / "train.csv", "3.jpg", labels="1 12"),
         DataError, ("train.csv", "3.jpg (line 5)", "12", "fix or remove these rows")),
    Case("empty label field", lambda d: set_train_row(d / "train.csv", "2.jpg", labels=""), DataError,
         ("train.csv", "2.jpg (line 4)", "empty Labels field", "fix or remove these rows")),
    Case("empty caption", lambda d: set_train_row(d / "train.csv", "6.jpg", caption=" "), DataError,
         ("train.csv", "6.jpg (line 8)", "empty caption", "every row needs a caption text")),
    Case("test id in train", lambda d: edit_line(d / "test.csv", f"{N_TRAIN + 2}.jpg", '9.jpg,"A cat on a mat"'),
         DataError, ("test.csv", "9.jpg (line 4)", "also in train.csv",
                     "train and test images must be different files")),
    Case("missing image", lambda d: (d / "data" / "7.jpg").unlink(), DataError,
         ("train.csv line 9: 7.jpg (missing image file)", "copy the missing or broken files into",
          "on_bad_image='skip'")),
    Case("garbage jpeg", lambda d: (d / "data" / "13.jpg").write_bytes(b"<html>not found</html>"), DataError,
         ("train.csv line 15: 13.jpg (corrupt image", "copy the missing or broken files into")),
    Case("truncated jpeg", lambda d: truncate(d / "data" / "14.jpg"), DataError,
         ("train.csv line 16: 14.jpg (corrupt or truncated image", "copy the missing or broken files into")),
    Case("corrupt test image in skip mode", lambda d: truncate(d / "data" / f"{N_TRAIN + 3}.jpg"), DataError,
         (f"test.csv line 5: {N_TRAIN + 3}.jpg", "test rows cannot be skipped", "copy the missing or broken files"),
         on_bad_image="skip"),
    Case("unusual image modes", _unusual_modes, extra=_check_modes),
    Case("non-ASCII captions", _non_ascii, extra=_check_non_ascii),
    Case("skip missing, garbage and truncated", _skip_mix, on_bad_image="skip",
         skipped=("10.jpg", "11.jpg", "12.jpg")),
]
IDS = [c.name.replace(" ", "-") for c in CASES]


def make_case(base: Path, tmp_path: Path, case: Case) -> Path:
    data = copy_data(base, tmp_path / "data")
    case.apply(data)
    return data


def skipped_ids(skipped: list[str]) -> list[str]:
    """ImageIDs out of ImageCaptionData.skipped lines 'train.csv line N: ID (reason)'."""
    return sorted(line.split(": ", 1)[1].split(" (", 1)[0] for line in skipped)


# ---------------------------------------------------------------- in process (the notebooks' code path)

@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_in_process(base, tmp_path, case):
    data = make_case(base, tmp_path, case)
    run = setup_run(str(data), "smoke", str(tmp_path / "out"), on_bad_image=case.on_bad_image)
    if case.error is not None:
        with pytest.raises(case.error) as caught:
            run.dataset  # noqa: B018 - loading is the test
        for fragment in case.expect:
            assert fragment in str(caught.value), f"{fragment!r} not in: {caught.value}"
        return
    if case.skipped:
        with pytest.warns(DataWarning, match=rf"skipped {len(case.skipped)} training row"):
            dataset = run.dataset
        assert skipped_ids(dataset.skipped) == sorted(case.skipped)
        assert set(dataset.train["ImageID"]).isdisjoint(case.skipped)
    else:
        dataset = run.dataset
    assert dataset.n_train == N_TRAIN - len(case.skipped) and dataset.n_test == N_TEST
    assert dataset.Y.shape == (dataset.n_train, 18)
    assert dataset.train["line"].is_unique and len(dataset.train) + len(case.skipped) == N_TRAIN
    if case.skipped:  # every remaining training image decodes: later stages never meet a broken one
        for path in dataset.train_image_paths():
            load_rgb_resized(path, 8)
    if case.extra is not None:
        case.extra(data)


def test_image_check_is_cached_per_data_fingerprint(base, tmp_path):
    data = make_case(base, tmp_path, CASES[-1])
    out = tmp_path / "out"
    with pytest.warns(DataWarning):
        first = setup_run(str(data), "smoke", str(out), on_bad_image="skip").dataset
    caches = list((out / "artifacts" / "image_checks").glob("*_full.json"))
    assert len(caches) == 1
    with pytest.warns(DataWarning):
        second = setup_run(str(data), "smoke", str(out), on_bad_image="skip").dataset
    assert second.skipped == first.skipped
    truncate(data / "data" / "20.jpg")  # new damage changes the fingerprint: checked again
    with pytest.warns(DataWarning, match="skipped 4 training row"):
        third = setup_run(str(data), "smoke", str(out), on_bad_image="skip").dataset
    assert "20.jpg" in skipped_ids(third.skipped) and third.n_train == N_TRAIN - 4


def test_full_check_in_a_process_pool_matches_the_serial_check(base, tmp_path, monkeypatch):
    data = make_case(base, tmp_path, CASES[-1])
    ids = [f"{i}.jpg" for i in range(N_TRAIN)]
    serial = check_images(data / "data", ids, verify="full", workers=1)
    monkeypatch.setattr(images_module, "_PARALLEL_FROM", 2)
    monkeypatch.setattr(images_module, "_CHUNK", 16)
    pooled = check_images(data / "data", ids, verify="full", workers=2)
    assert pooled.missing == serial.missing == ["10.jpg"]
    assert pooled.corrupt == serial.corrupt == ["11.jpg", "12.jpg"] and pooled.reasons == serial.reasons
    assert "truncated" in pooled.reasons["12.jpg"]
    header = check_images(data / "data", ids, verify="header")  # end marker missing: decoded, found
    assert header.corrupt == ["11.jpg", "12.jpg"]


def test_dataloader_worker_errors_are_shortened():
    wrapped = ("Caught ImageError in DataLoader worker process 0.\nOriginal Traceback (most recent call last):\n"
               '  File "x.py", line 1, in f\n    g()\nhelpers.data.images.ImageError: /d/5.jpg: cannot be read as an '
               "image (OSError: truncated); replace it with the original image file from the data set.\n")
    assert short_error(wrapped) == ("Caught ImageError in DataLoader worker process 0. /d/5.jpg: cannot be read "
                                    "as an image (OSError: truncated); replace it with the original image file "
                                    "from the data set.")
    assert short_error("plain message\nsecond line") == "plain message\nsecond line"


# ---------------------------------------------------------------- through the pipeline (one kernel per case)

def run_pipeline(data: Path, out: Path, on_bad_image: str = "error") -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "helpers.pipeline", "--data-dir", str(data), "--profile", "smoke",
               "--out", str(out), "--only", "01", "--on-bad-image", on_bad_image]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)


def notebook_text(out: Path) -> str:
    """Every printed line and every displayed table (HTML) of the executed notebook 01."""
    nb = nbformat.read(out / "executed" / "01_eda.ipynb", as_version=4)
    texts = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                texts.append(output.get("text", ""))
            elif "data" in output:
                texts.append(output["data"].get("text/html", output["data"].get("text/plain", "")))
    return "\n".join(texts)


def training_rows_in_table01(out: Path) -> int:
    """Training rows behind table01 (label counts / label shares): what the figures were computed on."""
    table = pd.read_csv(out / "figures" / "table01_label_meanings.csv")
    top = table.loc[table["training rows"].idxmax()]
    return round(top["training rows"] * 100 / top["share of training rows (%)"])


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_through_pipeline(base, tmp_path, case):
    data = make_case(base, tmp_path, case)
    out = tmp_path / "out"
    result = run_pipeline(data, out, case.on_bad_image)
    if case.error is not None:
        assert result.returncode == 1, result.stdout + result.stderr
        assert "PIPELINE STOPPED: 01_eda failed" in result.stderr
        match = re.search(r"cell \d+: (\w+): (.*)", result.stderr, flags=re.S)
        assert match, result.stderr
        assert match.group(1) == case.error.__name__ and match.group(1) in OUR_ERRORS
        for fragment in case.expect:
            assert fragment in match.group(2), f"{fragment!r} not in: {result.stderr}"
        assert "Traceback" not in result.stderr and "site-packages" not in result.stderr
        return
    assert result.returncode == 0, result.stdout + result.stderr
    n_train = N_TRAIN - len(case.skipped)
    assert training_rows_in_table01(out) == n_train
    text = notebook_text(out)
    assert re.search(rf"<td>training rows</td>\s*<td>{n_train}</td>", text), text
    assert re.search(rf"<td>test rows</td>\s*<td>{N_TEST}</td>", text), text
    assert re.search(rf"<td>training rows skipped[^<]*</td>\s*<td>{len(case.skipped)}</td>", text), text
    listed = re.findall(r"skipped: train\.csv line \d+: (\S+) \(", text)
    assert sorted(listed) == sorted(case.skipped)


@pytest.mark.slow
def test_pipeline_without_data_folder(tmp_path):
    result = run_pipeline(tmp_path / "absent", tmp_path / "out")
    assert result.returncode == 2
    assert f"--data-dir {tmp_path / 'absent'} does not exist" in result.stderr and "Traceback" not in result.stderr
