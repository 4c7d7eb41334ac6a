"""Language-model text: the vocabulary of a Transformer LM and its sentences as batches of unit ids.

The text is one sentence per line, words separated by spaces (as ``asrkit prepare lm-text`` writes it). The
units are words (the vocabulary: every word of the training text seen ``min_count`` times, most frequent
first) or the pieces of a sentencepiece model. Index 0 is ``</s>``, index 1 ``<unk>``: a word outside the
vocabulary is read as ``<unk>``, as KenLM reads it.

A sentence ``w1 .. wn`` is the input ``</s> w1 .. wn`` and the target ``w1 .. wn </s>``.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import torch

from ..utf8 import read_utf8

EOS, UNK = "</s>", "<unk>"
SPECIALS = (EOS, UNK)


class LMTextError(ValueError):
    """Text or a vocabulary that a Transformer LM cannot use."""


def read_sentences(path: str | Path) -> list[list[str]]:
    """The non-empty lines of a text file, split into words."""
    path = Path(path)
    if not path.is_file():
        raise LMTextError(f"{path}: LM text not found")
    lines = [line.split() for line in read_utf8(path, LMTextError).splitlines()]
    sentences = [w for w in lines if w]
    if not sentences:
        raise LMTextError(f"{path}: no sentence in it (one sentence per line, words separated by spaces)")
    return sentences


class LMVocabulary:
    """Units of a Transformer LM: ``tokens[0] = </s>``, ``tokens[1] = <unk>``; words, or sentencepiece pieces
    when ``sentencepiece`` (a ``.model`` path) is given."""

    def __init__(self, tokens: Sequence[str], sentencepiece: str | Path | None = None):
        tokens = list(tokens)
        if tokens[:2] != list(SPECIALS) or len(tokens) < 3:
            raise LMTextError(f"an LM vocabulary starts with {EOS}, {UNK} and has at least one unit; "
                              f"got {tokens[:5]}")
        self.tokens, self.index = tokens, {t: i for i, t in enumerate(tokens)}
        self.eos, self.unk = 0, 1
        self.sp = None
        if sentencepiece:
            import sentencepiece as spm

            if not Path(sentencepiece).is_file():
                raise LMTextError(f"{sentencepiece}: sentencepiece model not found")
            self.sp = spm.SentencePieceProcessor(model_file=str(sentencepiece))

    def __len__(self) -> int:
        return len(self.tokens)

    @classmethod
    def build(cls, sentences: Iterable[Sequence[str]], *, min_count: int = 1,
              sentencepiece: str | Path | None = None) -> LMVocabulary:
        """Words of ``sentences`` seen at least ``min_count`` times, most frequent first (ties alphabetical);
        with ``sentencepiece`` the model's pieces (its own ``<unk>``, ``<s>``, ``</s>`` aside)."""
        if sentencepiece:
            import sentencepiece as spm

            if not Path(sentencepiece).is_file():
                raise LMTextError(f"{sentencepiece}: sentencepiece model not found")
            sp = spm.SentencePieceProcessor(model_file=str(sentencepiece))
            pieces = [sp.id_to_piece(i) for i in range(sp.get_piece_size())
                      if not (sp.is_unknown(i) or sp.is_control(i))]
            return cls([*SPECIALS, *(p for p in pieces if p not in SPECIALS)], sentencepiece)
        counts = Counter(w for s in sentences for w in s)
        words = sorted((w for w, c in counts.items() if c >= min_count and w not in SPECIALS and w != "<s>"),
                       key=lambda w: (-counts[w], w))
        if not words:
            raise LMTextError(f"empty vocabulary: no word occurs {min_count} time(s) or more in the training text")
        return cls([*SPECIALS, *words])

    def word_units(self, word: str) -> list[int]:
        """The unit ids of one word (one id for a word-level vocabulary; ``<unk>`` for an unknown one)."""
        if self.sp is None:
            return [self.index.get(word, self.unk)]
        return [self.index.get(p, self.unk) for p in self.sp.encode(word, out_type=str)]

    def encode(self, words: Sequence[str]) -> list[int]:
        """Unit ids of a sentence, without ``</s>``."""
        return [u for w in words for u in self.word_units(w)]

    def is_oov(self, word: str) -> bool:
        return self.unk in self.word_units(word)


class LMTextDataset:
    """Sentences as unit ids, for :class:`asrkit.train.loop.Trainer`: ``sizes`` (units per sentence, ``</s>``
    included: batches are bounded by units), ``ids``, ``collate``, ``set_epoch``."""

    def __init__(self, sentences: Sequence[Sequence[str]], vocab: LMVocabulary, max_units: int = 0):
        encoded = [vocab.encode(s) for s in sentences]
        if max_units:  # learned positions end somewhere: longer sentences are cut there
            encoded = [u[:max_units - 1] for u in encoded]
        self.units = encoded
        self.words = [len(s) for s in sentences]  # a word may span several sentencepiece units
        self.sizes = np.array([len(u) + 1 for u in encoded], dtype=np.int64)
        self.ids = [f"line{i + 1}" for i in range(len(encoded))]
        self.eos = vocab.eos

    def __len__(self) -> int:
        return len(self.units)

    def __getitem__(self, i: int) -> tuple[str, list[int], int]:
        return self.ids[i], self.units[i], self.words[i]

    def set_epoch(self, epoch: int) -> None:
        pass

    def collate(self, items: list[tuple[str, list[int], int]]) -> dict:
        """``source`` ``</s> w1 .. wn`` and ``target`` ``w1 .. wn </s>`` (N, L), right-padded: the padding,
        after every real position, is invisible to the causal attention; its targets are -100 (ignored).
        ``words``: the batch's words (for per-word perplexity)."""
        width = max(len(u) for _, u, _ in items) + 1
        source = torch.full((len(items), width), self.eos, dtype=torch.long)
        target = torch.full((len(items), width), -100, dtype=torch.long)
        for i, (_, u, _) in enumerate(items):
            source[i, 1:len(u) + 1] = torch.tensor(u, dtype=torch.long)
            target[i, :len(u) + 1] = torch.tensor([*u, self.eos], dtype=torch.long)
        return {"ids": [utt for utt, _, _ in items], "source": source, "target": target,
                "words": sum(w for _, _, w in items)}
