"""Reading the demo CSV files back record by record, as the COMP5329 quirks require (shared by the demo tests)."""
from __future__ import annotations

import re
from pathlib import Path


def read_records(path: Path, n_fields: int) -> list[list[str]]:
    """Split on newlines followed by '<digits>.jpg,'; the caption is between the outer quotes."""
    text = path.read_text(encoding="utf-8")
    header, _, body = text.partition("\n")
    assert len(header.split(",")) == n_fields, header
    records = []
    for record in re.split(r"\n(?=\d+\.jpg,)", body.rstrip("\n")):
        fields = record.split(",", n_fields - 1)
        caption = fields[-1]
        assert caption.startswith('"') and caption.endswith('"'), record
        records.append([*fields[:-1], caption[1:-1]])
    return records
