"""KenLM training, model checks, perplexity, vocabulary and lexicon on a tiny synthetic corpus.

Training needs ``tools/bin/lmplz`` and ``build_binary`` (``make tools``); without them those
tests skip and say so."""
from __future__ import annotations

import random
from pathlib import Path

import pytest

from asrkit.data.manifest import read_manifest, write_manifest
from asrkit.decode.lm import (
    LMError,
    LMToolsMissing,
    build_lexicon,
    check_lm,
    find_lm_tools,
    lm_perplexity,
    lm_vocabulary,
    train_lm,
    train_ngram,
)
from asrkit.testing import make_tone_manifest

SUBJECTS = ("THE CAT", "THE DOG", "A BIRD", "MY FRIEND", "THE OLD MAN")
VERBS = ("SAT ON", "RAN TO", "LOOKED AT", "SLEPT UNDER")
OBJECTS = ("THE MAT", "THE PARK", "A TREE", "THE HOUSE")


def sentences(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)}" for _ in range(n)]


def tools_or_skip() -> None:
    try:
        find_lm_tools()
    except LMToolsMissing as e:
        pytest.skip(f"KenLM tools not built ({e})")


@pytest.fixture(scope="module")
def lm(tmp_path_factory) -> tuple[Path, Path]:
    """A 3-gram on 300 grammar sentences -> (arpa, binary)."""
    tools_or_skip()
    root = tmp_path_factory.mktemp("lm")
    text = root / "text.txt"
    text.write_text("\n".join(sentences(300, seed=0)) + "\n", encoding="utf-8")
    return train_ngram(text, root / "3gram", order=3, memory="64M")


def test_train_ngram_writes_arpa_and_binary(lm):
    arpa, binary = lm
    assert arpa.name == "3gram.arpa" and binary.name == "3gram.bin"
    assert check_lm(arpa) == "arpa"
    assert check_lm(binary) == "binary"
    assert "ngram 3=" in arpa.read_text(encoding="utf-8")[:200]


def test_in_domain_perplexity_is_lower_than_shuffled_words(lm, tmp_path):
    _, binary = lm
    held_out = sentences(50, seed=1)
    rng = random.Random(2)
    shuffled = []
    for s in held_out:
        words = s.split()
        rng.shuffle(words)
        shuffled.append(" ".join(words))
    (tmp_path / "in.txt").write_text("\n".join(held_out) + "\n\n", encoding="utf-8")
    (tmp_path / "shuffled.txt").write_text("\n".join(shuffled) + "\n", encoding="utf-8")
    good = lm_perplexity(binary, tmp_path / "in.txt")
    bad = lm_perplexity(binary, tmp_path / "shuffled.txt")
    assert good["sentences"] == 50  # the empty line is not a sentence
    assert good["words"] == sum(len(s.split()) for s in held_out)
    assert good["oov"] == 0
    assert good["ppl"] < 10 < bad["ppl"]
    assert good["ppl"] < bad["ppl"] / 3


def test_perplexity_counts_oov_words(lm, tmp_path):
    arpa, _ = lm
    (tmp_path / "oov.txt").write_text("THE ZEBRA SAT ON THE MAT\n", encoding="utf-8")
    stats = lm_perplexity(arpa, tmp_path / "oov.txt")
    assert (stats["oov"], stats["sentences"], stats["words"]) == (1, 1, 6)


def test_perplexity_of_a_manifest_is_that_of_its_transcripts(lm, tmp_path):
    manifest = make_tone_manifest(tmp_path, num_utts=3, name="dev.tsv")
    df = read_manifest(manifest)
    df["text"] = sentences(3, seed=4)
    write_manifest(df, manifest)
    (tmp_path / "dev.txt").write_text("\n".join(df["text"]) + "\n", encoding="utf-8")
    assert lm_perplexity(lm[1], manifest) == lm_perplexity(lm[1], tmp_path / "dev.txt")


def test_train_lm_writes_the_lexicon_of_its_vocabulary_next_to_it(tmp_path):
    tools_or_skip()
    (tmp_path / "text.txt").write_text("\n".join(sentences(100, seed=3)) + "\n", encoding="utf-8")
    trained = train_lm(tmp_path / "text.txt", tmp_path / "lm" / "2gram", order=2, memory="64M")
    assert (trained.arpa.name, trained.binary.name, trained.lexicon) == ("2gram.arpa", "2gram.bin",
                                                                           tmp_path / "lm" / "lexicon.txt")
    words = {w for part in SUBJECTS + VERBS + OBJECTS for w in part.split()}
    assert trained.words == len(words) and trained.skipped == []
    assert {line.split("\t")[0] for line in trained.lexicon.read_text().splitlines()} == words


def test_lm_vocabulary_reads_unigrams(lm):
    arpa, binary = lm
    vocab = lm_vocabulary(arpa)
    corpus_words = {w for part in SUBJECTS + VERBS + OBJECTS for w in part.split()}
    assert set(vocab) == corpus_words | {"<s>", "</s>", "<unk>"}
    with pytest.raises(LMError, match="pass the .arpa"):
        lm_vocabulary(binary)


def test_build_lexicon_keeps_words_spelled_with_the_tokens(tmp_path):
    words = ["<s>", "</s>", "<unk>", "CAT", "IT'S", "CAT", "CAFÉ", "dog", "A"]
    tokens = ["<blank>", "|", *"ABCDEFGHIJKLMNOPQRSTUVWXYZ'"]
    n, skipped = build_lexicon(words, tmp_path / "lexicon.txt", tokens=tokens)
    assert n == 3
    assert skipped == ["CAFÉ", "dog"]
    assert (tmp_path / "lexicon.txt").read_text(encoding="utf-8") == "CAT\tC A T |\nIT'S\tI T ' S |\nA\tA |\n"


def test_build_lexicon_with_no_usable_word_fails(tmp_path):
    with pytest.raises(LMError, match="no word"):
        build_lexicon(["<s>", "café"], tmp_path / "lexicon.txt")


@pytest.mark.parametrize("content, match", [
    (b"", "empty"),
    (b"THE CAT SAT ON THE MAT\n", "not a KenLM binary or ARPA"),
    (b"\x00\x01\x02garbage", "not a KenLM binary or ARPA"),
])
def test_corrupt_lm_is_rejected(tmp_path, content, match):
    path = tmp_path / "lm.bin"
    path.write_bytes(content)
    with pytest.raises(LMError, match=match):
        check_lm(path)
    with pytest.raises(LMError):
        lm_perplexity(path, path)


def test_missing_lm_is_rejected(tmp_path):
    with pytest.raises(LMError, match="not found"):
        check_lm(tmp_path / "nope.bin")


def test_missing_tools_say_make_tools(tmp_path):
    (tmp_path / "text.txt").write_text("A B\n", encoding="utf-8")
    with pytest.raises(LMToolsMissing, match="make tools"):
        train_ngram(tmp_path / "text.txt", tmp_path / "lm", tools_dir=tmp_path / "no-tools")


def test_empty_training_text_is_rejected(tmp_path):
    tools_or_skip()
    (tmp_path / "text.txt").write_text("", encoding="utf-8")
    with pytest.raises(LMError, match="missing or empty"):
        train_ngram(tmp_path / "text.txt", tmp_path / "lm")
