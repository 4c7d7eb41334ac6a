"""Parity with NIST sclite: on the same trn files, asrkit's WER and CER counts (totals, per
speaker, per utterance) and its alignments are the ones ``sclite -i rm`` reports."""
from __future__ import annotations

import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from asrkit.score import ErrorCounts, align, score, write_trn

# Debian's sctk package installs sclite into /usr/lib/sctk/bin, off PATH.
SCLITE = shutil.which("sclite") or shutil.which("sclite", path="/usr/lib/sctk/bin")

# Few words built from few letters: equal-cost alignments (ties) are frequent at the word
# and at the character level, so the tie-breaking rule decides many S/D/I counts.
VOCAB = ["A", "B", "C", "AB", "BA", "CAB"]
SPEAKERS = ["1089", "121", "2094", "61", "8555", "7"]


@pytest.fixture(scope="module")
def sclite() -> str:
    if SCLITE is None:
        pytest.skip("sclite not installed: `apt-get install sctk` (Debian/Ubuntu) or build SCTK from "
                    "https://github.com/usnistgov/SCTK and put sclite on PATH")
    return SCLITE


def utt_ids(rng: random.Random, n: int) -> list[str]:
    """asrkit/LibriSpeech-style ids ``spk-chapter-utt``; speaker 7 uses sclite's ``_`` fallback."""
    ids = []
    for k in range(n):
        spk = rng.choice(SPEAKERS)
        ids.append(f"{spk}_{k:04d}" if spk == "7" else f"{spk}-{rng.randint(1, 3)}-{k:04d}")
    return ids


def edited_corpus(seed: int, n: int = 400) -> tuple[dict[str, str], dict[str, str]]:
    """Hypotheses made from the references by random word edits; about 1 in 13 references
    and 1 in 14 hypotheses are empty, 1 in 20 words is lowercased (sclite folds case)."""
    rng = random.Random(seed)
    refs, hyps = {}, {}
    for utt_id in utt_ids(rng, n):
        ref = rng.choices(VOCAB, k=rng.randint(0, 12))
        draw = rng.random()
        if draw < 0.05:
            hyp = []
        elif draw < 0.3:
            hyp = rng.choices(VOCAB, k=rng.randint(0, 14))
        else:
            hyp, rate = [], rng.uniform(0.05, 0.4)  # per-word chance of each kind of error
            for word in ref:
                edit = rng.random()
                if edit < rate:
                    hyp.append(rng.choice(VOCAB))
                elif edit >= 2 * rate:  # rate <= edit < 2 * rate deletes the word
                    hyp.append(word)
                if rng.random() < rate:
                    hyp.append(rng.choice(VOCAB))
        hyp = [w.lower() if rng.random() < 0.05 else w for w in hyp]
        refs[utt_id], hyps[utt_id] = " ".join(ref), " ".join(hyp)
    return refs, hyps


def unrelated_corpus(seed: int, n: int = 400) -> tuple[dict[str, str], dict[str, str]]:
    """Independent random references and hypotheses over 4 one-letter words, 1 in 10 empty:
    about 1 pair in 11 has equal-cost alignments with different S/D/I counts (3 S and
    2 D + 2 I both cost 12), so the tie-breaking rule decides them."""
    rng = random.Random(seed)
    words = ["A", "B", "C", "D"]
    refs, hyps = {}, {}
    for utt_id in utt_ids(rng, n):
        refs[utt_id], hyps[utt_id] = (
            "" if rng.random() < 0.1 else " ".join(rng.choices(words, k=rng.randint(6, 14))) for _ in "rh"
        )
    return refs, hyps


CORPORA = {"edited": edited_corpus, "unrelated": unrelated_corpus}
COUNT_NAMES = ["sentences", "words", "cor", "sub", "del", "ins", "errors", "sentence_errors"]


def counts_row(c: ErrorCounts) -> dict[str, int]:
    """``c`` as a row of sclite's rsum report, named as :data:`COUNT_NAMES`."""
    values = [c.sentences, c.ref_words, c.cor, c.sub, c.dele, c.ins, c.errors, c.sentence_errors]
    return dict(zip(COUNT_NAMES, values))


def run_sclite(sclite: str, ref_trn: Path, hyp_trn: Path, *extra: str) -> tuple[dict, dict]:
    """({speaker or 'Sum': counts row}, {utt_id: ops}) from sclite's rsum and sgml reports."""
    out = subprocess.run(
        [sclite, "-r", str(ref_trn), "trn", "-h", str(hyp_trn), "trn", "-i", "rm", *extra,
         "-o", "rsum", "sgml", "stdout"],
        capture_output=True, text=True, encoding="utf-8", check=True, timeout=60,
    ).stdout
    rsum, sgml = out.split("<SYSTEM", 1)
    # | SPKR | # Snt # Wrd | Corr Sub Del Ins Err S.Err |   (raw counts; Mean/S.D. rows have decimals)
    row = re.compile(r"^\s*\|\s*(\S+)\s*\|" + r"\s*(\d+)" * 2 + r"\s*\|" + r"\s*(\d+)" * 6 + r"\s*\|\s*$")
    counts = {}
    for line in rsum.splitlines():
        if m := row.match(line):
            counts[m.group(1)] = dict(zip(COUNT_NAMES, map(int, m.groups()[1:])))
    ops = {}  # sgml path bodies read 'C,"a","a":D,"b",:I,,"c"'
    for utt_id, body in re.findall(r'<PATH id="\((.*?)\)"[^>]*>\n(.*?)</PATH>', sgml, re.DOTALL):
        ops[utt_id] = "".join(entry[0] for entry in body.strip().split(":")) if body.strip() else ""
    return counts, ops


@pytest.mark.parametrize(("corpus", "seed"), [("edited", 0), ("edited", 1), ("edited", 2), ("unrelated", 0)])
def test_counts_and_alignments_match_sclite(sclite: str, tmp_path: Path, corpus: str, seed: int):
    refs, hyps = CORPORA[corpus](seed)
    ref_trn, hyp_trn = write_trn(tmp_path / "ref.trn", refs), write_trn(tmp_path / "hyp.trn", hyps)
    report = score(refs, hyps)
    counts, ops = run_sclite(sclite, ref_trn, hyp_trn)

    assert counts_row(report.total) == counts.pop("Sum")
    assert ops == {u.lower(): "".join(a.ops) for u, a in report.alignments.items()}  # sclite lowercases ids
    per_speaker = report.per_speaker.set_index("speaker")[COUNT_NAMES]
    assert {spk: row.to_dict() for spk, row in per_speaker.iterrows()} == counts


@pytest.mark.parametrize("seed", [0, 1])
def test_character_counts_match_sclite_c(sclite: str, tmp_path: Path, seed: int):
    refs, hyps = edited_corpus(seed)
    ref_trn, hyp_trn = write_trn(tmp_path / "ref.trn", refs), write_trn(tmp_path / "hyp.trn", hyps)
    report = score(refs, hyps)
    counts, ops = run_sclite(sclite, ref_trn, hyp_trn, "-c")

    assert counts_row(report.cer) == counts.pop("Sum")
    per_speaker = report.per_speaker.set_index("speaker")
    assert {spk: (row["chars"], row["char_errors"]) for spk, row in per_speaker.iterrows()} == {
        spk: (row["words"], row["errors"]) for spk, row in counts.items()}
    chars = {u: "".join(align(list(refs[u].replace(" ", "")), list(hyps[u].replace(" ", ""))).ops) for u in refs}
    assert ops == {u.lower(): a for u, a in chars.items()}


def test_empty_hypotheses_and_references_match_sclite(sclite: str, tmp_path: Path):
    refs = {"1-1-0001": "A B C", "1-1-0002": "", "2-1-0003": "", "2-1-0004": "A"}
    hyps = {"1-1-0001": "", "1-1-0002": "A B", "2-1-0003": "", "2-1-0004": "A"}
    counts, ops = run_sclite(sclite, write_trn(tmp_path / "ref.trn", refs), write_trn(tmp_path / "hyp.trn", hyps))
    report = score(refs, hyps)
    assert ops == {u: "".join(a.ops) for u, a in report.alignments.items()}
    assert counts_row(report.total) == counts["Sum"] == dict(zip(COUNT_NAMES, [4, 4, 1, 0, 3, 2, 5, 2]))


def test_non_ascii_text_matches_sclite_utf8(sclite: str, tmp_path: Path):
    """sclite folds the case of ASCII letters only; ``-e utf-8 -c`` splits code points."""
    refs = {"1-1": "CAFÉ NAÏVE Ÿ", "1-2": "ÉTÉ À PARIS", "2-1": "ÜBER STRAẞE"}
    hyps = {"1-1": "CAFE naïve ÿ", "1-2": "été a paris", "2-1": "über strasse"}
    ref_trn, hyp_trn = write_trn(tmp_path / "ref.trn", refs), write_trn(tmp_path / "hyp.trn", hyps)
    report = score(refs, hyps)
    words, word_ops = run_sclite(sclite, ref_trn, hyp_trn, "-e", "utf-8")
    chars, char_ops = run_sclite(sclite, ref_trn, hyp_trn, "-e", "utf-8", "-c")
    assert counts_row(report.total) == words["Sum"]
    assert counts_row(report.cer) == chars["Sum"]
    assert word_ops == {u: "".join(a.ops) for u, a in report.alignments.items()}
    assert char_ops == {u: "".join(align(list(refs[u].replace(" ", "")), list(hyps[u].replace(" ", ""))).ops)
                        for u in refs}
