"""The errors and warnings of the data layer, and how they list the rows at fault."""
from __future__ import annotations

from collections.abc import Sequence

MAX_LISTED = 10


class DataError(ValueError):
    """The data folder has a problem; the message names the file, the rows / IDs and what to do."""


class DataWarning(UserWarning):
    """Rows were skipped (on_bad_image='skip'); the message lists them."""


def listing(items: Sequence[str], limit: int = MAX_LISTED) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def duplicated_ids(ids: Sequence[str]) -> list[str]:
    """Every ImageID that occurs more than once, in order of first appearance (the one duplicate check)."""
    seen: set[str] = set()
    repeated: dict[str, None] = {}
    for image_id in ids:
        if image_id in seen:
            repeated.setdefault(image_id, None)
        seen.add(image_id)
    return list(repeated)
