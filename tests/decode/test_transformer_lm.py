"""The Transformer LM in decoding: the beam search's custom LM (its cached, incremental scores equal one full
forward), the lexicon beam search with it, N-best rescoring and perplexity."""
import math

import pytest
import torch

from asrkit.decode.beam import LexiconBeamDecoder
from asrkit.decode.lm import lm_perplexity
from asrkit.decode.rescore import NBestHyp, acoustic_score, best_hypothesis, rescore
from asrkit.decode.transformer_lm import LOG10, TransformerLMScorer, is_transformer_lm, transformer_decoder_lm
from asrkit.train.lm import load_lm_config, run_lm_training

# after A: CAT; after THE: CAB (both words in the vocabulary, each likely in one context only)
TEXT = ["A CAT SAT", "THE CAB SAT", "A CAT", "THE CAB", "A BAT SAT"] * 40
TOKENS = ["<blank>", "|", "A", "B", "C", "E", "H", "S", "T"]
LEXICON = ["A", "CAT", "CAB", "BAT", "SAT", "THE"]


@pytest.fixture(scope="module")
def lm_path(tmp_path_factory):
    root = tmp_path_factory.mktemp("tlm")
    (root / "text.txt").write_text("\n".join(TEXT) + "\n")
    cfg = load_lm_config(None, [f"data.train_text={root / 'text.txt'}", f"data.valid_text={root / 'text.txt'}",
                                "optim.max_updates=60", "optim.lr=3e-3", "trainer.valid_every=60",
                                "trainer.tensorboard=false", "trainer.max_tokens=512", "model.dropout=0.0",
                                "model.embed_dim=32", "model.ffn_dim=64", "model.num_heads=2"])
    run_lm_training(cfg, root / "exp")
    return root / "exp" / "checkpoint_last.pt"


@pytest.fixture(scope="module")
def lexicon(tmp_path_factory):
    path = tmp_path_factory.mktemp("lex") / "lexicon.txt"
    path.write_text("".join(f"{w}\t{' '.join(w)} |\n" for w in LEXICON))
    return path


def test_cached_decoder_lm_scores_equal_a_full_forward_including_branches(lm_path):
    scorer = TransformerLMScorer(lm_path)
    words = ["<unk>", *LEXICON, "DOG"]  # DOG: outside the LM vocabulary, scored as <unk>
    lm = transformer_decoder_lm(scorer, words)
    root = lm.start(False)
    for sentence in (["A", "CAT", "SAT"], ["A", "CAB", "SAT"], ["A", "CAT", "DOG"], ["THE", "CAB"]):
        state, total = root, 0.0
        for w in sentence:
            state, s = lm.score(state, words.index(w))
            total += s
        total += lm.finish(state)[1]
        assert total == pytest.approx(scorer.sentence_logprobs([sentence])[0] / LOG10, abs=1e-5)
    # again from the cache: no new forward
    forwards = lm.forwards
    state, s = lm.score(lm.score(root, words.index("A"))[0], words.index("CAT"))
    assert lm.forwards == forwards
    # one forward per expanded state: A, A CAT, A CAB, A CAT SAT, A CAB SAT, A CAT DOG, THE, THE CAB
    assert forwards == 8


def test_lexicon_beam_search_with_the_transformer_lm_picks_the_lm_preferred_word(lm_path, lexicon):
    def emissions(spelling: str) -> torch.Tensor:
        """One frame per character and a blank between; '?' is T or B with equal probability."""
        frames = []
        for ch in spelling:
            p = torch.full((len(TOKENS),), 0.02)
            if ch == "?":
                p[TOKENS.index("T")] = p[TOKENS.index("B")] = 0.45
            else:
                p[TOKENS.index("|" if ch == " " else ch)] = 0.9
            frames += [p, torch.tensor([0.9] + [0.1 / (len(TOKENS) - 1)] * (len(TOKENS) - 1))]
        return torch.stack(frames).log().log_softmax(-1)[None]

    decoder = LexiconBeamDecoder(TOKENS, lexicon, lm_path, beam_size=20, lm_weight=2.0)
    assert decoder.lm_kind == "transformer"
    assert decoder.decode(emissions("A CA? "))[0].text == "A CAT"
    assert decoder.decode(emissions("THE CA? "))[0].text == "THE CAB"
    # the acoustics alone cannot tell: without the LM, CAT and CAB score the same
    acoustic = decoder.with_weights(0.0, 0.0, nbest=2)
    assert acoustic.scorer is decoder.scorer  # the checkpoint is loaded once
    (first, s1), (second, s2) = acoustic.decode_nbest(emissions("A CA? ")[0])
    assert {first, second} == {("A", "CAT"), ("A", "CAB")} and s1 == pytest.approx(s2)
    nbest = decoder.with_weights(2.0, 0.0, nbest=3).decode_nbest(emissions("A CA? ")[0])
    assert nbest[0][0] == ("A", "CAT") and ("A", "CAB") in [w for w, _ in nbest]


def test_rescoring_picks_the_hypothesis_the_lm_prefers_over_the_acoustics(lm_path):
    scorer = TransformerLMScorer(lm_path)
    sentences = [("A", "CAB", "SAT"), ("A", "CAT", "SAT"), ("A", "CAT", "SAT", "SAT")]
    am = [-10.0, -10.5, -14.0]  # the acoustics prefer the first (wrong) one
    lm = [s / LOG10 for s in scorer.sentence_logprobs(sentences)]
    # batched (right-padded) as one at a time
    assert lm == pytest.approx([scorer.sentence_log10(s) for s in sentences], abs=1e-5)
    nbest = [NBestHyp(w, a, l) for w, a, l in zip(sentences, am, lm)]
    assert best_hypothesis(nbest, 0.0, 0.0) == 0
    assert best_hypothesis(nbest, 1.0, 0.0) == 1
    assert best_hypothesis(nbest, 0.0, 5.0) == 2  # a large word score prefers the longest
    texts, scores = rescore([nbest, []], 1.0, 0.0)
    assert texts == ["A CAT SAT", ""] and scores[0] == pytest.approx(am[1] + lm[1])
    assert acoustic_score(-3.0, -2.0, 4, 1.5, 0.5) == pytest.approx(-3.0 + 3.0 - 2.0)


def test_perplexity_counts_like_kenlm_eval(lm_path, tmp_path):
    assert is_transformer_lm(lm_path) and not is_transformer_lm(tmp_path)
    text = tmp_path / "dev.txt"
    text.write_text("A CAT SAT\n\nTHE DOG SAT\n")
    stats = lm_perplexity(lm_path, text)
    assert (stats["sentences"], stats["words"], stats["oov"]) == (2, 6, 1)  # DOG; the empty line skipped
    scorer = TransformerLMScorer(lm_path)
    logprob = sum(scorer.sentence_logprobs([["A", "CAT", "SAT"], ["THE", "<unk>", "SAT"]]))
    assert stats["ppl"] == pytest.approx(math.exp(-logprob / 8))
    assert stats["ppl"] < 10  # trained on these sentences


def test_sentencepiece_units_score_words_of_several_pieces_exactly(tmp_path):
    from asrkit.data.tokenizer import train_sentencepiece

    (tmp_path / "text.txt").write_text("\n".join(TEXT) + "\n")
    train_sentencepiece(tmp_path / "text.txt", tmp_path / "sp", vocab_size=14, model_type="bpe")
    cfg = load_lm_config(None, [f"data.train_text={tmp_path / 'text.txt'}", f"data.sentencepiece={tmp_path / 'sp.model'}",
                                "optim.max_updates=5", "trainer.tensorboard=false", "model.dropout=0.0",
                                "model.embed_dim=16", "model.ffn_dim=32", "model.num_heads=2"])
    run_lm_training(cfg, tmp_path / "exp")
    scorer = TransformerLMScorer(tmp_path / "exp" / "checkpoint_last.pt")
    assert scorer.vocab.sp is not None and max(len(scorer.vocab.word_units(w)) for w in LEXICON) > 1
    lm = transformer_decoder_lm(scorer, LEXICON)
    root = lm.start(False)
    for sentence in (["A", "CAT", "SAT"], ["A", "CAB"], ["THE", "CAB", "SAT"]):
        state, total = root, 0.0
        for w in sentence:
            state, s = lm.score(state, LEXICON.index(w))
            total += s
        total += lm.finish(state)[1]
        assert total == pytest.approx(scorer.sentence_logprobs([sentence])[0] / LOG10, abs=1e-5)
    stats = lm_perplexity(tmp_path / "exp" / "checkpoint_last.pt", tmp_path / "text.txt")
    assert stats["words"] == sum(len(s.split()) for s in TEXT) and stats["oov"] == 0
