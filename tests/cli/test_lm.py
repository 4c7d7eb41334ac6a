"""``asrkit lm train / lexicon / eval`` on a tiny text (KenLM tools from ``make tools``, else skipped)."""
import pytest

from asrkit.data.manifest import read_manifest, write_manifest
from asrkit.testing import make_tone_manifest

from ..decode.test_lm import tools_or_skip

TEXT = ["THE CAT SAT ON THE MAT", "THE DOG SAT", "A CAT AND A DOG", "CAFÉ"] * 25


@pytest.fixture
def text(tmp_path):
    tools_or_skip()
    path = tmp_path / "text.txt"
    path.write_text("\n".join(TEXT) + "\n", encoding="utf-8")
    return path


def test_train_writes_the_lm_and_its_lexicon_and_eval_reads_text_and_manifests(text, tmp_path, run_cli):
    res = run_cli("lm", "train", text, "--out", tmp_path / "lm" / "3gram", "--order", 3, "--memory", "64M")
    assert res.exit_code == 0, res.output
    assert "8 words, 1 outside the token set" in res.output  # CAFÉ: É is no LibriSpeech character
    lexicon = (tmp_path / "lm" / "lexicon.txt").read_text().splitlines()
    assert "CAT\tC A T |" in lexicon and len(lexicon) == 8
    again = run_cli("lm", "lexicon", tmp_path / "lm" / "3gram.arpa", "--out", tmp_path / "lexicon.txt")
    assert again.exit_code == 0 and "(e.g. CAFÉ)" in again.output
    assert (tmp_path / "lexicon.txt").read_text().splitlines() == lexicon
    manifest = make_tone_manifest(tmp_path, num_utts=2, name="dev.tsv")
    df = read_manifest(manifest)
    df["text"] = ["THE CAT SAT", "A DOG SAT ON THE MAT"]
    write_manifest(df, manifest)
    ppl = run_cli("lm", "eval", tmp_path / "lm" / "3gram.bin", text, manifest)
    assert ppl.exit_code == 0 and "dev.tsv" in ppl.output and "100" in ppl.output  # sentences in text.txt


def test_bad_prune_counts_and_tokens_are_one_line_errors(text, tmp_path, run_cli):
    res = run_cli("lm", "train", text, "--out", tmp_path / "lm", "--prune", "0 x")
    assert res.exit_code == 2 and "'0 x': expected integer counts" in res.output
    (tmp_path / "tokens.txt").write_text("A\nB\n")
    res = run_cli("lm", "train", text, "--out", tmp_path / "lm", "--tokens", tmp_path / "tokens.txt")
    assert res.exit_code == 1 and res.output.startswith("error: ") and len(res.output.splitlines()) == 1
