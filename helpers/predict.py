"""`python -m helpers.predict`: label a COMP5329-format folder with a predictor file (helpers.predictor.cli)."""
from __future__ import annotations

import sys

from helpers.predictor.cli import main
from helpers.predictor.predictor import Predictor

__all__ = ["Predictor", "main"]

if __name__ == "__main__":
    sys.exit(main())
