"""Word and character error rates, scored exactly as NIST sclite scores them.

The reference is ``sclite -r ref.trn trn -h hyp.trn trn -i rm`` from SCTK 2.4.10 (Debian
package ``sctk``). Three things make its counts differ from a plain Levenshtein distance,
and all three are reproduced here:

* Costs: correct 0, substitution 4, insertion 3, deletion 3 (``wwd_WORD`` in
  ``src/sclite/word.c``). A deletion plus an insertion (6) is cheaper than two
  substitutions (8): ref ``A B``, hyp ``B C`` scores as D, C, I, not as S, S.
* Ties: ``calculate_internal_cells`` in ``src/sclite/net_dp.c`` keeps the diagonal step
  (correct or substitution) when it costs no more than both the deletion and the
  insertion, else the deletion when it is strictly cheaper than the insertion, else the
  insertion; the path is traced back from the last cell. Equal-cost paths can differ in
  S/D/I (3 S and 2 D + 2 I both cost 12), so this rule decides the counts, not just the
  picture.
* Case: sclite lowercases both files unless given ``-s``, ASCII letters only (``NAÏVE``
  and ``naïve`` differ, with or without ``-e utf-8``); ``case_sensitive=False``, the
  default here, folds the same letters.

The speaker of ``(1234-5678-0001)`` is ``1234``: with ``-i rm`` sclite takes the text of the
id before its first ``-``, or before its first ``_`` when there is no ``-``
(``extract_speaker`` in ``src/sclite/align.c``).

The phone error rate (PER: TIMIT, wav2vec 2.0 §5.3; SUPERB's phoneme recognition) is the same
alignment over phone tokens: ``score(..., unit="phone")``, where the reference's "words" are its
space-separated phones (:func:`error_counts` sums it over many pairs, as validation does).
:func:`text_unit` tells phone transcripts (every token one of the 39 phones of
:mod:`asrkit.data.phones`) from word ones.

CER is the same alignment over the characters (code points) of the words, spaces left
out: what ``sclite -e utf-8 -c`` scores; without ``-e utf-8`` sclite would split non-ASCII
letters into bytes. sclite's special tokens (``@`` as an empty word, ``{ a / b }``
alternatives) are not interpreted; asrkit text never holds them.

Stricter than sclite, on purpose: an id in only one of ref and hyp is an error (sclite
silently skips references missing from the hypothesis file), so is an id repeated in a trn
file (sclite accepts a repeated reference line with the same text), and so is a set with no
reference words at all. Ids keep their case (sclite folds them with the text).
"""
from __future__ import annotations

import math
import string
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..data.phones import PHONES
from ..utf8 import read_utf8

SUB_COST = 4  # sclite wwd_WORD: substitution
DEL_COST = 3  # sclite wwd_WORD: deletion (ins and del are the same cost)
INS_COST = 3  # sclite wwd_WORD: insertion
_DIAG, _DEL, _INS = 0, 1, 2  # back-pointers
_OPS = np.frombuffer(b"CSDI", dtype=np.uint8)
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)  # sclite's case folding
_BATCH_CELLS = 1 << 22  # DP cells (back-pointer bytes) per numpy batch: fastest of 2^18..2^24

RESULT_COLUMNS = ["wer", "cer", "sub", "del", "ins", "words", "sentences", "sentence_error_rate"]
PHONE_RESULT_COLUMNS = ["per", "sub", "del", "ins", "phones", "sentences", "sentence_error_rate"]  # unit="phone"
UNITS = ("word", "phone")


@dataclass(frozen=True)
class ErrorCounts:
    """Errors summed over utterances. In a CER count the "words" are characters."""

    sub: int = 0
    dele: int = 0  # deletions; `del` is a Python keyword
    ins: int = 0
    ref_words: int = 0
    sentences: int = 0
    sentence_errors: int = 0  # sentences with at least one error (sclite "S.Err")

    @property
    def cor(self) -> int:
        return self.ref_words - self.sub - self.dele

    @property
    def errors(self) -> int:
        return self.sub + self.dele + self.ins

    @property
    def wer(self) -> float:
        """Errors per 100 reference words (sclite's "Err" column)."""
        if self.ref_words == 0:
            raise ValueError("error rate is undefined: zero reference words")
        return 100.0 * self.errors / self.ref_words

    @property
    def sentence_error_rate(self) -> float:
        """Percent of sentences with at least one error (sclite's "S.Err" column)."""
        if self.sentences == 0:
            raise ValueError("sentence error rate is undefined: zero sentences")
        return 100.0 * self.sentence_errors / self.sentences

    def __add__(self, other: ErrorCounts) -> ErrorCounts:
        return ErrorCounts(
            self.sub + other.sub, self.dele + other.dele, self.ins + other.ins,
            self.ref_words + other.ref_words, self.sentences + other.sentences,
            self.sentence_errors + other.sentence_errors,
        )


@dataclass(frozen=True)
class Alignment:
    """Aligned columns: ``ops[k]`` is 'C', 'S', 'D' or 'I'; ``hyp[k]`` is None under a 'D',
    ``ref[k]`` is None under an 'I' (sclite prints ``*`` there)."""

    ref: tuple[str | None, ...]
    hyp: tuple[str | None, ...]
    ops: tuple[str, ...]

    def counts(self) -> ErrorCounts:
        return _counts("".join(self.ops))


def align(ref: Sequence[str], hyp: Sequence[str], *, case_sensitive: bool = False) -> Alignment:
    """Align ``hyp`` to ``ref`` (lists of words, or of characters) as sclite does."""
    return align_many([(ref, hyp)], case_sensitive=case_sensitive)[0]


def align_many(pairs: Sequence[tuple[Sequence[str], Sequence[str]]], *,
               case_sensitive: bool = False) -> list[Alignment]:
    """:func:`align` for many (ref, hyp) pairs, several times faster than one by one."""
    alignments = []
    for (ref, hyp), ops in zip(pairs, _edit_ops(pairs, case_sensitive)):
        ref_col: list[str | None] = []
        hyp_col: list[str | None] = []
        i = j = 0
        for op in ops:
            ref_col.append(None if op == "I" else ref[i])
            hyp_col.append(None if op == "D" else hyp[j])
            i, j = i + (op != "I"), j + (op != "D")
        alignments.append(Alignment(tuple(ref_col), tuple(hyp_col), tuple(ops)))
    return alignments


def error_counts(pairs: Sequence[tuple[Sequence[str], Sequence[str]]], *,
                 case_sensitive: bool = False) -> ErrorCounts:
    """The errors of many (ref, hyp) token-sequence pairs, summed: over words the WER's counts, over phones
    the phone error rate's (``.wer`` is then the PER), one sclite alignment for both."""
    return sum((_counts(ops) for ops in _edit_ops(pairs, case_sensitive)), ErrorCounts())


def text_unit(texts: Iterable[str]) -> str:
    """``"phone"`` when every token of ``texts`` (at least one) is one of the 39 phones
    (:data:`asrkit.data.phones.PHONES`, lowercase as the phone manifests write them), else ``"word"``."""
    phones, seen = frozenset(PHONES), False
    for text in texts:
        for token in text.split():
            if token not in phones:
                return "word"
            seen = True
    return "phone" if seen else "word"


def _counts(ops: str) -> ErrorCounts:
    """Counts of one utterance from its ops string, e.g. "CCSDI"."""
    sub, dele, ins = ops.count("S"), ops.count("D"), ops.count("I")
    return ErrorCounts(sub, dele, ins, len(ops) - ins, 1, int(sub + dele + ins > 0))


def _edit_ops(pairs: Sequence[tuple[Sequence[str], Sequence[str]]], case_sensitive: bool) -> list[str]:
    """sclite's alignment of each (ref, hyp) pair as a string of 'C', 'S', 'D', 'I'. Tokens
    become integers, equal when the (case-folded) tokens are, and pairs of similar lengths
    are aligned together as one numpy batch."""
    vocab: dict[str, int] = {}

    def encode(seq: Sequence[str]) -> np.ndarray:
        keys = seq if case_sensitive else [t.translate(_ASCII_LOWER) for t in seq]
        return np.array([vocab.setdefault(t, len(vocab)) for t in keys], dtype=np.int32)

    encoded = [(encode(ref), encode(hyp)) for ref, hyp in pairs]
    ops = [""] * len(pairs)
    for batch in _batches([(len(r), len(h)) for r, h in encoded]):
        for k, k_ops in zip(batch, _align_batch([encoded[k] for k in batch])):
            ops[k] = k_ops
    return ops


def _batches(lengths: list[tuple[int, int]]) -> Iterator[list[int]]:
    """Indices of the pairs, shortest first, in groups whose DP, padded to the group's longest
    reference and hypothesis, has at most ``_BATCH_CELLS`` cells (or is one pair)."""
    batch: list[int] = []
    rows = cols = 0
    for k in sorted(range(len(lengths)), key=lengths.__getitem__):
        n, m = max(rows, lengths[k][0]), max(cols, lengths[k][1])
        if batch and (len(batch) + 1) * (n + 1) * (m + 1) > _BATCH_CELLS:
            yield batch
            batch, (n, m) = [], lengths[k]
        batch.append(k)
        rows, cols = n, m
    if batch:
        yield batch


def _align_batch(pairs: list[tuple[np.ndarray, np.ndarray]]) -> list[str]:
    """The DP of ``calculate_internal_cells`` (net_dp.c) for a batch of B pairs padded to
    N x M, one reference position (row) at a time. In row i, with X[j] the cheaper of the
    diagonal and the deletion step, D[i][j] = min(X[j], D[i][j-1] + INS_COST), a running
    minimum: D[i] = min.accumulate(X - INS_COST * j) + INS_COST * j."""
    n = np.array([len(r) for r, _ in pairs])
    m = np.array([len(h) for _, h in pairs])
    size, rows, cols = len(pairs), int(n.max(initial=0)), int(m.max(initial=0))
    ref = np.full((size, rows + 1), -1, dtype=np.int32)  # pads never equal a token; one more
    hyp = np.full((size, cols + 1), -2, dtype=np.int32)  # column keeps index -1 in range
    for b, (r, h) in enumerate(pairs):
        ref[b, :len(r)], hyp[b, :len(h)] = r, h

    back = np.empty((size, rows + 1, cols + 1), dtype=np.int8)  # (B, N + 1, M + 1)
    back[:, 0, :], back[:, :, 0] = _INS, _DEL
    ins_chain = INS_COST * np.arange(cols + 1, dtype=np.int32)
    prev = np.broadcast_to(ins_chain, (size, cols + 1))  # D[0][j]: j insertions
    best = np.empty((size, cols + 1), dtype=np.int32)
    for i in range(1, rows + 1):
        diag = prev[:, :-1] + SUB_COST * (ref[:, i - 1, None] != hyp[:, :cols])
        up = prev[:, 1:] + DEL_COST
        best[:, 0] = prev[:, 0] + DEL_COST
        np.minimum(diag, up, out=best[:, 1:])
        row = np.minimum.accumulate(best - ins_chain, axis=1) + ins_chain
        left = row[:, :-1] + INS_COST
        # sclite's tie-breaking: diagonal if no dearer than both, else deletion if strictly cheaper
        back[:, i, 1:] = np.where((diag <= up) & (diag <= left), _DIAG, np.where(up < left, _DEL, _INS))
        prev = row

    # Trace all B paths back from (n, m) together; codes index b"CSDI", collected last first.
    codes = np.zeros((size, rows + cols), dtype=np.uint8)
    length = np.zeros(size, dtype=np.int64)
    i, j, batch = n.copy(), m.copy(), np.arange(size)
    for t in range(rows + cols):
        active = (i > 0) | (j > 0)
        if not active.any():
            break
        step = back[batch, i, j]
        same = ref[batch, i - 1] == hyp[batch, j - 1]  # read on diagonal steps only
        codes[:, t] = np.select([step == _INS, step == _DEL, same], [3, 2, 0], default=1)
        length += active
        i -= active & (step != _INS)
        j -= active & (step != _DEL)
    return [_OPS[codes[b, :length[b]][::-1]].tobytes().decode("ascii") for b in range(size)]


def speaker_of(utt_id: str) -> str:
    """The speaker sclite ``-i rm`` reads from an utterance id: the text before the first
    ``-``, or before the first ``_`` when there is no ``-``."""
    for sep in "-_":
        if sep in utt_id:
            return utt_id.split(sep, 1)[0]
    raise ValueError(f"utterance id {utt_id!r} has no '-' or '_': sclite -i rm cannot find its speaker")


def read_trn(path: str | Path) -> dict[str, str]:
    """Read an sclite ``trn`` file (``TEXT (utt_id)`` per line) into {utt_id: text}, in file
    order. Blank lines and ``;;`` comment lines are skipped, as sclite skips them."""
    texts: dict[str, str] = {}
    first_line: dict[str, int] = {}
    for lineno, line in enumerate(read_utf8(path).splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith(";;"):
            continue
        open_paren = stripped.rfind("(")
        if not stripped.endswith(")") or open_paren < 0 or not stripped[open_paren + 1:-1].strip():
            raise ValueError(f"{path}:{lineno}: expected 'TEXT (utt_id)', got {line!r}")
        utt_id = stripped[open_paren + 1:-1].strip()
        if utt_id in texts:
            raise ValueError(f"{path}:{lineno}: duplicate utterance id {utt_id!r}, first on line {first_line[utt_id]}")
        texts[utt_id] = " ".join(stripped[:open_paren].split())
        first_line[utt_id] = lineno
    return texts


def write_trn(path: str | Path, texts: Mapping[str, str]) -> Path:
    """Write {utt_id: text} as an sclite ``trn`` file, in the mapping's order."""
    path = Path(path)
    lines = []
    for utt_id, text in texts.items():
        if not utt_id or any(c in utt_id for c in "() \t\n") or any(c in text for c in "()\n"):
            raise ValueError(f"{path}: cannot write utterance {utt_id!r} as trn: "
                             f"ids must be non-empty without spaces or parentheses, texts without parentheses")
        words = " ".join(text.split())
        lines.append(f"{words} ({utt_id})\n" if words else f"({utt_id})\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(lines), encoding="utf-8")
    return path


@dataclass
class ScoreReport:
    """Everything :func:`score` measures. Rates are percentages; a rate over zero reference
    words is NaN in the tables. ``per_speaker`` columns: speaker, sentences, words, cor, sub,
    del, ins, errors, wer, sentence_errors, ser, chars, char_errors, cer; ``per_utt`` has
    utt_id before them and the ref and hyp texts after. With ``unit == "phone"`` the tokens are
    phones: ``words`` and ``wer`` are named ``phones`` and ``per``, and there is no CER (``cer``
    is None, the char columns absent)."""

    total: ErrorCounts
    cer: ErrorCounts | None  # over characters, spaces excluded (sclite -c); None over phones
    per_utt: pd.DataFrame  # one row per utterance, in ref order
    per_speaker: pd.DataFrame  # one row per speaker, in order of first appearance
    error_pairs: pd.DataFrame  # kind (sub/del/ins), ref, hyp, pair, count; most frequent first
    alignments: dict[str, Alignment] = field(repr=False)
    unit: str = "word"

    def summary(self) -> dict[str, float | int]:
        """The results-TSV columns :data:`RESULT_COLUMNS` (:data:`PHONE_RESULT_COLUMNS` over phones); add exp,
        decoder and split."""
        t = self.total
        if self.unit == "phone":
            return {"per": round(t.wer, 2), "sub": t.sub, "del": t.dele, "ins": t.ins, "phones": t.ref_words,
                    "sentences": t.sentences, "sentence_error_rate": round(t.sentence_error_rate, 2)}
        return {
            "wer": round(t.wer, 2), "cer": round(self.cer.wer, 2), "sub": t.sub, "del": t.dele,
            "ins": t.ins, "words": t.ref_words, "sentences": t.sentences,
            "sentence_error_rate": round(t.sentence_error_rate, 2),
        }

    def top_errors(self, n: int = 10) -> pd.DataFrame:
        """The ``n`` most frequent substitutions, deletions and insertions (wav2vec 2.0 Table 11)."""
        return self.error_pairs.groupby("kind", sort=False).head(n).reset_index(drop=True)

    def write_tables(self, out_dir: str | Path) -> list[Path]:
        """Write ``per_utt.tsv``, ``per_speaker.tsv`` and ``error_pairs.tsv`` into ``out_dir``."""
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        paths = []
        for name in ("per_utt", "per_speaker", "error_pairs"):
            paths.append(out_dir / f"{name}.tsv")
            getattr(self, name).to_csv(paths[-1], sep="\t", index=False)
        return paths


def score(refs: Mapping[str, str], hyps: Mapping[str, str], *, case_sensitive: bool = False,
          unit: str = "word") -> ScoreReport:
    """Score ``hyps`` against ``refs`` ({utt_id: text}); both must hold the same ids. ``unit``: ``"word"``
    (WER and CER) or ``"phone"`` (PER: the texts are space-separated phones)."""
    if unit not in UNITS:
        raise ValueError(f"unit {unit!r}: choose one of {', '.join(UNITS)}")
    _check_same_ids(refs, hyps)
    if not any(text.split() for text in refs.values()):
        raise ValueError(f"the {len(refs)} reference utterances hold zero {unit}s: "
                         f"{'PER' if unit == 'phone' else 'WER'} is undefined")
    speakers = {utt_id: speaker_of(utt_id) for utt_id in refs}

    ids = list(refs)
    word_alignments = align_many([(refs[u].split(), hyps[u].split()) for u in ids], case_sensitive=case_sensitive)
    char_ops = _edit_ops([(list("".join(refs[u].split())), list("".join(hyps[u].split()))) for u in ids],
                         case_sensitive) if unit == "word" else [""] * len(ids)
    rows = []
    words_by_spk: dict[str, ErrorCounts] = {}
    chars_by_spk: dict[str, ErrorCounts] = {}
    pairs: Counter[tuple[str, str, str]] = Counter()
    for utt_id, ali, ops in zip(ids, word_alignments, char_ops):
        ref, hyp, spk = refs[utt_id], hyps[utt_id], speakers[utt_id]
        w, c = ali.counts(), _counts(ops)
        words_by_spk[spk] = words_by_spk.get(spk, ErrorCounts()) + w
        chars_by_spk[spk] = chars_by_spk.get(spk, ErrorCounts()) + c
        for op, r, h in zip(ali.ops, ali.ref, ali.hyp):
            if op != "C":
                pairs[({"S": "sub", "D": "del", "I": "ins"}[op], r or "*", h or "*")] += 1
        rows.append({"utt_id": utt_id, "speaker": spk, **_row(w, c, unit), "ref": ref, "hyp": hyp})

    per_speaker = pd.DataFrame(
        [{"speaker": spk, **_row(w, chars_by_spk[spk], unit)} for spk, w in words_by_spk.items()]
    )
    return ScoreReport(
        total=sum(words_by_spk.values(), ErrorCounts()),
        cer=sum(chars_by_spk.values(), ErrorCounts()) if unit == "word" else None,
        per_utt=pd.DataFrame(rows),
        per_speaker=per_speaker,
        error_pairs=_error_pair_table(pairs),
        alignments=dict(zip(ids, word_alignments)),
        unit=unit,
    )


def _row(w: ErrorCounts, c: ErrorCounts, unit: str = "word") -> dict[str, float | int]:
    tokens, rate = ("phones", "per") if unit == "phone" else ("words", "wer")
    row = {
        "sentences": w.sentences, tokens: w.ref_words, "cor": w.cor, "sub": w.sub, "del": w.dele,
        "ins": w.ins, "errors": w.errors, rate: _percent(w.errors, w.ref_words),
        "sentence_errors": w.sentence_errors, "ser": _percent(w.sentence_errors, w.sentences),
    }
    if unit == "word":
        row.update({"chars": c.ref_words, "char_errors": c.errors, "cer": _percent(c.errors, c.ref_words)})
    return row


def _percent(num: int, den: int) -> float:
    return 100.0 * num / den if den else math.nan


def _error_pair_table(pairs: Counter[tuple[str, str, str]]) -> pd.DataFrame:
    kind_order = {"sub": 0, "del": 1, "ins": 2}
    ranked = sorted(pairs.items(), key=lambda kv: (-kv[1], kind_order[kv[0][0]], kv[0][1], kv[0][2]))
    return pd.DataFrame(
        [{"kind": k, "ref": r, "hyp": h, "pair": f"{r} -> {h}", "count": n} for (k, r, h), n in ranked],
        columns=["kind", "ref", "hyp", "pair", "count"],
    )


def _check_same_ids(refs: Mapping[str, str], hyps: Mapping[str, str], show: int = 10) -> None:
    only_ref = [u for u in refs if u not in hyps]
    only_hyp = [u for u in hyps if u not in refs]
    if not only_ref and not only_hyp:
        return
    parts = []
    for side, missing_from, ids in (("ref", "hyp", only_ref), ("hyp", "ref", only_hyp)):
        if ids:
            more = f", ... ({len(ids) - show} more)" if len(ids) > show else ""
            parts.append(f"{len(ids)} id(s) only in {side}, missing from {missing_from}: {', '.join(ids[:show])}{more}")
    raise ValueError(f"ref ({len(refs)} utterances) and hyp ({len(hyps)}) differ: " + "; ".join(parts))


def append_result(results_tsv: str | Path, row: Mapping[str, object]) -> Path:
    """Append ``row`` to a results TSV, writing the header (``row``'s keys) when the file is new.
    An existing file keeps its column order; a key it lacks is an error, a column the row
    lacks is left empty."""
    path = Path(results_tsv)
    values = {k: str(v) for k, v in row.items()}
    bad = [k for k, v in values.items() if any(c in k + v for c in "\t\n\r")]
    if bad:
        raise ValueError(f"{path}: tab or newline in result column(s) {', '.join(bad)}")
    if path.is_file() and path.stat().st_size > 0:
        with path.open(encoding="utf-8") as f:
            header = f.readline().rstrip("\r\n").split("\t")
        unknown = [k for k in values if k not in header]
        if unknown:
            raise ValueError(f"{path}: column(s) {', '.join(unknown)} not in its header ({' '.join(header)})")
        lines = ["\t".join(values.get(k, "") for k in header) + "\n"]
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = ["\t".join(values) + "\n", "\t".join(values.values()) + "\n"]
    with path.open("a", encoding="utf-8", newline="") as f:
        f.writelines(lines)
    return path


def read_results(results_tsv: str | Path) -> pd.DataFrame:
    """A results TSV (rows of :func:`append_result`) as a data frame; empty cells stay empty strings."""
    try:
        return pd.read_csv(results_tsv, sep="\t", keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise ValueError(f"{results_tsv}: not a results TSV ({' '.join(str(e).split())})") from e
