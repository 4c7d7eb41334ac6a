"""Lexicon beam search over a pool of worker processes (``asrkit decode --num-workers``).

The flashlight search is single-threaded C++ and each utterance is searched on its own, so
utterances split across processes give the same texts and scores as one process, in a
fraction of the time. Tuning the LM weight and word score repeats the search over the whole
dev set for every trial; the pool is therefore started once, and each worker receives the
emissions once (in its initializer, as numpy float32 arrays: small next to the LM) and builds
its own decoder, so that a trial sends only the weights and lists of utterance indices.

Workers are spawned, never forked: a fork of a process whose torch has started its OpenMP
threads can deadlock. Each worker runs torch with one thread (the pool is the parallelism).
"""
from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from itertools import repeat
from pathlib import Path

import numpy as np
import torch

from .beam import LexiconBeamDecoder

_CHUNKS_PER_WORKER = 4  # a few chunks each: a worker that draws long utterances does not hold the others up


def resolve_num_workers(num_workers: int) -> int:
    """``num_workers`` as given, 0 meaning one per CPU (``os.cpu_count()``)."""
    if num_workers < 0:
        raise ValueError(f"num_workers must be >= 0 (0: one per CPU), got {num_workers}")
    return num_workers or os.cpu_count() or 1


def balanced_chunks(lengths: Sequence[int], n_chunks: int) -> list[list[int]]:
    """Indices of ``lengths`` dealt longest first into ``n_chunks`` chunks of similar total length
    (search time grows with the frames); each chunk in ascending order, empty chunks dropped."""
    chunks: list[list[int]] = [[] for _ in range(max(1, n_chunks))]
    for k, i in enumerate(sorted(range(len(lengths)), key=lambda i: -lengths[i])):
        row = k % (2 * len(chunks))  # snake order: 0 1 2 2 1 0 0 1 2 ...
        chunks[row if row < len(chunks) else 2 * len(chunks) - 1 - row].append(i)
    return [sorted(c) for c in chunks if c]


class BeamSearchPool:
    """``num_workers`` processes, each with a copy of ``decoder`` (rebuilt from its lexicon, LM and
    options) and of the named emission sets; :meth:`decode` searches one set with given weights.

    Use as a context manager: the processes end on leaving it, errors included. An exception
    raised in a worker (also while starting it: a bad LM) is raised again by :meth:`decode`,
    with the worker's traceback as its cause; a worker that dies raises ``BrokenProcessPool``
    instead of hanging the decode.
    """

    def __init__(self, num_workers: int, decoder: LexiconBeamDecoder,
                 emissions: Mapping[str, Sequence[torch.Tensor]]):
        self.num_workers = num_workers
        self._lengths = {name: [int(lp.size(0)) for lp in lps] for name, lps in emissions.items()}
        arrays = {name: [lp.detach().to("cpu", torch.float32).contiguous().numpy() for lp in lps]
                  for name, lps in emissions.items()}
        self._executor = ProcessPoolExecutor(
            num_workers, mp_context=mp.get_context("spawn"), initializer=_init_worker,
            initargs=(decoder.tokens, str(decoder.lexicon_path),
                      None if decoder.lm_path is None else str(decoder.lm_path), dict(decoder.options), arrays))

    def __enter__(self) -> BeamSearchPool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)

    def decode(self, name: str, lm_weight: float, word_score: float, beam_size: int | None = None
               ) -> tuple[list[str], list[float]]:
        """Texts and scores of every utterance of emission set ``name``, in its order (``beam_size``:
        the decoder's unless given)."""
        lengths = self._lengths[name]
        chunks = balanced_chunks(lengths, self.num_workers * _CHUNKS_PER_WORKER)
        texts: list[str] = [""] * len(lengths)
        scores: list[float] = [0.0] * len(lengths)
        # map() yields in submission order and cancels the chunks not yet started when one fails
        for indices, chunk_texts, chunk_scores in self._executor.map(
                _decode_chunk, repeat(name), repeat(lm_weight), repeat(word_score), repeat(beam_size), chunks):
            for i, text, sc in zip(indices, chunk_texts, chunk_scores):
                texts[i], scores[i] = text, sc
        return texts, scores


# --- in the worker processes -----------------------------------------------------------------

_state: dict = {}


def _init_worker(tokens: list[str], lexicon: str, lm: str | None, options: dict,
                 arrays: dict[str, list[np.ndarray]]) -> None:
    """Build this worker's decoder and keep the emissions. An exception here is kept and raised
    by each task: one escaping an initializer would only be printed, and the pool declared broken."""
    torch.set_num_threads(1)
    try:
        _state["decoder"] = LexiconBeamDecoder(tokens, Path(lexicon), lm, **options)
        _state["emissions"] = {name: [torch.from_numpy(a) for a in lps] for name, lps in arrays.items()}
    except Exception as e:  # noqa: BLE001 - raised again by _decode_chunk
        _state["error"] = e


def _decode_chunk(name: str, lm_weight: float, word_score: float, beam_size: int | None, indices: list[int]
                  ) -> tuple[list[int], list[str], list[float]]:
    """Search the utterances ``indices`` of set ``name``, exactly as the in-process path does."""
    if "error" in _state:
        raise _state["error"]
    key = (lm_weight, word_score, beam_size)
    if _state.get("weights") != key:  # one decoder per trial, however many of its chunks land here
        _state["weights"] = key
        _state["trial_decoder"] = _state["decoder"].with_weights(lm_weight, word_score, beam_size)
    decoder, lps = _state["trial_decoder"], _state["emissions"][name]
    results = [decoder.decode(lps[i][None], torch.tensor([lps[i].size(0)]))[0] for i in indices]
    return indices, [r.text for r in results], [float(r.score) for r in results]
