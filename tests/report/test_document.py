"""Tests of helpers.report.document and helpers.report.captions, including a real headless-Chromium check.

The browser test (about 3 s) opens report.html in Debian's chromium: every image has loaded (naturalWidth > 0, read back
with --dump-dom from a copy of the page to which the test adds a tiny script), a screenshot is not blank, and
printing to PDF gives one page for the title and one per section. It skips only when chromium is absent and
CI is not set; under CI a missing chromium fails.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from helpers.report import captions, document  # noqa: E402
from helpers.report.figures import save_fig, save_table, save_text  # noqa: E402

DEMO_INFO = {"data_dir": "/x/data/demo-600-200", "demo": True, "profile": "smoke", "seed": 0,
             "models": {"cnn": {"model": "B: frozen scratch_resnet + 3 FC", "seeds": [0], "pretrained": False,
                                "backbone": "scratch_resnet", "unconverged": True},
                        "lstm": {"model": "lstm", "seeds": [0, 1], "unconverged": False}}}
USER_INFO = {**DEMO_INFO, "data_dir": "/home/me/comp5329", "demo": False}


def _plot(path_dir: Path, name: str, kind: str) -> None:
    fig, ax = plt.subplots(figsize=(4, 2.5))
    x = np.arange(10)
    (ax.bar if kind == "bar" else ax.plot)(x, np.sqrt(x + 1))
    ax.set_title(name)
    save_fig(fig, name, path_dir)
    plt.close(fig)


@pytest.fixture
def run_folder(tmp_path: Path) -> Path:
    figures_dir = tmp_path / "figures"
    figures_dir.mkdir()
    _plot(figures_dir, "fig01_label_distribution", "bar")
    _plot(figures_dir, "fig03_examples_01_person", "bar")
    _plot(figures_dir, "fig03_examples_02_bicycle", "line")
    _plot(figures_dir, "fig15_cnn_learning_rate", "line")
    _plot(figures_dir, "fig40_lambda_sweep", "line")
    save_table(pd.DataFrame({"label": [1, 2], "COCO name": ["person", "bicycle"]}), "table01_label_meanings",
               figures_dir)
    save_table(pd.DataFrame({"method": ["λ=0", "λ=0.5", "λ=1"], "micro_f1": [0.78, 0.80, 0.76],
                             "diff": [-0.02, 0.0, -0.04], "diff_low": [-0.03, 0.0, -0.05],
                             "diff_high": [0.01, 0.0, -0.03]}), "table05_lambda_sweep", figures_dir)
    save_text("## What we found\n\n- The labels are **unbalanced**: person is in most rows.", "findings_01",
              figures_dir)
    return tmp_path


def _write(run_folder: Path, info: dict) -> tuple[str, str]:
    figures_dir = run_folder / "figures"
    html_path, md_path = document.write_report(figures_dir, figures_dir / "report.html", figures_dir / "report.md",
                                               info)
    return html_path.read_text(), md_path.read_text()


def test_report_orders_numbers_and_places_findings(run_folder):
    page, md = _write(run_folder, DEMO_INFO)
    order = [page.index(f'id="{item}"') for item in ("fig01", "fig03", "table01", "fig15", "fig40", "table05")]
    assert order == sorted(order)
    assert "<strong>Figure 1.</strong>" in page and "<strong>Figure 2.</strong>" in page
    assert page.count('alt="fig03_examples_') == 2  # the fig03 family is one numbered group
    assert page.index("unbalanced") < page.index('id="preprocessing"')  # findings_01 closes the data section
    assert "<strong>unbalanced</strong>" in page
    assert "![fig01_label_distribution](fig01_label_distribution.png)" in md  # relative links for GitHub
    assert "src=\"http" not in page and "<link" not in page and "<script" not in page  # self-contained
    assert page.count('src="data:image/png;base64,') == 5


def test_missing_items_are_listed_not_dropped(run_folder):
    page, md = _write(run_folder, DEMO_INFO)
    data_section = page[page.index('id="data"'):page.index('id="preprocessing"')]
    assert "Not produced in this run" in data_section and "fig02" in data_section and "fig24" in data_section
    assert "findings_02" in page  # a missing findings file is listed too
    assert "Not produced in this run:** fig02" in md


def test_unlisted_items_go_to_other_section(run_folder):
    _plot(run_folder / "figures", "fig42_predictor_examples", "bar")
    page, _ = _write(run_folder, DEMO_INFO)
    assert page.index('id="fig42"') > page.index('id="other"')


def test_captions_carry_the_run_caveats(run_folder):
    page, _ = _write(run_folder, DEMO_INFO)
    assert captions.DEMO_SENTENCE in page
    user_page, user_md = _write(run_folder, USER_INFO)
    assert captions.DEMO_SENTENCE not in user_page and captions.DEMO_SENTENCE not in user_md
    assert "comp5329" in user_page
    image_caption = captions.caption("fig15", DEMO_INFO)
    assert "Unconverged: B: frozen scratch_resnet + 3 FC" in image_caption
    assert "trained from scratch" in image_caption and "Seeds: 0." in image_caption
    assert "Unconverged" not in captions.caption("fig09", DEMO_INFO)  # the LSTM converged
    assert "Seeds: 0, 1." in captions.caption("fig09", DEMO_INFO)
    assert "Profile: smoke." in captions.caption("fig01", DEMO_INFO)


def test_interval_straddling_zero_is_called_indistinguishable():
    table = pd.DataFrame({"method": ["a", "chosen", "c"], "diff_low": [-0.03, 0.0, -0.05],
                          "diff_high": [0.01, 0.0, -0.03]})
    text = captions.caption("table05", DEMO_INFO, table)
    assert text.endswith("Indistinguishable (95 % interval of the difference includes 0): a.")
    assert "excludes 0" in captions.caption("table05", DEMO_INFO, table.iloc[[2]])
    assert captions.interval_caveat(pd.DataFrame({"x": [1]})) is None


def test_an_ablation_figure_names_only_its_own_indistinguishable_settings():
    summary = pd.DataFrame({"experiment": ["lstm_architecture", "lstm_architecture", "lstm_cutoff"],
                            "setting": ["standard", "bidirectional", "0.25"], "diff_low": [0.0, -0.01, -0.02],
                            "diff_high": [0.0, 0.01, 0.01]})
    fig08 = captions.caption("fig08", DEMO_INFO, summary)
    assert "lstm_architecture: bidirectional" in fig08 and "lstm_cutoff" not in fig08
    assert "lstm_cutoff: 0.25" in captions.caption("fig09", DEMO_INFO, summary)
    assert "lstm_architecture: bidirectional, lstm_cutoff: 0.25" in captions.caption("table36", DEMO_INFO, summary)


def test_unconverged_read_from_history(tmp_path):
    results = tmp_path / "artifacts" / "results"
    results.mkdir(parents=True)
    pd.DataFrame({"epoch": [1, 2, 3], "val_micro_f1": [0.5, 0.6, 0.7]}).to_csv(results / "cnn_history.csv")
    pd.DataFrame({"epoch": [1, 2, 3], "val_micro_f1": [0.5, 0.8, 0.7]}).to_csv(results / "lstm_seed0_history.csv")
    (results / "cnn_summary.json").write_text(json.dumps({"model": "cnn", "histories": ["cnn"], "best_epoch": 3,
                                                          "pretrained": True}))
    (results / "lstm_summary.json").write_text(json.dumps({"model": "lstm", "histories": ["lstm_seed0"],
                                                           "seeds": [0]}))
    (tmp_path / "executed").mkdir()
    (tmp_path / "executed" / "timings.json").write_text(json.dumps(
        {"data_dir": "/r/data/demo-6000-2000", "profile": "cpu", "seed": 0, "notebooks": {"01_eda": 1.5}}))
    info = captions.collect_run_info(tmp_path)
    assert info["demo"] and info["profile"] == "cpu"
    assert info["models"]["cnn"]["unconverged"] and not info["models"]["lstm"]["unconverged"]
    assert "pretrained." in captions.caption("fig15", info)


def test_report_without_run_records(tmp_path):
    (tmp_path / "figures").mkdir()
    page, _ = _write(tmp_path, captions.collect_run_info(tmp_path))
    assert "timings.json) was not found" in page and "Data: not recorded." in page


# ---- the real browser
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars", "--mute-audio"]
IMAGE_CHECK = ("<script>window.addEventListener('load', function () { var r = Array.prototype.map.call("
               "document.images, function (i) { return i.complete && i.naturalWidth > 0; }); var p = "
               "document.createElement('pre'); p.id = 'imgcheck'; p.textContent = JSON.stringify(r); "
               "document.body.appendChild(p); });</script>")


DEBIAN_CHROMIUM = Path("/usr/bin/chromium")


def chromium_or_skip() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser") or (
        str(DEBIAN_CHROMIUM) if DEBIAN_CHROMIUM.exists() else None)
    if found:
        return found
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail("CI is set but chromium is missing: .ci/run must install the Debian package 'chromium'")
    pytest.skip("headless Chromium not installed (apt-get install chromium); CI installs it and runs this test")


def test_missing_chromium_fails_under_ci_and_skips_elsewhere(monkeypatch, tmp_path):
    import tests.report.test_document as this

    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(this, "DEBIAN_CHROMIUM", tmp_path / "no-chromium")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI is set"):
        chromium_or_skip()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="not installed"):
        chromium_or_skip()


def run_chromium(binary: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    command = [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=180, check=True)


def pdf_pages(pdf: Path) -> int:
    if shutil.which("pdfinfo"):
        out = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
        return int(re.search(r"^Pages:\s+(\d+)", out, re.M).group(1))
    return len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf.read_bytes()))


def test_report_in_headless_chromium(run_folder, tmp_path):
    from PIL import Image

    binary = chromium_or_skip()
    page, _ = _write(run_folder, DEMO_INFO)
    report = run_folder / "figures" / "report.html"
    checked = tmp_path / "checked.html"
    checked.write_text(page.replace("</body>", IMAGE_CHECK + "</body>"))
    dom = run_chromium(binary, tmp_path / "profile1", "--virtual-time-budget=10000", "--dump-dom",
                       checked.as_uri()).stdout
    loaded = json.loads(re.search(r'<pre id="imgcheck">(.*?)</pre>', dom, re.S).group(1))
    assert len(loaded) == page.count("<img ") == 5 and all(loaded), loaded

    screenshot = tmp_path / "shot.png"
    run_chromium(binary, tmp_path / "profile2", "--window-size=1200,1600", f"--screenshot={screenshot}",
                 report.as_uri())
    pixels = np.asarray(Image.open(screenshot).convert("L"), dtype=float)
    assert pixels.std() > 10, f"screenshot looks blank (pixel std {pixels.std():.1f})"

    pdf = tmp_path / "report.pdf"
    run_chromium(binary, tmp_path / "profile3", "--no-pdf-header-footer", "--print-to-pdf-no-header",
                 f"--print-to-pdf={pdf}", report.as_uri())
    sections = page.count("<h2>")
    assert sections == len(document.LAYOUT) + 1
    assert pdf_pages(pdf) == 1 + sections  # the title page, then each section on its own page


def test_large_photographic_figures_are_embedded_as_jpeg(run_folder):
    import base64
    import io

    from PIL import Image

    rng = np.random.default_rng(0)
    photo = run_folder / "figures" / "fig22_prediction_gallery.png"
    Image.fromarray(rng.integers(0, 256, (700, 700, 3), dtype=np.uint8)).save(photo)  # noise: PNG cannot shrink it
    assert photo.stat().st_size > document.JPEG_ABOVE_BYTES
    page, _ = _write(run_folder, DEMO_INFO)
    start = page.index('src="data:image/jpeg;base64,') + len('src="data:image/jpeg;base64,')
    embedded = base64.b64decode(page[start:page.index('"', start)])
    assert len(embedded) < photo.stat().st_size
    with Image.open(io.BytesIO(embedded)) as image:
        assert image.format == "JPEG" and image.size == (700, 700)
    assert page.count('src="data:image/png;base64,') == 5  # the plots stay PNG
