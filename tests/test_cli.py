"""The command line: help lists only real commands; manifest commands end to end."""
import shutil

import soundfile as sf
from click.testing import CliRunner

from asrkit.cli import cli
from asrkit.testing import make_librispeech_fixture, tone


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_help_lists_commands_with_descriptions():
    out = run("--help").output
    for cmd in ("prepare", "manifest"):
        assert cmd in out
    sub = run("manifest", "--help").output
    for cmd in ("validate", "summary", "from-kaldi", "to-fairseq"):
        assert cmd in sub
    synth = run("prepare", "synth", "--help").output
    assert "--pretrain-hours" in synth and "default: 3.0" in synth


def test_prepare_validate_and_fix(tmp_path):
    make_librispeech_fixture(tmp_path / "corpus")
    res = run("prepare", "librispeech", tmp_path / "corpus" / "LibriSpeech", "--out", tmp_path / "m",
              "--finetuning-dir", tmp_path / "corpus" / "librispeech_finetuning")
    assert res.exit_code == 0, res.output
    ok = run("manifest", "validate", tmp_path / "m" / "dev-clean.tsv", "--num-workers", 1)
    assert ok.exit_code == 0 and "ok" in ok.output

    # break one row: an 8 kHz file replaces a 16 kHz one
    lines = (tmp_path / "m" / "dev-clean.tsv").read_text().splitlines()
    victim = lines[1].split("\t")
    sf.write(tmp_path / "m" / victim[1], tone(0.2, 8000), 8000)
    bad = run("manifest", "validate", tmp_path / "m" / "dev-clean.tsv", "--num-workers", 1)
    assert bad.exit_code == 1
    assert victim[0] in bad.output and "sample_rate" in bad.output

    fixed = run("manifest", "validate", tmp_path / "m" / "dev-clean.tsv", "--fix", tmp_path / "fixed")
    assert fixed.exit_code == 0 and f"kept {len(lines) - 2} of {len(lines) - 1}" in fixed.output
    assert victim[0] in (tmp_path / "fixed" / "rejected.tsv").read_text()
    assert run("manifest", "validate", tmp_path / "fixed" / "dev-clean.tsv").exit_code == 0


def test_validate_missing_manifest_is_a_clear_error(tmp_path):
    res = run("manifest", "validate", tmp_path / "nope.tsv")
    assert res.exit_code == 2 and "nope.tsv" in res.output


def test_kaldi_to_manifest_to_fairseq(tmp_path):
    sf.write(tmp_path / "a.flac", tone(0.5), 16000)
    kaldi = tmp_path / "kaldi"
    kaldi.mkdir()
    (kaldi / "wav.scp").write_text(f"utt1 {tmp_path / 'a.flac'}\n")
    (kaldi / "text").write_text("utt1 HELLO WORLD\n")
    assert run("manifest", "from-kaldi", kaldi, tmp_path / "train.tsv").exit_code == 0
    assert run("manifest", "to-fairseq", tmp_path / "train.tsv", tmp_path / "fs").exit_code == 0
    assert (tmp_path / "fs" / "train.ltr").read_text() == "H E L L O | W O R L D |\n"
    shutil.rmtree(tmp_path / "fs")


def test_score_prints_tables_and_appends_results(tmp_path):
    (tmp_path / "ref.trn").write_text("HELLO WORLD (a-1)\nGOOD DAY (a-2)\nTHE CAT SAT (b-1)\n")
    (tmp_path / "hyp.trn").write_text("HELLO WORD (a-1)\n(a-2)\nTHE CAT SAT ON (b-1)\n")
    args = ["score", "--ref", tmp_path / "ref.trn", "--hyp", tmp_path / "hyp.trn", "--results", tmp_path / "r.tsv",
            "--exp", "e", "--decoder", "greedy", "--split", "test"]
    res = run(*args)
    assert res.exit_code == 0, res.output
    assert "57.14" in res.output and "WORLD -> WORD" in res.output
    run(*args)
    rows = (tmp_path / "r.tsv").read_text().splitlines()
    assert len(rows) == 3 and rows[1].split("\t")[:4] == ["e", "greedy", "test", "57.14"]
    assert (tmp_path / "per_speaker.tsv").exists()


def test_score_names_missing_ids(tmp_path):
    (tmp_path / "ref.trn").write_text("HELLO (a-1)\nBYE (a-2)\n")
    (tmp_path / "hyp.trn").write_text("HELLO (a-1)\n")
    res = run("score", "--ref", tmp_path / "ref.trn", "--hyp", tmp_path / "hyp.trn")
    assert res.exit_code == 1 and "a-2" in res.output


def test_lm_text_excludes_held_out_transcripts(tmp_path):
    from asrkit.data.synth.corpus import write_lm_text

    write_lm_text(tmp_path / "all.txt", 3000, seed=5)
    common = (tmp_path / "all.txt").read_text().splitlines()[0]
    write_lm_text(tmp_path / "lm.txt", 3000, seed=5, exclude=frozenset([common]))
    lines = (tmp_path / "lm.txt").read_text().splitlines()
    assert len(lines) == 3000 and common not in lines
