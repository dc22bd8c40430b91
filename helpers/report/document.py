"""The report document: every figure, table and finding of a run in the reference report's order, as one file.

`write_report` writes figures/report.html (self-contained: images as base64 data URIs, inline CSS, no
network, prints as a clean A4 document) and figures/report.md (renders on GitHub with relative image links).
Figures and tables are numbered in document order and captioned with the run's caveats (helpers.report.captions);
an expected item the run did not produce is listed under "not produced in this run", and an item the layout
does not name goes under "other figures and tables", so nothing is dropped silently.

    python -m helpers.report.document [--out RUN_FOLDER]     # default: the repository root's figures/
"""
from __future__ import annotations

import argparse
import base64
import html
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from helpers.core.config import DEFAULT_OUT_DIR, RunPaths
from helpers.core.files import write_text
from helpers.report.captions import DESCRIPTIONS, caption, collect_run_info, data_caveat
from helpers.report.figures import DPI, MISSING, cell_text, column_name, markdown_table, readable

# (section id, title, items in order, findings placed at the section's end)
LAYOUT: list[tuple[str, str, list[str], list[str]]] = [
    ("data", "Data and labels", ["fig01", "fig02", "fig03", "table01", "fig24"], ["findings_01"]),
    ("preprocessing", "Caption preprocessing", ["table02", "table04", "fig05", "fig06", "fig13"], ["findings_02"]),
    ("lstm", "The caption LSTM and its ablations",
     ["fig08", "fig09", "fig10", "fig11", "fig12", "fig14", "fig30", "table03", "table08", "table09",
      "table30", "table31", "table32", "table33", "table34", "table35", "table36", "table37"], ["findings_04"]),
    ("image", "The image model", ["fig15", "fig16", "fig17", "fig18", "fig25", "fig26", "fig27",
                                  "table06", "table07", "table27"], ["findings_03"]),
    ("fusion", "Fusion and the joint model", ["fig40", "fig41", "table05", "table10", "table11", "table21"], []),
    ("errors", "Error analysis", ["fig19", "fig20", "fig21", "fig22", "fig23", "table20"], ["findings_05"]),
    ("submission", "The submission", ["table22"], []),
]
# a figure drawn from a table: its caption reports the table's intervals too
FIGURE_TABLES = {"fig40": "table05", "fig41": "table11", "fig08": "table36", "fig09": "table36",
                 "fig10": "table36", "fig11": "table36", "fig12": "table36", "fig14": "table36"}
_ITEM = re.compile(r"^((?:fig|table)\d{2})_")
NUM_CLASS = ' class="num"'
WIDE_CLASS = ' class="wide"'
GROUP_CLASS = ' class="group"'
WIDE_COLUMNS, FEW_ROWS = 9, 6
_LONG_COLUMNS = ["experiment", "setting", "seed", "metric", "value"]

CSS = """
body { font-family: "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; max-width: 60rem; margin: 2rem auto;
       padding: 0 1rem; color: #222; line-height: 1.45; }
h1 { font-size: 1.8rem; } h2 { border-bottom: 2px solid #ccc; margin-top: 2.5rem; }
figure { margin: 1.5rem 0; break-inside: avoid; page-break-inside: avoid; }
figure img { max-width: 100%; height: auto; display: block; margin: 0 auto; }
figure.group img { display: inline-block; max-width: 32.5%; margin: 0.2rem 0; vertical-align: top; }
figcaption, .tcap { font-size: 0.9rem; color: #444; margin-top: 0.4rem; }
.tcap { margin: 1.5rem 0 0.3rem; }
table { border-collapse: collapse; font-size: 0.8rem; margin: 0.5rem 0 1.5rem; }
th, td { padding: 0.15rem 0.45rem; border-bottom: 1px solid #ddd; vertical-align: top; }
th { border-bottom: 2px solid #444; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.tablewrap { overflow-x: auto; }
.findings { background: #f4f7fb; border-left: 4px solid #5b8bd0; padding: 0.5rem 1rem; margin: 1rem 0; }
.missing { color: #8a4b00; font-size: 0.9rem; }
.caveat { background: #fff4e0; padding: 0.5rem 1rem; border-left: 4px solid #e0a030; }
@page { size: A4; margin: 15mm; }
@media print {
  body { max-width: none; margin: 0; padding: 0; font-size: 10pt; }
  h2 { break-before: page; page-break-before: always; margin-top: 0; }
  h2, h3, .tcap { break-after: avoid; page-break-after: avoid; }
  tr, img { break-inside: avoid; page-break-inside: avoid; }
  thead { display: table-header-group; }
  .tablewrap { overflow: visible; }
  table { font-size: 7.5pt; }
  table.wide { font-size: 5.5pt; }
  table.wide th, table.wide td { padding: 0.1rem 0.2rem; }
  a { color: inherit; text-decoration: none; }
}
"""


@dataclass
class Entry:
    """One numbered figure or table of the document."""

    item: str
    kind: str  # "figure" or "table"
    number: int
    files: list[Path]
    caption: str
    table: pd.DataFrame | None = None


@dataclass
class Section:
    """One section: its numbered entries, the findings placed at its end, the items the run did not produce."""

    key: str
    title: str
    entries: list[Entry] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def item_files(figures_dir: Path) -> dict[str, list[Path]]:
    """The run's figure PNGs and table CSVs by item id (fig03 holds the whole family of per-label grids)."""
    found: dict[str, list[Path]] = {}
    for path in sorted(figures_dir.glob("*")):
        match = _ITEM.match(path.name)
        if match and ((path.suffix == ".png" and path.name.startswith("fig"))
                      or (path.suffix == ".csv" and path.name.startswith("table"))):
            found.setdefault(match.group(1), []).append(path)
    return found


def _read_table(path: Path) -> pd.DataFrame | None:
    try:
        return pd.read_csv(path)
    except (OSError, ValueError):
        return None


def shown_table(table: pd.DataFrame) -> pd.DataFrame:
    """The table as the document shows it: rounded; long ablation runs pivoted to one row per setting and seed;
    a wide table of a few rows turned so that it fits a page."""
    if list(table.columns) == _LONG_COLUMNS:
        table = (table.pivot_table(index=["experiment", "setting", "seed"], columns="metric", values="value",
                                   aggfunc="first", sort=False).reset_index())
        table.columns.name = None
    shown = readable(table)
    if len(shown.columns) > WIDE_COLUMNS and len(shown) <= FEW_ROWS and shown[shown.columns[0]].is_unique:
        # a wide table of a few models reads (and prints) better turned: one row per column
        turned = shown.set_index(shown.columns[0]).T
        turned.columns = [cell_text(c) for c in turned.columns]
        turned.insert(0, "", [column_name(c) for c in turned.index])
        shown = readable(turned.reset_index(drop=True))
    return shown


def build_sections(figures_dir: Path, run_info: Mapping[str, Any]) -> list[Section]:
    """The document's sections with numbered, captioned entries, in the reference report's order."""
    found = item_files(figures_dir)
    tables = {item: _read_table(files[0]) for item, files in found.items() if item.startswith("table")}
    counters = {"figure": 0, "table": 0}
    sections: list[Section] = []

    def add(section: Section, item: str) -> None:
        kind = "figure" if item.startswith("fig") else "table"
        counters[kind] += 1
        table = tables.get(item) if kind == "table" else tables.get(FIGURE_TABLES.get(item, ""))
        section.entries.append(Entry(item, kind, counters[kind], found[item], caption(item, run_info, table),
                                     tables.get(item) if kind == "table" else None))

    placed: set[str] = set()
    for key, title, items, findings in LAYOUT:
        section = Section(key, title)
        for item in items:
            placed.add(item)
            if item in found and (item.startswith("fig") or tables.get(item) is not None):
                add(section, item)
            else:
                section.missing.append(item)
        for name in findings:
            path = figures_dir / f"{name}.md"
            if path.exists():
                section.findings.append(path.read_text())
            else:
                section.missing.append(name)
        sections.append(section)
    others = [item for item in sorted(found, key=lambda i: (not i.startswith("fig"), i)) if item not in placed]
    if others:
        section = Section("other", "Other figures and tables of this run")
        for item in others:
            if item.startswith("fig") or tables.get(item) is not None:
                add(section, item)
        sections.append(section)
    return sections


def _relative(value: Any, run_info: Mapping[str, Any]) -> str:
    text = str(value)
    out_dir = str(run_info.get("out_dir") or "")
    if out_dir and text.startswith(out_dir.rstrip("/") + "/"):
        return text[len(out_dir.rstrip("/")) + 1:]
    return Path(text).name if text.startswith("/") else text


def run_tables(run_info: Mapping[str, Any]) -> list[tuple[str, pd.DataFrame]]:
    """The configuration, machine and timings of the run as (title, key/value table) pairs; empty when absent."""
    result: list[tuple[str, pd.DataFrame]] = []
    timings = run_info.get("timings") or {}
    config = {"data set": _relative(run_info.get("data_dir"), run_info) if run_info.get("data_dir") else MISSING,
              "built-in demo data": "yes" if run_info.get("demo") else "no",
              "profile": run_info.get("profile", MISSING), "seed": run_info.get("seed", MISSING),
              "finished": run_info.get("finished", MISSING)}
    for key, value in (timings.get("parameters") or {}).items():
        config[f"parameter {key}"] = value
    result.append(("Configuration of the run", pd.DataFrame({"setting": list(config), "value": list(config.values())})))
    machine = run_info.get("machine") or {}
    if machine:
        values = [str(v) for v in machine.values()]
        result.append(("Machine", pd.DataFrame({"component": list(machine), "value": values})))
    notebooks = timings.get("notebooks") or {}
    if notebooks:
        rows = [{"step": name, "seconds": seconds} for name, seconds in notebooks.items()]
        if timings.get("demo_data_s") is not None:
            rows.insert(0, {"step": "demo data", "seconds": timings["demo_data_s"]})
        if timings.get("total_s") is not None:
            rows.append({"step": "total (notebooks)", "seconds": timings["total_s"]})
        result.append(("Timings", pd.DataFrame(rows)))
    models = []
    for name, summary in (run_info.get("summaries") or {}).items():
        facts = (run_info.get("models") or {}).get(name, {})
        models.append({"model": summary.get("model", name), "training time (s)": summary.get("train_time_s"),
                       "testing time (s)": summary.get("test_time_s"),
                       "size (MB)": summary["size_bytes"] / 1e6 if summary.get("size_bytes") else None,
                       "seeds": ", ".join(map(str, facts.get("seeds") or [])) or None,
                       "unconverged": "yes" if facts.get("unconverged") else "no"})
    if models:
        result.append(("Models of the run", pd.DataFrame(models)))
    return result


# ---- HTML
def _text(value: object) -> str:
    """Text escaped for an HTML text node or a double-quoted attribute (apostrophes stay readable)."""
    return html.escape(str(value), quote=False).replace('"', "&quot;")


def _md_inline(text: str) -> str:
    text = _text(text)
    text = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", text)
    text = re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?!\w)", r"<em>\1</em>", text)
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", text)


def markdown_to_html(markdown: str) -> str:
    """A small Markdown subset (headings, paragraphs, bullet lists, bold, italics, code) as HTML, for findings."""
    out: list[str] = []
    in_list = False
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            out.append(f"<p>{_md_inline(' '.join(paragraph))}</p>")
            paragraph.clear()

    for line in markdown.splitlines():
        stripped = line.strip()
        bullet = re.match(r"^[-*] (.*)$", stripped)
        heading = re.match(r"^(#{1,6}) (.*)$", stripped)
        if bullet:
            flush()
            if not in_list:
                out.append("<ul>")
                in_list = True
            out.append(f"<li>{_md_inline(bullet.group(1))}</li>")
            continue
        if in_list and (not stripped or heading):
            out.append("</ul>")
            in_list = False
        if heading:
            flush()
            level = min(len(heading.group(1)) + 2, 6)
            out.append(f"<h{level}>{_md_inline(heading.group(2))}</h{level}>")
        elif not stripped:
            flush()
        elif in_list:
            out[-1] = out[-1][:-5] + " " + _md_inline(stripped) + "</li>"
        else:
            paragraph.append(stripped)
    flush()
    if in_list:
        out.append("</ul>")
    return "\n".join(out)


def _breakable(text: str) -> str:
    """Escaped text that may wrap after an underscore or a slash (long code names would widen a column)."""
    return _text(text).replace("_", "_<wbr>").replace("/", "/<wbr>")


def html_table(table: pd.DataFrame) -> str:
    """A table as HTML with readable column names, right-aligned numbers and em dashes for gaps."""
    numeric = [pd.api.types.is_numeric_dtype(table[c]) and not pd.api.types.is_bool_dtype(table[c])
               for c in table.columns]
    head = "".join(f"<th>{_breakable(column_name(c))}</th>" for c in table.columns)
    rows = []
    for row in table.itertuples(index=False):
        cells = "".join(f"<td{NUM_CLASS if num else ''}>{_breakable(cell_text(v))}</td>"
                        for v, num in zip(row, numeric))
        rows.append(f"<tr>{cells}</tr>")
    return f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody>"


JPEG_ABOVE_BYTES = 600_000  # a PNG this large is a grid of photographs (fig03, fig22, fig42): embedded as JPEG
JPEG_QUALITY = 90


def _data_uri(path: Path) -> str:
    """The figure as a data URI: the PNG itself, or, for a large PNG (photographs, which PNG stores poorly), a JPEG
    of it at quality 90, about a tenth of the bytes; the PNG and SVG files beside the report stay as they are."""
    data = path.read_bytes()
    if len(data) <= JPEG_ABOVE_BYTES:
        return "data:image/png;base64," + base64.b64encode(data).decode("ascii")
    from PIL import Image

    buffer = io.BytesIO()
    with Image.open(path) as image:
        image.convert("RGB").save(buffer, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _display_width(path: Path) -> int | None:
    """The CSS width of a PNG saved at the figures' dpi, so every figure's lettering shows at the same size."""
    head = path.read_bytes()[:24]
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    return round(int.from_bytes(head[16:20], "big") * 96 / DPI)


def _img(path: Path) -> str:
    width = _display_width(path)
    style = f' style="width: {width}px"' if width else ""
    return f'<img src="{_data_uri(path)}" alt="{_text(path.stem)}"{style}>'


def _missing_html(section: Section) -> str:
    if not section.missing:
        return ""
    names = ", ".join(f"{_text(m)} ({_text(DESCRIPTIONS.get(m, ('findings',))[0].rstrip('.'))})"
                      for m in section.missing)
    return f'<p class="missing"><strong>Not produced in this run:</strong> {names}.</p>'


def render_html(sections: Sequence[Section], run_info: Mapping[str, Any], title: str) -> str:
    """The whole document as one self-contained HTML page."""
    body = [f"<h1>{_text(title)}</h1>", f'<p class="caveat">{_text(data_caveat(run_info))}</p>',
            "<nav><strong>Contents</strong><ol>"]
    body += [f'<li><a href="#{s.key}">{_text(s.title)}</a></li>' for s in sections]
    body.append('<li><a href="#run">Configuration, machine and timings of the run</a></li></ol></nav>')
    table_number = 0
    for section in sections:
        body.append(f'<section id="{section.key}"><h2>{_text(section.title)}</h2>')
        for entry in section.entries:
            label = f"{'Figure' if entry.kind == 'figure' else 'Table'} {entry.number}"
            text = f"<strong>{label}.</strong> {_text(entry.caption)}"
            if entry.kind == "figure":
                group = len(entry.files) > 1
                images = "".join(_img(p) for p in entry.files)
                body.append(f'<figure id="{entry.item}"{GROUP_CLASS if group else ""}>{images}'
                            f"<figcaption>{text}</figcaption></figure>")
            else:
                table_number = entry.number
                shown = shown_table(entry.table)
                wide = WIDE_CLASS if len(shown.columns) > WIDE_COLUMNS else ""
                body.append(f'<p class="tcap" id="{entry.item}">{text}</p><div class="tablewrap"><table{wide}>'
                            f"{html_table(shown)}</table></div>")
        for markdown in section.findings:
            body.append(f'<div class="findings">{markdown_to_html(markdown)}</div>')
        body.append(_missing_html(section) + "</section>")
    body.append('<section id="run"><h2>Configuration, machine and timings of the run</h2>')
    run = run_tables(run_info)
    if not run[1:] and not run_info.get("timings"):
        body.append('<p class="missing">The pipeline\'s timings file (executed/timings.json) was not found: '
                    "machine and timings not recorded.</p>")
    for title_, table in run:
        table_number += 1
        body.append(f'<p class="tcap"><strong>Table {table_number}.</strong> {_text(title_)}.</p>'
                    f'<div class="tablewrap"><table>{html_table(readable(table))}</table></div>')
    body.append("</section>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{_text(title)}"
            f"</title><style>{CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")


# ---- Markdown
def render_markdown(sections: Sequence[Section], run_info: Mapping[str, Any], title: str) -> str:
    """The document as GitHub Markdown: images linked relatively (report.md lives beside them)."""
    out = [f"# {title}", "", f"> {data_caveat(run_info)}", ""]
    table_number = 0
    for section in sections:
        out += [f"## {section.title}", ""]
        for entry in section.entries:
            label = f"{'Figure' if entry.kind == 'figure' else 'Table'} {entry.number}"
            if entry.kind == "figure":
                out += [" ".join(f"![{p.stem}]({p.name})" for p in entry.files), "",
                        f"*{label}.* {entry.caption}", ""]
            else:
                table_number = entry.number
                out += [f"*{label}.* {entry.caption}", "", markdown_table(shown_table(entry.table)), ""]
        out += [*(f"{m.strip()}\n" for m in section.findings)]
        if section.missing:
            out += ["**Not produced in this run:** " + ", ".join(section.missing) + ".", ""]
    out += ["## Configuration, machine and timings of the run", ""]
    for title_, table in run_tables(run_info):
        table_number += 1
        out += [f"*Table {table_number}.* {title_}.", "", markdown_table(readable(table)), ""]
    return "\n".join(out)


def write_report(figures_dir: str | Path, out_html: str | Path, out_md: str | Path,
                 run_info: Mapping[str, Any] | None = None, title: str = "Bimodal multi-label classification: "
                 "results of the run") -> tuple[Path, Path]:
    """Write the HTML and Markdown documents of the figures in `figures_dir`; return their paths.

    run_info: what `collect_run_info(out_dir)` returns (data folder, profile, seeds, models, timings);
    None reads it from the folder above `figures_dir`.
    """
    figures_dir = Path(figures_dir)
    if run_info is None:
        run_info = collect_run_info(figures_dir.parent)
    sections = build_sections(figures_dir, run_info)
    write_text(Path(out_html), render_html(sections, run_info, title))
    write_text(Path(out_md), render_markdown(sections, run_info, title) + "\n")
    return Path(out_html), Path(out_md)


def report_for_run(out_dir: str | Path | None = None) -> tuple[Path, Path]:
    """Write <out>/figures/report.html and report.md for a run folder (default: the repository root)."""
    paths = RunPaths(data_dir=Path("."), out_dir=Path(out_dir).expanduser().resolve() if out_dir else DEFAULT_OUT_DIR)
    return write_report(paths.figures, paths.figures / "report.html", paths.figures / "report.md",
                        collect_run_info(paths.out_dir))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.report.document", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="", help="the run folder (default: the repository root)")
    args = parser.parse_args(argv)
    html_path, md_path = report_for_run(args.out or None)
    print(f"Report: {html_path}\nMarkdown: {md_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
