"""WER/CER scoring: alignments, counts, trn files, results TSV. The expected alignments of the
tie cases were read from ``sclite -o sgml`` (SCTK 2.4.10), so these hold without sclite too."""
from __future__ import annotations

import math
import random
from pathlib import Path

import pandas as pd
import pytest

from asrkit.score import (
    ErrorCounts,
    align,
    align_many,
    append_result,
    read_results,
    read_trn,
    score,
    speaker_of,
    wer,
    write_trn,
)


def ops(ref: str, hyp: str, **kwargs) -> str:
    return "".join(align(ref.split(), hyp.split(), **kwargs).ops)


@pytest.mark.parametrize(("ref", "hyp", "expected"), [
    ("A B C", "A B C", "CCC"),
    ("A B C", "X Y Z", "SSS"),
    ("A B C", "A C", "CDC"),
    ("A C", "A B C", "CIC"),
    # a deletion plus an insertion (3 + 3) beats two substitutions (4 + 4)
    ("A B", "B C", "DCI"),
    ("A A B", "A B A", "DCCI"),
    # equal-cost paths: sclite keeps the diagonal, then the deletion, and traces back from the end
    ("A A", "A", "DC"),
    ("A", "A A", "IC"),
    # equal-cost paths with different S/D/I (3 S = 2 D + 2 I = 12): sclite's choice decides the counts
    ("C B B C", "A A C C", "SSSC"),
    ("B B B C", "B C A A A", "CISSS"),
    ("A B B C C", "C C B A", "SSCDS"),
    ("A A A A C", "C B B", "DDSSS"),
])
def test_alignment_matches_sclite(ref: str, hyp: str, expected: str):
    assert ops(ref, hyp) == expected


def test_alignment_columns_hold_words_and_gaps():
    a = align(["A", "B"], ["B", "C"])
    assert a.ref == ("A", "B", None)
    assert a.hyp == (None, "B", "C")
    assert a.counts() == ErrorCounts(sub=0, dele=1, ins=1, ref_words=2, sentences=1, sentence_errors=1)


def test_empty_reference_or_hypothesis():
    assert ops("", "A B") == "II"
    assert ops("A B", "") == "DD"
    assert align([], []).ops == ()
    assert align([], []).counts() == ErrorCounts(ref_words=0, sentences=1, sentence_errors=0)


@pytest.mark.parametrize("batch_cells", [1, 200, 1 << 22])
def test_batched_alignment_equals_one_by_one(monkeypatch, batch_cells: int):
    rng = random.Random(0)
    pairs = [(rng.choices("ABC", k=rng.randint(0, 9)), rng.choices("ABC", k=rng.randint(0, 9))) for _ in range(60)]
    one_by_one = [align(r, h) for r, h in pairs]
    monkeypatch.setattr(wer, "_BATCH_CELLS", batch_cells)
    assert align_many(pairs) == one_by_one
    assert align_many([]) == []


def test_case_folded_unless_case_sensitive():
    assert ops("HELLO World", "hello WORLD") == "CC"
    assert ops("HELLO World", "hello WORLD", case_sensitive=True) == "SS"
    assert align(["HELLO"], ["hello"]).hyp == ("hello",)  # the words are kept as written
    assert ops("NAÏVE", "naïve") == "S"  # sclite folds ASCII letters only


def test_error_counts_rates_and_sum():
    c = ErrorCounts(sub=1, dele=2, ins=1, ref_words=8, sentences=4, sentence_errors=1)
    assert (c.cor, c.errors, c.wer, c.sentence_error_rate) == (5, 4, 50.0, 25.0)
    assert c + c == ErrorCounts(2, 4, 2, 16, 8, 2)
    with pytest.raises(ValueError, match="zero reference words"):
        _ = ErrorCounts(ins=3, sentences=1).wer


def test_speaker_is_id_before_first_dash_else_underscore():
    assert speaker_of("1234-5678-0001") == "1234"
    assert speaker_of("spk_utt-1") == "spk_utt"  # '-' wins over an earlier '_', as in sclite
    assert speaker_of("spk_utt_1") == "spk"
    with pytest.raises(ValueError, match="no '-' or '_'"):
        speaker_of("utt1")


@pytest.fixture
def report():
    refs = {"1-1-0001": "THE CAT SAT", "1-1-0002": "ON THE MAT", "2-1-0001": "THE DOG", "2-1-0002": ""}
    hyps = {"1-1-0001": "THE CAT SAT", "1-1-0002": "ON A MAT", "2-1-0001": "A DOG RAN", "2-1-0002": "UH"}
    return score(refs, hyps)


def test_score_totals(report):
    t = report.total
    assert (t.sub, t.dele, t.ins, t.ref_words, t.sentences, t.sentence_errors) == (2, 0, 2, 8, 4, 3)
    assert t.wer == 50.0
    # CER over letters without spaces: THE->A twice is 3 letters -> 1 (T, H deleted, E->A), RAN and UH inserted
    assert (report.cer.ref_words, report.cer.errors) == (23, 11)


def test_per_utterance_and_per_speaker_sum_to_total(report):
    per_utt, per_spk = report.per_utt, report.per_speaker
    assert list(per_utt["utt_id"]) == ["1-1-0001", "1-1-0002", "2-1-0001", "2-1-0002"]
    assert list(per_spk["speaker"]) == ["1", "2"]
    for col, total in [("words", 8), ("sub", 2), ("del", 0), ("ins", 2), ("errors", 4), ("chars", 23)]:
        assert per_utt[col].sum() == per_spk[col].sum() == total, col
    assert per_spk.set_index("speaker").loc["2", "wer"] == 150.0  # THE -> A, RAN, UH over 2 words
    assert math.isnan(per_utt.set_index("utt_id").loc["2-1-0002", "wer"])  # empty reference: no rate
    assert per_utt.set_index("utt_id").loc["2-1-0002", "ins"] == 1


def test_error_pairs_most_frequent_first(report):
    pairs = report.error_pairs
    assert pairs.to_dict("records") == [
        {"kind": "sub", "ref": "THE", "hyp": "A", "pair": "THE -> A", "count": 2},
        {"kind": "ins", "ref": "*", "hyp": "RAN", "pair": "* -> RAN", "count": 1},
        {"kind": "ins", "ref": "*", "hyp": "UH", "pair": "* -> UH", "count": 1},
    ]
    assert list(report.top_errors(1)["pair"]) == ["THE -> A", "* -> RAN"]


def test_summary_row(report):
    assert list(report.summary()) == wer.RESULT_COLUMNS
    assert report.summary() == {
        "wer": 50.0, "cer": 47.83, "sub": 2, "del": 0, "ins": 2, "words": 8, "sentences": 4,
        "sentence_error_rate": 75.0,
    }


def test_zero_reference_words_is_an_error():
    with pytest.raises(ValueError, match="2 reference utterances hold zero words"):
        score({"1-a": "", "1-b": " "}, {"1-a": "A", "1-b": ""})
    with pytest.raises(ValueError, match="zero words"):
        score({}, {})


def test_mismatched_ids_are_named():
    refs = {f"1-{k:03d}": "A" for k in range(15)}
    hyps = {f"1-{k:03d}": "A" for k in range(3, 15)} | {"9-x": "A"}
    with pytest.raises(ValueError) as err:
        score(refs, hyps)
    msg = str(err.value)
    assert "ref (15 utterances) and hyp (13) differ" in msg
    assert "3 id(s) only in ref, missing from hyp: 1-000, 1-001, 1-002" in msg
    assert "1 id(s) only in hyp, missing from ref: 9-x" in msg


def test_long_lists_of_missing_ids_are_cut():
    with pytest.raises(ValueError, match=r"25 id\(s\) only in ref.*1-009, \.\.\. \(15 more\)"):
        score({f"1-{k:03d}": "A" for k in range(25)}, {})


def test_trn_round_trip_keeps_order_and_empty_texts(tmp_path: Path):
    texts = {"9-1-0002": "HELLO  WORLD", "1-1-0001": "", "5-1-0003": "A"}
    path = write_trn(tmp_path / "sub" / "hyp.trn", texts)
    assert path.read_text() == "HELLO WORLD (9-1-0002)\n(1-1-0001)\nA (5-1-0003)\n"
    assert read_trn(path) == {"9-1-0002": "HELLO WORLD", "1-1-0001": "", "5-1-0003": "A"}
    assert list(read_trn(path)) == list(texts)


def test_read_trn_skips_blank_and_comment_lines(tmp_path: Path):
    path = tmp_path / "ref.trn"
    path.write_text(";; made by hand\n\nA  B\t(1-1)\n   (1-2)\n")
    assert read_trn(path) == {"1-1": "A B", "1-2": ""}


def test_read_trn_rejects_duplicate_ids_naming_the_line(tmp_path: Path):
    path = tmp_path / "ref.trn"
    path.write_text("A (1-1)\nB (1-2)\nC (1-1)\n")
    with pytest.raises(ValueError, match=r"ref.trn:3: duplicate utterance id '1-1', first on line 1"):
        read_trn(path)


@pytest.mark.parametrize("line", ["A B", "A B (1-1", "A B ()", "A (1-1) B"])
def test_read_trn_rejects_lines_without_an_id(tmp_path: Path, line: str):
    path = tmp_path / "ref.trn"
    path.write_text(f"A (1-0)\n{line}\n")
    with pytest.raises(ValueError, match=r"ref.trn:2: expected 'TEXT \(utt_id\)'"):
        read_trn(path)


def test_write_trn_rejects_what_it_could_not_read_back(tmp_path: Path):
    with pytest.raises(ValueError, match="cannot write utterance"):
        write_trn(tmp_path / "x.trn", {"1 2": "A"})
    with pytest.raises(ValueError, match="cannot write utterance"):
        write_trn(tmp_path / "x.trn", {"1-2": "A (B)"})


def test_append_result_writes_header_once(tmp_path: Path, report):
    path = tmp_path / "exp" / "results.tsv"
    append_result(path, {"exp": "e1", "decoder": "greedy", "split": "dev", **report.summary()})
    append_result(path, {"split": "test", "exp": "e1", "wer": 12.5})  # other order, fewer columns
    df = pd.read_csv(path, sep="\t", keep_default_na=False)
    assert list(df.columns) == ["exp", "decoder", "split", "wer", "cer", "sub", "del", "ins", "words",
                                "sentences", "sentence_error_rate"]
    assert df.to_dict("records")[1] == {**{c: "" for c in df.columns}, "exp": "e1", "split": "test", "wer": 12.5}
    assert df.loc[0, "wer"] == 50.0 and df.loc[0, "decoder"] == "greedy"


def test_append_result_rejects_unknown_columns(tmp_path: Path):
    path = append_result(tmp_path / "results.tsv", {"exp": "e1", "wer": 1.0})
    with pytest.raises(ValueError, match="column\\(s\\) cer not in its header"):
        append_result(path, {"exp": "e2", "cer": 1.0})
    with pytest.raises(ValueError, match="tab or newline"):
        append_result(path, {"exp": "a\tb"})
    assert path.read_text() == "exp\twer\ne1\t1.0\n"


def test_read_results_reads_what_append_result_wrote_and_names_a_broken_file(tmp_path: Path):
    path = append_result(tmp_path / "results.tsv", {"exp": "e1", "decoder": "", "wer": 1.5})
    assert read_results(path).to_dict("records") == [{"exp": "e1", "decoder": "", "wer": 1.5}]
    (tmp_path / "empty.tsv").write_text("")
    with pytest.raises(ValueError, match="empty.tsv: not a results TSV"):
        read_results(tmp_path / "empty.tsv")


def test_report_tables_are_written_as_tsv(tmp_path: Path, report):
    paths = report.write_tables(tmp_path / "out")
    assert [p.name for p in paths] == ["per_utt.tsv", "per_speaker.tsv", "error_pairs.tsv"]
    assert pd.read_csv(paths[0], sep="\t", keep_default_na=False)["utt_id"].tolist() == report.per_utt["utt_id"].tolist()
