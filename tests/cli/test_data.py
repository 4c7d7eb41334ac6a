"""``asrkit prepare`` and ``asrkit manifest``: help lists only real commands; manifest commands end to end."""
import shutil

import soundfile as sf

from asrkit.testing import make_librispeech_fixture, tone


def test_help_lists_commands_with_descriptions(run_cli):
    out = run_cli("--help").output
    for cmd in ("prepare", "manifest"):
        assert cmd in out
    sub = run_cli("manifest", "--help").output
    for cmd in ("validate", "summary", "from-kaldi", "to-fairseq"):
        assert cmd in sub
    synth = run_cli("prepare", "synth", "--help").output
    assert "--pretrain-hours" in synth and "default: 3.0" in synth


def test_prepare_validate_and_fix(tmp_path, run_cli):
    make_librispeech_fixture(tmp_path / "corpus")
    res = run_cli("prepare", "librispeech", tmp_path / "corpus" / "LibriSpeech", "--out", tmp_path / "m",
                  "--finetuning-dir", tmp_path / "corpus" / "librispeech_finetuning")
    assert res.exit_code == 0, res.output
    ok = run_cli("manifest", "validate", tmp_path / "m" / "dev-clean.tsv", "--num-workers", 1)
    assert ok.exit_code == 0 and "ok" in ok.output

    # break one row: an 8 kHz file replaces a 16 kHz one
    lines = (tmp_path / "m" / "dev-clean.tsv").read_text().splitlines()
    victim = lines[1].split("\t")
    sf.write(tmp_path / "m" / victim[1], tone(0.2, 8000), 8000)
    bad = run_cli("manifest", "validate", tmp_path / "m" / "dev-clean.tsv", "--num-workers", 1)
    assert bad.exit_code == 1
    assert victim[0] in bad.output and "sample_rate" in bad.output

    fixed = run_cli("manifest", "validate", tmp_path / "m" / "dev-clean.tsv", "--fix", tmp_path / "fixed")
    assert fixed.exit_code == 0 and f"kept {len(lines) - 2} of {len(lines) - 1}" in fixed.output
    assert victim[0] in (tmp_path / "fixed" / "rejected.tsv").read_text()
    assert run_cli("manifest", "validate", tmp_path / "fixed" / "dev-clean.tsv").exit_code == 0


def test_validate_missing_manifest_is_a_clear_error(tmp_path, run_cli):
    res = run_cli("manifest", "validate", tmp_path / "nope.tsv")
    assert res.exit_code == 2 and "nope.tsv" in res.output


def test_kaldi_to_manifest_to_fairseq(tmp_path, run_cli):
    sf.write(tmp_path / "a.flac", tone(0.5), 16000)
    kaldi = tmp_path / "kaldi"
    kaldi.mkdir()
    (kaldi / "wav.scp").write_text(f"utt1 {tmp_path / 'a.flac'}\n")
    (kaldi / "text").write_text("utt1 HELLO WORLD\n")
    assert run_cli("manifest", "from-kaldi", kaldi, tmp_path / "train.tsv").exit_code == 0
    assert run_cli("manifest", "to-fairseq", tmp_path / "train.tsv", tmp_path / "fs").exit_code == 0
    assert (tmp_path / "fs" / "train.ltr").read_text() == "H E L L O | W O R L D |\n"
    shutil.rmtree(tmp_path / "fs")


def test_combine_rejects_an_utterance_in_two_manifests_and_a_broken_manifest_in_one_line(tmp_path, run_cli):
    make_librispeech_fixture(tmp_path / "corpus")
    run_cli("prepare", "librispeech", tmp_path / "corpus" / "LibriSpeech", "--out", tmp_path / "m")
    dev = tmp_path / "m" / "dev-clean.tsv"
    res = run_cli("manifest", "combine", tmp_path / "all.tsv", dev, tmp_path / "m" / "dev-other.tsv")
    assert res.exit_code == 0 and "all" in res.output
    twice = run_cli("manifest", "combine", tmp_path / "twice.tsv", dev, dev)
    assert twice.exit_code == 1 and "more than one input manifest" in twice.output
    (tmp_path / "empty.tsv").write_text("")
    broken = run_cli("prepare", "lm-text", tmp_path / "lm.txt", "--sentences", 10, "--exclude", tmp_path / "empty.tsv")
    assert broken.exit_code == 1 and broken.output.strip().splitlines() == [
        f"error: {tmp_path / 'empty.tsv'}: cannot parse (No columns to parse from file); "
        f"run `asrkit manifest validate {tmp_path / 'empty.tsv'}`"]
