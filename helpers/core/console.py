"""How long-running steps report progress: a redrawn bar in Jupyter, plain log lines under the pipeline."""
from __future__ import annotations

import os

HEADLESS_ENV = "HELPERS_HEADLESS"  # set by helpers.pipeline (the kernels inherit it)


def headless() -> bool:
    """True when running under helpers.pipeline: log lines instead of progress bars."""
    return os.environ.get(HEADLESS_ENV) == "1"
