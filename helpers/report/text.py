"""The caption report of notebooks 01 and 02: caption-length figures, notebook 02's tables and its findings.

Figures: raw words per caption (fig05, notebook 01) and tokens after cleaning (fig06 without stop words,
fig13 with them, notebook 02), with the real train.csv's shares as markers. Tables of notebook 02: table02
examples, table04 dictionary sizes, the encoded rows notebook 04 sees. `findings` is notebook 02's closing
"What we found" paragraph, generated from the computed values.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import torch
from matplotlib.ticker import MaxNLocator

from helpers.core.config import RunPaths
from helpers.core.facts import load_facts
from helpers.core.handoff import encoded_captions_path
from helpers.text import (
    OOV_INDEX,
    VARIANT_TITLES,
    EncodedText,
    Preprocessor,
    StopWords,
    TextConfig,
    decode,
    dictionary_size,
)
from helpers.text.preprocessing import clean_words


def reference_caption_word_counts() -> dict[int, int]:
    """Rows by raw caption word count in the real train.csv (for fig05)."""
    return {int(k): int(v) for k, v in load_facts()["caption_word_counts"].items()}


TAIL_SHARE = 0.1  # % of the captions (the longest) left off the x-axis and counted in the legend
MIN_MARKER_SHARE = 0.05  # % of the real captions below which a reference marker is not drawn


def axis_end(counts: np.ndarray, tail_share: float = TAIL_SHARE) -> int:
    """The smallest length with at most tail_share % of the captions longer than it (1 without captions)."""
    counts = np.sort(np.asarray(counts, dtype=int))
    if not len(counts):
        return 1
    allowed = int(np.floor(len(counts) * tail_share / 100))
    return int(counts[len(counts) - 1 - allowed])


def plot_word_count_distribution(counts: np.ndarray, title: str, xlabel: str = "words per caption",
                                 reference: dict[int, int] | None = None, cutoff: int | None = None) -> plt.Figure:
    """Share of captions per word count (fig05, fig06, fig13), with min / mean / max in the legend.

    The x-axis spans this data's range up to where all but TAIL_SHARE % of the captions lie (and the cut-off): the
    longer tail, too rare to see as a bar, is counted in the legend instead of stretching the axis. Reference markers
    are drawn where the real train.csv has at least MIN_MARKER_SHARE % of its captions (a marker at 0 would look like
    data); the rest are counted in the legend. cutoff draws the encoder's max_len (longer captions are truncated).
    The legend sits under the axes, so no line or bar runs through it.
    """
    counts = np.asarray(counts, dtype=int)
    values, freq = np.unique(counts, return_counts=True)
    fig, ax = plt.subplots(figsize=(9, 4.6))
    low = int(counts.min()) if len(counts) else 0
    high = max(axis_end(counts), cutoff or 0)
    label = (f"this data: min {counts.min()}, mean {counts.mean():.1f}, max {counts.max()}"
             if len(counts) else "no captions")
    longer = float((counts > high).mean() * 100) if len(counts) else 0.0
    if longer:
        label += f"; {longer:.2f} % longer than {high} words, not drawn"
    drawn = values <= high
    ax.bar(values[drawn], freq[drawn] / max(len(counts), 1) * 100, width=0.85, color=sns.color_palette()[0],
           label=label)
    if reference:
        ref_x = np.array(sorted(reference))
        ref_y = np.array([reference[v] for v in ref_x]) / sum(reference.values()) * 100
        shown = (ref_x >= low) & (ref_x <= high) & (ref_y >= MIN_MARKER_SHARE)
        hidden = ref_y[~shown].sum()
        note = (f"; {hidden:.2f} % of them not drawn (beyond this axis or under {MIN_MARKER_SHARE} % per length)"
                if (~shown).any() else "")
        ax.plot(ref_x[shown], ref_y[shown], "o", markerfacecolor="none", markeredgecolor="black", markersize=5,
                zorder=3, label=f"real train.csv: {ref_x.min()} to {ref_x.max()} words{note}")
    if cutoff is not None:
        beyond = float((counts > cutoff).mean() * 100) if len(counts) else 0.0
        ax.axvline(cutoff + 0.5, color="black", linestyle="--", linewidth=1,
                   label=f"max_len = {cutoff}: {beyond:.2f} % of captions are truncated")
    ax.set_xlim(low - 1, high + 1)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(xlabel)
    ax.set_ylabel("share of captions (%)")
    ax.set_title(title)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=1, frameon=False)
    fig.tight_layout()
    return fig


# Dictionary sizes (entries including -PAD- and -OOV-) the reference study reports on the real train.csv.
REFERENCE_DICTIONARY_SIZES = {"standard": 4793, "stopwords": 4903, "nostem": 6907}
SIZE_COLUMN = "dictionary entries (incl. -PAD-, -OOV-)"
TRUNCATED_COLUMN = "training rows using all max_len tokens (%)"
OOV_VAL_COLUMN = "-OOV- share of validation tokens (%)"
OOV_TEST_COLUMN = "-OOV- share of test tokens (%)"
DELETED_COLUMN = "dictionary entries if non-letters deleted, t-shirt -> tshirt"


def preprocessing_examples(captions: Sequence[str], image_ids: Sequence[str], configs: dict[str, TextConfig],
                           stopwords: StopWords | None = None) -> pd.DataFrame:
    """table02: each original caption beside its tokens under every variant."""
    table = pd.DataFrame({"ImageID": list(image_ids), "original caption": list(captions)})
    for variant, config in configs.items():
        pre = Preprocessor(config, stopwords)
        table[f"{variant}: {VARIANT_TITLES.get(variant, variant)}"] = [" ".join(pre.tokens(c)) for c in captions]
    return table


def cleaning_examples(captions: Sequence[str], configs: Mapping[str, TextConfig], stopwords: StopWords,
                      n: int = 3) -> str:
    """One generated sentence naming, from these captions only, what stemming and lemmatizing change and which stop
    words go: the examples above table02 are taken from the table itself, never typed."""
    stem = Preprocessor(configs["standard"], stopwords) if "standard" in configs else None
    lemma = Preprocessor(configs["lemma"], stopwords) if "lemma" in configs else None
    words = list(dict.fromkeys(w for c in captions for w in clean_words(c, configs["standard"].non_letters)))
    content = [w for w in words if w not in stopwords.words]

    def changes(pre: Preprocessor | None) -> list[str]:
        pairs = [(w, pre.tokens(w)) for w in content] if pre is not None else []
        return [f"*{w}* → *{t[0]}*" for w, t in pairs if t and t[0] != w][:n]

    parts = []
    if stemmed := changes(stem):
        parts.append(f"stemming turns {', '.join(stemmed)}")
    if lemmatized := changes(lemma):
        parts.append(f"the lemmatizer turns {', '.join(lemmatized)}")
    if dropped := [f"*{w}*" for w in words if w in stopwords.words][:n + 2]:
        parts.append(f"stop-word removal drops {', '.join(dropped)}")
    if not parts:
        return "In these captions no word is changed by stemming or lemmatizing and none is a stop word."
    return "In these captions " + "; ".join(parts) + "."


def variants_overview(configs: Mapping[str, TextConfig], stopwords: StopWords) -> str:
    """Where the stop words came from, then one line per variant: its title, max_len and the normalizer it uses."""
    lines = [f"{len(stopwords.words)} stop words, from: {stopwords.source}"]
    for variant, config in configs.items():
        lines.append(f"{variant:10s} {VARIANT_TITLES[variant]}; max_len {config.max_len}; "
                     f"normalizer: {Preprocessor(config, stopwords).normalizer_name}")
    return "\n".join(lines)


def encoded_files_overview(encoded: Mapping[str, EncodedText], paths: RunPaths) -> str:
    """One line per variant's hand-off file to notebook 04: its path, dictionary size, tensor shapes and size."""
    lines = []
    for variant, enc in encoded.items():
        path = encoded_captions_path(paths, variant)
        lines.append(f"{path}: vocab {enc.vocab_size}, train {tuple(enc.train_tokens.shape)}, "
                     f"val {tuple(enc.val_tokens.shape)}, test {tuple(enc.test_tokens.shape)}, "
                     f"{path.stat().st_size / 1e6:.1f} MB")
    return "\n".join(lines)


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
        rows.append({
            "variant": variant,
            "preprocessing": VARIANT_TITLES.get(variant, variant),
            "word normalizer used": enc.config.get("normalizer_used", ""),
            SIZE_COLUMN: enc.vocab_size,
            "reference study, real train.csv": REFERENCE_DICTIONARY_SIZES.get(variant, "not reported"),
            "max_len (tokens)": enc.max_len,
            "mean tokens per training caption": float(enc.train_lengths.float().mean()),
            TRUNCATED_COLUMN: float((enc.train_lengths == enc.max_len).float().mean()) * 100,
            OOV_VAL_COLUMN: _oov_share(enc.val_tokens, enc.val_lengths),
            OOV_TEST_COLUMN: _oov_share(enc.test_tokens, enc.test_lengths),
            "dictionary fitted on": enc.config.get("fit_on", ""),
        })
        if fit_captions is not None and configs is not None:
            flipped = "delete" if configs[variant].non_letters == "space" else "space"
            other = dictionary_size(fit_captions, replace(configs[variant], non_letters=flipped), stopwords)
            reading = DELETED_COLUMN if flipped == "delete" else "dictionary entries if non-letters -> spaces"
            rows[-1][reading] = other
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


def _truncation(counts: np.ndarray, max_len: int, what: str) -> str:
    share = float((counts > max_len).mean() * 100) if len(counts) else 0.0
    if share == 0:
        return f"no caption {what} is cut at max_len {max_len} (the longest has {int(counts.max())} tokens)"
    return f"{share:.2f} % of the captions {what} lose words at max_len {max_len}"


def _reference_comparison(sizes: Mapping[str, int]) -> str:
    pairs = [(v, sizes[v], ref) for v, ref in REFERENCE_DICTIONARY_SIZES.items() if v in sizes]
    if not pairs:
        return ""
    ratios = [size / ref for _, size, ref in pairs]
    listed = ", ".join(f"{size:,} against {ref:,} ({v})" for v, size, ref in pairs)
    if all(abs(r - 1) <= 0.01 for r in ratios):
        verdict = "all within 1 % of the reference: the preprocessing reproduces the reference study's"
    elif max(ratios) < 0.5:
        verdict = (f"at most {max(ratios) * 100:.0f} % of the reference's: expected on the built-in demo data, whose "
                   "captions come from a small word list; on the real train.csv it would mean the preprocessing "
                   "differs from the reference's")
    else:
        worst = max(ratios, key=lambda r: abs(r - 1))
        verdict = (f"up to {abs(worst - 1) * 100:.0f} % away from the reference's: on the real train.csv, check the "
                   "cleaning reading (last column of table04) and the stop word list")
    return f"Against the reference study's sizes on the real train.csv: {listed}; {verdict}."


def findings(table04: pd.DataFrame, raw_counts: np.ndarray, token_counts: Mapping[str, np.ndarray],
                  configs: Mapping[str, TextConfig], stopwords: StopWords) -> str:
    """Markdown paragraph closing notebook 02, every number taken from the arguments.

    table04 is dictionary_sizes_table's output; raw_counts the raw words per training caption;
    token_counts the tokens per training caption after cleaning for some variants (e.g. standard, stopwords).
    """
    rows = table04.set_index("variant")
    sizes = {v: int(rows.loc[v, SIZE_COLUMN]) for v in rows.index}
    raw_mean = float(np.mean(raw_counts))
    parts = [f"**What we found.** The {len(stopwords.words)} stop words came from: {stopwords.source}."]
    means = {v: float(np.mean(c)) for v, c in token_counts.items()}
    if "standard" in means:
        sentence = (f"Raw training captions have {raw_mean:.1f} words on average; cleaning and removing stop words "
                    f"leaves {means['standard']:.1f} tokens ({(1 - means['standard'] / raw_mean) * 100:.0f} % fewer)")
        if "stopwords" in means:
            sentence += f", keeping the stop words {means['stopwords']:.1f}"
        parts.append(sentence + ".")
    cuts = [_truncation(token_counts[v], configs[v].max_len, "with stop words kept" if v == "stopwords" else
                        "without stop words") for v in token_counts if v in configs]
    if cuts:
        parts.append("Truncation: " + "; ".join(cuts) + ".")
    if {"standard", "nostem"} <= sizes.keys():
        merged = sizes["nostem"] - sizes["standard"]
        sentence = (f"Stemming merges word forms: {sizes['nostem']:,} dictionary entries without it, "
                    f"{sizes['standard']:,} with it ({merged / sizes['nostem'] * 100:.0f} % fewer)")
        if "lemma" in sizes:
            lemma = sizes["lemma"]
            where = ("even fewer than stems" if lemma < sizes["standard"] else
                     "more than without any normalizing" if lemma > sizes["nostem"] else "between the two")
            sentence += f"; lemmas give {lemma:,}, {where}"
        parts.append(sentence + ".")
    if "stopwords" in sizes and "standard" in sizes:
        parts.append(f"Keeping the stop words adds {sizes['stopwords'] - sizes['standard']:,} entries.")
    comparison = _reference_comparison(sizes)
    if comparison:
        parts.append(comparison)
    if "standard" in rows.index:
        std = rows.loc["standard"]
        sentence = (f"With the dictionary fitted on `{std['dictionary fitted on']}` rows, "
                    f"{std[OOV_VAL_COLUMN]:.2f} % of the validation tokens and {std[OOV_TEST_COLUMN]:.2f} % of the "
                    "test tokens are unknown (-OOV-)")
        if std["dictionary fitted on"] == "all_train" and std[OOV_VAL_COLUMN] == 0:
            sentence += "; 0 % on validation is by construction, since validation rows are part of train.csv"
        parts.append(sentence + ".")
        if DELETED_COLUMN in rows.columns:
            parts.append(f"Deleting non-letters instead of splitting on them would give {int(std[DELETED_COLUMN]):,} "
                         f"entries instead of {sizes['standard']:,}.")
    return " ".join(parts)
