"""helpers.demo.generator: the COMP5329 file format, byte-identical output per seed, images, the manifest last."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from PIL import Image

from helpers.core.files import read_json
from helpers.core.labels import parse_label_field
from helpers.data import csv_format
from helpers.demo import MANIFEST, generate_demo_data
from helpers.demo import generator as demo_generator
from helpers.demo import shapes as demo_shapes
from helpers.demo.__main__ import main
from tests.demo.csv_records import read_records

N_TRAIN, N_TEST = 40, 10




def _all_files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 40 + 10 row set written through the command line, with two worker processes."""
    out = tmp_path_factory.mktemp("demo") / "a"
    main(["--out", str(out), "--n-train", str(N_TRAIN), "--n-test", str(N_TEST), "--seed", "0",
                    "--workers", "2"])
    return out


def test_files_have_the_comp5329_format(tiny: Path) -> None:
    train = read_records(tiny / "train.csv", 3)
    test = read_records(tiny / "test.csv", 2)
    assert (tiny / "train.csv").read_text().startswith("ImageID,Labels,Caption\n0.jpg,")
    assert (tiny / "test.csv").read_text().startswith(f"ImageID,Caption\n{N_TRAIN}.jpg,")
    assert [r[0] for r in train] == [f"{i}.jpg" for i in range(N_TRAIN)]
    assert [r[0] for r in test] == [f"{i}.jpg" for i in range(N_TRAIN, N_TRAIN + N_TEST)]
    assert all(parse_label_field(r[1]) for r in train)
    labels = (tiny / "test_labels.csv").read_text().splitlines()
    assert labels[0] == "ImageID,Labels" and len(labels) == N_TEST + 1
    assert all(parse_label_field(line.split(",")[1]) for line in labels[1:])
    assert sorted(p.name for p in (tiny / "data").iterdir()) == sorted(f"{i}.jpg" for i in range(N_TRAIN + N_TEST))


def test_project_reader_agrees(tiny: Path) -> None:
    train = csv_format.read_train_csv(tiny / "train.csv")
    assert train["Caption"].tolist() == [r[2] for r in read_records(tiny / "train.csv", 3)]
    assert len(csv_format.read_test_csv(tiny / "test.csv")) == N_TEST
    labels = csv_format.read_labels_csv(tiny / "test_labels.csv")
    assert labels["ImageID"].tolist() == [f"{i}.jpg" for i in range(N_TRAIN, N_TRAIN + N_TEST)]


def test_the_csv_files_of_seed_0_have_not_changed(tiny: Path) -> None:
    """The same seed must give the same data set across versions (results stay comparable);
    a deliberate change of the generator bumps GENERATOR_VERSION and these digests."""
    digests = {name: hashlib.sha256((tiny / name).read_bytes()).hexdigest()[:16]
               for name in ("train.csv", "test.csv", "test_labels.csv")}
    assert demo_generator.GENERATOR_VERSION == 1
    assert digests == {"train.csv": "c0cce5177a65cad1", "test.csv": "3503ba2a3dfefed7",
                       "test_labels.csv": "93b14095513b2147"}


def test_images_open_with_varied_sizes(tiny: Path) -> None:
    sizes = set()
    for path in (tiny / "data").iterdir():
        with Image.open(path) as image:
            assert image.format == "JPEG" and image.mode in ("RGB", "L")
            assert 200 <= image.width <= 400 and 150 <= image.height <= 400
            sizes.add(image.size)
    assert len(sizes) > 30


def test_some_images_are_single_channel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert 0.01 <= demo_shapes.GRAYSCALE_PROBABILITY <= 0.03
    monkeypatch.setattr(demo_shapes, "GRAYSCALE_PROBABILITY", 0.5)
    generate_demo_data(tmp_path, 20, 0, seed=0, workers=1, progress=False)
    modes = [Image.open(p).mode for p in (tmp_path / "data").iterdir()]
    assert "L" in modes and "RGB" in modes


def test_same_seed_same_bytes_whatever_the_workers(tiny: Path, tmp_path: Path) -> None:
    generate_demo_data(tmp_path / "b", N_TRAIN, N_TEST, seed=0, workers=1, progress=False)
    assert _all_files(tmp_path / "b") == _all_files(tiny)
    generate_demo_data(tmp_path / "c", N_TRAIN, N_TEST, seed=1, workers=1, progress=False)
    other = _all_files(tmp_path / "c")
    assert other["train.csv"] != _all_files(tiny)["train.csv"]
    assert other["data/0.jpg"] != _all_files(tiny)["data/0.jpg"]


def test_manifest_is_written_last(tiny: Path) -> None:
    manifest = tiny / MANIFEST
    assert manifest.stat().st_mtime_ns >= max(p.stat().st_mtime_ns for p in tiny.rglob("*") if p.is_file())
    assert read_json(manifest) == {"generator": "helpers.demo.generator", "version": 1, "n_train": N_TRAIN,
                                   "n_test": N_TEST, "seed": 0}
    assert not list(tiny.rglob("*.tmp"))


def test_interrupted_generation_leaves_no_manifest(tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "d"
    generate_demo_data(out, 5, 2, seed=0, workers=1, progress=False)
    assert (out / MANIFEST).is_file()

    def crash(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(demo_generator, "_render_images", crash)
    with pytest.raises(KeyboardInterrupt):
        generate_demo_data(out, 5, 2, seed=1, workers=1, progress=False)
    assert not (out / MANIFEST).exists()
