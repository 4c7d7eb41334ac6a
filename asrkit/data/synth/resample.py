"""A small polyphase windowed-sinc resampler in numpy.

Used by the corpus generator's workers, which stay free of torch so that forking one
per utterance stays cheap (see :mod:`asrkit.data.synth.corpus`). Kaiser-windowed sinc
low-pass with its cut-off at ``rolloff`` times the lower Nyquist frequency and ``width``
zero crossings each side.
"""
from __future__ import annotations

from functools import lru_cache
from math import gcd

import numpy as np


@lru_cache(maxsize=8)
def _filter_bank(up: int, down: int, width: int, rolloff: float, beta: float) -> tuple[np.ndarray, int]:
    """``(up, taps)`` filters, one per output phase, and the half-length in input samples."""
    cutoff = rolloff * min(1.0, up / down)  # relative to the input Nyquist frequency
    half = int(np.ceil(width / cutoff))
    k = np.arange(-half, half + 1)  # input offsets around the output instant
    phase = np.arange(up)[:, None] * down % up / up  # fractional position of each output phase
    t = (k[None, :] - phase) * cutoff
    window = np.kaiser(2 * half + 1, beta)  # window over the (integer) tap grid
    h = cutoff * np.sinc(t) * np.interp(t / cutoff, k, window)
    return h.astype(np.float32), half


def resample(x: np.ndarray, orig_rate: int, new_rate: int, *, width: int = 16,
             rolloff: float = 0.945, beta: float = 14.77) -> np.ndarray:
    """Resample a float waveform ``(T,)``; output length is ``ceil(T * new / orig)``.

    Polyphase as one matrix product: output ``n = b * up + p`` reads the input window that
    starts at ``b * down + floor(p * down / up) - half``, so frame ``b`` (stride ``down``)
    times a bank holding phase ``p``'s taps at that offset gives ``up`` outputs at once.
    """
    if orig_rate == new_rate:
        return x.astype(np.float32)
    g = gcd(orig_rate, new_rate)
    up, down = new_rate // g, orig_rate // g
    h, half = _filter_bank(up, down, width, rolloff, beta)
    taps = h.shape[1]
    span = taps + down
    bank = np.zeros((up, span), dtype=np.float32)
    for p in range(up):
        off = p * down // up
        bank[p, off:off + taps] = h[p]
    n_out = -(-len(x) * up // down)
    n_blocks = -(-n_out // up)
    padded = np.pad(x.astype(np.float32), (half, n_blocks * down + span))
    frames = np.lib.stride_tricks.sliding_window_view(padded, span)[::down][:n_blocks]
    return (frames @ bank.T).reshape(-1)[:n_out].astype(np.float32)
