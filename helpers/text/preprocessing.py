"""Caption preprocessing: cleaning, stop words, stemming / lemmatization, the dictionary and the
encoded-tensor cache that notebook 04 reads.

The reference pipeline, step by step (each step is one function here):
1. `clean_words`: lower case; every character that is not a letter a-z (punctuation, digits,
   accented letters) becomes a space; split on whitespace. So "man's" gives "man", "s".
2. stop words removed (`load_stopwords`: NLTK's English list), unless the variant keeps them.
   Because step 1 already split contractions ("don't" -> "don", "t"), the list's entries with an
   apostrophe never match anything; NLTK versions that differ only in those entries give the
   same tokens.
3. Snowball (English) stemming, or lemmatization (`lemmatize_word`, or WordNet when its corpus is
   installed), or neither.
4. A dictionary (`build_vocab`): index 0 "-PAD-", 1 "-OOV-", then every word of the fitting
   rows (by default all train.csv rows, as the reference did; no minimum count), most frequent first.
5. `encode`: token ids, post-padded with -PAD- or truncated to the first max_len tokens (20; 25
   when stop words are kept), plus the true lengths. A caption left empty by cleaning is encoded
   as one -OOV- token with length 1, so every row has a last real token for the LSTM.
"""
from __future__ import annotations

import io
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch

from helpers.core.atomic_io import atomic_path
from helpers.core.config import STOPWORDS_FILE, RunPaths
from helpers.core.hashing import stable_hash

if TYPE_CHECKING:
    from helpers.core.profiles import TextSettings
    from helpers.run import Run

PAD, OOV = "-PAD-", "-OOV-"
PAD_INDEX, OOV_INDEX = 0, 1
BUNDLED_STOPWORDS = STOPWORDS_FILE
NORMALIZERS = ("stem", "lemma", "none")
FIT_ON = ("all_train", "train_split")
TEXT_VARIANTS = ("standard", "stopwords", "nostem", "lemma")
VARIANT_TITLES = {
    "standard": "stop words removed, Snowball stems (the reference)",
    "stopwords": "stop words kept, Snowball stems",
    "nostem": "stop words removed, no stemming",
    "lemma": "stop words removed, lemmas instead of stems",
}
# Dictionary sizes (entries including -PAD- and -OOV-) the reference study reports on the real train.csv.
REFERENCE_DICTIONARY_SIZES = {"standard": 4793, "stopwords": 4903, "nostem": 6907}
CACHE_FORMAT = 1  # bump when the saved layout or the preprocessing code changes meaning

_NON_LETTERS = re.compile(r"[^a-z]+")
_SPACES = re.compile(r"\s+")
NON_LETTER_RULES = ("space", "delete")


# ---------------------------------------------------------------------------------------------
# 1. cleaning


def clean_words(caption: str, non_letters: str = "space") -> list[str]:
    """Lower case, every non-letter (anything but a-z) -> space, split: the reference's cleaning.

    non_letters="delete" removes them instead, after splitting on whitespace ("t-shirt" -> "tshirt",
    "man's" -> "mans"): the other reading of "remove punctuation", reported beside it in table04.
    """
    lowered = str(caption).lower()
    if non_letters == "space":
        return _NON_LETTERS.sub(" ", lowered).split()
    return [w for w in (_NON_LETTERS.sub("", part) for part in _SPACES.split(lowered)) if w]


def raw_word_counts(captions: Iterable[str]) -> np.ndarray:
    """Whitespace-separated words per raw caption (as in the reference's caption-length figure)."""
    return np.array([len(str(c).split()) for c in captions], dtype=np.int64)


# ---------------------------------------------------------------------------------------------
# 2. stop words


@dataclass(frozen=True)
class StopWords:
    """NLTK's English stop word list and where it came from."""

    words: frozenset[str]
    source: str  # "nltk corpus", "nltk corpus (downloaded now)" or "bundled copy (...)"


def bundled_stopwords() -> list[str]:
    """The copy of NLTK's English list shipped with the project (179 words; NLTK stopwords corpus
    as distributed up to 2023, the version the reference study used)."""
    return [w for w in BUNDLED_STOPWORDS.read_text(encoding="utf-8").split() if w]


def nltk_corpus_stopwords() -> list[str] | None:
    """NLTK's English list from an installed stopwords corpus, or None when it is not installed."""
    try:
        from nltk.corpus import stopwords

        return list(stopwords.words("english"))
    except (LookupError, OSError, ImportError):
        return None


def try_download_stopwords(timeout_s: float = 5.0) -> bool:
    """Try nltk.download('stopwords') for at most timeout_s seconds; never hangs, never raises."""
    result: list[bool] = []

    def target() -> None:
        try:
            import nltk

            result.append(bool(nltk.download("stopwords", quiet=True, raise_on_error=False,
                                              print_error_to=io.StringIO())))
        except Exception:  # offline, proxy, read-only home: the bundled copy is the answer
            result.append(False)

    thread = threading.Thread(target=target, daemon=True, name="nltk-stopwords-download")
    thread.start()
    thread.join(timeout_s)
    return bool(result and result[0])


@lru_cache(maxsize=4)
def load_stopwords(download: bool = True, timeout_s: float = 5.0) -> StopWords:
    """NLTK's English stop words: the installed corpus; else a short download attempt (if allowed);
    else the bundled copy. `source` says which one was used."""
    words = nltk_corpus_stopwords()
    if words is not None:
        return StopWords(frozenset(words), "nltk corpus")
    if download and try_download_stopwords(timeout_s):
        words = nltk_corpus_stopwords()
        if words is not None:
            return StopWords(frozenset(words), "nltk corpus (downloaded now)")
    reason = "download failed or timed out" if download else "download skipped"
    return StopWords(frozenset(bundled_stopwords()),
                     f"bundled copy {BUNDLED_STOPWORDS.name} (NLTK corpus not installed; {reason})")


# ---------------------------------------------------------------------------------------------
# 3. stemming and lemmatization

_VOWELS = set("aeiou")
_IRREGULAR = {
    # nouns
    "men": "man", "women": "woman", "children": "child", "mice": "mouse", "geese": "goose",
    "feet": "foot", "teeth": "tooth", "oxen": "ox", "knives": "knife", "wives": "wife", "lives": "life",
    "leaves": "leaf", "shelves": "shelf", "wolves": "wolf", "halves": "half", "loaves": "loaf",
    "calves": "calf", "scarves": "scarf", "buses": "bus", "busses": "bus", "tomatoes": "tomato",
    "potatoes": "potato", "heroes": "hero", "people": "people", "police": "police", "cactus": "cactus",
    "bases": "base", "gases": "gas", "skis": "ski", "taxis": "taxi",
    # verbs
    "is": "be", "are": "be", "was": "be", "were": "be", "been": "be", "has": "have", "had": "have",
    "does": "do", "did": "do", "done": "do", "ran": "run", "sat": "sit", "stood": "stand", "ate": "eat",
    "eaten": "eat", "took": "take", "taken": "take", "made": "make", "went": "go", "gone": "go",
    "rode": "ride", "ridden": "ride", "flew": "fly", "flown": "fly", "held": "hold", "lying": "lie",
    "lay": "lie", "using": "use", "used": "use", "seen": "see", "saw": "see", "left": "leave",
    "caught": "catch", "thrown": "throw", "threw": "throw", "built": "build", "drove": "drive",
    "driven": "drive", "hung": "hang", "grew": "grow", "grown": "grow", "swam": "swim",
    "wore": "wear", "worn": "wear", "dying": "die", "tying": "tie", "tied": "tie", "lit": "light",
    "fed": "feed", "led": "lead", "got": "get", "gotten": "get", "came": "come",
}
# -ing / -ed words that are (also) nouns or adjectives and stay as they are.
_KEEP = {
    "building", "ceiling", "clothing", "morning", "evening", "something", "anything", "nothing",
    "everything", "thing", "king", "ring", "wing", "spring", "string", "swing", "during", "icing",
    "frosting", "railing", "awning", "topping", "wedding", "pudding", "stuffing", "sibling",
    "bed", "red", "shed", "sled", "speed", "seed", "need", "feed", "weed", "reed", "breed", "hundred",
    "bread", "head", "sped", "wed", "shred", "tired", "sacred", "naked", "wicked", "crooked", "this",
    "bus", "gas", "grass", "glass", "class", "mass", "dress", "tennis", "news", "series", "species",
    "pants", "jeans", "scissors", "shorts", "various", "famous", "its", "his", "hers", "yes", "chess", "clothes",
    "always", "christmas", "canvas", "towards", "sideways", "outdoors", "indoors", "backwards", "afterwards",
}
_ADD_E_AFTER = ("c", "v", "z", "rg", "dg", "lg")  # danc(e), serv(e), graz(e), charg(e), judg(e), bulg(e)


def _vowel_groups(word: str) -> int:
    return len(re.findall(r"[aeiouy]+", word))


def _restore_base(stem: str) -> str:
    """Undo the spelling change of an -ing / -ed ending: runn -> run, rid -> ride, danc -> dance."""
    if len(stem) >= 3 and stem[-1] == stem[-2] and stem[-1] not in _VOWELS:
        return stem if stem[-1] in "lsz" else stem[:-1]  # fill, dress, buzz keep the double letter
    if stem.endswith(_ADD_E_AFTER) or (stem.endswith("at") and _vowel_groups(stem) > 1):
        return stem + "e"  # decorat -> decorate
    if (len(stem) >= 3 and _vowel_groups(stem) == 1 and stem[-1] not in _VOWELS and stem[-1] not in "wxy"
            and stem[-2] in _VOWELS and stem[-3] not in _VOWELS):
        return stem + "e"  # single-syllable consonant-vowel-consonant: rid -> ride, mak -> make
    return stem


def lemmatize_word(word: str) -> str:
    """Offline, rule-based English lemma of a lower-case word: plural nouns -> singular,
    verb -s / -ing / -ed forms -> base form (with irregular forms from a small table).

    Used when WordNet's corpus is not installed; deterministic, no data files.
    """
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if len(word) <= 3 or word in _KEEP:
        return word
    if word.endswith("ing") and len(word) > 5:
        stem = word[:-3]
        if any(c in _VOWELS or c == "y" for c in stem):
            return _restore_base(stem)
        return word
    if word.endswith("ied") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("ed") and len(word) > 4 and not word.endswith("eed"):
        stem = word[:-2]
        if any(c in _VOWELS for c in stem):
            return _restore_base(stem)
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("sses") or word.endswith(("xes", "ches", "shes", "zzes")):
        return word[:-2]
    if word.endswith(("ss", "us", "is")):
        return word
    if word.endswith("s"):
        return word[:-1]
    return word


def _wordnet_lemmatizer() -> Callable[[str], str] | None:
    """WordNet lemma (noun first, then verb) when the WordNet corpus is installed, else None."""
    try:
        from nltk.stem import WordNetLemmatizer

        lemmatizer = WordNetLemmatizer()
        lemmatizer.lemmatize("dogs")  # raises LookupError when the corpus is missing
    except (LookupError, OSError, ImportError):
        return None

    def lemma(word: str) -> str:
        noun = lemmatizer.lemmatize(word, "n")
        return noun if noun != word else lemmatizer.lemmatize(word, "v")

    return lemma


@lru_cache(maxsize=4)
def word_normalizer(kind: str, lemmatizer: str = "auto") -> tuple[Callable[[str], str], str]:
    """(function word -> normalized word, description) for kind 'stem', 'lemma' or 'none'.

    lemmatizer: 'auto' (WordNet if installed, else rules), 'wordnet' or 'rules'.
    """
    if kind == "none":
        return (lambda w: w), "none"
    if kind == "stem":
        from nltk.stem.snowball import SnowballStemmer

        return SnowballStemmer("english").stem, "Snowball (English) stemmer"
    if kind != "lemma":
        raise ValueError(f"normalizer must be one of {NORMALIZERS}, not {kind!r}")
    if lemmatizer not in ("auto", "wordnet", "rules"):
        raise ValueError(f"lemmatizer must be 'auto', 'wordnet' or 'rules', not {lemmatizer!r}")
    if lemmatizer in ("auto", "wordnet"):
        wordnet = _wordnet_lemmatizer()
        if wordnet is not None:
            return wordnet, "WordNet lemmatizer (nltk corpus)"
        if lemmatizer == "wordnet":
            raise LookupError("the WordNet corpus is not installed; run nltk.download('wordnet') or use "
                              "lemmatizer='rules' (the offline rule-based lemmatizer)")
    return lemmatize_word, "rule-based offline lemmatizer (helpers.text.preprocessing.lemmatize_word)"


# ---------------------------------------------------------------------------------------------
# the configuration of one preprocessing variant


@dataclass(frozen=True)
class TextConfig:
    """How captions become token ids. The defaults are the reference pipeline."""

    keep_stopwords: bool = False
    normalizer: str = "stem"  # "stem" (Snowball) | "lemma" | "none"
    max_len: int = 20  # tokens kept per caption; reference: 20, 25 when stop words are kept
    fit_on: str = "all_train"  # dictionary rows: "all_train" (every train.csv row, the reference) | "train_split"
    min_count: int = 1  # a word enters the dictionary when it occurs at least this often (reference: 1)
    lemmatizer: str = "auto"  # for normalizer "lemma": "auto" (WordNet if installed, else rules) | "wordnet" | "rules"
    non_letters: str = "space"  # "space": non-letters split words (t-shirt -> t shirt) | "delete": t-shirt -> tshirt

    def __post_init__(self) -> None:
        if self.normalizer not in NORMALIZERS:
            raise ValueError(f"normalizer must be one of {NORMALIZERS}, not {self.normalizer!r}")
        if self.non_letters not in NON_LETTER_RULES:
            raise ValueError(f"non_letters must be one of {NON_LETTER_RULES}, not {self.non_letters!r}")
        if self.fit_on not in FIT_ON:
            raise ValueError(f"fit_on must be one of {FIT_ON}, not {self.fit_on!r}")
        if self.max_len < 1 or self.min_count < 1:
            raise ValueError(f"max_len and min_count must be >= 1 (got {self.max_len}, {self.min_count})")


def variant_config(variant: str, settings: TextSettings | None = None, **overrides: object) -> TextConfig:
    """The TextConfig of one of TEXT_VARIANTS; max lengths from the profile's TextSettings;
    overrides (e.g. fit_on, min_count) apply to every variant."""
    from helpers.core.profiles import TextSettings

    settings = settings or TextSettings()
    base = TextConfig(max_len=settings.max_len)
    per_variant = {
        "standard": {},
        "stopwords": {"keep_stopwords": True, "max_len": settings.max_len_with_stopwords},
        "nostem": {"normalizer": "none"},
        "lemma": {"normalizer": "lemma"},
    }
    if variant not in per_variant:
        raise ValueError(f"unknown text variant {variant!r}; choose one of {TEXT_VARIANTS}")
    return replace(base, **{**per_variant[variant], **overrides})


class Preprocessor:
    """Caption -> list of tokens for one TextConfig (clean, drop stop words, stem / lemmatize)."""

    def __init__(self, config: TextConfig, stopwords: StopWords | None = None, download: bool = True):
        self.config = config
        self.stopwords = stopwords or load_stopwords(download)
        self._normalize, self.normalizer_name = word_normalizer(config.normalizer, config.lemmatizer)
        self._memo: dict[str, str] = {}

    def _norm(self, word: str) -> str:
        out = self._memo.get(word)
        if out is None:
            out = self._memo[word] = self._normalize(word)
        return out

    def tokens(self, caption: str) -> list[str]:
        words = clean_words(caption, self.config.non_letters)
        if not self.config.keep_stopwords:
            stop = self.stopwords.words
            words = [w for w in words if w not in stop]
        return [self._norm(w) for w in words]

    def tokenize_all(self, captions: Iterable[str]) -> list[list[str]]:
        return [self.tokens(c) for c in captions]

    def describe(self) -> dict:
        """What the cache key and the tables need to know about this preprocessor."""
        return {**asdict(self.config), "normalizer_used": self.normalizer_name,
                "stopwords_source": self.stopwords.source,
                "stopwords_hash": stable_hash(sorted(self.stopwords.words))}


# ---------------------------------------------------------------------------------------------
# 4. dictionary and 5. encoding


def build_vocab(token_lists: Iterable[Sequence[str]], min_count: int = 1) -> list[str]:
    """[-PAD-, -OOV-, words...]: words seen at least min_count times, most frequent first, ties alphabetical."""
    counts = Counter(w for tokens in token_lists for w in tokens)
    words = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
    return [PAD, OOV, *words]


def encode(token_lists: Sequence[Sequence[str]], vocab: Sequence[str], max_len: int
           ) -> tuple[torch.Tensor, torch.Tensor]:
    """(ids (n, max_len) int64, lengths (n,) int64): unknown words -> -OOV-, first max_len tokens kept,
    post-padded with -PAD-; an empty caption becomes one -OOV- token (length 1)."""
    index = {w: i for i, w in enumerate(vocab)}
    n = len(token_lists)
    lengths = np.fromiter((min(len(t), max_len) for t in token_lists), dtype=np.int64, count=n)
    flat = [index.get(w, OOV_INDEX) for t in token_lists for w in t[:max_len]]
    ids = np.full((n, max_len), PAD_INDEX, dtype=np.int64)
    rows = np.repeat(np.arange(n), lengths)
    cols = np.arange(len(flat)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    ids[rows, cols] = np.asarray(flat, dtype=np.int64)
    empty = lengths == 0
    ids[empty, 0] = OOV_INDEX
    lengths[empty] = 1
    return torch.from_numpy(ids), torch.from_numpy(lengths)


def decode(ids: torch.Tensor, length: int, vocab: Sequence[str]) -> list[str]:
    """Token ids of one row back to words (for reading examples)."""
    return [vocab[int(i)] for i in ids[:length]]


# ---------------------------------------------------------------------------------------------
# the cache notebook 04 reads


@dataclass
class EncodedText:
    """Encoded captions of one variant: train / val are run.split's rows of dataset.train, test is dataset.test."""

    variant: str
    vocab: list[str]
    max_len: int
    train_ids: np.ndarray
    val_ids: np.ndarray
    test_ids: np.ndarray
    train_tokens: torch.Tensor
    val_tokens: torch.Tensor
    test_tokens: torch.Tensor
    train_lengths: torch.Tensor
    val_lengths: torch.Tensor
    test_lengths: torch.Tensor
    train_Y: torch.Tensor
    val_Y: torch.Tensor
    config: dict = field(default_factory=dict)

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def to_state(self) -> dict:
        """Only tensors, strings and numbers: loadable with torch.load(weights_only=True)."""
        state = {k: v for k, v in self.__dict__.items() if not k.endswith("_ids")}
        state.update({f"{s}_ids": [str(i) for i in getattr(self, f"{s}_ids")] for s in ("train", "val", "test")})
        return state

    @classmethod
    def from_state(cls, state: dict) -> EncodedText:
        state = dict(state)
        for s in ("train", "val", "test"):
            state[f"{s}_ids"] = np.asarray(state[f"{s}_ids"], dtype=str)
        state.pop("key", None)
        return cls(**state)


def encoded_path(paths: RunPaths, variant: str) -> Path:
    return paths.text_cache / f"{variant}.pt"


def encode_dataset(dataset, split: tuple[np.ndarray, np.ndarray], variant: str, config: TextConfig,
                   stopwords: StopWords | None = None, download: bool = True) -> EncodedText:
    """Tokenize every caption once, fit the dictionary on config.fit_on rows, encode train / val / test."""
    train_rows, val_rows = (np.asarray(r) for r in split)
    pre = Preprocessor(config, stopwords, download)
    train_tokens = pre.tokenize_all(dataset.train["Caption"])
    test_tokens = pre.tokenize_all(dataset.test["Caption"])
    vocab = build_vocab((train_tokens[i] for i in fit_rows(len(train_tokens), split, config)), config.min_count)
    ids = dataset.train["ImageID"].to_numpy(dtype=str)
    Y = torch.from_numpy(np.asarray(dataset.Y, dtype=np.float32))
    parts = {}
    for name, rows in (("train", train_rows), ("val", val_rows)):
        parts[f"{name}_tokens"], parts[f"{name}_lengths"] = encode([train_tokens[i] for i in rows], vocab,
                                                                   config.max_len)
        parts[f"{name}_ids"] = ids[rows]
        parts[f"{name}_Y"] = Y[torch.from_numpy(rows.astype(np.int64))]
    parts["test_tokens"], parts["test_lengths"] = encode(test_tokens, vocab, config.max_len)
    parts["test_ids"] = dataset.test["ImageID"].to_numpy(dtype=str)
    return EncodedText(variant=variant, vocab=vocab, max_len=config.max_len, config=pre.describe(), **parts)


def fit_rows(n_train: int, split: tuple[np.ndarray, np.ndarray], config: TextConfig) -> np.ndarray:
    """Rows of dataset.train the dictionary is fitted on: all of them, or the training split's."""
    return np.asarray(split[0]) if config.fit_on == "train_split" else np.arange(n_train)


def dictionary_size(captions: Iterable[str], config: TextConfig, stopwords: StopWords | None = None) -> int:
    """Entries (with -PAD- and -OOV-) of the dictionary `config` fits on `captions`."""
    return len(build_vocab(Preprocessor(config, stopwords).tokenize_all(captions), config.min_count))


def save_encoded(path: Path, encoded: EncodedText, key: str) -> Path:
    with atomic_path(path) as tmp:
        torch.save({**encoded.to_state(), "key": key}, tmp)
    return path


def _read_state(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)


def load_encoded(paths: RunPaths, variant: str = "standard", fingerprint: str | None = None) -> EncodedText:
    """The encoded captions notebook 02 saved; with fingerprint, also check they belong to this data."""
    path = encoded_path(paths, variant)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no encoded captions for text variant {variant!r}; run notebook "
                                "02_text_preprocessing first (same DATA_DIR and OUT_DIR).")
    encoded = EncodedText.from_state(_read_state(path))
    if fingerprint is not None and encoded.config.get("fingerprint") != fingerprint:
        raise ValueError(f"{path} was encoded from other data (fingerprint {encoded.config.get('fingerprint')}, "
                         f"this data {fingerprint}); rerun notebook 02_text_preprocessing.")
    return encoded


def encode_all_variants(run: Run, variants: Sequence[str] = TEXT_VARIANTS, download: bool = True,
                        **overrides: object) -> dict[str, EncodedText]:
    """Encode every variant for this run and save each to run.paths.text_cache/<variant>.pt (atomically).

    A saved file whose key (data fingerprint, split, config, stop word list, normalizer) matches is
    reused unless run.fresh. overrides (fit_on, min_count, lemmatizer) apply to every variant.
    """
    dataset = run.dataset
    split = run.split
    stopwords = load_stopwords(download)
    out: dict[str, EncodedText] = {}
    for variant in variants:
        config = variant_config(variant, run.profile.text, **overrides)
        pre = Preprocessor(config, stopwords, download)
        split_hash = stable_hash([np.asarray(r).tolist() for r in split])
        key = stable_hash({"format": CACHE_FORMAT, "fingerprint": run.fingerprint, "split": split_hash,
                           "variant": variant, **{k: v for k, v in pre.describe().items() if k != "stopwords_source"}})
        path = encoded_path(run.paths, variant)
        if path.is_file() and not run.fresh:
            state = _read_state(path)
            if state.get("key") == key:
                out[variant] = EncodedText.from_state(state)
                continue
        encoded = encode_dataset(dataset, split, variant, config, stopwords, download)
        encoded.config.update({"fingerprint": run.fingerprint, "split_hash": split_hash, "key": key})
        save_encoded(path, encoded, key)
        out[variant] = encoded
    return out


# ---------------------------------------------------------------------------------------------
# tables and counts for notebook 02


def token_counts(captions: Iterable[str], config: TextConfig, stopwords: StopWords | None = None) -> np.ndarray:
    """Tokens per caption after preprocessing with `config`, before padding / truncation."""
    pre = Preprocessor(config, stopwords)
    return np.array([len(pre.tokens(c)) for c in captions], dtype=np.int64)


def preprocessing_examples(captions: Sequence[str], image_ids: Sequence[str], configs: dict[str, TextConfig],
                           stopwords: StopWords | None = None) -> pd.DataFrame:
    """table02: each original caption beside its tokens under every variant."""
    table = pd.DataFrame({"ImageID": list(image_ids), "original caption": list(captions)})
    for variant, config in configs.items():
        pre = Preprocessor(config, stopwords)
        table[f"{variant}: {VARIANT_TITLES.get(variant, variant)}"] = [" ".join(pre.tokens(c)) for c in captions]
    return table


def _oov_share(tokens: torch.Tensor, lengths: torch.Tensor) -> float:
    return float((tokens == OOV_INDEX).sum()) / max(int(lengths.sum()), 1) * 100


def dictionary_sizes_table(encoded: dict[str, EncodedText], fit_captions: Sequence[str] | None = None,
                           configs: dict[str, TextConfig] | None = None,
                           stopwords: StopWords | None = None) -> pd.DataFrame:
    """table04: dictionary entries per variant (with -PAD- and -OOV-) beside the reference study's, and
    how the encoded captions look (tokens per caption, rows filling max_len, unknown-word rates).

    With fit_captions and configs, a column gives the size under the other cleaning reading
    (non-letters deleted rather than turned into spaces)."""
    rows = []
    for variant, enc in encoded.items():
        other = None
        if fit_captions is not None and configs is not None:
            flipped = "delete" if configs[variant].non_letters == "space" else "space"
            other = dictionary_size(fit_captions, replace(configs[variant], non_letters=flipped), stopwords)
        rows.append({
            "variant": variant,
            "preprocessing": VARIANT_TITLES.get(variant, variant),
            "word normalizer used": enc.config.get("normalizer_used", ""),
            "dictionary entries (incl. -PAD-, -OOV-)": enc.vocab_size,
            "reference study, real train.csv": REFERENCE_DICTIONARY_SIZES.get(variant, "not reported"),
            "max_len (tokens)": enc.max_len,
            "mean tokens per training caption": float(enc.train_lengths.float().mean()),
            "training rows using all max_len tokens (%)": float((enc.train_lengths == enc.max_len).float().mean())
            * 100,
            "-OOV- share of validation tokens (%)": _oov_share(enc.val_tokens, enc.val_lengths),
            "-OOV- share of test tokens (%)": _oov_share(enc.test_tokens, enc.test_lengths),
            "dictionary fitted on": enc.config.get("fit_on", ""),
        })
        if other is not None:
            reading = "non-letters deleted, t-shirt -> tshirt" if flipped == "delete" else "non-letters -> spaces"
            rows[-1][f"dictionary entries if {reading}"] = other
    return pd.DataFrame(rows)


def encoded_examples(encoded: EncodedText, n: int = 3) -> pd.DataFrame:
    """The first n training rows as notebook 04 sees them: ids, true length, decoded tokens."""
    return pd.DataFrame({
        "ImageID": encoded.train_ids[:n],
        "token ids": [" ".join(str(int(i)) for i in row) for row in encoded.train_tokens[:n]],
        "length": [int(v) for v in encoded.train_lengths[:n]],
        "decoded": [" ".join(decode(row, int(length), encoded.vocab))
                    for row, length in zip(encoded.train_tokens[:n], encoded.train_lengths[:n], strict=True)],
    })
