"""Output vocabularies for CTC fine-tuning.

- ``CharTokenizer``: characters plus a word-boundary token, as wav2vec 2.0 §3.3 (LibriSpeech:
  26 letters, apostrophe and ``|``), index 0 being the CTC blank;
- ``SentencePieceTokenizer``: a sentencepiece model (unigram/BPE), index 0 the blank and the
  pieces after it;
- ``PhoneTokenizer``: phones (by default the 39-class set of :mod:`asrkit.data.phones`, TIMIT's scoring
  set, wav2vec 2.0 §5.3: 38 phones, its silence class has no token; 39 outputs with the blank), index 0
  the blank; a text is its space-separated phones, with no word boundary.

Each saves to / loads from one file (``tokens.txt`` or ``*.model``; ``data.tokenizer: phones`` names
the 39 phones without a file) and exposes ``tokens`` (the list the decoders use), ``encode`` and
``decode``. :func:`token_unit` tells from a token list alone (a checkpoint's) which kind wrote it.
"""
from __future__ import annotations

from pathlib import Path

from ..utf8 import read_utf8
from .phones import PHONES

BLANK = "<blank>"
WORD_BOUNDARY = "|"
LIBRISPEECH_CHARS = tuple("ABCDEFGHIJKLMNOPQRSTUVWXYZ'")
SPM_WORD_START = "\u2581"  # sentencepiece's mark of a word start
PHONE_SET = "phones"  # data.tokenizer value naming PhoneTokenizer() (the 39 phones) without a tokens file


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


class PhoneTokenizer:
    """``<blank>``, then the phones; a text is its phones separated by spaces (``"dh ah k ae t"``)."""

    kind = "phone"

    def __init__(self, phones=PHONES):
        bad = [p for p in phones if not p or p.split() != [p] or p in (BLANK, WORD_BOUNDARY)
               or p.startswith(SPM_WORD_START)]
        if bad:
            raise TokenizerError(f"phone {bad[0]!r}: a phone is one token without spaces, not '{BLANK}', "
                                 f"'{WORD_BOUNDARY}' or a sentencepiece piece")
        self.tokens = [BLANK, *phones]
        self._index = {t: i for i, t in enumerate(self.tokens)}
        self.blank = 0

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, text: str) -> list[int]:
        ids = []
        for p in text.split():
            if p not in self._index or p == BLANK:
                raise TokenizerError(f"phone {p!r} in {text!r} is not in the phone set")
            ids.append(self._index[p])
        return ids

    def decode(self, ids) -> str:
        return " ".join(self.tokens[i] for i in ids if i != self.blank)

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text("\n".join(self.tokens) + "\n", encoding="utf-8")
        return path


def token_unit(tokens) -> str:
    """What a CTC model's token list (blank first) spells: ``"char"`` (it holds the word boundary ``|``),
    ``"spm"`` (sentencepiece pieces, some starting a word with ``\u2581``) or ``"phone"`` (neither: each token
    one unit, texts space-separated, as :class:`PhoneTokenizer` writes them)."""
    if WORD_BOUNDARY in tokens:
        return "char"
    if any(t.startswith(SPM_WORD_START) for t in tokens):
        return "spm"
    return "phone"


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


def load_tokenizer(path: str | Path) -> CharTokenizer | SentencePieceTokenizer | PhoneTokenizer:
    """``phones`` -> the 39 phones; ``*.model`` -> sentencepiece; otherwise a ``tokens.txt`` written by
    ``CharTokenizer.save`` (``|`` second) or ``PhoneTokenizer.save`` (no ``|``)."""
    if str(path) == PHONE_SET:
        return PhoneTokenizer()
    path = Path(path)
    if not path.is_file():
        raise TokenizerError(f"{path}: tokenizer file not found")
    if path.suffix == ".model":
        return SentencePieceTokenizer(path)
    tokens = read_utf8(path, TokenizerError).splitlines()
    if len(tokens) >= 2 and tokens[0] == BLANK and WORD_BOUNDARY not in tokens:
        try:
            return PhoneTokenizer(tuple(tokens[1:]))
        except TokenizerError as e:
            raise TokenizerError(f"{path}: {e}") from None
    if len(tokens) < 3 or tokens[0] != BLANK or tokens[1] != WORD_BOUNDARY:
        raise TokenizerError(f"{path}: expected '{BLANK}' then '{WORD_BOUNDARY}' then one character per line "
                             f"(or '{BLANK}' then one phone per line)")
    return CharTokenizer(tuple(tokens[2:]))
