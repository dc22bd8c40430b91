"""A tiny randomly initialised BERT and WordPiece tokenizer saved in a folder: a real local encoder, no network."""
from __future__ import annotations

import inspect
from pathlib import Path

WORDS = ["a", "the", "man", "woman", "dog", "cat", "car", "bus", "red", "blue", "on", "with", "street", "grass",
         "sits", "runs", "plane", "sky", "train", "track", "boat", "water", "pizza", "table", "of", "and", "in"]


def tiny_encoder_folder(folder: Path, seed: int = 0) -> Path:
    """Save a tiny BertModel (hidden 32, 2 layers, 2 heads) and its WordPiece tokenizer into `folder`."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS, *[f"##{c}" for c in "abcdefghijklmnopqrstuvwxyz"]]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    if "vocab" in inspect.signature(BertTokenizerFast.__init__).parameters:  # transformers >= 5
        tokenizer = BertTokenizerFast(vocab={word: i for i, word in enumerate(vocab)})
    else:
        tokenizer = BertTokenizerFast(vocab_file=str(folder / "vocab.txt"))
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=37, max_position_embeddings=64)
    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    model = BertModel(config)
    torch.random.set_rng_state(state)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
