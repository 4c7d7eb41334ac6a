"""Output vocabularies for CTC fine-tuning.

- ``CharTokenizer``: characters plus a word-boundary token, as wav2vec 2.0 §3.3 (LibriSpeech:
  26 letters, apostrophe and ``|``), index 0 being the CTC blank;
- ``SentencePieceTokenizer``: a sentencepiece model (unigram/BPE), index 0 the blank and the
  pieces after it.

Both save to / load from one file (``tokens.txt`` or ``*.model``) and expose ``tokens``
(the list the decoders use), ``encode`` and ``decode``.
"""
from __future__ import annotations

from pathlib import Path

from ..utf8 import read_utf8

BLANK = "<blank>"
WORD_BOUNDARY = "|"
LIBRISPEECH_CHARS = tuple("ABCDEFGHIJKLMNOPQRSTUVWXYZ'")


class TokenizerError(ValueError):
    pass


class CharTokenizer:
    """``<blank>``, ``|``, then the characters; text words are separated by ``|``."""

    kind = "char"

    def __init__(self, chars=LIBRISPEECH_CHARS):
        self.tokens = [BLANK, WORD_BOUNDARY, *chars]
        self._index = {t: i for i, t in enumerate(self.tokens)}
        self.blank = 0

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, text: str) -> list[int]:
        """``"HI THERE"`` -> ids of ``H I | T H E R E`` (no boundary at the ends)."""
        ids = []
        for w, word in enumerate(text.split()):
            if w:
                ids.append(self._index[WORD_BOUNDARY])
            for ch in word:
                if ch not in self._index:
                    raise TokenizerError(f"character {ch!r} in {text!r} is not in the vocabulary")
                ids.append(self._index[ch])
        return ids

    def decode(self, ids) -> str:
        return "".join(self.tokens[i] for i in ids if i != self.blank).replace(WORD_BOUNDARY, " ").strip()

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text("\n".join(self.tokens) + "\n", encoding="utf-8")
        return path


class SentencePieceTokenizer:
    """A sentencepiece model; ids shift by one so that 0 is the CTC blank."""

    kind = "spm"

    def __init__(self, model_path: str | Path):
        import sentencepiece as spm

        self.model_path = Path(model_path)
        self.sp = spm.SentencePieceProcessor(model_file=str(self.model_path))
        self.tokens = [BLANK] + [self.sp.id_to_piece(i) for i in range(self.sp.get_piece_size())]
        self.blank = 0

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, text: str) -> list[int]:
        return [i + 1 for i in self.sp.encode(text)]

    def decode(self, ids) -> str:
        return self.sp.decode([i - 1 for i in ids if i != self.blank])


def train_sentencepiece(text_file: str | Path, model_prefix: str | Path, vocab_size: int = 256,
                        model_type: str = "unigram") -> SentencePieceTokenizer:
    """Train a sentencepiece model on ``text_file`` (one sentence per line)."""
    import sentencepiece as spm

    spm.SentencePieceTrainer.train(
        input=str(text_file), model_prefix=str(model_prefix), vocab_size=vocab_size, model_type=model_type,
        character_coverage=1.0, bos_id=-1, eos_id=-1, unk_id=0, minloglevel=2,
    )
    return SentencePieceTokenizer(f"{model_prefix}.model")


def load_tokenizer(path: str | Path) -> CharTokenizer | SentencePieceTokenizer:
    """``*.model`` -> sentencepiece; otherwise a ``tokens.txt`` written by ``CharTokenizer.save``."""
    path = Path(path)
    if not path.is_file():
        raise TokenizerError(f"{path}: tokenizer file not found")
    if path.suffix == ".model":
        return SentencePieceTokenizer(path)
    tokens = read_utf8(path, TokenizerError).splitlines()
    if len(tokens) < 3 or tokens[0] != BLANK or tokens[1] != WORD_BOUNDARY:
        raise TokenizerError(f"{path}: expected '{BLANK}' then '{WORD_BOUNDARY}' then one character per line")
    return CharTokenizer(tuple(tokens[2:]))
