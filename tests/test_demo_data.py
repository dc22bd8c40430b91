"""The demo data generator: real statistics, COMP5329 file format and quirks, determinism, manifest last."""
from __future__ import annotations

import hashlib
import math
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from helpers.core.facts import load_facts
from helpers.core.files import read_json
from helpers.core.labels import LABEL_IDS, labels_to_matrix, parse_label_field
from helpers.data import csv_format
from helpers.demo import MANIFEST, generate_demo_data
from helpers.demo import generator as demo_generator
from helpers.demo import shapes as demo_shapes
from helpers.demo.__main__ import main
from helpers.demo.captions import make_captions, quirk_count
from helpers.demo.label_sets import sample_label_sets
from helpers.demo.vocabulary import caption_vocabulary, mentioned_labels

N_TRAIN, N_TEST = 40, 10
FILES = ("train.csv", "test.csv", "test_labels.csv", MANIFEST)


# ---------------------------------------------------------------- a small tolerant reader of our own

def read_records(path: Path, n_fields: int) -> list[list[str]]:
    """Split on newlines followed by '<digits>.jpg,'; the caption is between the outer quotes."""
    text = path.read_text(encoding="utf-8")
    header, _, body = text.partition("\n")
    assert len(header.split(",")) == n_fields, header
    records = []
    for record in re.split(r"\n(?=\d+\.jpg,)", body.rstrip("\n")):
        fields = record.split(",", n_fields - 1)
        caption = fields[-1]
        assert caption.startswith('"') and caption.endswith('"'), record
        records.append([*fields[:-1], caption[1:-1]])
    return records


def _all_files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 40 + 10 row set written through the command line, with two worker processes."""
    out = tmp_path_factory.mktemp("demo") / "a"
    main(["--out", str(out), "--n-train", str(N_TRAIN), "--n-test", str(N_TEST), "--seed", "0",
                    "--workers", "2"])
    return out


@pytest.fixture(scope="module")
def captions_3000() -> tuple[list[list[int]], list[str]]:
    label_sets = sample_label_sets(3000, seed=5)
    return label_sets, make_captions(label_sets, seed=5)


# ---------------------------------------------------------------- label sets

def test_label_statistics_match_the_real_set_at_full_size() -> None:
    facts = load_facts()
    matrix = labels_to_matrix(sample_label_sets(30000, seed=0))
    real_co = np.asarray(facts["cooccurrence_counts"])
    co = matrix.T.astype(np.int64) @ matrix
    real_counts = np.array([facts["label_counts"][str(label)] for label in LABEL_IDS])
    assert np.all(np.abs(co.diagonal() - real_counts) <= 0.10 * real_counts)

    per_row = np.bincount(matrix.sum(axis=1), minlength=8)
    assert per_row[0] == 0 and per_row.sum() == 30000
    for k, real in facts["labels_per_example"].items():
        if real >= 50:
            assert abs(per_row[int(k)] - real) <= 0.10 * real, (k, per_row[int(k)], real)

    big = real_co >= 100
    assert np.all(np.abs(co - real_co)[big] <= 0.10 * real_co[big])
    # Entries under 100 rows get the tolerance of an entry of 100 (10 rows), so the rule does not
    # jump at the threshold; pure sampling noise would already be about sqrt(count) <= 10.
    assert np.all(np.abs(co - real_co)[~big] <= 10)


def test_label_sets_are_valid_and_scale_down() -> None:
    sets = sample_label_sets(240, seed=3)
    assert len(sets) == 240
    assert all(1 <= len(s) <= 7 and len(set(s)) == len(s) and s == sorted(s) for s in sets)
    assert all(label in LABEL_IDS for s in sets for label in s)
    person = sum(1 in s for s in sets)
    assert abs(person - 22797 * 240 / 30000) <= 5
    assert sample_label_sets(240, seed=3) == sets and sample_label_sets(240, seed=4) != sets


# ---------------------------------------------------------------- captions

def test_caption_lengths_follow_the_real_histogram(captions_3000: tuple[list[list[int]], list[str]]) -> None:
    real = {int(k): v for k, v in load_facts()["caption_word_counts"].items()}
    real_mean = sum(k * v for k, v in real.items()) / sum(real.values())
    lengths = np.array([len(c.split()) for c in captions_3000[1]])
    assert lengths.min() >= 7 and lengths.max() <= 49
    assert abs(lengths.mean() - real_mean) <= 0.10 * real_mean
    share_9_to_20 = sum(v for k, v in real.items() if 9 <= k <= 20) / sum(real.values())
    assert abs(np.mean((lengths >= 9) & (lengths <= 20)) - share_9_to_20) <= 0.03


def test_mention_rates_follow_the_real_ones(captions_3000: tuple[list[list[int]], list[str]]) -> None:
    label_sets, captions = captions_3000
    rates = load_facts()["caption_mentions"]
    named = [mentioned_labels(c) for c in captions]
    for label in LABEL_IDS:
        present = np.array([label in s for s in label_sets])
        said = np.array([label in m for m in named])
        for mask, key in ((present, "mention_rate_when_present"), (~present, "mention_rate_when_absent")):
            if mask.sum() < 20:
                continue
            p = rates[str(label)][key]
            # Loose: a few standard errors of a binomial rate plus a small absolute margin.
            tolerance = 0.03 + 3 * math.sqrt(max(p * (1 - p), 0.01) / mask.sum())
            assert abs(said[mask].mean() - p) <= tolerance, (label, key, said[mask].mean(), p)
    # Text alone must not solve the task: many captions name no present label at all.
    missed = np.mean([not (set(s) & m) for s, m in zip(label_sets, named, strict=True)])
    assert missed > 0.15


def test_filler_words_name_no_label() -> None:
    """Places, scenes and extra phrases must not mention a label, or the mention rates would drift."""
    vocab = caption_vocabulary()
    fillers = vocab.fillers()
    assert len(fillers) > 200 and "in a grassy field" in fillers and "curled up" in fillers
    assert [f for f in fillers if mentioned_labels(f)] == []
    # every label can be named, described and placed in a caption
    for table in (vocab.nouns, vocab.adjectives, vocab.predicates):
        assert sorted(table) == sorted(LABEL_IDS)
    assert mentioned_labels("A guy on a bike next to a jet and a puppy.") == {1, 2, 5, 18}


def test_captions_carry_the_csv_quirks(captions_3000: tuple[list[list[int]], list[str]], tmp_path: Path) -> None:
    label_sets, captions = captions_3000
    assert sum("\n" in c for c in captions) == quirk_count(3000, 4) == 1
    assert sum(c.endswith("/") for c in captions) == 1
    assert any(re.search(r' "\w[^"]*" ', c) for c in captions)  # unescaped inner quotes
    assert sum("," in c for c in captions) > 30
    assert sum("/" in c[:-1] for c in captions) > 3
    assert quirk_count(999, 4) == 0 and quirk_count(30000, 4) == 4

    # The hand-written CSV keeps every caption byte for byte.
    ids = [f"{i}.jpg" for i in range(len(captions))]
    path = tmp_path / "train.csv"
    csv_format.write_captions_csv(path, ids, captions, label_sets)
    records = read_records(path, 3)
    assert [r[2] for r in records] == captions
    assert [parse_label_field(r[1]) for r in records] == label_sets


# ---------------------------------------------------------------- files

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
