"""Step 3: one word -> its normalized form: Snowball stem, lemma (WordNet or the offline rules) or unchanged."""
from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from helpers.text.lemmatizer import lemmatize_word

NORMALIZERS = ("stem", "lemma", "none")
LEMMATIZERS = ("auto", "wordnet", "rules")


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
    if lemmatizer not in LEMMATIZERS:
        raise ValueError(f"lemmatizer must be 'auto', 'wordnet' or 'rules', not {lemmatizer!r}")
    if lemmatizer in ("auto", "wordnet"):
        wordnet = _wordnet_lemmatizer()
        if wordnet is not None:
            return wordnet, "WordNet lemmatizer (nltk corpus)"
        if lemmatizer == "wordnet":
            raise LookupError("the WordNet corpus is not installed; run nltk.download('wordnet') or use "
                              "lemmatizer='rules' (the offline rule-based lemmatizer)")
    return lemmatize_word, "rule-based offline lemmatizer (helpers.text.lemmatizer.lemmatize_word)"
