"""Every path the project uses, derived from the repository root, the data folder and the output folder.

Nothing depends on the current working directory.
Layout of a data folder (the COMP5329 format): train.csv, test.csv, data/<ImageID>.
Layout of an output folder: figures/, artifacts/ (features, encoded text, checkpoints,
probabilities, results), executed/ (notebooks run by the pipeline), Predicted_labels.csv.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
DATA_ROOT = REPO_ROOT / "data"
DEFAULT_OUT_DIR = REPO_ROOT
RESOURCES_DIR = REPO_ROOT / "helpers" / "resources"  # data files shipped with the package
FACTS_FILE = RESOURCES_DIR / "dataset_facts.json"
STOPWORDS_FILE = RESOURCES_DIR / "stopwords_en.txt"
LEMMATIZER_FILE = RESOURCES_DIR / "lemmatizer_en.json"  # word tables of the offline lemmatizer
DEMO_VOCABULARY_FILE = RESOURCES_DIR / "demo_vocabulary.json"  # words of the demo captions

TRAIN_CSV = "train.csv"
TEST_CSV = "test.csv"
TEST_LABELS_CSV = "test_labels.csv"
IMAGES_SUBDIR = "data"
SUBMISSION_CSV = "Predicted_labels.csv"


@dataclass(frozen=True)
class RunPaths:
    """Where one run reads its data and writes its outputs."""

    data_dir: Path
    out_dir: Path

    @property
    def train_csv(self) -> Path:
        return self.data_dir / TRAIN_CSV

    @property
    def test_csv(self) -> Path:
        return self.data_dir / TEST_CSV

    @property
    def test_labels_csv(self) -> Path:
        return self.data_dir / TEST_LABELS_CSV

    @property
    def images_dir(self) -> Path:
        return self.data_dir / IMAGES_SUBDIR

    @property
    def figures(self) -> Path:
        return self.out_dir / "figures"

    @property
    def artifacts(self) -> Path:
        return self.out_dir / "artifacts"

    @property
    def text_cache(self) -> Path:
        return self.artifacts / "text"

    @property
    def feature_cache(self) -> Path:
        return self.artifacts / "features"

    @property
    def checkpoints(self) -> Path:
        return self.artifacts / "checkpoints"

    @property
    def probabilities(self) -> Path:
        return self.artifacts / "probabilities"

    @property
    def results(self) -> Path:
        return self.artifacts / "results"

    @property
    def executed(self) -> Path:
        return self.out_dir / "executed"

    @property
    def submission(self) -> Path:
        return self.out_dir / SUBMISSION_CSV


def demo_data_dir(n_train: int, n_test: int) -> Path:
    """Where the built-in demo data set of a given size lives (one folder per size, never overwritten)."""
    return DATA_ROOT / f"demo-{n_train}-{n_test}"


def run_paths(data_dir: str | Path, out_dir: str | Path | None = None) -> RunPaths:
    """Resolve the data and output folders; an empty or None out_dir means the repository root."""
    data = Path(data_dir).expanduser()
    out = Path(out_dir).expanduser() if out_dir else DEFAULT_OUT_DIR
    if not data.is_absolute():
        data = (REPO_ROOT / data) if not data.exists() else data.resolve()
    if not out.is_absolute():
        out = out.resolve()
    return RunPaths(data_dir=data.resolve(), out_dir=out)
