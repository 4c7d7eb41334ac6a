"""``asrkit lm train --type transformer``, ``asrkit lm eval`` of its checkpoint and ``asrkit decode`` with it
(first-pass LM and N-best rescoring): real tiny runs of seconds; bad inputs are one-line errors."""
import re

import pandas as pd
import pytest
import yaml

from asrkit.checkpoint import read_checkpoint
from asrkit.testing import make_tone_manifest
from asrkit.testing.ctc import write_ctc_checkpoint

from ..train.conftest import MICRO_MODEL

TEXT = ["THE CAT SAT ON THE MAT", "THE DOG SAT", "A CAT AND A DOG", "THE DOG SAT ON A MAT"] * 30
TINY = ["--set", "model.embed_dim=32", "--set", "model.ffn_dim=64", "--set", "model.num_heads=2",
        "--set", "trainer.max_tokens=256", "--set", "trainer.tensorboard=false", "--set", "optim.lr=3e-3",
        "--set", "trainer.valid_every=10", "--set", "trainer.save_every=10", "--set", "trainer.keep_last=0",
        "--set", "trainer.log_every=10"]


@pytest.fixture(scope="module")
def texts(tmp_path_factory):
    root = tmp_path_factory.mktemp("lmtext")
    (root / "train.txt").write_text("\n".join(TEXT) + "\n")
    (root / "valid.txt").write_text("THE CAT SAT ON A MAT\nA DOG AND A CAT\n")
    return root / "train.txt", root / "valid.txt"


def _ppl(output: str, name: str) -> float:
    row = next(line for line in output.splitlines() if name in line)
    return float(re.findall(r"[\d.]+", row)[-1])


def test_training_lowers_the_validation_perplexity_resumes_and_eval_prints_it(texts, tmp_path, run_cli):
    train, valid = texts
    exp = tmp_path / "tlm"
    res = run_cli("lm", "train", train, "--type", "transformer", "--valid-text", valid, "--out", exp,
                  "--set", "optim.max_updates=30", *TINY)
    assert res.exit_code == 0, res.output
    ckpt = read_checkpoint(exp / "checkpoint_last.pt", kinds=("lm",))
    assert ckpt.kind == "lm" and ckpt.num_updates == 30 and ckpt.tokens[:2] == ("</s>", "<unk>")
    assert set(ckpt.tokens[2:]) == {"THE", "CAT", "SAT", "ON", "MAT", "DOG", "A", "AND"}
    early = run_cli("lm", "eval", exp / "checkpoint_10.pt", valid)
    late = run_cli("lm", "eval", exp / "checkpoint_30.pt", valid)
    assert early.exit_code == 0 and late.exit_code == 0, early.output + late.output
    for col in ("sentences", "words", "oov", "ppl"):
        assert col in late.output
    assert _ppl(late.output, "valid.txt") < 0.7 * _ppl(early.output, "valid.txt")
    valid_rows = pd.read_csv(exp / "metrics.tsv", sep="\t").query("split == 'valid' and metric == 'loss'")
    assert valid_rows["value"].iloc[-1] < valid_rows["value"].iloc[0]
    # resume: 10 more updates continue from update 30
    more = run_cli("lm", "train", train, "--type", "transformer", "--valid-text", valid, "--out", exp,
                   "--set", "optim.max_updates=40", "--allow-changes", "optim.max_updates", *TINY)
    assert more.exit_code == 0, more.output
    assert read_checkpoint(exp / "checkpoint_last.pt", kinds=("lm",)).num_updates == 40
    train_rows = pd.read_csv(exp / "metrics.tsv", sep="\t").query("split == 'train' and metric == 'loss'")
    assert train_rows["update"].tolist() == [10, 20, 30, 40]


def test_decode_with_the_transformer_lm_and_with_nbest_rescoring(texts, tmp_path, run_cli):
    from ..decode.test_lm import tools_or_skip

    tools_or_skip()
    train, valid = texts
    res = run_cli("lm", "train", train, "--type", "transformer", "--out", tmp_path / "tlm",
                  "--set", "optim.max_updates=10", *TINY)
    assert res.exit_code == 0, res.output
    ngram = run_cli("lm", "train", train, "--order", 3, "--memory", "64M", "--out", tmp_path / "lm" / "3gram")
    assert ngram.exit_code == 0, ngram.output
    ckpt = write_ctc_checkpoint(tmp_path / "ctc.pt", MICRO_MODEL)
    manifest = make_tone_manifest(tmp_path, 2, name="test.tsv")
    tlm, lexicon = tmp_path / "tlm" / "checkpoint_last.pt", tmp_path / "lm" / "lexicon.txt"
    first = run_cli("decode", "--checkpoint", ckpt, "--manifest", manifest, "--out-dir", tmp_path / "first",
                    "--lm", tlm, "--lexicon", lexicon, "--beam-size", 5)
    assert first.exit_code == 0, first.output
    assert len((tmp_path / "first" / "hyp.trn").read_text().splitlines()) == 2
    pool = run_cli("decode", "--checkpoint", ckpt, "--manifest", manifest, "--out-dir", tmp_path / "pool",
                   "--lm", tlm, "--lexicon", lexicon, "--beam-size", 5, "--num-workers", 2)
    assert pool.exit_code == 0, pool.output  # each worker loads the Transformer LM itself
    assert (tmp_path / "pool" / "scores.tsv").read_text() == (tmp_path / "first" / "scores.tsv").read_text()
    res = run_cli("decode", "--checkpoint", ckpt, "--manifest", manifest, "--out-dir", tmp_path / "rescored",
                  "--lm", tmp_path / "lm" / "3gram.bin", "--lexicon", lexicon, "--beam-size", 5,
                  "--rescore-lm", tlm, "--nbest", 4, "--tune", manifest, "--trials", 3)
    assert res.exit_code == 0, res.output
    used = yaml.safe_load((tmp_path / "rescored" / "decode.yaml").read_text())
    assert used["rescore_lm"] == str(tlm) and "rescore_weight" in used and "rescore_word_score" in used
    assert len(pd.read_csv(tmp_path / "rescored" / "tune_rescore.tsv", sep="\t")) == 3


def _one_line_error(res, *needles):
    out = res.output.strip()  # decode's progress display may leave an empty line before the error
    assert res.exit_code == 1 and out.startswith("error: ") and len(out.splitlines()) == 1, res.output
    for needle in needles:
        assert needle in res.output, res.output


def test_bad_text_empty_vocabulary_and_wrong_checkpoint_kind_are_one_line_errors(texts, tmp_path, run_cli):
    train, _ = texts
    (tmp_path / "empty.txt").write_text("\n  \n")
    _one_line_error(run_cli("lm", "train", tmp_path / "empty.txt", "--type", "transformer", "--out", tmp_path / "a"),
                    "no sentence in it")
    (tmp_path / "latin1.txt").write_bytes("CAFÉ AU LAIT\n".encode("latin-1"))
    _one_line_error(run_cli("lm", "train", tmp_path / "latin1.txt", "--type", "transformer", "--out", tmp_path / "b"),
                    "latin1.txt")
    _one_line_error(run_cli("lm", "train", train, "--type", "transformer", "--out", tmp_path / "c",
                            "--set", "data.min_count=1000"), "empty vocabulary")
    _one_line_error(run_cli("lm", "train", train, "--type", "transformer", "--out", tmp_path / "d",
                            "--set", "model=huge"), "no Transformer LM config 'huge'")
    _one_line_error(run_cli("lm", "train", train, "--type", "transformer", "--out", tmp_path / "e", "--order", 3),
                    "--order: not an option of --type transformer")
    _one_line_error(run_cli("lm", "train", train, "--out", tmp_path / "f", "--valid-text", train),
                    "--valid-text: not an option of --type ngram")
    ctc = write_ctc_checkpoint(tmp_path / "ctc.pt", MICRO_MODEL)
    _one_line_error(run_cli("lm", "eval", ctc, train), "a fine-tuned CTC model", "Transformer language model")
    _one_line_error(run_cli("lm", "eval", ctc, tmp_path / "empty.txt"), "empty.txt: no sentence to compute")
    manifest = make_tone_manifest(tmp_path, 1, name="test.tsv")
    (tmp_path / "lexicon.txt").write_text("CAT\tC A T |\n")
    _one_line_error(run_cli("decode", "--checkpoint", ctc, "--manifest", manifest, "--out-dir", tmp_path / "o",
                            "--lm", ctc, "--lexicon", tmp_path / "lexicon.txt"), "Transformer language model")
    _one_line_error(run_cli("decode", "--checkpoint", ctc, "--manifest", manifest, "--out-dir", tmp_path / "o",
                            "--rescore-lm", ctc, "--nbest", 5), "--rescore-lm ranks the N-best lists")
    _one_line_error(run_cli("decode", "--checkpoint", ctc, "--manifest", manifest, "--out-dir", tmp_path / "o",
                            "--lm", tmp_path / "lexicon.txt", "--lexicon", tmp_path / "lexicon.txt",
                            "--rescore-lm", tmp_path / "lexicon.txt", "--nbest", 5), "not a Transformer LM checkpoint")
    _one_line_error(run_cli("decode", "--checkpoint", ctc, "--manifest", manifest, "--out-dir", tmp_path / "o",
                            "--rescore-lm", tmp_path / "lexicon.txt"), "nbest")
