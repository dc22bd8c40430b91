"""Copy the results of the last pipeline run into README.md, between two markers (`make readme`).

The block is built only from files the run wrote (the tables' Markdown copies in figures/ and
executed/timings.json), so the README's numbers are always those of an actual run, with the machine,
the profile, the seed and the time it took.

    python -m helpers.report.readme_results [--out DIR] [--readme README.md]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from helpers.core.config import REPO_ROOT, run_paths
from helpers.core.files import write_text

START = "<!-- results:start -->"
END = "<!-- results:end -->"
TABLES = {  # table file -> heading in the README
    "table10_ensemble_performance": "Final performance (validation rows; fitted rules out of fold)",
    "table11_fusion_methods": "Fusion methods and decision rules (validation rows, out of fold)",
    "table22_test_scores": "The submission scored against the demo data's test_labels.csv",
    "table21_size_budget": "Size of everything needed to predict",
}


def results_block(out_dir: Path) -> str:
    """The Markdown between the markers, from one run's output folder."""
    paths = run_paths(REPO_ROOT, out_dir)
    timings_file = paths.executed / "timings.json"
    if not timings_file.is_file():
        raise FileNotFoundError(f"{timings_file} is missing: run the pipeline first (make demo)")
    timings = json.loads(timings_file.read_text())
    machine = timings.get("machine", {})
    gpu = machine.get("gpu") or "no GPU"
    per_notebook = " / ".join(f"{seconds:.0f}" for seconds in timings["notebooks"].values())
    lines = [
        START,
        f"_Written by `make readme` from the run of {timings.get('finished', '?')}: profile `{timings['profile']}`, "
        f"seed {timings['seed']}, data `{Path(timings['data_dir']).name}`, on {machine.get('cpu', '?')} "
        f"({machine.get('cores', '?')} cores, {gpu}), Python {machine.get('python', '?')}, torch "
        f"{machine.get('torch', '?')}. Do not edit by hand._",
        "",
        f"All five notebooks took {timings['total_s'] / 60:.1f} min ({' / '.join(timings['notebooks'])}: "
        f"{per_notebook} s)" + (f", after {timings['demo_data_s']:.0f} s of demo-data generation."
                                if timings.get("demo_data_s") and timings["demo_data_s"] > 1 else "."),
    ]
    for name, heading in TABLES.items():
        table = paths.figures / f"{name}.md"
        if table.is_file():
            lines += ["", f"**{heading}** (`figures/{name}.md`)", "", table.read_text().strip()]
    lines.append(END)
    return "\n".join(lines)


def update_readme(readme: Path, block: str) -> None:
    text = readme.read_text()
    if START not in text or END not in text:
        raise ValueError(f"{readme} has no {START} ... {END} markers to write between")
    before, rest = text.split(START, 1)
    after = rest.split(END, 1)[1]
    write_text(readme, before + block + after)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.report.readme_results", description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="", help="the run's output folder (default: the repository root)")
    parser.add_argument("--readme", default=str(REPO_ROOT / "README.md"))
    args = parser.parse_args(argv)
    try:
        update_readme(Path(args.readme), results_block(Path(args.out) if args.out else REPO_ROOT))
    except (FileNotFoundError, ValueError) as error:
        print(error, file=sys.stderr)
        return 2
    print(f"updated {args.readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
