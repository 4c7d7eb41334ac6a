"""The phone error rate: sclite's alignment over phone tokens (TIMIT, wav2vec 2.0 §5.3; SUPERB PR), one
implementation for `asrkit score --unit phone`, fine-tuning's validation and SUPERB's PR task."""
import pytest
from click.testing import CliRunner

from asrkit.cli import cli
from asrkit.score import PHONE_RESULT_COLUMNS, error_counts, score, text_unit

# by hand: "s" deleted and "ih" inserted (3 + 3 beats three substitutions, 12); "b" -> "p" and "n" deleted
REFS = {"fcjf0-si1027": "dh ah k ae t s ae t", "fcjf0-sx127": "b iy n"}
HYPS = {"fcjf0-si1027": "dh ah k ae t ae t ih", "fcjf0-sx127": "p iy"}


def test_phone_error_rate_of_a_hand_computed_case():
    report = score(REFS, HYPS, unit="phone")
    assert (report.total.sub, report.total.dele, report.total.ins, report.total.ref_words) == (1, 2, 1, 11)
    assert report.total.wer == pytest.approx(100 * 4 / 11)
    assert "".join(report.alignments["fcjf0-si1027"].ops) == "CCCCCDCCI"
    assert "".join(report.alignments["fcjf0-sx127"].ops) == "SCD"
    assert report.summary() == {"per": 36.36, "sub": 1, "del": 2, "ins": 1, "phones": 11, "sentences": 2,
                                "sentence_error_rate": 100.0}
    assert list(report.summary()) == PHONE_RESULT_COLUMNS
    assert report.cer is None and "cer" not in report.per_speaker and report.per_speaker.loc[0, "per"] == \
        pytest.approx(100 * 4 / 11)
    assert set(report.error_pairs["pair"]) == {"s -> *", "* -> ih", "b -> p", "n -> *"}


def test_one_alignment_for_per_and_wer():
    pairs = [(REFS[u].split(), HYPS[u].split()) for u in REFS]
    assert error_counts(pairs) == score(REFS, HYPS, unit="phone").total == score(REFS, HYPS).total


def test_phone_transcripts_are_told_from_words():
    assert text_unit(REFS.values()) == "phone"
    assert text_unit(["dh ah k ae t", "THE CAT"]) == "word" and text_unit(["a cat"]) == "word"
    assert text_unit(["", " "]) == "word"


def test_an_unknown_unit_or_no_reference_phones_is_an_error():
    with pytest.raises(ValueError, match="unit 'char'"):
        score(REFS, HYPS, unit="char")
    with pytest.raises(ValueError, match="zero phones: PER is undefined"):
        score({"a-1": ""}, {"a-1": "ah"}, unit="phone")


def run_cli(*args):
    return CliRunner(env={"ASRKIT_DEBUG": "1"}).invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_score_command_scores_phones_as_per(tmp_path):
    (tmp_path / "ref.trn").write_text("".join(f"{t} ({u})\n" for u, t in REFS.items()))
    (tmp_path / "hyp.trn").write_text("".join(f"{t} ({u})\n" for u, t in HYPS.items()))
    for unit in ("auto", "phone"):
        res = run_cli("score", "--ref", tmp_path / "ref.trn", "--hyp", tmp_path / "hyp.trn", "--unit", unit,
                      "--results", tmp_path / f"{unit}.tsv", "--exp", "e", "--decoder", "greedy",
                      "--split", "core_test")
        assert res.exit_code == 0, res.output
        assert "36.36" in res.output and "per" in res.output and "cer" not in res.output
        header, row = (tmp_path / f"{unit}.tsv").read_text().splitlines()
        assert header.split("\t") == ["exp", "decoder", "split", *PHONE_RESULT_COLUMNS]
        assert row.split("\t")[:4] == ["e", "greedy", "core_test", "36.36"]
    words = run_cli("score", "--ref", tmp_path / "ref.trn", "--hyp", tmp_path / "hyp.trn", "--unit", "word")
    assert words.exit_code == 0 and "cer" in words.output
