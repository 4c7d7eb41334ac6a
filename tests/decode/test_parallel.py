"""Beam search across worker processes (``asrkit decode --num-workers``): the same hypotheses,
scores and tuned weights as one process; worker errors surface in the caller.

The model is an untrained micro CTC model: its near-flat emissions leave the words to the LM
and the word score, so the tuning trials differ and the test has something to compare."""
from __future__ import annotations

import multiprocessing
import random
from dataclasses import replace

import pytest
import torch
import yaml
from click.testing import CliRunner

from asrkit.cli import cli
from asrkit.data.tokenizer import CharTokenizer
from asrkit.decode.beam import LexiconBeamDecoder
from asrkit.decode.lm import LMError, LMToolsMissing, build_lexicon, find_lm_tools, lm_vocabulary, train_ngram
from asrkit.decode.parallel import BeamSearchPool, balanced_chunks, resolve_num_workers
from asrkit.decode.run import DecodeOptions, decode_manifest
from asrkit.testing import WORDS, make_tone_manifest
from asrkit.testing.ctc import write_ctc_checkpoint

from ..train.conftest import MICRO_MODEL

TOKENS = CharTokenizer().tokens


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """(checkpoint, test manifest, dev manifest, 3-gram, lexicon) for a micro model over tones."""
    try:
        find_lm_tools()
    except LMToolsMissing as e:
        pytest.skip(f"KenLM tools not built ({e})")
    root = tmp_path_factory.mktemp("parallel")
    rng = random.Random(0)
    (root / "text.txt").write_text("\n".join(" ".join(rng.choices(WORDS, k=rng.randint(2, 5))) for _ in range(300))
                                   + "\n", encoding="utf-8")
    arpa, binary = train_ngram(root / "text.txt", root / "3gram", order=3, memory="64M")
    build_lexicon(lm_vocabulary(arpa), root / "lexicon.txt", tokens=TOKENS)
    checkpoint = write_ctc_checkpoint(root / "ctc.pt", MICRO_MODEL)
    test = make_tone_manifest(root, 7, seed=2, name="test.tsv")
    dev = make_tone_manifest(root, 6, seed=3, name="dev.tsv")
    return checkpoint, test, dev, binary, root / "lexicon.txt"


def test_two_workers_decode_and_tune_exactly_as_one(setup, tmp_path):
    checkpoint, test, dev, lm, lexicon = setup
    opts = DecodeOptions(lm=str(lm), lexicon=str(lexicon), beam_size=20, tune=str(dev), trials=6)
    one = decode_manifest(checkpoint, test, tmp_path / "one", opts, log=lambda *a: None)
    # through the command line: --num-workers reaches the decode and decode.yaml
    res = CliRunner().invoke(cli, ["decode", "--checkpoint", checkpoint, "--manifest", test, "--out-dir",
                                   tmp_path / "two", "--lm", lm, "--lexicon", lexicon, "--beam-size", "20",
                                   "--tune", dev, "--trials", "6", "--num-workers", "2"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    hyps = (tmp_path / "one" / "hyp.trn").read_text()
    assert len(set(hyps.splitlines())) > 1  # not all empty: the comparison below means something
    for name in ("hyp.trn", "scores.tsv", "tune.tsv"):
        assert (tmp_path / "two" / name).read_text() == (tmp_path / "one" / name).read_text(), name
    used = [yaml.safe_load((tmp_path / d / "decode.yaml").read_text()) for d in ("one", "two")]
    assert (used[1]["lm_weight"], used[1]["word_score"]) == (one["lm_weight"], one["word_score"])
    assert used[0]["num_workers"] == 1 and used[1]["num_workers"] == 2


def test_tuning_runs_at_its_own_beam_and_the_test_at_the_decode_beam(setup, tmp_path):
    checkpoint, test, dev, lm, lexicon = setup
    quiet = dict(log=lambda *a: None)
    base = DecodeOptions(lm=str(lm), lexicon=str(lexicon), tune=str(dev), trials=6)
    small = decode_manifest(checkpoint, test, tmp_path / "small", replace(base, beam_size=2), **quiet)
    big = decode_manifest(checkpoint, test, tmp_path / "big", replace(base, beam_size=20), **quiet)
    both = decode_manifest(checkpoint, test, tmp_path / "both", replace(base, beam_size=20, tune_beam_size=2,
                                                                        num_workers=2), **quiet)
    tsv = {d: (tmp_path / d / "tune.tsv").read_text() for d in ("small", "big", "both")}
    assert tsv["small"] != tsv["big"]  # the beam changes the trials: the comparison below means something
    assert tsv["both"] == tsv["small"]
    assert (both["lm_weight"], both["word_score"]) == (small["lm_weight"], small["word_score"])
    fixed = replace(base, tune="", beam_size=20, lm_weight=both["lm_weight"], word_score=both["word_score"])
    decode_manifest(checkpoint, test, tmp_path / "fixed", fixed, **quiet)
    assert (tmp_path / "both" / "hyp.trn").read_text() == (tmp_path / "fixed" / "hyp.trn").read_text()
    assert yaml.safe_load((tmp_path / "both" / "decode.yaml").read_text())["tune_beam_size"] == 2
    with pytest.raises(ValueError, match=r"DecodeOptions.tune_beam_size: -1 is out of range: must be >= 0"):
        replace(base, tune_beam_size=-1)  # the options check themselves, before any decoding


def test_worker_errors_reach_the_caller_and_the_pool_closes(setup, tmp_path):
    _, _, _, lm, lexicon = setup
    moved = tmp_path / "3gram.bin"
    moved.write_bytes(lm.read_bytes())
    decoder = LexiconBeamDecoder(TOKENS, lexicon, moved)
    moved.unlink()  # the workers build their decoders from the path: they fail to start
    emissions = {"test": [torch.randn(12, len(TOKENS)).log_softmax(-1) for _ in range(3)]}
    with pytest.raises(LMError, match="3gram.bin: language model not found"):
        with BeamSearchPool(1, decoder, emissions) as pool:
            pool.decode("test", 1.0, 0.0)
    assert not multiprocessing.active_children()  # shut down and joined on the way out


def test_chunks_cover_every_utterance_once_and_balance_lengths():
    lengths = [100, 5, 80, 60, 7, 40, 20, 90, 10, 0]
    chunks = balanced_chunks(lengths, 3)
    assert sorted(i for c in chunks for i in c) == list(range(len(lengths)))
    assert all(c == sorted(c) for c in chunks)
    totals = [sum(lengths[i] for i in c) for c in chunks]
    assert max(totals) - min(totals) <= 20
    assert balanced_chunks([3, 1], 8) == [[0], [1]] and balanced_chunks([], 2) == []
    assert resolve_num_workers(3) == 3 and resolve_num_workers(0) >= 1
    with pytest.raises(ValueError, match="num_workers"):
        resolve_num_workers(-1)
