"""The caption grammar of the demo data set.

Every label is named with its real mention rate when present and when absent (`caption_mentions` in
the facts file), through synonyms (man, people, bike, jet, puppy...), in templates such as "A man
riding a horse in a grassy field." The lengths are the real word-count histogram, exactly rounded,
and filled with scene words that name no label. Then the real CSV quirks are added: inner quotes
left unescaped, commas, slashes, a few embedded newlines and captions ending with a slash.
"""
from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import numpy as np

from helpers.core.facts import load_facts
from helpers.core.labels import LABEL_IDS
from helpers.demo.sampling import REAL_ROWS, histogram_draw
from helpers.demo.vocabulary import caption_vocabulary

# Per 30,000 captions, as in the real train.csv; at least one each from 1,000 rows on.
NEWLINES_PER_30000 = 4
TRAILING_SLASHES_PER_30000 = 4
INNER_QUOTE_RATE = 0.004
SLASH_RATE = 0.004
COMMA_RATE = 0.05


class _NounPhrase:
    """Quantifier + adjectives + noun; adjectives can be added later to lengthen the caption."""

    def __init__(self, label: int, rng: random.Random, plural_rate: float) -> None:
        nouns = caption_vocabulary().nouns[label]
        self.label = label
        singular, plural = rng.choice(nouns[:1] * 2 + nouns)  # the usual name twice as often
        self.plural = rng.random() < plural_rate
        self.quantifier = rng.choice(caption_vocabulary().quantifiers) if self.plural else [
            rng.choice(["a", "a", "a", "the"])]
        self.noun = (plural if self.plural else singular).split()
        self.adjectives: list[str] = []

    def add_adjective(self, rng: random.Random) -> bool:
        if len(self.adjectives) >= 2:
            return False
        vocab = caption_vocabulary()
        general = vocab.general_adjectives if self.label != 1 else []
        taken = {vocab.adjective_kind(a) for a in self.adjectives}  # no "white gray cat", no "young old man"
        options = [a for a in vocab.adjectives[self.label] + general if vocab.adjective_kind(a) not in taken]
        if not options:
            return False
        adjective = rng.choice(options)
        if adjective in vocab.size_adjectives:  # "a big black dog", not "a black big dog"
            self.adjectives.insert(0, adjective)
        else:
            self.adjectives.append(adjective)
        return True

    def words(self) -> list[str]:
        words = self.quantifier + self.adjectives + self.noun
        if words[0] == "a" and words[1][0] in "aeiou":
            words = ["an", *words[1:]]
        return words


def _choose_mentions(labels: Sequence[int], rng: random.Random) -> list[int]:
    """Labels this caption names: each with its real rate when present / when absent; people first."""
    rates = load_facts()["caption_mentions"]
    present = set(labels)
    chosen = [label for label in LABEL_IDS
              if rng.random() < rates[str(label)]["mention_rate_when_present" if label in present
                                                  else "mention_rate_when_absent"]]
    rng.shuffle(chosen)
    chosen.sort(key=lambda label: label != 1)
    return chosen


class _CaptionPlan:
    """The fixed core of a caption plus what can be added to it to reach a target length."""

    def __init__(self, labels: Sequence[int], rng: random.Random) -> None:
        vocab = caption_vocabulary()
        mentions = _choose_mentions(labels, rng)
        self.phrases = [_NounPhrase(label, rng, 0.45 if label == 1 else 0.12) for label in mentions]
        self.core: list[Any] = []  # words (str) and noun phrases
        self.places = list(vocab.street_places)
        if not mentions:
            scene = rng.choice(vocab.scenes).split()
            self.core = [*scene]
        elif len(mentions) >= 2 and mentions[0] == 1 and rng.random() < 0.7:
            person, other, *rest = self.phrases
            verb = rng.choice(vocab.interactions.get(other.label, vocab.default_interactions)).split()
            self.core = [person, *verb, other]
            if rest:
                self.core += [rng.choice(["with", "next to", "near"]), *self._joined(rest)]
            self.places = vocab.places.get(other.label, []) + vocab.street_places
        else:
            head = self.phrases[0]
            self.core = self._joined(self.phrases)
            if rng.random() < 0.8:
                self.core += rng.choice(vocab.predicates[head.label]).split()
            self.places = vocab.places.get(head.label, []) + vocab.street_places
        self.scene_only = not mentions

    @staticmethod
    def _joined(phrases: list[_NounPhrase]) -> list[Any]:
        """'a dog, a cat and a bird'."""
        out: list[Any] = []
        for i, phrase in enumerate(phrases):
            if i:
                out.append("and" if i == len(phrases) - 1 else ",")  # "," is glued to the word before
            out.append(phrase)
        return out

    def length(self) -> int:
        return sum(len(p.words()) if isinstance(p, _NounPhrase) else (p != ",") for p in self.core)

    def render(self, target: int, rng: random.Random) -> str:
        """Grow the core with a place, extra phrases and adjectives until it has `target` words."""
        vocab = caption_vocabulary()
        tail: list[str] = []

        def remaining() -> int:
            return target - self.length() - len(tail)

        scene_tails = [t for t in vocab.scene_tails if len(t.split()) <= remaining()]
        if self.scene_only and scene_tails and rng.random() < 0.7:
            tail += rng.choice(scene_tails).split()
        special = ([vocab.quoted_extras] * (rng.random() < INNER_QUOTE_RATE)
                   + [vocab.slashed_extras] * (rng.random() < SLASH_RATE))
        for options in special:
            phrase = rng.choice(options).split()
            if len(phrase) <= remaining():
                tail += phrase
        places = [p for p in self.places if len(p.split()) <= remaining()]
        if places and rng.random() < 0.85:
            tail += rng.choice(places).split()
        used: set[str] = set()
        while remaining() > 0:
            if remaining() <= 2 and self.phrases and rng.random() < 0.7:
                if rng.choice(self.phrases).add_adjective(rng):
                    continue
            room = remaining()
            if tail and room >= 3 and rng.random() < 0.12:
                tail.append("and")
                room -= 1
            elif tail and rng.random() < COMMA_RATE:
                tail[-1] += ","
            fitting = [e for e in vocab.extras if len(e.split()) <= room and (room == 1 or " " in e)]
            fresh = [e for e in fitting if e not in used]
            extra = rng.choice(fresh or fitting)
            used.add(extra)
            tail += extra.split()
        words: list[str] = []
        for part in self.core:
            if part == ",":
                words[-1] += ","
            elif isinstance(part, _NounPhrase):
                words += part.words()
            else:
                words.append(part)
        return _finish(words + tail, rng)


def _finish(words: list[str], rng: random.Random) -> str:
    """Capitalise and punctuate like COCO captions: mostly 'A man ....', sometimes no period."""
    text = " ".join(words)
    if rng.random() < 0.93:
        text = text[0].upper() + text[1:]
    if rng.random() < 0.85:
        text += "."
    return text


def _fit_lengths(lengths: list[int], needed: list[int], rng: random.Random) -> None:
    """Swap lengths between rows so that each row gets at least its core's length; keeps the histogram."""
    n = len(lengths)
    for i in range(n):
        if lengths[i] >= needed[i]:
            continue
        for _ in range(500):
            j = rng.randrange(n)
            if lengths[j] >= needed[i] and lengths[i] >= needed[j]:
                lengths[i], lengths[j] = lengths[j], lengths[i]
                break


def quirk_count(n_rows: int, per_30000: int) -> int:
    """How many captions get a rare quirk: the real rate, but at least one from 1,000 rows on."""
    return max(round(per_30000 * n_rows / REAL_ROWS), 1 if n_rows >= 1000 else 0)


def _add_rare_quirks(captions: list[str], rng: random.Random) -> None:
    """Embedded newlines and a slash before the closing quote, in place, on distinct captions."""
    plain = [i for i, c in enumerate(captions) if '"' not in c and len(c.split()) > 2]
    n_newlines = quirk_count(len(captions), NEWLINES_PER_30000)
    n_slashes = quirk_count(len(captions), TRAILING_SLASHES_PER_30000)
    chosen = rng.sample(plain, min(len(plain), n_newlines + n_slashes))
    for i in chosen[:n_newlines]:
        words = captions[i].split(" ")
        cut = rng.randrange(1, len(words))
        captions[i] = " ".join(words[:cut]) + "\n" + " ".join(words[cut:])
    for i in chosen[n_newlines:]:
        captions[i] = captions[i].rstrip(".") + "/"


def make_captions(label_sets: Sequence[Sequence[int]], seed: int = 0) -> list[str]:
    """One caption per label set, with the real length histogram, mention rates and CSV quirks."""
    rng = random.Random(seed)
    plans = [_CaptionPlan(labels, rng) for labels in label_sets]
    word_counts = {int(k): v for k, v in load_facts()["caption_word_counts"].items()}
    lengths = histogram_draw(word_counts, len(plans), np.random.default_rng(seed)).tolist()
    _fit_lengths(lengths, [plan.length() for plan in plans], rng)
    captions = [plan.render(length, rng) for plan, length in zip(plans, lengths, strict=True)]
    _add_rare_quirks(captions, rng)
    return captions
