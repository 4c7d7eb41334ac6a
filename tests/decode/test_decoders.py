"""Greedy and lexicon beam-search CTC decoding on hand-made emissions, the hypothesis writers,
and the LM weight tuner.

The LM tests build a 3-gram where "THE CAT" is common and "KAT" only occurs as "A KAT IS ODD",
then decode an emission whose first letter of the second word is C or K with equal (or
K-leaning) probability: the LM must tip it to CAT."""
from __future__ import annotations

import random
from pathlib import Path

import pytest
import torch

from asrkit.data.tokenizer import PhoneTokenizer, token_unit
from asrkit.decode import write_hyp_trn, write_scores_tsv
from asrkit.decode.beam import DecodeResult, LexiconBeamDecoder, TokenMismatch
from asrkit.decode.greedy import greedy_decode
from asrkit.decode.lm import (
    LMError,
    LMToolsMissing,
    build_lexicon,
    find_lm_tools,
    lm_vocabulary,
    train_ngram,
)
from asrkit.decode.tune import tune_lm_weights
from asrkit.score import read_trn

TOKENS = ["<blank>", "|", *"ABCDEFGHIJKLMNOPQRSTUVWXYZ'"]  # LibriSpeech characters
V = len(TOKENS)


def emission(frames: list[str | dict[str, float]], blank_between: bool = True) -> torch.Tensor:
    """(T, V) log-probs: a frame is a token (probability 0.9) or {token: probability}; the rest of
    the mass is spread over the other tokens. A blank frame follows every frame by default."""
    rows = []
    for frame in frames:
        probs = {frame: 0.9} if isinstance(frame, str) else frame
        rest = (1.0 - sum(probs.values())) / (V - len(probs))
        row = torch.full((V,), rest)
        for tok, p in probs.items():
            row[TOKENS.index(tok)] = p
        rows.append(row)
        if blank_between:
            rows.append(torch.full((V,), 0.1 / (V - 1)).index_fill_(0, torch.tensor([0]), 0.9))
    return torch.stack(rows).log()


def spell(text: str) -> list[str]:
    return ["|" if ch == " " else ch for ch in text]


def batch(*ems: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad (T_i, V) emissions into (N, T, V) with garbage after each length, to prove it is ignored."""
    lengths = torch.tensor([e.size(0) for e in ems], dtype=torch.long)
    out = emission(spell("ZZZ"), blank_between=False)[:1].repeat(len(ems), max(e.size(0) for e in ems), 1)
    for i, e in enumerate(ems):
        out[i, : e.size(0)] = e
    return out, lengths


def all_blank(t: int) -> torch.Tensor:
    return emission(["<blank>"] * t, blank_between=False)


# --------------------------------------------------------------------------------------
# greedy

def test_greedy_collapses_repeats_drops_blanks_and_splits_words():
    hello = emission(["H", "E", "L", "L", "O"])  # the blank between the Ls keeps both
    stutter = emission(["|", "H", "H", "I", "|", "|", "T", "H", "E", "R", "E", "|"], blank_between=False)
    assert greedy_decode(*batch(hello, stutter), TOKENS) == ["HELLO", "HI THERE"]


def test_greedy_ignores_frames_past_length():
    em, lengths = batch(emission(spell("CAT")))
    longer = torch.cat([em, emission(spell("DOG"))[None]], dim=1)
    assert greedy_decode(longer, lengths, TOKENS) == ["CAT"]
    assert greedy_decode(longer, None, TOKENS) == ["CATDOG"]


@pytest.mark.parametrize("lengths", [[0], [7]])
def test_greedy_all_blank_or_zero_length_is_empty(lengths):
    assert greedy_decode(all_blank(7)[None], torch.tensor(lengths), TOKENS) == [""]


def test_greedy_empty_batch_and_zero_frames():
    assert greedy_decode(torch.zeros(0, 5, V), torch.zeros(0, dtype=torch.long), TOKENS) == []
    assert greedy_decode(torch.zeros(2, 0, V), torch.zeros(2, dtype=torch.long), TOKENS) == ["", ""]


def test_greedy_rejects_mismatched_vocabulary():
    with pytest.raises(ValueError, match="do not belong to this model"):
        greedy_decode(torch.zeros(1, 3, V + 1), None, TOKENS)
    with pytest.raises(ValueError, match="lengths must lie"):
        greedy_decode(torch.zeros(1, 3, V), torch.tensor([4]), TOKENS)


def test_greedy_joins_sentencepiece_pieces_and_characters():
    pieces = ["<blank>", "\u2581TURN", "\u2581ON", "\u2581THE", "\u2581LI", "GHT"]
    frames = torch.nn.functional.one_hot(torch.tensor([1, 1, 0, 2, 3, 0, 4, 5, 5]), len(pieces)).float()
    assert greedy_decode(frames.log_softmax(-1)[None], None, pieces) == ["TURN ON THE LIGHT"]
    ids = torch.tensor([TOKENS.index(c) for c in "HI|HI"])
    assert greedy_decode(torch.nn.functional.one_hot(ids, V).float()[None], None, TOKENS) == ["HI HI"]
    assert greedy_decode(torch.zeros(1, 0, len(pieces)), None, pieces) == [""]


def test_greedy_writes_phones_separated_by_spaces():
    phones = PhoneTokenizer().tokens  # <blank> and the 39 phones: no word boundary, no sentencepiece piece
    assert token_unit(phones) == "phone" and token_unit(TOKENS) == "char"
    ids = torch.tensor([phones.index(p) for p in ["dh", "dh", "<blank>", "ah", "<blank>", "ah", "k"]])
    frames = torch.nn.functional.one_hot(ids, len(phones)).float()
    assert greedy_decode(frames[None], None, phones) == ["dh ah ah k"]


# The three greedy decoders of e44333c, written out: decode/greedy.py (characters), decode/run.greedy_text
# (characters through the first; sentencepiece pieces) and train/finetune.greedy_texts (validation WER,
# through the tokenizer).
def _greedy_py(log_probs, tokens):
    out, prev = [], None
    for i in log_probs.argmax(-1).tolist():
        if i != prev and i != 0:
            out.append(tokens[i])
        prev = i
    return " ".join("".join(out).replace("|", " ").split())


def _greedy_text_run_py(log_probs, tokens):
    if "|" in tokens:
        return _greedy_py(log_probs, tokens)
    ids = torch.unique_consecutive(log_probs.argmax(-1)).tolist()
    return "".join(tokens[i] for i in ids if i != 0).replace("\u2581", " ").strip()


def _greedy_texts_finetune_py(log_probs, lengths, tokenizer):
    best = log_probs.argmax(dim=-1).cpu()
    return [tokenizer.decode(torch.unique_consecutive(seq[:n]).tolist()) for seq, n in zip(best, lengths.tolist())]


def _random_emissions(num_tokens, seed):
    """Peaky random emissions: long blank runs, repeats, boundaries at the edges and in pairs."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, num_tokens, (6, 40), generator=g)
    ids[torch.rand(6, 40, generator=g) < 0.4] = 0
    ids[:, 5:8] = ids[:, 4:5]  # a repeated token
    return torch.nn.functional.one_hot(ids, num_tokens).float().add(0.01 * torch.rand(6, 40, num_tokens,
                                                                                        generator=g)).log_softmax(-1)


@pytest.mark.parametrize("seed", range(5))
def test_greedy_outputs_are_those_of_the_three_decoders_it_replaces(seed, tmp_path):
    from asrkit.data.tokenizer import CharTokenizer, train_sentencepiece
    from asrkit.decode.greedy import best_paths

    words = ["TURN", "ON", "THE", "LIGHT", "LIGHTS", "OFF", "IT'S", "A", "DAY", "GOOD"]
    rng = random.Random(seed)
    (tmp_path / "text.txt").write_text("\n".join(" ".join(rng.choices(words, k=6)) for _ in range(200)))
    spm = train_sentencepiece(tmp_path / "text.txt", tmp_path / "spm", vocab_size=24)
    for tokenizer in (CharTokenizer(), spm):
        tokens = tokenizer.tokens
        em = _random_emissions(len(tokens), seed)
        lengths = torch.tensor([40, 33, 0, 1, 40, 17])
        assert [greedy_decode(e[:n][None], None, tokens)[0] for e, n in zip(em, lengths)] == \
            [_greedy_text_run_py(e[:n], tokens) for e, n in zip(em, lengths)]  # decode's hyp.trn
        assert greedy_decode(em, lengths, tokens) == [_greedy_text_run_py(e[:n], tokens) for e, n in zip(em, lengths)]
        if tokenizer is not spm:
            assert greedy_decode(em, lengths, tokens) == [_greedy_py(e[:n], tokens) for e, n in zip(em, lengths)]
        validation = [tokenizer.decode(ids) for ids in best_paths(em, lengths, tokenizer.blank)]
        assert validation == _greedy_texts_finetune_py(em, lengths, tokenizer)  # fine-tuning's validation WER


# --------------------------------------------------------------------------------------
# beam search with a KenLM

@pytest.fixture(scope="module")
def lm(tmp_path_factory) -> tuple[Path, Path]:
    """(binary 3-gram, lexicon) from 300 sentences: THE CAT ... common, KAT only in A KAT IS ODD."""
    try:
        find_lm_tools()
    except LMToolsMissing as e:
        pytest.skip(f"KenLM tools not built ({e})")
    rng = random.Random(0)
    lines = [f"THE {rng.choice(['CAT', 'DOG'])} {rng.choice(['SAT', 'RAN'])} ON THE MAT" for _ in range(290)]
    lines += ["A KAT IS ODD"] * 10
    root = tmp_path_factory.mktemp("lm")
    (root / "text.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    arpa, binary = train_ngram(root / "text.txt", root / "3gram", order=3, memory="64M")
    build_lexicon(lm_vocabulary(arpa), root / "lexicon.txt", tokens=TOKENS)
    return binary, root / "lexicon.txt"


def cat_or_kat(p_c: float, p_k: float) -> torch.Tensor:
    """THE ?AT SAT ON THE MAT, ? being C with p_c and K with p_k."""
    frames = spell("THE ") + [{"C": p_c, "K": p_k}] + spell("AT SAT ON THE MAT")
    return emission(frames)


def test_beam_lm_picks_the_lm_preferred_spelling(lm):
    binary, lexicon = lm
    decoder = LexiconBeamDecoder(TOKENS, lexicon, binary, lm_weight=2.0)
    [result] = decoder.decode(*batch(cat_or_kat(0.45, 0.45)))
    assert result.text == "THE CAT SAT ON THE MAT"
    assert isinstance(result, DecodeResult) and result.score < 0


def test_lm_weight_zero_follows_acoustics_and_positive_follows_lm(lm):
    binary, lexicon = lm
    em = batch(cat_or_kat(0.35, 0.55))
    no_lm = LexiconBeamDecoder(TOKENS, lexicon, binary, lm_weight=0.0)
    assert no_lm.decode(*em)[0].text == "THE KAT SAT ON THE MAT"
    assert no_lm.with_weights(2.0, 0.0).decode(*em)[0].text == "THE CAT SAT ON THE MAT"


def test_beam_without_lm_decodes_lexicon_words(lm):
    _, lexicon = lm
    decoder = LexiconBeamDecoder(TOKENS, lexicon, None)
    assert decoder.decode(*batch(emission(spell("A DOG IS ODD"))))[0].text == "A DOG IS ODD"


def test_beam_robust_to_blank_zero_length_and_empty_batch(lm):
    binary, lexicon = lm
    decoder = LexiconBeamDecoder(TOKENS, lexicon, binary)
    sentence = emission(spell("THE DOG RAN"))
    em, lengths = batch(all_blank(9), sentence, all_blank(4), sentence)
    lengths[2] = 0
    texts = [r.text for r in decoder.decode(em, lengths)]
    assert texts == ["", "THE DOG RAN", "", "THE DOG RAN"]
    assert decoder.decode(torch.zeros(0, 4, V), torch.zeros(0, dtype=torch.long)) == []
    assert decoder.decode(torch.zeros(2, 0, V), torch.zeros(2, dtype=torch.long)) == [DecodeResult("", 0.0)] * 2


def test_beam_batch_matches_one_by_one(lm):
    binary, lexicon = lm
    decoder = LexiconBeamDecoder(TOKENS, lexicon, binary)
    ems = [emission(spell(s)) for s in ("THE MAT", "A KAT IS ODD", "THE CAT SAT ON THE MAT")]
    together = decoder.decode(*batch(*ems))
    alone = [decoder.decode(*batch(e))[0] for e in ems]
    assert [r.text for r in together] == ["THE MAT", "A KAT IS ODD", "THE CAT SAT ON THE MAT"]
    assert together == alone


def test_corrupt_lm_rejected_before_decoding(lm, tmp_path):
    _, lexicon = lm
    (tmp_path / "text.bin").write_text("THE CAT SAT\n", encoding="utf-8")
    with pytest.raises(LMError, match="not a KenLM binary or ARPA"):
        LexiconBeamDecoder(TOKENS, lexicon, tmp_path / "text.bin")
    truncated = tmp_path / "truncated.arpa"  # a valid header, then too few unigrams
    truncated.write_text("\\data\\\nngram 1=5\n\n\\1-grams:\n-1.0\tTHE\n", encoding="utf-8")
    with pytest.raises(LMError, match="KenLM cannot load it"):
        LexiconBeamDecoder(TOKENS, lexicon, truncated)


def test_token_mismatch_rejected_before_decoding(lm, tmp_path):
    binary, lexicon = lm
    lowercase = ["<blank>", "|", *"abcdefghijklmnopqrstuvwxyz'"]
    with pytest.raises(TokenMismatch, match=r"'T' \(in THE\)"):
        LexiconBeamDecoder(lowercase, lexicon, binary)
    with pytest.raises(TokenMismatch, match="'<blank>'"):
        LexiconBeamDecoder(["-", *TOKENS[1:]], lexicon, binary)
    (tmp_path / "lexicon.txt").write_text("CAFÉ\tC A F É |\n", encoding="utf-8")
    with pytest.raises(TokenMismatch, match="'É'"):
        LexiconBeamDecoder(TOKENS, tmp_path / "lexicon.txt", binary)
    decoder = LexiconBeamDecoder(TOKENS, lexicon, binary)
    with pytest.raises(ValueError, match="do not belong to this model"):
        decoder.decode(torch.zeros(1, 5, V - 1), torch.tensor([5]))


# --------------------------------------------------------------------------------------
# writers

def test_write_hyp_trn_round_trips_through_the_scorer(tmp_path):
    ids, texts = ["s1-c-0002", "s1-c-0001", "s2-c-0001"], ["THE  CAT", "", "A DOG "]
    path = write_hyp_trn(tmp_path / "hyp.trn", ids, texts)
    assert path.read_text(encoding="utf-8") == "THE CAT (s1-c-0002)\n(s1-c-0001)\nA DOG (s2-c-0001)\n"
    assert read_trn(path) == {"s1-c-0002": "THE CAT", "s1-c-0001": "", "s2-c-0001": "A DOG"}
    with pytest.raises(ValueError, match="repeated"):
        write_hyp_trn(tmp_path / "x.trn", ["a-1", "a-1"], ["A", "B"])
    with pytest.raises(ValueError, match="2 ids"):
        write_hyp_trn(tmp_path / "x.trn", ["a-1", "a-2"], ["A"])


def test_write_scores_tsv(tmp_path):
    path = write_scores_tsv(tmp_path / "scores.tsv", ["u-1", "u-2"], ["THE CAT", ""], [-1.23456, 0.0])
    assert path.read_text(encoding="utf-8") == "id\tscore\ttext\nu-1\t-1.2346\tTHE CAT\nu-2\t0.0000\t\n"


# --------------------------------------------------------------------------------------
# LM weight / word score tuning

def bowl(lm_weight: float, word_score: float) -> float:
    """A WER-like surface: minimum 10 at (1.7, -1.2), quantised to 0.25 like a real WER."""
    return round(4 * (10 + (lm_weight - 1.7) ** 2 + 0.3 * (word_score + 1.2) ** 2)) / 4


@pytest.mark.parametrize("method, n_trials, tolerance", [("random", 60, 0.5), ("bayes", 25, 0.25)])
def test_tuner_finds_the_minimum(method, n_trials, tolerance):
    seen = []
    (lm_weight, word_score), trials = tune_lm_weights(bowl, n_trials, method=method, seed=0, progress=seen.append)
    assert len(trials) == len(seen) == n_trials
    assert list(trials.columns) == ["trial", "proposer", "lm_weight", "word_score", "wer"]
    assert trials["lm_weight"].between(0, 5).all() and trials["word_score"].between(-5, 5).all()
    assert bowl(lm_weight, word_score) == trials["wer"].min() <= 10 + tolerance
    again, _ = tune_lm_weights(bowl, n_trials, method=method, seed=0)
    assert again == (lm_weight, word_score)


def test_tuner_honours_ranges_and_rejects_bad_method():
    _, trials = tune_lm_weights(bowl, 8, lm_weight_range=(1.0, 1.0), word_score_range=(-1, 0), method="bayes",
                                n_init=3)
    assert (trials["lm_weight"] == 1.0).all() and trials["word_score"].between(-1, 0).all()
    assert list(trials["proposer"]) == ["random"] * 3 + ["gp"] * 5
    with pytest.raises(ValueError, match="method"):
        tune_lm_weights(bowl, 3, method="grid")
