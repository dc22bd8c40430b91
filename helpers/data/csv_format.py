"""Read and write the COMP5329 CSV files exactly as users receive them.

train.csv  header `ImageID,Labels,Caption`, rows like `552.jpg,11,"A fire hydrant with "caution" tape."`
test.csv   header `ImageID,Caption`
test_labels.csv / Predicted_labels.csv  header `ImageID,Labels`, rows like `30000.jpg,1 3` (no quotes)

The caption files are not valid CSV: inner quotes are not escaped and a few captions hold a
newline, so pandas.read_csv fails or silently drops rows. The reader here works on the text:

- a record starts at the beginning of a line `<ImageID>,` where ImageID is a token without
  comma, quote or whitespace that ends in .jpg/.jpeg/.png (any case);
- its caption is everything between the first `"` after the leading fields and the last `"`
  before the next record start (or the end of the file); only those two wrapping quotes are
  removed, every other character is kept;
- after the closing quote only whitespace (blank lines) may follow.

Line endings: a `\\r\\n` pair is read as `\\n` everywhere (so a file saved on Windows gives the
same captions as the original); a lone `\\r` is kept. A BOM is ignored. Anything else that does
not fit raises CsvFormatError naming the file, the line and what to do; no row is ever dropped.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.core.files import write_text
from helpers.core.labels import N_LABELS, matrix_to_labels

TRAIN_HEADER = ("ImageID", "Labels", "Caption")
TEST_HEADER = ("ImageID", "Caption")
LABELS_HEADER = ("ImageID", "Labels")

IMAGE_ID = r"[^,\"\s]+\.(?:jpe?g|png)"
_RECORD_START = re.compile(rf"({IMAGE_ID}),", re.IGNORECASE)
# A line that looks like a whole record but whose ImageID is not an image file name: refuse it
# rather than glue it onto the previous caption.
_LOOKS_LIKE_TRAIN_RECORD = re.compile(r"[^,\"\s]+\.[A-Za-z0-9]{1,5},[\d ]*,\"")
_LOOKS_LIKE_TEST_RECORD = re.compile(r"[^,\"\s]+\.[A-Za-z0-9]{1,5},\"")
_FIX_HINT = "use the original file from the assignment (do not re-save it with Excel or pandas)"


class CsvFormatError(ValueError):
    """A CSV file does not have the COMP5329 layout; the message names the file and line."""


def _show(line: str, limit: int = 120) -> str:
    return repr(line if len(line) <= limit else line[:limit] + "...")


def _error(path: Path, line_no: int | None, line: str | None, problem: str, fix: str = _FIX_HINT) -> CsvFormatError:
    where = f"{path}" if line_no is None else f"{path}, line {line_no}"
    content = "" if line is None else f": {_show(line)}"
    return CsvFormatError(f"{where}{content}: {problem}; {fix}.")


def _read_lines(path: str | Path, kind: str) -> tuple[Path, list[str]]:
    """Whole file as lines (\\r\\n read as \\n, BOM dropped); trailing blank lines removed."""
    path = Path(path)
    if not path.is_file():
        raise CsvFormatError(
            f"{path}: {kind} file not found; put the COMP5329 {path.name} in {path.parent} "
            "or pass the right data folder."
        )
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line_no = raw[: err.start].count(b"\n") + 1
        raise _error(path, line_no, None, f"is not UTF-8 text ({err.reason} at byte {err.start})",
                     "save the file as UTF-8 or use the original file") from None
    lines = text.replace("\r\n", "\n").split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise _error(path, None, None, "the file is empty (no header)")
    return path, lines


def _check_header(path: Path, line: str, expected: tuple[str, ...]) -> None:
    fields = tuple(field.strip() for field in line.split(","))
    if fields != expected:
        raise _error(path, 1, line, f"wrong header, expected {','.join(expected)!r}",
                     f"check that this is the {path.name} of the COMP5329 data set "
                     "and that its first line is the header")


def _read_captioned(path: str | Path, with_labels: bool) -> pd.DataFrame:
    """Shared reader for train.csv (with_labels) and test.csv."""
    expected = TRAIN_HEADER if with_labels else TEST_HEADER
    path, lines = _read_lines(path, "train" if with_labels else "test")
    _check_header(path, lines[0], expected)
    suspicious = _LOOKS_LIKE_TRAIN_RECORD if with_labels else _LOOKS_LIKE_TEST_RECORD

    starts: list[int] = []  # 0-based line indices of record starts
    id_ends: list[int] = []
    for i in range(1, len(lines)):
        match = _RECORD_START.match(lines[i])
        if match:
            starts.append(i)
            id_ends.append(match.end())
        elif suspicious.match(lines[i]):
            raise _error(path, i + 1, lines[i], "the ImageID is not an image file name (.jpg, .jpeg or .png)")
        elif not starts and lines[i].strip():
            raise _error(path, i + 1, lines[i], "expected a record starting with '<ImageID>,' such as '0.jpg,'")

    ids: list[str] = []
    labels: list[str] = []
    captions: list[str] = []
    line_numbers: list[int] = []
    n_fields = len(expected)
    bounds = [*starts[1:], len(lines)] if starts else []
    for start, id_end, stop in zip(starts, id_ends, bounds, strict=True):
        first = lines[start]
        record = first if stop == start + 1 else "\n".join(lines[start:stop])
        rest = record[id_end:]
        if with_labels:
            comma = rest.find(",")
            quote = rest.find('"')
            if comma < 0 or (0 <= quote < comma):
                raise _error(path, start + 1, first, f"expected {n_fields} fields ImageID,Labels,\"Caption\"")
            label_field, rest = rest[:comma], rest[comma + 1:]
        if not rest.startswith('"'):
            raise _error(path, start + 1, first,
                         f"expected {n_fields} fields with the caption wrapped in double quotes")
        close = rest.rfind('"')
        if close == 0:
            raise _error(path, start + 1, first, "the caption has no closing double quote")
        tail = rest[close + 1:]
        if tail.strip():
            # Report the line where the stray text sits.
            offset = len(record) - len(tail) + (len(tail) - len(tail.lstrip()))
            stray_line = start + record.count("\n", 0, offset)
            raise _error(path, stray_line + 1, lines[stray_line],
                         "text after the closing quote of the caption (a row that does not start with '<ImageID>,')")
        ids.append(record[: id_end - 1])
        if with_labels:
            labels.append(label_field)
        captions.append(rest[1:close])
        line_numbers.append(start + 1)

    columns: dict[str, object] = {"ImageID": ids}
    if with_labels:
        columns["Labels"] = labels
    columns["Caption"] = captions
    columns["line"] = np.asarray(line_numbers, dtype=np.int64)
    return pd.DataFrame(columns)


def read_train_csv(path: str | Path) -> pd.DataFrame:
    """train.csv -> DataFrame ImageID, Labels (raw field, e.g. '1 3'), Caption, line (1-based)."""
    return _read_captioned(path, with_labels=True)


def read_test_csv(path: str | Path) -> pd.DataFrame:
    """test.csv -> DataFrame ImageID, Caption, line (1-based)."""
    return _read_captioned(path, with_labels=False)


def read_labels_csv(path: str | Path) -> pd.DataFrame:
    """test_labels.csv or a submission -> DataFrame ImageID, Labels (raw field), line (1-based)."""
    path, lines = _read_lines(path, "labels")
    _check_header(path, lines[0], LABELS_HEADER)
    ids: list[str] = []
    labels: list[str] = []
    line_numbers: list[int] = []
    fix = "each row must be '<ImageID>,<labels separated by spaces>', e.g. '30000.jpg,1 3'"
    for i in range(1, len(lines)):
        line = lines[i]
        if not line.strip():
            continue
        fields = line.split(",")
        if len(fields) != 2:
            raise _error(path, i + 1, line, f"expected 2 fields, found {len(fields)}", fix)
        image_id, field = fields[0].strip(), fields[1].strip()
        if len(field) >= 2 and field[0] == field[-1] == '"':
            field = field[1:-1].strip()
        if not image_id or '"' in image_id or '"' in field:
            raise _error(path, i + 1, line, "malformed ImageID or Labels field", fix)
        ids.append(image_id)
        labels.append(field)
        line_numbers.append(i + 1)
    return pd.DataFrame({"ImageID": ids, "Labels": labels, "line": np.asarray(line_numbers, dtype=np.int64)})


def write_labels_csv(
    path: str | Path,
    image_ids: Sequence[str],
    label_lists: Iterable[Sequence[int]] | np.ndarray,
) -> Path:
    """Write `ImageID,Labels` rows (labels ascending, space-separated) atomically.

    label_lists is one list of label ids per image, or an (n, 18) 0/1 matrix.
    An empty list gives an empty Labels field.
    """
    if isinstance(label_lists, np.ndarray) and label_lists.ndim == 2 and label_lists.shape[1] == N_LABELS:
        label_lists = matrix_to_labels(label_lists)
    label_lists = list(label_lists)
    image_ids = [str(i) for i in image_ids]
    if len(image_ids) != len(label_lists):
        raise ValueError(f"{len(image_ids)} image ids but {len(label_lists)} label lists; pass one list per image")
    out = [",".join(LABELS_HEADER)]
    for image_id, labels in zip(image_ids, label_lists, strict=True):
        if not image_id or any(c in image_id for c in ',"\n\r'):
            raise ValueError(f"ImageID {image_id!r} cannot be written to {path}: "
                             "it is empty or holds a comma, quote or newline")
        out.append(f"{image_id},{' '.join(str(v) for v in sorted({int(v) for v in labels}))}")
    return write_text(path, "\n".join(out) + "\n")


def write_captions_csv(path: str | Path, image_ids: Sequence[str], captions: Sequence[str],
                       label_lists: Iterable[Sequence[int]] | None = None) -> Path:
    """Write train.csv (with label_lists) or test.csv (without) as the COMP5329 files are: every caption
    in double quotes, inner quotes and newlines left as they are (what read_train_csv / read_test_csv read)."""
    image_ids = [str(i) for i in image_ids]
    captions = list(captions)
    if len(image_ids) != len(captions):
        raise ValueError(f"{len(image_ids)} image ids but {len(captions)} captions; pass one caption per image")
    if label_lists is None:
        lines = [",".join(TEST_HEADER), *(f'{i},"{c}"' for i, c in zip(image_ids, captions, strict=True))]
    else:
        fields = [" ".join(str(v) for v in sorted(int(v) for v in labels)) for labels in label_lists]
        lines = [",".join(TRAIN_HEADER),
                 *(f'{i},{f},"{c}"' for i, f, c in zip(image_ids, fields, captions, strict=True))]
    return write_text(path, "\n".join(lines) + "\n")
