"""The demo data set's command line: `python -m helpers.demo --out DIR --n-train N --n-test M --seed S`.

Every option is checked before any image is drawn: an impossible value is refused in one line naming the
option, exit code 2.
"""
from __future__ import annotations

import argparse
import os
import time
from collections.abc import Sequence
from pathlib import Path

from helpers.demo.generator import generate_demo_data
from helpers.demo.sampling import REAL_ROWS


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m helpers.demo",
                                     description="Write the synthetic demo data set in the COMP5329 file format.")
    parser.add_argument("--out", type=Path, required=True, help="folder to write (created if needed)")
    parser.add_argument("--n-train", type=int, default=REAL_ROWS, help="training rows (default: 30000, the real size)")
    parser.add_argument("--n-test", type=int, default=10000, help="test rows (default: 10000; 0: none)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=None, help="processes drawing images (default: every CPU)")
    return parser


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The options, checked: --n-train and --workers at least 1, --n-test at least 0, --out not a file."""
    parser = build_parser()
    args = parser.parse_args(argv)
    for option, value, least in (("--n-train", args.n_train, 1), ("--n-test", args.n_test, 0),
                                 ("--workers", args.workers, 1)):
        if value is not None and value < least:
            parser.error(f"{option} must be at least {least}, not {value}")
    if args.out.expanduser().exists() and not args.out.expanduser().is_dir():
        parser.error(f"--out {args.out} is a file; give a folder (created if absent)")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    start = time.perf_counter()
    out = generate_demo_data(args.out, args.n_train, args.n_test, args.seed, args.workers)
    print(f"wrote {args.n_train} + {args.n_test} rows to {out} in {time.perf_counter() - start:.1f} s "
          f"({args.workers or os.cpu_count()} workers)")


if __name__ == "__main__":
    main()
