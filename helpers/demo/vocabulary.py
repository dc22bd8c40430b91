"""The words of the demo captions (helpers/resources/demo_vocabulary.json) and how a label mention is recognised.

Per-label tables are keyed by COCO label id. Nouns are (singular, plural) pairs, the first one the
most common name; every form of them is a "mention" of the label. Every other phrase (places,
scenes, extras, adjectives, predicates, interactions) names no label, so the mention rates stay as fitted.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from helpers.core.config import DEMO_VOCABULARY_FILE
from helpers.core.files import read_json
from helpers.core.labels import LABEL_IDS


@dataclass(frozen=True)
class CaptionVocabulary:
    nouns: dict[int, list[tuple[str, str]]]
    adjectives: dict[int, list[str]]
    general_adjectives: list[str]  # for any object but a person
    size_adjectives: frozenset[str]  # a noun phrase takes at most one adjective of each kind
    colour_adjectives: frozenset[str]
    age_adjectives: frozenset[str]
    predicates: dict[int, list[str]]  # "A dog running ..."
    interactions: dict[int, list[str]]  # what a person does with an object: "A man riding a horse"
    default_interactions: list[str]
    places: dict[int, list[str]]
    street_places: list[str]
    scenes: list[str]  # captions that name no label: "A view of a busy intersection ..."
    scene_tails: list[str]
    extras: list[str]  # phrases that lengthen a caption to its drawn word count
    quoted_extras: list[str]  # the real captions' unescaped inner quotes
    slashed_extras: list[str]
    quantifiers: list[list[str]]

    def adjective_kind(self, adjective: str) -> str:
        """Size, colour, age or the adjective itself: a noun phrase takes one adjective of each kind."""
        for kind, words in (("size", self.size_adjectives), ("colour", self.colour_adjectives),
                            ("age", self.age_adjectives)):
            if adjective in words:
                return kind
        return adjective

    def fillers(self) -> list[str]:
        """Every phrase that must name no label."""
        phrases = (self.street_places + self.scenes + self.scene_tails + self.extras + self.quoted_extras
                   + self.slashed_extras + self.general_adjectives + self.default_interactions)
        for table in (self.places, self.predicates, self.interactions, self.adjectives):
            phrases += [phrase for options in table.values() for phrase in options]
        return phrases


@lru_cache(maxsize=1)
def caption_vocabulary() -> CaptionVocabulary:
    """The demo captions' word lists, read once from config.DEMO_VOCABULARY_FILE."""
    data = read_json(DEMO_VOCABULARY_FILE)

    def by_label(table: dict[str, list]) -> dict[int, list]:
        return {int(label): options for label, options in table.items()}

    return CaptionVocabulary(
        nouns={int(label): [(s, p) for s, p in pairs] for label, pairs in data["nouns"].items()},
        adjectives=by_label(data["adjectives"]), general_adjectives=data["general_adjectives"],
        size_adjectives=frozenset(data["size_adjectives"]), colour_adjectives=frozenset(data["colour_adjectives"]),
        age_adjectives=frozenset(data["age_adjectives"]), predicates=by_label(data["predicates"]),
        interactions=by_label(data["interactions"]), default_interactions=data["default_interactions"],
        places=by_label(data["places"]), street_places=data["street_places"], scenes=data["scenes"],
        scene_tails=data["scene_tails"], extras=data["extras"], quoted_extras=data["quoted_extras"],
        slashed_extras=data["slashed_extras"], quantifiers=data["quantifiers"],
    )


@lru_cache(maxsize=1)
def _mention_patterns() -> dict[int, re.Pattern[str]]:
    nouns = caption_vocabulary().nouns
    patterns = {}
    for label in LABEL_IDS:
        forms = sorted({form for pair in nouns[label] for form in pair}, key=len, reverse=True)
        patterns[label] = re.compile(r"\b(?:" + "|".join(re.escape(f) for f in forms) + r")\b", re.IGNORECASE)
    return patterns


def mentioned_labels(caption: str) -> set[int]:
    """Labels whose name or synonym appears in a caption (how the mention rates are measured)."""
    return {label for label, pattern in _mention_patterns().items() if pattern.search(caption)}
