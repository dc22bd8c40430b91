"""The headless pipeline: the numbered notebooks executed in order with papermill, one command for the whole study.

    python -m helpers.pipeline --data-dir DIR --profile {smoke,cpu,full} [--out DIR] [--only 01,03]
                               [-p NAME VALUE ...]

Each executed notebook is written to <out>/executed/ (git-ignored); figures and tables go to
<out>/figures/, the submission to <out>/Predicted_labels.csv. The run stops at the first
failing notebook, prints the failing cell's error and exits 1. Every option is checked before any
work (no data generated, no notebook started): an impossible value is refused in one line naming the
option, exit code 2.
"""
from __future__ import annotations

import argparse
import ast
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from helpers.core.config import NOTEBOOKS_DIR, run_paths
from helpers.core.console import HEADLESS_ENV
from helpers.core.files import remove_stale_temporaries, write_json
from helpers.core.profiles import PROFILE_NAMES, get_profile
from helpers.engine.device import describe_machine
from helpers.report.document import report_for_run

NOTEBOOKS = ("01_eda", "02_text_preprocessing", "03_cnn_training", "04_lstm_training", "05_ensembling")


@dataclass
class NotebookFailed(Exception):
    notebook: str
    message: str

    def __str__(self) -> str:
        return f"{self.notebook} failed:\n{self.message}"


def select_notebooks(only: str | None) -> list[str]:
    """'01,03' -> the matching notebook names, in pipeline order."""
    if not only:
        return list(NOTEBOOKS)
    wanted = [token.strip() for token in only.split(",") if token.strip()]
    chosen = [nb for nb in NOTEBOOKS if any(nb.startswith(w.zfill(2)) or nb == w for w in wanted)]
    unknown = [w for w in wanted if not any(nb.startswith(w.zfill(2)) or nb == w for nb in NOTEBOOKS)]
    if unknown:
        raise ValueError(f"--only: no notebook matches {', '.join(unknown)}; choose from {', '.join(NOTEBOOKS)}")
    return chosen


def short_error(evalue: str) -> str:
    """The error message without the worker traceback that torch's DataLoader puts inside it.

    An exception raised in a DataLoader worker (e.g. ImageError naming a broken image) comes back
    as 'Caught X in DataLoader worker process N.\nOriginal Traceback ...\nmodule.X: <message>';
    keep the first line and the original message.
    """
    if "\nOriginal Traceback" not in evalue:
        return evalue
    lines = [line for line in evalue.splitlines() if line.strip()]
    original = lines[-1].split(": ", 1)[-1] if ": " in lines[-1] else lines[-1]
    return f"{lines[0]} {original}"


COMMON_PARAMETERS = ("DATA_DIR", "PROFILE", "OUT_DIR", "SEED", "FRESH", "ON_BAD_IMAGE")  # set by the options above


@cache
def declared_parameters(name: str) -> tuple[str, ...]:
    """The names a notebook's parameters cell declares (papermill's own reading of it)."""
    import papermill as pm

    return tuple(pm.inspect_notebook(str(NOTEBOOKS_DIR / f"{name}.ipynb")))


def resolve_value(text: str) -> Any:
    """A -p value as papermill's command line reads it: int, float, True/False/None, else the string; and a
    tuple or list literal ("(0.001, 0.01)", "['resnet18']") as a list (papermill would pass a tuple as a string)."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    if text in ("True", "False", "None"):
        return {"True": True, "False": False, "None": None}[text]
    if text.strip()[:1] in ("(", "["):
        try:
            value = ast.literal_eval(text.strip())
        except (ValueError, SyntaxError):
            return text
        if isinstance(value, tuple | list):
            return list(value)
    return text


@cache
def parameter_defaults(name: str) -> dict[str, Any]:
    """Each parameter a notebook declares, with the literal value its parameters cell gives it."""
    import papermill as pm

    declared = pm.inspect_notebook(str(NOTEBOOKS_DIR / f"{name}.ipynb"))
    return {key: ast.literal_eval(info["default"]) for key, info in declared.items()}


def _type_fits(value: Any, default: Any) -> bool:
    """Whether a -p value can stand for a parameter whose default is `default`: same type; an int for a float;
    a list for a tuple or list; anything for a None default; an int is not a bool nor a bool an int."""
    if default is None:
        return True
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(default, bool)
    if isinstance(default, float):
        return isinstance(value, int | float)
    if isinstance(default, tuple | list):
        return isinstance(value, tuple | list)
    return isinstance(value, type(default))


def notebook_parameters(notebooks: list[str], common: dict[str, Any], extra: dict[str, Any]) -> dict[str, dict]:
    """Per notebook, the parameters it declares; ValueError (one line naming -p and the parameter) for a name that
    no selected notebook declares, one that has its own option, or a value not of the declared default's type."""
    declared = {name: declared_parameters(name) for name in notebooks}
    known = sorted({p for names in declared.values() for p in names})
    unknown = [key for key in extra if key not in known]
    if unknown:
        raise ValueError(f"-p {', '.join(unknown)}: no selected notebook declares such a parameter; the notebooks' "
                         f"parameters are: {', '.join(known)}")
    clash = [key for key in extra if key in COMMON_PARAMETERS]
    if clash:
        raise ValueError(f"-p {', '.join(clash)}: set these with their own options (--data-dir, --profile, --out, "
                         "--seed, --fresh, --on-bad-image)")
    for key, value in extra.items():
        for name in notebooks:
            defaults = parameter_defaults(name)
            if key in defaults and not _type_fits(value, defaults[key]):
                raise ValueError(f"-p {key} {value!r}: {name} declares {key} = {defaults[key]!r} "
                                 f"({type(defaults[key]).__name__}), so a {type(value).__name__} cannot stand for it")
    merged = {**common, **extra}
    return {name: {k: v for k, v in merged.items() if k in declared[name]} for name in notebooks}


def _kernel_manager_class():
    """A kernel manager that talks to the kernel over IPC sockets in a private temporary folder.

    The default TCP transport makes every ipykernel print "Kernel is running over TCP without
    encryption"; IPC never leaves the machine, so there is nothing to warn about.
    """
    from jupyter_client.manager import AsyncKernelManager

    class IpcKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs: Any):
            super().__init__(**kwargs)
            self.transport = "ipc"
            self.ip = os.path.join(tempfile.mkdtemp(prefix="helpers-kernel-"), "kernel")

        async def _async_cleanup_resources(self, restart: bool = False) -> None:
            await super()._async_cleanup_resources(restart=restart)
            if not restart:
                shutil.rmtree(os.path.dirname(self.ip), ignore_errors=True)

    return IpcKernelManager


def run_notebook(name: str, parameters: dict, executed_dir: Path, verbose: bool = False) -> Path:
    """Execute one notebook with papermill; raise NotebookFailed with the failing cell's error."""
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    source = NOTEBOOKS_DIR / f"{name}.ipynb"
    output = executed_dir / f"{name}.ipynb"
    executed_dir.mkdir(parents=True, exist_ok=True)
    try:
        pm.execute_notebook(
            str(source), str(output), parameters=parameters, kernel_name="python3", cwd=str(NOTEBOOKS_DIR),
            progress_bar=not verbose and sys.stderr.isatty(), log_output=verbose, request_save_on_cell_execute=True,
            kernel_manager_class=_kernel_manager_class(),
        )
    except PapermillExecutionError as error:
        lines = [f"cell {error.exec_count}: {error.ename}: {short_error(error.evalue)}"]
        if verbose:
            lines.append("\n".join(error.traceback))
        lines.append(f"executed notebook with the full traceback: {output}")
        raise NotebookFailed(name, "\n".join(lines)) from None
    return output


def run_pipeline(data_dir: str = "", profile: str = "cpu", out_dir: str = "", only: str | None = None,
                 seed: int = 0, fresh: bool = False, on_bad_image: str = "error", verbose: bool = False,
                 parameters: dict[str, Any] | None = None) -> dict:
    """Run the selected notebooks; return {notebook: seconds}. Timings also go to <out>/executed/timings.json.

    parameters: any other notebook parameters (e.g. {"IMAGE_BACKBONE": "efficientnet_b0"}); each notebook
    receives those it declares.
    """
    settings = get_profile(profile)
    notebooks = select_notebooks(only)
    notebook_parameters(notebooks, {}, dict(parameters or {}))  # refuse a wrong -p before generating any data
    demo_data_s = None
    if not data_dir:
        from helpers.run import ensure_demo_data

        t0 = time.perf_counter()
        data_dir = str(ensure_demo_data(settings))
        demo_data_s = round(time.perf_counter() - t0, 2)  # ~0 when the data set was already there
    paths = run_paths(data_dir, out_dir or None)
    if not paths.data_dir.is_dir():
        raise FileNotFoundError(f"--data-dir {paths.data_dir} does not exist; it must hold train.csv, test.csv "
                                "and the images in data/")
    common = {"DATA_DIR": str(paths.data_dir), "PROFILE": profile, "OUT_DIR": str(paths.out_dir),
              "SEED": seed, "FRESH": fresh, "ON_BAD_IMAGE": on_bad_image}
    per_notebook = notebook_parameters(notebooks, common, dict(parameters or {}))
    for folder in (paths.artifacts, paths.figures):
        for stale in remove_stale_temporaries(folder):
            print(f"removed {stale}, left by a write that was killed halfway", flush=True)
    os.environ[HEADLESS_ENV] = "1"  # the kernels inherit it: one log line per epoch, no redrawn bars
    # Jupyter's python3 kernelspec usually runs "python" from PATH: make that this interpreter (e.g. the
    # project's virtual environment), so the notebooks see the same packages as the pipeline.
    os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")
    timings: dict[str, float] = {}
    start = time.perf_counter()
    for i, name in enumerate(notebooks, 1):
        print(f"[{i}/{len(notebooks)}] {name} (profile {profile}) ...", flush=True)
        t0 = time.perf_counter()
        run_notebook(name, per_notebook[name], paths.executed, verbose=verbose)
        timings[name] = round(time.perf_counter() - t0, 2)
        print(f"[{i}/{len(notebooks)}] {name} done in {timings[name]:.1f} s", flush=True)
    total = round(time.perf_counter() - start, 2)
    record = {"profile": profile, "data_dir": str(paths.data_dir), "seed": seed, "parameters": parameters or {},
              "notebooks": timings, "total_s": total, "demo_data_s": demo_data_s,
              "finished": time.strftime("%Y-%m-%d %H:%M %Z"), "machine": describe_machine()}
    write_json(paths.executed / "timings.json", record)
    print(f"Pipeline finished in {total:.1f} s. Figures and tables: {paths.figures}")
    if paths.submission.exists():
        print(f"Submission: {paths.submission}")
    html, _ = report_for_run(paths.out_dir)
    print(f"Report: {html} (print it to PDF from a browser, or `make report-pdf`)")
    return record


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m helpers.pipeline", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default="", help="folder with train.csv, test.csv and data/ "
                        "(default: the built-in demo data set, generated in data/demo-<n_train>-<n_test> if absent)")
    parser.add_argument("--profile", default="cpu", choices=PROFILE_NAMES)
    parser.add_argument("--out", default="", help="output folder (default: the repository root)")
    parser.add_argument("--only", default=None, help="comma-separated notebook numbers, e.g. 01,03")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fresh", action="store_true", help="retrain even where a finished result is cached")
    parser.add_argument("--on-bad-image", default="error", choices=("error", "skip"),
                        help="'skip' drops train rows whose image is missing or corrupt and lists them")
    parser.add_argument("--verbose", action="store_true", help="stream every cell's output")
    parser.add_argument("-p", "--parameters", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                        help="any other notebook parameter, papermill's spelling (repeatable): -p IMAGE_BACKBONE "
                             "efficientnet_b0")
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The options, every one checked before any work; an impossible value exits 2 with one line naming it.

    args.parameters becomes {name: value} with each value resolved (resolve_value) and type-checked against the
    notebooks that declare it.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        notebooks = select_notebooks(args.only)
    except ValueError as error:
        parser.error(str(error))
    if args.data_dir and not run_paths(args.data_dir).data_dir.is_dir():
        parser.error(f"--data-dir {run_paths(args.data_dir).data_dir} does not exist; it must hold train.csv, "
                     "test.csv and the images in data/")
    if args.out and Path(args.out).expanduser().exists() and not Path(args.out).expanduser().is_dir():
        parser.error(f"--out {args.out} is a file; give a folder (created if absent)")
    extra: dict[str, Any] = {}
    for name, value in args.parameters:
        if name in extra:
            parser.error(f"-p {name} is given twice")
        extra[name] = resolve_value(value)
    try:
        notebook_parameters(notebooks, {}, extra)
    except ValueError as error:
        parser.error(str(error))
    args.parameters = extra
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        run_pipeline(args.data_dir, args.profile, args.out, args.only, args.seed, args.fresh,
                     args.on_bad_image, args.verbose, parameters=args.parameters)
    except NotebookFailed as error:
        print(f"\nPIPELINE STOPPED: {error}", file=sys.stderr)
        return 1
    except (ValueError, FileNotFoundError) as error:
        print(f"\nPIPELINE STOPPED: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
