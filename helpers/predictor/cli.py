"""`python -m helpers.predict`: label every row of a COMP5329-format CSV with a predictor file.

    python -m helpers.predict --model artifacts/predictor.pt --data-dir /path/to/comp5329 --out labels.csv

Every option is checked before any work (a missing file or folder, a size that is not positive, a device
this machine does not have): the refusal is one line naming the option, exit status 2, no traceback.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

import torch

from helpers.core.config import IMAGES_SUBDIR, TEST_CSV
from helpers.data.csv_format import CsvFormatError
from helpers.data.errors import DataError
from helpers.data.images import ImageError
from helpers.data.submission import SubmissionError
from helpers.predictor.file import PredictorFileError
from helpers.predictor.predictor import Predictor, label_csv


def device_problem(name: str) -> str | None:
    """Why `name` is not a device this machine can run on (None: it can); "auto" always can."""
    if name == "auto":
        return None
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError):
        return f"{name!r} is not a device name (auto, cpu, cuda, cuda:1, ...)"
    if device.type == "cuda":
        if not torch.cuda.is_available():
            return f"{name!r}: this machine has no CUDA GPU (use auto or cpu)"
        if device.index is not None and device.index >= torch.cuda.device_count():
            return f"{name!r}: this machine has {torch.cuda.device_count()} CUDA GPU(s)"
    elif device.type == "mps":
        if not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
            return f"{name!r}: this machine has no Apple GPU (use auto or cpu)"
    elif device.type != "cpu":
        return f"{name!r}: unsupported device type {device.type!r} (auto, cpu, cuda, cuda:1, ...)"
    return None


class _OneLineParser(argparse.ArgumentParser):
    """argparse's own refusals (a missing option, a size that is not a number) in one line too, exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message} (see python -m helpers.predict --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(prog="python -m helpers.predict",
                                     description="Label the images and captions of a COMP5329-format folder.")
    parser.add_argument("--model", required=True, help="the predictor file (notebook 05: <out>/artifacts/predictor.pt)")
    parser.add_argument("--data-dir", required=True, help=f"folder with the CSV file and {IMAGES_SUBDIR}/<ImageID>")
    parser.add_argument("--csv", default=TEST_CSV, help="CSV file (ImageID,Caption), relative to --data-dir")
    parser.add_argument("--out", required=True, help="submission to write (ImageID,Labels, as Predicted_labels.csv)")
    parser.add_argument("--probabilities", help="also write ImageID and the 18 probabilities to this CSV file")
    parser.add_argument("--batch-size", type=int, default=64, help="images per batch (> 0)")
    parser.add_argument("--device", default="auto", help="auto (GPU if any), cpu, cuda, cuda:1, ...")
    parser.add_argument("--workers", type=int, default=0, help="image decoding processes (0: in this process)")
    return parser


def check_options(args: argparse.Namespace) -> str | None:
    """The first problem with the options, as '--option: what is wrong' (None: all usable)."""
    model = Path(args.model).expanduser()
    if not model.is_file():
        return f"--model: {model} is not a file (notebook 05 writes <out>/artifacts/predictor.pt)"
    data_dir = Path(args.data_dir).expanduser()
    if not data_dir.is_dir():
        return f"--data-dir: {data_dir} is not a folder"
    csv = Path(args.csv) if Path(args.csv).is_absolute() else data_dir / args.csv
    if not csv.is_file():
        return f"--csv: {csv} is not a file"
    if args.batch_size < 1:
        return f"--batch-size: must be a positive number of images, not {args.batch_size}"
    if args.workers < 0:
        return f"--workers: must be 0 (decode in this process) or more, not {args.workers}"
    problem = device_problem(args.device)
    return None if problem is None else f"--device: {problem}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    problem = check_options(args)
    if problem is not None:
        print(f"error: {problem}", file=sys.stderr)
        return 2
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
