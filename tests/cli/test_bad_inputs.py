"""Bad inputs give one line naming the file, line, utterance or key and what to do: never a traceback, never a
hang (issue 17). Runs that hung before are run in a subprocess with a time limit, so a regression fails the
test instead of stopping the suite."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import yaml

import asrkit
from asrkit.data.manifest import read_manifest, write_manifest
from asrkit.testing import make_tone_manifest
from asrkit.testing.ctc import write_ctc_checkpoint

from ..train.conftest import MICRO_MODEL

REPO = Path(asrkit.__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """Tone manifests (train 0.6-1.4 s, valid 0.3-0.45 s), a micro pre-training config over them and an
    untrained micro CTC checkpoint."""
    root = tmp_path_factory.mktemp("bad_inputs")
    train = make_tone_manifest(root, 6, seed=0, name="train.tsv")
    valid = make_tone_manifest(root, 3, min_seconds=0.3, max_seconds=0.45, seed=1, name="valid.tsv")
    conf = {"model": MICRO_MODEL,
            "data": {"train_manifest": str(train), "valid_manifest": str(valid), "max_sample_size": 16000,
                     "min_sample_size": 0},
            "optim": {"lr": 1e-3, "max_updates": 6},
            "trainer": {"max_tokens": 40000, "valid_every": 6, "save_every": 6, "num_workers": 0,
                        "tensorboard": False}}
    (root / "conf.yaml").write_text(yaml.safe_dump(conf))
    return {"root": root, "train": train, "valid": valid, "conf": root / "conf.yaml",
            "ctc": write_ctc_checkpoint(root / "ctc.pt", MICRO_MODEL)}


def one_line_error(res, *needles: str) -> str:
    """The command failed with one ``error:`` line (no traceback) holding every needle."""
    out = res.output if hasattr(res, "output") else res.stdout + res.stderr
    code = res.exit_code if hasattr(res, "exit_code") else res.returncode
    assert code != 0, out
    assert "Traceback" not in out, out
    errors = [line for line in out.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, out
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


def run_cli_subprocess(*args, timeout: float = 90) -> subprocess.CompletedProcess:
    """``asrkit ARGS`` in another process: a hang ends in TimeoutExpired, which fails the test."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "400"}
    return subprocess.run([sys.executable, "-m", "asrkit.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=REPO)


def with_audio(data, name: str, index: int, audio: Path, **changes) -> Path:
    """The training manifest with row ``index`` pointing at ``audio`` (and other column values)."""
    df = read_manifest(data["train"])
    df.loc[index, "audio"] = str(audio)
    for k, v in changes.items():
        df.loc[index, k] = v
    return write_manifest(df, data["root"] / name)


def pretrain(data, tmp_path, *overrides):
    return ("pretrain", "--config", data["conf"], "--exp-dir", tmp_path / "exp",
            *[a for o in overrides for a in ("--set", o)])


# ---------------------------------------------------------------------------------------------------
# A. config values are checked before anything runs, with the allowed range
@pytest.mark.parametrize("override, message", [
    ("trainer.save_every=0", "--set trainer.save_every: 0 is out of range: must be >= 1"),
    ("model.mask_length=0", "--set model.mask_length: 0 is out of range: must be >= 1"),
    ("model.dropout=2.0", "--set model.dropout: 2.0 is out of range: must be in [0, 1)"),
    ("model.num_negatives=0", "--set model.num_negatives: 0 is out of range: must be >= 1"),
    ("optim.max_updates=0", "--set optim.max_updates: 0 is out of range: must be >= 1"),
])
def test_out_of_range_config_values_are_one_line_errors(data, tmp_path, run_cli, override, message):
    one_line_error(run_cli(*pretrain(data, tmp_path, override)), message)
    assert not (tmp_path / "exp").exists()


def test_a_bad_value_in_the_config_file_names_the_file_and_key(data, tmp_path, run_cli):
    conf = yaml.safe_load(data["conf"].read_text())
    conf["trainer"]["max_tokens"] = 0
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(conf))
    res = run_cli("pretrain", "--config", tmp_path / "bad.yaml", "--exp-dir", tmp_path / "exp")
    one_line_error(res, f"{tmp_path / 'bad.yaml'}.trainer.max_tokens: 0 is out of range: must be >= 1")


def test_update_freq_zero_fails_at_once_instead_of_hanging(data, tmp_path):
    res = run_cli_subprocess(*pretrain(data, tmp_path, "optim.update_freq=0"))
    one_line_error(res, "--set optim.update_freq: 0 is out of range: must be >= 1")


def test_decode_and_synth_flags_out_of_range_name_the_flag(data, tmp_path, run_cli):
    res = run_cli("decode", "--checkpoint", data["ctc"], "--manifest", data["valid"], "--out-dir", tmp_path / "o",
                  "--beam-size", 0)
    one_line_error(res, "--beam-size: 0 is out of range: must be >= 1")
    res = run_cli("prepare", "synth", tmp_path / "synth", "--num-workers", 0)
    one_line_error(res, "--num-workers: 0 is out of range: must be >= 1")


# ---------------------------------------------------------------------------------------------------
# B. what hung
def test_a_length_filter_that_empties_the_training_set_is_an_error_not_endless_empty_epochs(data, tmp_path):
    res = run_cli_subprocess(*pretrain(data, tmp_path, "data.min_sample_size=10000000"))
    one_line_error(res, str(data["train"]), "no training utterance is left", "data.min_sample_size=10000000",
                   "removes 6 of 6", "lower data.min_sample_size")


def test_a_validation_set_emptied_by_filtering_is_the_same_error(data, tmp_path, run_cli):
    res = run_cli(*pretrain(data, tmp_path, "data.min_sample_size=8000"))  # train 0.6-1.4 s, valid under 0.5 s
    one_line_error(res, str(data["valid"]), "no validation utterance is left", "data.min_sample_size=8000",
                   "removes 3 of 3")


def test_a_fifo_as_audio_is_named_instead_of_blocking(data, tmp_path):
    fifo = data["root"] / "pipe.flac"  # beside the manifest: its path in messages is as written here
    os.mkfifo(fifo)
    manifest = with_audio(data, "fifo.tsv", 2, fifo)
    message = ("named pipe (FIFO), not a regular file", str(fifo))
    res = run_cli_subprocess(*pretrain(data, tmp_path, f"data.train_manifest={manifest}"))
    one_line_error(res, f"{manifest}:4: utterance 'utt0-002'", *message)
    res = run_cli_subprocess("decode", "--checkpoint", data["ctc"], "--manifest", manifest, "--out-dir", tmp_path / "o")
    one_line_error(res, f"{manifest}:4: utterance 'utt0-002'", *message)
    res = run_cli_subprocess("manifest", "validate", manifest, "--num-workers", 2)
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert "missing_audio" in res.stderr and "named pipe (FIFO)" in res.stderr


def test_a_synth_worker_that_dies_is_an_error_not_a_hang(tmp_path):
    script = tmp_path / "die.py"  # a worker exits mid-task, as when the OOM killer takes it
    script.write_text(
        "import os, sys\n"
        "import asrkit.data.synth.corpus as corpus\n"
        "from asrkit.cli import cli\n\n"
        "def die(args):\n"
        "    os._exit(9)\n\n"
        "if __name__ == '__main__':\n"
        "    corpus._render = die  # the workers receive it by name from this module\n"
        "    cli.main(['prepare', 'synth', sys.argv[1], '--pretrain-hours', '0.001', '--num-workers', '2'])\n")
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "400"}
    res = subprocess.run([sys.executable, str(script), str(tmp_path / "synth")], capture_output=True, text=True,
                         timeout=120, env=env)
    one_line_error(res, "a synthesis worker process died", "--num-workers")


# ---------------------------------------------------------------------------------------------------
# C. messages that named nothing, or advised what does not exist
def test_a_missing_audio_file_met_in_training_says_so_with_its_manifest_line(data, tmp_path, run_cli):
    manifest = with_audio(data, "missing.tsv", 2, data["root"] / "gone.flac")
    res = run_cli(*pretrain(data, tmp_path, f"data.train_manifest={manifest}"))
    one_line_error(res, f"{manifest}:4: utterance 'utt0-002'", f"{data['root'] / 'gone.flac'}: does not exist")


def test_a_file_at_another_rate_than_its_manifest_line_says_is_named(data, tmp_path, run_cli):
    wav, rate = sf.read(read_manifest(data["train"])["audio"][2])
    sf.write(tmp_path / "8k.flac", wav[::2], rate // 2)  # the manifest's frame count is the 16 kHz one
    manifest = with_audio(data, "8k_in_16k.tsv", 2, tmp_path / "8k.flac")
    res = run_cli("decode", "--checkpoint", data["ctc"], "--manifest", manifest, "--out-dir", tmp_path / "o")
    line = one_line_error(res, f"{manifest}:4: utterance 'utt0-002'", "is 8000 Hz", "manifest line says 16000 Hz",
                          "regenerate the manifest")
    assert "psf_fseek" not in line


def test_audio_at_another_rate_gets_advice_that_exists(data, tmp_path, run_cli):
    wav, rate = sf.read(read_manifest(data["train"])["audio"][2])
    sf.write(tmp_path / "8k.flac", wav[::2], 8000)
    manifest = with_audio(data, "8k.tsv", 2, tmp_path / "8k.flac", sample_rate=8000, num_samples=len(wav[::2]))
    line = one_line_error(run_cli(*pretrain(data, tmp_path, f"data.train_manifest={manifest}")),
                          str(manifest), "'utt0-002'", "at 8000 Hz", "sox", "data.sample_rate: 8000")
    assert "resample: true" not in line


def test_lengths_filtered_out_are_logged(data, tmp_path, run_cli):
    res = run_cli(*pretrain(data, tmp_path, "data.min_sample_size=10000", f"data.valid_manifest={data['train']}",
                            "optim.max_updates=1"))
    assert res.exit_code == 0, res.output
    assert res.output.count("data.min_sample_size=10000 (0.62 s) left out") == 2  # training and validation


def test_validate_reports_nonfinite_and_empty_audio_and_a_header_only_manifest(data, tmp_path, run_cli):
    wav = np.zeros(1600, np.float32)
    wav[100], wav[200] = np.nan, np.inf
    sf.write(tmp_path / "nan.wav", wav, 16000, subtype="FLOAT")
    sf.write(tmp_path / "none.wav", np.zeros(0, np.float32), 16000)
    manifest = with_audio(data, "nan.tsv", 1, tmp_path / "nan.wav", num_samples=1600, duration=0.1)
    manifest = with_audio({**data, "train": manifest}, "nan_none.tsv", 3, tmp_path / "none.wav", num_samples=0,
                          duration=0.0)
    res = run_cli("manifest", "validate", manifest, "--num-workers", 1, "--charset", "ABCDEFGHIJKLMNOPQRSTUVWXYZ' ")
    out = " ".join(res.output.split())
    assert res.exit_code == 1 and "Traceback" not in out
    assert "│ 3 │ utt0-001 │ nonfinite_audio │" in out and "│ 5 │ utt0-003 │ empty_audio │" in out
    header_only = tmp_path / "header.tsv"
    header_only.write_text(data["train"].read_text().splitlines()[0] + "\n")
    res = run_cli("manifest", "validate", header_only)
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert "│ 1 │ │ no_rows │ header only, no utterance rows │" in " ".join(res.output.split())


@pytest.mark.parametrize("command", [
    ("manifest", "summary", "{m}"),
    ("manifest", "to-fairseq", "{m}", "{tmp}/fs"),
    ("pretrain", "--config", "{conf}", "--exp-dir", "{tmp}/exp", "--set", "data.train_manifest={m}"),
    ("decode", "--checkpoint", "{ctc}", "--manifest", "{m}", "--out-dir", "{tmp}/out"),
    ("lm", "eval", "{ctc}", "{m}"),
    ("prepare", "lm-text", "{tmp}/lm.txt", "--sentences", "5", "--exclude", "{m}"),
])
def test_a_0_byte_manifest_is_named_by_every_command_that_reads_one(data, tmp_path, run_cli, command):
    empty = tmp_path / "empty.tsv"
    empty.write_bytes(b"")
    args = [a.format(m=empty, tmp=tmp_path, conf=data["conf"], ctc=data["ctc"]) for a in command]
    one_line_error(run_cli(*args), str(empty))


def test_a_header_only_manifest_is_an_error_in_training_and_decoding(data, tmp_path, run_cli):
    header_only = tmp_path / "header.tsv"
    header_only.write_text(data["train"].read_text().splitlines()[0] + "\n")
    one_line_error(run_cli(*pretrain(data, tmp_path, f"data.train_manifest={header_only}")), str(header_only),
                   "lists no utterances")
    res = run_cli("decode", "--checkpoint", data["ctc"], "--manifest", header_only, "--out-dir", tmp_path / "o")
    one_line_error(res, str(header_only), "lists no utterances")


def test_non_utf8_files_are_named(data, tmp_path, run_cli):
    (tmp_path / "ref.trn").write_text("HELLO (a-1)\n")
    (tmp_path / "hyp.trn").write_bytes(b"HELLO (a-1)\nCAF\xe9 (a-2)\n")
    res = run_cli("score", "--ref", tmp_path / "ref.trn", "--hyp", tmp_path / "hyp.trn")
    one_line_error(res, f"{tmp_path / 'hyp.trn'}:2: not UTF-8 text", "iconv")
    (tmp_path / "conf.yaml").write_bytes(b"optim:\n  lr: 0.001 # r\xe9glage\n")
    res = run_cli("pretrain", "--config", tmp_path / "conf.yaml", "--exp-dir", tmp_path / "exp")
    one_line_error(res, f"{tmp_path / 'conf.yaml'}:2: not UTF-8 text")
    (tmp_path / "tokens.txt").write_bytes(b"<blank>\n|\n\xe9\n")
    res = run_cli("finetune", "--exp-dir", tmp_path / "exp", "--set", f"data.tokenizer={tmp_path / 'tokens.txt'}")
    one_line_error(res, f"{tmp_path / 'tokens.txt'}:3: not UTF-8 text")


def test_0_byte_results_and_benchmark_tables_are_named(tmp_path, run_cli):
    (tmp_path / "empty.tsv").write_bytes(b"")
    one_line_error(run_cli("results", tmp_path / "empty.tsv"), f"{tmp_path / 'empty.tsv'}: not a results TSV")
    res = run_cli("compare", "--model", "m", tmp_path / "empty.tsv", tmp_path / "empty.tsv")
    one_line_error(res, f"{tmp_path / 'empty.tsv'}: not an `asrkit benchmark` TSV")


def test_lexicon_words_the_lm_lacks_are_warned_about(data, tmp_path):
    from asrkit.decode.run import DecodeOptions, decode_manifest

    arpa = tmp_path / "lm.arpa"  # a bigram LM that knows THE only
    arpa.write_text("\\data\\\nngram 1=4\nngram 2=1\n\n\\1-grams:\n-1.0\t<s>\t0\n-1.0\t</s>\n-1.0\t<unk>\n"
                    "-0.5\tTHE\t0\n\n\\2-grams:\n-0.1\t<s> THE\n\n\\end\\\n")
    lexicon = tmp_path / "lexicon.txt"
    lexicon.write_text("THE\tT H E |\nCAT\tC A T |\nSAT\tS A T |\n")
    lines = []  # asrkit decode passes its console's log
    decode_manifest(data["ctc"], data["valid"], tmp_path / "o", DecodeOptions(lm=str(arpa), lexicon=str(lexicon)),
                    log=lines.append)
    assert lines == [f"warning: {lexicon}: 2 of its 3 words are not in the LM {arpa}, e.g. CAT, SAT; the search "
                     "scores them as <unk>: use the lexicon made from this LM's vocabulary (`asrkit lm train` "
                     "writes both)"]
