"""The built-in demo data set (synthetic images and captions in the COMP5329 format).

Modules: sampling (seeds, exact rounding), label_sets (fitted to the real statistics), vocabulary
(caption words, a data file) and captions (the grammar), sketch / objects / shapes (image drawing),
generator (writes the files). Command line: python -m helpers.demo.
"""
from helpers.demo.generator import MANIFEST, generate_demo_data

__all__ = ["MANIFEST", "generate_demo_data"]
