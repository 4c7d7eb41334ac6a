"""``asrkit decode``: options from ``--config`` and flags; ``asrkit score``: tables, results rows, one-line errors."""
import dataclasses
import typing

import pytest
import yaml

from asrkit.cli.decode import decode_cmd
from asrkit.decode.run import DecodeOptions
from asrkit.testing import make_tone_manifest
from asrkit.testing.ctc import write_ctc_checkpoint

from ..train.conftest import MICRO_MODEL


@pytest.fixture(scope="module")
def model_and_manifest(tmp_path_factory):
    """An untrained micro CTC checkpoint and a manifest of two tones: greedy decoding runs in a second."""
    root = tmp_path_factory.mktemp("decode")
    return write_ctc_checkpoint(root / "ctc.pt", MICRO_MODEL), make_tone_manifest(root, 2, name="test.tsv")


def test_every_decode_option_is_a_flag_with_its_default():
    flags = {p.name: p for p in decode_cmd.params}
    hints = typing.get_type_hints(DecodeOptions)
    for field in dataclasses.fields(DecodeOptions):
        flag = flags[field.name]
        assert flag.opts == ["--" + field.name.replace("_", "-")]
        assert flag.default == field.default, field.name
        if typing.get_origin(hints[field.name]) is typing.Literal:
            assert tuple(flag.type.choices) == typing.get_args(hints[field.name])


def test_decode_takes_options_from_the_config_file_and_flags_given_override_it(model_and_manifest, tmp_path,
                                                                                run_cli):
    checkpoint, manifest = model_and_manifest
    config = tmp_path / "decode.yaml"
    config.write_text("beam_size: 7\nlm_weight: 1.5\nword_score: -0.5\nlm_weight_range: [1, 2]\n"
                      "precision: fp32\nmax_tokens: 64000\n")
    res = run_cli("decode", "--checkpoint", checkpoint, "--manifest", manifest, "--out-dir", tmp_path / "out",
                  "--config", config, "--beam-size", 9, "--lm-weight", 2.0, "--trials", 4)
    assert res.exit_code == 0, res.output
    used = yaml.safe_load((tmp_path / "out" / "decode.yaml").read_text())  # the resolved options, beside the output
    assert used["beam_size"] == 9 and used["lm_weight"] == 2.0 and used["trials"] == 4  # flags, even at the default
    assert (used["word_score"], used["lm_weight_range"], used["precision"], used["max_tokens"]) == (
        -0.5, [1.0, 2.0], "fp32", 64000)  # the file
    assert used["tune_method"] == "bayes" and used["decoder"] == "greedy"  # defaults
    assert len((tmp_path / "out" / "hyp.trn").read_text().splitlines()) == 2


@pytest.mark.parametrize("content, message", [
    ("beam_sise: 5\n", ": unknown key(s) beam_sise; valid keys: lm, lexicon, beam_size,"),
    ("beam_size: big\n", ".beam_size: expected an integer, got 'big'"),
    ("lm_weight: {10m: 3.23}\n", ".lm_weight: expected a number, got {'10m': 3.23}"),
    ("tune_method: grid\n", ".tune_method: 'grid' is not one of 'bayes', 'random'"),
    ("lm_weight_range: [0]\n", ".lm_weight_range: expected 2 items, got 1"),
])
def test_a_bad_config_key_or_value_is_a_one_line_error_naming_file_and_key(tmp_path, run_cli, content, message):
    config = tmp_path / "decode.yaml"
    config.write_text(content)
    (tmp_path / "ctc.pt").write_bytes(b"")  # the options are checked before the model is read
    res = run_cli("decode", "--checkpoint", tmp_path / "ctc.pt", "--manifest", config, "--out-dir", tmp_path / "out",
                  "--config", config)
    assert res.exit_code == 1
    assert len(res.output.splitlines()) == 1 and res.output.startswith(f"error: {config}{message}"), res.output
    assert not (tmp_path / "out").exists()


def test_score_prints_tables_and_appends_results(tmp_path, run_cli):
    (tmp_path / "ref.trn").write_text("HELLO WORLD (a-1)\nGOOD DAY (a-2)\nTHE CAT SAT (b-1)\n")
    (tmp_path / "hyp.trn").write_text("HELLO WORD (a-1)\n(a-2)\nTHE CAT SAT ON (b-1)\n")
    args = ["score", "--ref", tmp_path / "ref.trn", "--hyp", tmp_path / "hyp.trn", "--results", tmp_path / "r.tsv",
            "--exp", "e", "--decoder", "greedy", "--split", "test"]
    res = run_cli(*args)
    assert res.exit_code == 0, res.output
    assert "57.14" in res.output and "WORLD -> WORD" in res.output
    run_cli(*args)
    rows = (tmp_path / "r.tsv").read_text().splitlines()
    assert len(rows) == 3 and rows[1].split("\t")[:4] == ["e", "greedy", "test", "57.14"]
    assert (tmp_path / "per_speaker.tsv").exists()


def test_score_names_missing_ids(tmp_path, run_cli):
    (tmp_path / "ref.trn").write_text("HELLO (a-1)\nBYE (a-2)\n")
    (tmp_path / "hyp.trn").write_text("HELLO (a-1)\n")
    res = run_cli("score", "--ref", tmp_path / "ref.trn", "--hyp", tmp_path / "hyp.trn")
    assert res.exit_code == 1 and "a-2" in res.output
