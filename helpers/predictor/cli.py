"""`python -m helpers.predict`: label every row of a COMP5329-format CSV with a predictor file.

    python -m helpers.predict --model artifacts/predictor.pt --data-dir /path/to/comp5329 --out labels.csv
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from helpers.core.config import IMAGES_SUBDIR, TEST_CSV
from helpers.data.csv_format import CsvFormatError
from helpers.data.errors import DataError
from helpers.data.images import ImageError
from helpers.data.submission import SubmissionError
from helpers.predictor.file import PredictorFileError
from helpers.predictor.predictor import Predictor, label_csv


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.predict",
                                     description="Label the images and captions of a COMP5329-format folder.")
    parser.add_argument("--model", required=True, help="the predictor file (notebook 05: <out>/artifacts/predictor.pt)")
    parser.add_argument("--data-dir", required=True, help=f"folder with the CSV file and {IMAGES_SUBDIR}/<ImageID>")
    parser.add_argument("--csv", default=TEST_CSV, help="CSV file (ImageID,Caption), relative to --data-dir")
    parser.add_argument("--out", required=True, help="submission to write (ImageID,Labels, as Predicted_labels.csv)")
    parser.add_argument("--probabilities", help="also write ImageID and the 18 probabilities to this CSV file")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--device", default="auto", help="auto (GPU if any), cpu, cuda, cuda:1, ...")
    parser.add_argument("--workers", type=int, default=0, help="image decoding processes (0: in this process)")
    args = parser.parse_args(argv)
    try:
        predictor = Predictor.load(args.model)
        path = label_csv(predictor, args.data_dir, args.out, args.csv, args.probabilities,
                         batch_size=args.batch_size, device=args.device, num_workers=args.workers)
    except (PredictorFileError, CsvFormatError, DataError, ImageError, SubmissionError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"wrote {path} ({predictor.describe()})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
