"""N-gram language models for CTC beam search: KenLM training, checks, perplexity, lexicon.

wav2vec 2.0 §4.4 decodes with the official LibriSpeech 4-gram through the flashlight lexicon
decoder. :func:`train_ngram` builds such a model with KenLM's ``lmplz`` (modified Kneser-Ney)
and ``build_binary``, compiled into ``tools/bin`` by ``make tools``; the ``kenlm`` Python
module only queries models. :func:`build_lexicon` writes the flashlight lexicon
(``WORD<TAB>W O R D |``) that restricts the search to words the LM knows.
"""
from __future__ import annotations

import gzip
import logging
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..data.tokenizer import LIBRISPEECH_CHARS, WORD_BOUNDARY, load_tokenizer
from ..utf8 import read_utf8

log = logging.getLogger(__name__)

# tools/ of the source checkout (make tools); ASRKIT_TOOLS overrides, PATH is the last resort
_CHECKOUT_TOOLS = Path(__file__).resolve().parents[2] / "tools"
_BINARY_MAGIC = b"mmap lm http://kheafield.com/code"
LM_SPECIAL_WORDS = frozenset({"<s>", "</s>", "<unk>"})


class LMToolsMissing(FileNotFoundError):
    """``lmplz`` / ``build_binary`` are not built."""


class LMError(ValueError):
    """A language model (or its training text) that cannot be used."""


def find_lm_tools(tools_dir: str | Path | None = None) -> tuple[Path, Path]:
    """Paths of ``lmplz`` and ``build_binary``: ``tools_dir/bin``, else ``$ASRKIT_TOOLS/bin``,
    else the checkout's ``tools/bin``, else ``PATH``."""
    if tools_dir is not None:
        candidates = [Path(tools_dir) / "bin"]
    else:
        candidates = [Path(os.environ["ASRKIT_TOOLS"]) / "bin"] if os.environ.get("ASRKIT_TOOLS") else []
        candidates.append(_CHECKOUT_TOOLS / "bin")
    for bin_dir in candidates:
        lmplz, build_binary = bin_dir / "lmplz", bin_dir / "build_binary"
        if os.access(lmplz, os.X_OK) and os.access(build_binary, os.X_OK):
            return lmplz, build_binary
    on_path = shutil.which("lmplz"), shutil.which("build_binary")
    if tools_dir is None and all(on_path):
        return Path(on_path[0]), Path(on_path[1])
    looked = ", ".join(str(c) for c in candidates) + ("" if tools_dir is not None else ", PATH")
    raise LMToolsMissing(f"KenLM's lmplz and build_binary not found (looked in {looked}); "
                         "run `make tools` (scripts/build_kenlm.sh) to build them")


def _run(cmd: list[str], what: str) -> None:
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False)
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        raise LMError(f"{what} failed (exit {proc.returncode}): {' '.join(cmd)}\n{tail}")


def train_ngram(text_file: str | Path, out_prefix: str | Path, order: int = 4, *,
                tools_dir: str | Path | None = None, memory: str = "25%",
                prune: Sequence[int] | None = None) -> tuple[Path, Path]:
    """Train an ``order``-gram on ``text_file`` (one sentence per line, words as the lexicon
    spells them) -> ``(out_prefix.arpa, out_prefix.bin)``.

    ``memory`` is lmplz ``-S`` (its sort buffer; the default 80% of RAM is too greedy in
    containers); ``prune`` is lmplz ``--prune`` (count thresholds per order, e.g. ``(0, 0, 1)``).
    ``--discount_fallback`` lets tiny corpora, whose counts-of-counts cannot give Kneser-Ney
    discounts, train at all; on real corpora it never triggers.
    """
    text_file, out_prefix = Path(text_file), Path(out_prefix)
    lmplz, build_binary = find_lm_tools(tools_dir)
    if not text_file.is_file() or text_file.stat().st_size == 0:
        raise LMError(f"{text_file}: LM training text missing or empty")
    if not 1 <= order <= 6:
        raise LMError(f"order {order}: KenLM is built for orders 1-6")
    out_prefix.parent.mkdir(parents=True, exist_ok=True)
    arpa, binary = out_prefix.with_name(out_prefix.name + ".arpa"), out_prefix.with_name(out_prefix.name + ".bin")
    with tempfile.TemporaryDirectory(dir=out_prefix.parent, prefix=".lmplz-") as tmp:
        cmd = [str(lmplz), "-o", str(order), "--text", str(text_file), "--arpa", str(arpa),
               "-S", memory, "-T", tmp, "--discount_fallback"]
        if prune:
            cmd += ["--prune", *map(str, prune)]
        _run(cmd, "lmplz")
    _run([str(build_binary), str(arpa), str(binary)], "build_binary")
    return arpa, binary


def _open_lm(path: Path, mode: str = "rb"):
    """Open an LM file, transparently gunzipping an ``.arpa.gz`` (which KenLM reads too)."""
    with path.open("rb") as f:
        gzipped = f.read(2) == b"\x1f\x8b"
    if gzipped:
        return gzip.open(path, mode, encoding="utf-8") if "t" in mode else gzip.open(path, mode)
    return path.open(mode, encoding="utf-8") if "t" in mode else path.open(mode)


def _head(path: Path, size: int = 4096) -> bytes:
    with _open_lm(path) as f:
        return f.read(size)


def check_lm(path: str | Path) -> str:
    """Reject a missing, empty or non-LM file before any decoding starts; returns ``"binary"``
    (KenLM ``build_binary`` output) or ``"arpa"``. Checks the header only, not every n-gram."""
    path = Path(path)
    if not path.is_file():
        raise LMError(f"{path}: language model not found")
    if path.stat().st_size == 0:
        raise LMError(f"{path}: language model file is empty")
    try:
        head = _head(path)
    except (OSError, EOFError) as e:
        raise LMError(f"{path}: cannot read language model: {e}") from e
    if head.startswith(_BINARY_MAGIC):
        return "binary"
    lines = [ln.strip() for ln in head.decode("utf-8", "replace").splitlines()]
    lines = [ln for ln in lines if ln]
    if len(lines) >= 2 and lines[0] == "\\data\\" and lines[1].startswith("ngram 1="):
        return "arpa"
    first = lines[0][:60] if lines else repr(head[:20])
    raise LMError(f"{path}: not a KenLM binary or ARPA language model "
                  f"(an ARPA file starts with '\\data\\', this one with {first!r})")


def lm_vocabulary(arpa_path: str | Path) -> list[str]:
    """Words of the ARPA unigram section, in file order (``<s>``, ``</s>``, ``<unk>`` included)."""
    arpa_path = Path(arpa_path)
    if check_lm(arpa_path) != "arpa":
        raise LMError(f"{arpa_path}: the vocabulary is read from the ARPA file; pass the .arpa, not the binary")
    words, in_unigrams = [], False
    with _open_lm(arpa_path, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise LMError(f"{arpa_path}:{lineno}: not UTF-8 text ({raw[:40]!r}); the lexicon is written in "
                              "UTF-8: re-encode the LM training text and train again") from None
            line = line.strip()
            if line == "\\1-grams:":
                in_unigrams = True
            elif in_unigrams:
                if not line or line.startswith("\\"):
                    break
                fields = line.split("\t")
                if len(fields) < 2:
                    raise LMError(f"{arpa_path}: malformed unigram line {line!r}")
                words.append(fields[1])
    if not words:
        raise LMError(f"{arpa_path}: no \\1-grams: section")
    return words


def lexicon_words_missing_from_lm(lexicon_path: str | Path, lm_path: str | Path) -> tuple[list[str], int]:
    """The words of a flashlight lexicon that the LM does not know, in lexicon order, and the number of
    lexicon words. The decoder accepts such words and scores them as ``<unk>``: a lexicon built for
    another LM. A binary LM is asked through the ``kenlm`` module (memory-mapped lazily), or its ARPA
    twin when one lies next to it (``asrkit lm train`` writes both)."""
    lm_path = Path(lm_path)
    words = [line.split()[0] for line in read_utf8(lexicon_path, LMError).splitlines() if line.split()]
    from .transformer_lm import is_transformer_lm, load_scorer

    if is_transformer_lm(lm_path):
        vocab = load_scorer(lm_path).vocab
        return list(dict.fromkeys(w for w in words if vocab.is_oov(w))), len(words)
    twin = lm_path.with_suffix(".arpa")
    arpa = lm_path if check_lm(lm_path) == "arpa" else twin if twin.is_file() and check_lm(twin) == "arpa" else None
    if arpa is not None:
        known = set(lm_vocabulary(arpa)).__contains__
    else:
        import kenlm

        config = kenlm.Config()
        config.load_method = kenlm.LoadMethod.LAZY
        try:
            known = kenlm.Model(str(lm_path), config).__contains__
        except OSError as e:
            raise LMError(f"{lm_path}: KenLM cannot load it: {e}") from e
    return list(dict.fromkeys(w for w in words if not known(w))), len(words)


def build_lexicon(words: Iterable[str], out_path: str | Path, word_boundary: str = WORD_BOUNDARY, *,
                  tokens: Iterable[str] = LIBRISPEECH_CHARS) -> tuple[int, list[str]]:
    """Write a flashlight lexicon, one ``WORD<TAB>W O R D |`` line per word spelled only with
    the single-character ``tokens`` of the acoustic model (its full token list, blank included,
    may be passed) -> ``(words written, words skipped)``.

    ``<s>``, ``</s>`` and ``<unk>`` are dropped silently; other words with a character outside
    ``tokens`` are skipped and returned (and logged), since the decoder could never emit them.
    """
    allowed = {t for t in tokens if len(t) == 1} - {word_boundary}
    kept, skipped, seen = [], [], set()
    for word in words:
        if word in seen or word in LM_SPECIAL_WORDS:
            continue
        seen.add(word)
        (kept if word and set(word) <= allowed else skipped).append(word)
    if not kept:
        raise LMError(f"{out_path}: no word is spelled with the token set only; "
                      f"skipped e.g. {', '.join(skipped[:5])}")
    if skipped:
        log.warning("lexicon %s: %d word(s) have characters outside the token set and are left out, e.g. %s",
                    out_path, len(skipped), ", ".join(skipped[:5]))
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text("".join(f"{w}\t{' '.join(w)} {word_boundary}\n" for w in kept), encoding="utf-8")
    return len(kept), skipped


def sentence_perplexity(lm_path: str | Path, sentences: Iterable[str]) -> dict[str, float | int]:
    """Perplexity of ``sentences`` as KenLM's ``query`` counts it: over words plus one ``</s>``
    per sentence, OOV words included (scored as ``<unk>``); empty lines are skipped."""
    import kenlm

    lm_path = Path(lm_path)
    check_lm(lm_path)
    try:
        model = kenlm.Model(str(lm_path))
    except OSError as e:
        raise LMError(f"{lm_path}: KenLM cannot load it: {e}") from e
    logprob, oov, n_sent, n_words = 0.0, 0, 0, 0
    for line in sentences:
        words = line.split()
        if not words:
            continue
        for prob, _, is_oov in model.full_scores(" ".join(words)):
            logprob += prob
            oov += is_oov
        n_sent += 1
        n_words += len(words)
    if n_sent == 0:
        raise LMError("no sentence to compute a perplexity on")
    return {"ppl": 10.0 ** (-logprob / (n_words + n_sent)), "oov": oov, "sentences": n_sent, "words": n_words}


def lm_perplexity(lm_path: str | Path, text_file: str | Path) -> dict[str, float | int]:
    """:func:`sentence_perplexity` of a text file, one sentence per line, or of the transcripts
    of a manifest (``*.tsv``) -> ``{"ppl", "oov", "sentences", "words"}``. ``lm_path``: a KenLM file or a
    Transformer LM checkpoint (told apart by content), counted the same way."""
    from .transformer_lm import is_transformer_lm, load_scorer

    if Path(text_file).suffix == ".tsv":
        from ..data.manifest import read_manifest

        sentences = list(read_manifest(text_file)["text"])
    else:
        sentences = read_utf8(text_file, LMError).splitlines()
    if not any(line.strip() for line in sentences):
        raise LMError(f"{text_file}: no sentence to compute a perplexity on (one sentence per line)")
    if is_transformer_lm(lm_path):
        return load_scorer(lm_path).perplexity(sentences)
    return sentence_perplexity(lm_path, sentences)


def lexicon_tokens(tokens_path: str | Path | None = None) -> Sequence[str]:
    """The tokens a lexicon may spell words with: those of the acoustic model's ``tokens.txt``
    (or sentencepiece model), else the LibriSpeech characters."""
    return load_tokenizer(tokens_path).tokens if tokens_path else LIBRISPEECH_CHARS


def write_lexicon(arpa_path: str | Path, out_path: str | Path, *,
                  tokens: Iterable[str] = LIBRISPEECH_CHARS) -> tuple[int, list[str]]:
    """:func:`build_lexicon` of the vocabulary of an ARPA LM -> ``(words written, words skipped)``."""
    return build_lexicon(lm_vocabulary(arpa_path), out_path, tokens=tokens)


@dataclass(frozen=True)
class TrainedLM:
    """What :func:`train_lm` wrote: the n-gram as ARPA and KenLM binary, and its lexicon."""

    arpa: Path
    binary: Path
    lexicon: Path
    words: int  # lexicon entries
    skipped: list[str]  # LM words spelled with characters outside the token set


def train_lm(text_file: str | Path, out_prefix: str | Path, order: int = 4, *, lexicon: str | Path | None = None,
             tokens: Iterable[str] = LIBRISPEECH_CHARS, tools_dir: str | Path | None = None, memory: str = "25%",
             prune: Sequence[int] | None = None) -> TrainedLM:
    """:func:`train_ngram`, then the lexicon of its vocabulary (default: ``lexicon.txt`` next to
    ``out_prefix``) for an acoustic model with ``tokens``."""
    lexicon = Path(lexicon) if lexicon else Path(out_prefix).parent / "lexicon.txt"
    arpa, binary = train_ngram(text_file, out_prefix, order, tools_dir=tools_dir, memory=memory, prune=prune)
    words, skipped = write_lexicon(arpa, lexicon, tokens=tokens)
    return TrainedLM(arpa, binary, lexicon, words, skipped)
