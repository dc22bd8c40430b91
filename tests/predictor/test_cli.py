"""helpers.predictor.cli (`python -m helpers.predict`): every option checked first, and each reaching its use."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

import helpers.predictor.cli as cli
import helpers.predictor.predictor as predictor_module
from helpers.data.csv_format import read_test_csv
from helpers.data.submission import read_submission
from helpers.predictor.cli import main
from helpers.predictor.file import (
    save_predictor,
)
from helpers.predictor.predictor import (
    PROBABILITY_COLUMNS,
    Predictor,
    differing_rows,
)
from tests.predictor.fakes import bundle_of, copy_demo, demo_rows


def test_command_line_writes_the_same_labels_as_predict(tmp_path, demo, parts, capsys):
    model = save_predictor(tmp_path / "predictor.pt", bundle_of(parts))
    out, probs = tmp_path / "labels.csv", tmp_path / "probs.csv"
    assert main(["--model", str(model), "--data-dir", str(demo), "--out", str(out), "--probabilities",
                 str(probs), "--batch-size", "8"]) == 0
    rows = read_test_csv(demo / "test.csv")
    written = read_submission(out, rows["ImageID"])  # validated: header, order, known labels, no empty row
    paths, captions = demo_rows(demo)
    expected = Predictor.load(model).predict(paths, captions, device="cpu")
    assert written["Labels"].tolist() == [" ".join(map(str, labels)) for labels in expected["labels"]]
    assert out.read_text().splitlines()[0] == "ImageID,Labels"
    table = pd.read_csv(probs)
    assert table["ImageID"].tolist() == rows["ImageID"].tolist()
    np.testing.assert_allclose(table[PROBABILITY_COLUMNS].to_numpy(), expected[PROBABILITY_COLUMNS].to_numpy(),
                               atol=1e-6)
    assert "wrote" in capsys.readouterr().out
    predictor = Predictor.load(model)
    assert differing_rows(predictor, demo, out).empty
    lines = out.read_text().splitlines()
    changed = "19" if lines[1].split(",")[1] != "19" else "1"
    lines[1] = f"{lines[1].split(',')[0]},{changed}"
    out.write_text("\n".join(lines) + "\n")
    assert differing_rows(predictor, demo, out)["submission"].tolist() == [changed]


def _fails(capsys, model, data_dir, out, match):
    out.write_text("previous content\n")
    assert main(["--model", str(model), "--data-dir", str(data_dir), "--out", str(out)]) == 1
    assert out.read_text() == "previous content\n"  # nothing half-written, the old file kept
    err = capsys.readouterr().err
    assert all(part in err for part in match.split(" ... ")), err


def test_command_line_names_bad_input_and_writes_nothing(tmp_path, demo, parts, capsys):
    model = save_predictor(tmp_path / "predictor.pt", bundle_of(parts))
    out = tmp_path / "labels.csv"

    broken = copy_demo(demo, tmp_path / "no_image")
    first = read_test_csv(broken / "test.csv")["ImageID"].iloc[0]
    (broken / "data" / first).unlink()
    _fails(capsys, model, broken, out, f"line 2: {first} (missing image file)")

    header = copy_demo(demo, tmp_path / "header")
    text = (header / "test.csv").read_text()
    (header / "test.csv").write_text(text.replace("ImageID,Caption", "ImageID,Text", 1))
    _fails(capsys, model, header, out, "wrong header, expected 'ImageID,Caption'")

    empty = copy_demo(demo, tmp_path / "empty")
    lines = (empty / "test.csv").read_text().splitlines()
    lines[3] = lines[3].split(",", 1)[0] + ',"  "'
    (empty / "test.csv").write_text("\n".join(lines) + "\n")
    _fails(capsys, model, empty, out, "1 empty caption(s) ... line 4")


def _refused(capsys, argv, option):
    """The command refuses argv with exit status 2 and one line naming `option`, before any work."""
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(f"error: {option}:"), err
    assert "Traceback" not in err


@pytest.fixture()
def no_work(monkeypatch):
    """Fail the test if the command loads a predictor (the options must be refused before that)."""
    def load(*args, **kwargs):
        raise AssertionError("Predictor.load ran before the options were checked")

    monkeypatch.setattr(cli.Predictor, "load", load)


@pytest.mark.parametrize("option, value", [("--batch-size", "0"), ("--batch-size", "-3"), ("--workers", "-1"),
                                           ("--device", "cuda"), ("--device", "cuda:7"), ("--device", "tpu"),
                                           ("--device", "not a device"), ("--model", "MISSING"),
                                           ("--data-dir", "MISSING"), ("--csv", "nothing.csv")])
def test_each_impossible_option_is_refused_in_one_line_naming_it(tmp_path, demo, capsys, monkeypatch, no_work,
                                                                 option, value):
    model = tmp_path / "predictor.pt"
    model.write_bytes(b"never read")
    if option == "--device":
        monkeypatch.setattr(torch.cuda, "is_available", lambda: value == "cuda:7")
        monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    args = {"--model": str(model), "--data-dir": str(demo), "--out": str(tmp_path / "out.csv")}
    args[option] = str(tmp_path / "missing") if value == "MISSING" else value
    _refused(capsys, [x for pair in args.items() for x in pair], option)
    assert not (tmp_path / "out.csv").exists()


class _Recorder:
    """Stands in for Predictor: records what predict receives and returns labels for every row."""

    calls: list[dict] = []

    @classmethod
    def load(cls, path):
        cls.calls.clear()
        return cls()

    def predict(self, images, captions, batch_size=64, device="auto", num_workers=0, progress=True):
        self.calls.append({"images": list(images), "batch_size": batch_size, "device": device,
                           "num_workers": num_workers})
        return pd.DataFrame({"labels": [[1]] * len(images), **{c: [0.5] * len(images) for c in PROBABILITY_COLUMNS}})

    def describe(self):
        return "recorder"


def _run_recorded(monkeypatch, tmp_path, demo, *extra):
    monkeypatch.setattr(cli, "Predictor", _Recorder)
    out = tmp_path / "labels.csv"
    assert main(["--model", __file__, "--data-dir", str(demo), "--out", str(out), *extra]) == 0
    return out, _Recorder.calls[-1]


def test_batch_size_device_and_workers_reach_predict_with_their_types(tmp_path, demo, monkeypatch):
    _, call = _run_recorded(monkeypatch, tmp_path, demo, "--batch-size", "5", "--device", "cpu", "--workers", "2")
    assert (call["batch_size"], call["device"], call["num_workers"]) == (5, "cpu", 2)
    assert isinstance(call["batch_size"], int) and isinstance(call["num_workers"], int)
    _, default = _run_recorded(monkeypatch, tmp_path, demo)
    assert (default["batch_size"], default["device"], default["num_workers"]) == (64, "auto", 0)


def test_csv_picks_the_file_that_is_labelled(tmp_path, demo, monkeypatch):
    folder = copy_demo(demo, tmp_path / "data")
    rows = read_test_csv(folder / "test.csv")
    lines = (folder / "test.csv").read_text().splitlines()
    (folder / "few.csv").write_text("\n".join(lines[:4]) + "\n")
    out, call = _run_recorded(monkeypatch, tmp_path, folder, "--csv", "few.csv")
    assert [p.name for p in call["images"]] == rows["ImageID"].tolist()[:3]
    assert read_submission(out, rows["ImageID"].tolist()[:3])["ImageID"].tolist() == rows["ImageID"].tolist()[:3]


def test_probabilities_writes_its_file_only_when_asked(tmp_path, demo, monkeypatch):
    probs = tmp_path / "probs.csv"
    _run_recorded(monkeypatch, tmp_path, demo)
    assert not probs.exists()
    _run_recorded(monkeypatch, tmp_path, demo, "--probabilities", str(probs))
    table = pd.read_csv(probs)
    assert list(table.columns) == ["ImageID", *PROBABILITY_COLUMNS]
    assert table["ImageID"].tolist() == read_test_csv(demo / "test.csv")["ImageID"].tolist()


def test_workers_reach_the_image_loader(tmp_path, demo, parts, monkeypatch):
    model = save_predictor(tmp_path / "predictor.pt", bundle_of(parts))
    seen = []
    real = predictor_module.DataLoader

    def loader(*args, **kwargs):
        seen.append((kwargs["num_workers"], kwargs["batch_size"]))
        return real(*args, **{**kwargs, "num_workers": 0})  # record, but decode here (fast, no processes)

    monkeypatch.setattr(predictor_module, "DataLoader", loader)
    assert main(["--model", str(model), "--data-dir", str(demo), "--out", str(tmp_path / "o.csv"), "--workers", "3",
                 "--batch-size", "9", "--device", "cpu"]) == 0
    assert seen == [(3, 9)]


@pytest.mark.parametrize("argv, option", [(["--batch-size", "many"], "--batch-size"),
                                          (["--workers", "1.5"], "--workers"), ([], "--model")])
def test_an_option_argparse_refuses_is_one_line_naming_it_too(tmp_path, demo, capsys, no_work, argv, option):
    base = [] if option == "--model" else ["--model", __file__]
    with pytest.raises(SystemExit) as stopped:
        main([*base, "--data-dir", str(demo), "--out", str(tmp_path / "o.csv"), *argv])
    assert stopped.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and option in err and "Traceback" not in err, err
