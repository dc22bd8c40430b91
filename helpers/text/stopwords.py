"""Step 2: NLTK's English stop words, from the installed corpus, one short download attempt, or the bundled copy.

Because cleaning already split contractions ("don't" -> "don", "t"), the list's entries with an
apostrophe never match anything; NLTK versions that differ only in those entries give the same tokens.
"""
from __future__ import annotations

import io
import threading
from dataclasses import dataclass
from functools import lru_cache

from helpers.core.config import STOPWORDS_FILE


@dataclass(frozen=True)
class StopWords:
    """NLTK's English stop word list and where it came from."""

    words: frozenset[str]
    source: str  # "nltk corpus", "nltk corpus (downloaded now)" or "bundled copy (...)"


def bundled_stopwords() -> list[str]:
    """The copy of NLTK's English list shipped with the project (179 words; NLTK stopwords corpus
    as distributed up to 2023, the version the reference study used)."""
    return [w for w in STOPWORDS_FILE.read_text(encoding="utf-8").split() if w]


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
                     f"bundled copy {STOPWORDS_FILE.name} (NLTK corpus not installed; {reason})")
