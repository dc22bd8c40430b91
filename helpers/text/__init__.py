"""Caption preprocessing, the reference pipeline step by step; notebooks use `from helpers import text`.

1. `preprocessing.clean_words`: lower case; every character that is not a letter a-z becomes a space; split.
2. `stopwords`: NLTK's English list removed (installed corpus, one short download attempt, or the bundled copy).
3. `preprocessing.word_normalizer`: Snowball stems, lemmas (WordNet, or the offline rules of `lemmatizer`), or neither.
4. `vocabulary`: a dictionary with -PAD- (0) and -OOV- (1), then every word of the fitting rows, most frequent first.
5. `vocabulary.encode`: token ids post-padded or truncated to max_len (20; 25 when stop words are kept)
   plus the true lengths; a caption left empty by cleaning is one -OOV- token of length 1.

`preprocessing` also names the four variants notebook 04 compares (TEXT_VARIANTS, VARIANT_TITLES,
variant_config) and applies steps 1-3 (Preprocessor); `encoding` writes and reads the encoded tensors
notebook 04 trains on, under helpers.core.handoff.encoded_captions_path.
"""
from helpers.core.handoff import encoded_captions_path
from helpers.text.encoding import (
    CACHE_FORMAT,
    EncodedText,
    encode_all_variants,
    encode_dataset,
    load_encoded,
    save_encoded,
)
from helpers.text.lemmatizer import lemmatize_word
from helpers.text.preprocessing import (
    FIT_ON,
    NON_LETTER_RULES,
    NORMALIZERS,
    TEXT_VARIANTS,
    VARIANT_LABELS,
    VARIANT_TITLES,
    Preprocessor,
    TextConfig,
    clean_words,
    raw_word_counts,
    token_counts,
    variant_config,
    word_normalizer,
)
from helpers.text.stopwords import StopWords, bundled_stopwords, load_stopwords
from helpers.text.vocabulary import (
    OOV,
    OOV_INDEX,
    PAD,
    PAD_INDEX,
    build_vocab,
    decode,
    dictionary_size,
    encode,
    fit_rows,
)

__all__ = [
    "CACHE_FORMAT", "FIT_ON", "NON_LETTER_RULES", "NORMALIZERS", "OOV", "OOV_INDEX", "PAD", "PAD_INDEX",
    "TEXT_VARIANTS", "VARIANT_LABELS", "VARIANT_TITLES", "EncodedText", "Preprocessor", "StopWords", "TextConfig",
    "build_vocab",
    "bundled_stopwords", "clean_words", "decode", "dictionary_size", "encode", "encode_all_variants",
    "encode_dataset", "encoded_captions_path", "fit_rows", "lemmatize_word", "load_encoded", "load_stopwords",
    "raw_word_counts", "save_encoded", "token_counts", "variant_config", "word_normalizer",
]
