"""python -m helpers.demo --out DIR --n-train N --n-test M --seed S: write a demo data set."""
from __future__ import annotations

import argparse
import os
import time
from collections.abc import Sequence
from pathlib import Path

from helpers.demo.generator import generate_demo_data
from helpers.demo.sampling import REAL_ROWS


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m helpers.demo",
                                     description="Write the synthetic demo data set in the COMP5329 file format.")
    parser.add_argument("--out", type=Path, required=True, help="folder to write (created if needed)")
    parser.add_argument("--n-train", type=int, default=REAL_ROWS, help="training rows (default: 30000, the real size)")
    parser.add_argument("--n-test", type=int, default=10000, help="test rows (default: 10000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=None, help="processes drawing images (default: every CPU)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    out = generate_demo_data(args.out, args.n_train, args.n_test, args.seed, args.workers)
    print(f"wrote {args.n_train} + {args.n_test} rows to {out} in {time.perf_counter() - start:.1f} s "
          f"({args.workers or os.cpu_count()} workers)")


if __name__ == "__main__":
    main()
