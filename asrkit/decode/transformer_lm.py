"""A Transformer LM (:mod:`asrkit.models.transformer_lm`, ``asrkit lm train --type transformer``) for decoding,
as wav2vec 2.0 §4.4 decodes with the "Transf. LM": sentence scores and perplexity, and the language model of the
flashlight lexicon beam search (a torchaudio ``CTCDecoderLM``).

Scores are log10 probabilities, as KenLM's (and so flashlight's) are: an LM weight means the same for either LM
and the tuning ranges of §4.4 apply to both. A sentence scores its words and one ``</s>``; a word outside the
vocabulary is scored as ``<unk>`` and counted as an OOV, as KenLM does.

In the beam search every LM state is a word history. Its state holds the key/value cache of that history and the
log-distribution of the next unit, computed by one incremental forward (the new word's units over the parent's
cache) the first time a word is scored after it; every later score from that state is a look-up. A word is scored
from its parent's distribution, so scoring (the search scores many words that it then prunes) runs no forward.
"""
from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Sequence
from pathlib import Path

import torch

from ..checkpoint import CheckpointError, load_model
from ..data.lm_text import LMVocabulary

LOG10 = math.log(10.0)
_ZIP_MAGIC = b"PK\x03\x04"  # torch.save writes a zip archive


def is_transformer_lm(path: str | Path) -> bool:
    """True for a torch checkpoint (a zip archive), told apart from a KenLM binary or ARPA file by content."""
    try:
        with Path(path).open("rb") as f:
            return f.read(4) == _ZIP_MAGIC
    except OSError:
        return False


class TransformerLMScorer:
    """A trained Transformer LM and its vocabulary, in eval mode on ``device``."""

    def __init__(self, path: str | Path, device: str | torch.device = "cpu"):
        self.model, ckpt = load_model(path, kinds=("lm",), device=device)
        data = ckpt.task.get("data") if isinstance(ckpt.task.get("data"), dict) else {}
        self.vocab = LMVocabulary(ckpt.tokens, data.get("sentencepiece") or None)
        self.path, self.device = Path(path), torch.device(device)

    @torch.inference_mode()
    def forward(self, units: Sequence[int], cache=None) -> tuple[torch.Tensor, list]:
        """Natural-log distributions ``(L, V)`` after each of ``units``, and the extended cache."""
        logits, cache = self.model(torch.tensor([list(units)], device=self.device), cache)
        return torch.log_softmax(logits[0].float(), dim=-1), cache

    @torch.inference_mode()
    def sentence_logprobs(self, sentences: Sequence[Sequence[str]], batch_size: int = 64) -> list[float]:
        """Natural-log probability of each sentence, ``</s>`` included (one batched forward per ``batch_size``)."""
        out: list[float] = []
        for start in range(0, len(sentences), batch_size):
            chunk = [self.vocab.encode(s) for s in sentences[start:start + batch_size]]
            width = max(len(u) for u in chunk) + 1
            source = torch.full((len(chunk), width), self.vocab.eos, dtype=torch.long)
            target = torch.full((len(chunk), width), -1, dtype=torch.long)
            for i, u in enumerate(chunk):
                source[i, 1:len(u) + 1] = torch.tensor(u, dtype=torch.long)
                target[i, :len(u) + 1] = torch.tensor([*u, self.vocab.eos], dtype=torch.long)
            logits, _ = self.model(source.to(self.device))
            logp = torch.log_softmax(logits.float(), dim=-1).cpu()
            picked = logp.gather(-1, target.clamp(min=0)[..., None])[..., 0] * (target >= 0)
            out += picked.sum(1).tolist()
        return out

    def sentence_log10(self, words: Sequence[str]) -> float:
        """log10 P(words </s>), as KenLM's ``score(sentence)``."""
        return self.sentence_logprobs([words])[0] / LOG10

    def perplexity(self, sentences: Iterable[str]) -> dict[str, float | int]:
        """Per-word perplexity (``</s>`` counted, OOVs scored as ``<unk>``) and OOV count, as
        :func:`asrkit.decode.lm.sentence_perplexity` reports a KenLM's."""
        split = [line.split() for line in sentences]
        split = [s for s in split if s]
        if not split:  # lm_perplexity names the file before it gets here
            raise ValueError("no sentence to compute a perplexity on")
        logprob = sum(self.sentence_logprobs(split))
        words = sum(len(s) for s in split)
        oov = sum(self.vocab.is_oov(w) for s in split for w in s)
        return {"ppl": math.exp(-logprob / (words + len(split))), "oov": oov, "sentences": len(split), "words": words}


@functools.lru_cache(maxsize=2)
def _cached_scorer(path: str, mtime: float) -> TransformerLMScorer:
    return TransformerLMScorer(path)


def load_scorer(path: str | Path) -> TransformerLMScorer:
    """The scorer of ``path``, loaded once per process (decoders rebuilt with other weights share it)."""
    path = Path(path)
    try:
        return _cached_scorer(str(path.resolve()), path.stat().st_mtime)
    except CheckpointError:
        raise
    except OSError as e:
        raise CheckpointError(f"{path}: cannot read the Transformer LM: {e}") from e


def transformer_decoder_lm(scorer: TransformerLMScorer, words: Sequence[str]):
    """The torchaudio ``CTCDecoderLM`` of ``scorer`` for a decoder whose word index ``i`` is ``words[i]``
    (the lexicon's words; those outside the LM vocabulary are its ``<unk>``)."""
    from torchaudio.models.decoder import CTCDecoderLM, CTCDecoderLMState

    class TransformerDecoderLM(CTCDecoderLM):
        """One entry per state: ``[cache, next-unit log10 distribution, parent state, word units]``; the first
        two are filled when the state is first scored from."""

        def __init__(self):
            CTCDecoderLM.__init__(self)
            self.units = [scorer.vocab.word_units(w) for w in words]
            root_logp, root_cache = scorer.forward([scorer.vocab.eos])
            self.root = (root_cache, root_logp[-1] / LOG10)
            self.states: dict = {}
            self.forwards = 0  # incremental forwards run (for tests and benchmarks)

        def start(self, start_with_nothing: bool) -> CTCDecoderLMState:
            state = CTCDecoderLMState()
            self.states = {state: [*self.root, None, None]}
            return state

        def _expanded(self, state) -> list:
            entry = self.states[state]
            if entry[1] is None:  # the word's units over the parent's cache
                logp, entry[0] = scorer.forward(entry[3], self._expanded(entry[2])[0])
                entry[1] = logp[-1] / LOG10
                self.forwards += 1
            return entry

        def score(self, state: CTCDecoderLMState, usr_token_idx: int) -> tuple[CTCDecoderLMState, float]:
            units = self.units[usr_token_idx]
            child = state.child(usr_token_idx)
            entry = self.states.get(child)
            if entry is None:
                parent = self._expanded(state)
                logp = float(parent[1][units[0]])
                entry = self.states[child] = [None, None, state, units]
                if len(units) > 1:  # a word of several pieces: their scores need the forward now
                    out, entry[0] = scorer.forward(units, parent[0])
                    entry[1] = out[-1] / LOG10
                    self.forwards += 1
                    logp += sum(float(out[i, u]) for i, u in enumerate(units[1:])) / LOG10
                entry.append(logp)
            return child, entry[4]

        def finish(self, state: CTCDecoderLMState) -> tuple[CTCDecoderLMState, float]:
            return state, float(self._expanded(state)[1][scorer.vocab.eos])

    return TransformerDecoderLM()
