"""helpers.report.text: caption-length figures, notebook 02's tables and its generated findings."""
from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import numpy as np

from helpers import text
from helpers.report import text as text_lengths
from helpers.text import stopwords as stopword_lists
from helpers.text import variant_config
from tests.text_fakes import BUNDLED, STOP, TEST, TRAIN, write_tiny_data  # noqa: F401

matplotlib.use("Agg")


def test_dictionary_sizes_table_reports_every_variant(tiny_run):
    from helpers.report import text as text_tables

    encoded = text.encode_all_variants(tiny_run, download=False)
    configs = {v: variant_config(v, tiny_run.profile.text) for v in encoded}
    captions = tiny_run.dataset.train["Caption"]
    table = text_tables.dictionary_sizes_table(encoded, captions, configs, STOP).set_index("variant")
    sizes = table["dictionary entries (incl. -PAD-, -OOV-)"]
    assert sizes.to_dict() == {v: len(e.vocab) for v, e in encoded.items()}
    assert sizes["stopwords"] > sizes["standard"] and sizes["nostem"] >= sizes["standard"]
    assert table.loc["standard", "reference study, real train.csv"] == 4793
    assert table.loc["standard", "-OOV- share of validation tokens (%)"] == 0  # dictionary fitted on all rows
    assert text.dictionary_size(captions, configs["standard"], STOP) == sizes["standard"]
    assert table.filter(like="non-letters deleted").shape[1] == 1
    examples = text_tables.encoded_examples(encoded["standard"], n=2)
    assert len(examples) == 2 and (examples["length"] >= 1).all()


def test_findings_are_built_from_the_computed_values(tiny_run):
    from helpers.report import text as text_tables

    encoded = text.encode_all_variants(tiny_run, download=False)
    configs = {v: variant_config(v, tiny_run.profile.text) for v in encoded}
    captions = tiny_run.dataset.train["Caption"]
    table = text_tables.dictionary_sizes_table(encoded, captions, configs, STOP)
    raw = text.raw_word_counts(captions)
    counts = {v: text.token_counts(captions, configs[v], STOP) for v in ("standard", "stopwords")}
    found = text_tables.findings(table, raw, counts, configs, STOP)
    sizes = table.set_index("variant")["dictionary entries (incl. -PAD-, -OOV-)"]
    assert found.startswith("**What we found.**") and STOP.source in found
    assert f"{raw.mean():.1f} words on average" in found and f"leaves {counts['standard'].mean():.1f} tokens" in found
    assert f"{sizes['nostem']:,} dictionary entries without it, {sizes['standard']:,} with it" in found
    assert "no caption without stop words is cut at max_len 20" in found  # the tiny captions are short
    assert "expected on the built-in demo data" in found  # tiny dictionaries, far below the reference
    assert "0 % on validation is by construction" in found
    # A truncated caption and sizes near the reference change what is said.
    counts["standard"] = np.array([3, 30, 4, 5])
    near = table.copy()
    near.loc[near["variant"] == "standard", "dictionary entries (incl. -PAD-, -OOV-)"] = 4800
    near.loc[near["variant"] == "stopwords", "dictionary entries (incl. -PAD-, -OOV-)"] = 4900
    near.loc[near["variant"] == "nostem", "dictionary entries (incl. -PAD-, -OOV-)"] = 6900
    found = text_tables.findings(near, raw, counts, configs, STOP)
    assert "25.00 % of the captions without stop words lose words at max_len 20" in found
    assert "all within 1 % of the reference" in found


def _bbox(fig: plt.Figure, artist) -> matplotlib.transforms.Bbox:
    return artist.get_window_extent(fig.canvas.get_renderer())


def test_word_count_axis_spans_the_data_and_the_legend_stays_clear_of_the_plot():
    counts = np.array([7, 8, 8, 9, 12, 37])
    real = text_lengths.reference_caption_word_counts()
    fig = text_lengths.plot_word_count_distribution(counts, "raw", reference=real)
    ax = fig.axes[0]
    assert ax.get_xlim() == (6, 38)  # the data's range, not the real data's 7 to 49
    legend = ax.get_legend()
    legend_text = " ".join(t.get_text() for t in legend.get_texts())
    assert "not drawn (beyond this axis or under 0.05 % per length)" in legend_text
    shown, heights = ax.lines[0].get_xdata(), ax.lines[0].get_ydata()
    assert shown.min() >= 7 and shown.max() <= 37 and len(shown) > 10  # real markers inside the range stay
    assert heights.min() >= 0.05  # no hollow marker sits at 0 looking like data
    long_tail = np.array([10] * 1999 + [40])  # 0.05 % of the captions at 40 words: no empty tail to it
    fig = text_lengths.plot_word_count_distribution(long_tail, "raw")
    assert fig.axes[0].get_xlim() == (9, 11)
    assert "0.05 % longer than 10 words, not drawn" in fig.axes[0].get_legend().get_texts()[0].get_text()
    fig = text_lengths.plot_word_count_distribution(counts, "raw", reference=real)
    ax, legend = fig.axes[0], fig.axes[0].get_legend()
    fig.canvas.draw()
    assert _bbox(fig, legend).y1 <= _bbox(fig, ax).y0  # under the axes: no bar or line runs through it

    fig = text_lengths.plot_word_count_distribution(np.array([3, 4, 5, 6]), "tokens", cutoff=20)
    ax = fig.axes[0]
    assert ax.get_xlim() == (2, 21) and ax.lines[-1].get_xdata()[0] == 20.5  # the max_len line is on the axis
    fig.canvas.draw()
    assert _bbox(fig, ax.get_legend()).y1 <= _bbox(fig, ax).y0
    plt.close("all")


def test_overviews_name_every_variant_and_every_hand_off_file(tiny_run):
    configs = {v: variant_config(v, tiny_run.profile.text) for v in text.TEXT_VARIANTS}
    overview = text_lengths.variants_overview(configs, STOP).splitlines()
    assert overview[0] == f"{len(STOP.words)} stop words, from: bundled copy (test)"
    assert [line.split()[0] for line in overview[1:]] == list(text.TEXT_VARIANTS)
    assert text.VARIANT_TITLES["stopwords"] in overview[2] and f"max_len {configs['stopwords'].max_len}" in overview[2]
    encoded = text.encode_all_variants(tiny_run, download=False)
    files = text_lengths.encoded_files_overview(encoded, tiny_run.paths).splitlines()
    assert len(files) == len(encoded)
    path = text.encoded_captions_path(tiny_run.paths, "lemma")
    assert path.is_file() and files[3].startswith(f"{path}: vocab {encoded['lemma'].vocab_size}, train (")


def test_cleaning_examples_come_from_the_captions_shown():
    configs = {v: variant_config(v) for v in ("standard", "lemma")}
    stop = stopword_lists.StopWords(frozenset({"a", "the", "on"}), "test")
    found = text_lengths.cleaning_examples(["A man riding the horses", "a dog on grass"], configs, stop)
    assert "stemming turns *riding* → *ride*" in found and "*horses* → *hors*" in found
    assert "stop-word removal drops *a*, *the*, *on*" in found
    assert "horse" not in text_lengths.cleaning_examples(["a dog on grass"], configs, stop)  # never typed
    assert "no word is changed" in text_lengths.cleaning_examples(["grass"], configs, stop)
