"""Frame-level diarization error rate, as SUPERB's speaker diarization (SD) task reports it, every choice explicit.

s3prl ``downstream/diarization`` has two scoring paths that disagree (s3prl issue #458): the DER printed during
training (EEND's ``calc_diarization_error``: logits > 0, no filtering, no collar) and ``score.sh``, which turns
probabilities into RTTM with EEND's ``make_rttm.py`` (threshold, then ``scipy.signal.medfilt``) and scores them
with NIST ``md-eval.pl -c 0.25``, sweeping thresholds 0.3..0.7 and median widths {1, 11}. Here one function
scores frames with all of those steps as arguments, and :meth:`DerResult.describe` names them next to the number:

1. Decisions: ``probs > threshold`` (strictly greater, as ``make_rttm.py``'s ``np.where(data > threshold, 1, 0)``)
   on valid frames (``t < lengths[n]``); padding is never active and never scored.
2. :func:`median_filter` of odd width ``median`` along time, per speaker, zero padded at the utterance's edges:
   ``scipy.signal.medfilt(a, (median, 1))`` on the utterance's valid frames. ``median=1`` does nothing.
3. The no-score zone (``collar`` seconds): frames whose centre lies within ``[b - collar, b + collar]`` of a
   reference speaker-turn boundary ``b`` (any start or end of any reference speaker's activity, the utterance's
   edges included when a speaker is active there) are not scored at all, as md-eval's collar; see
   :func:`no_score_frames`.
4. Mapping: per utterance, the permutation of the system channels that maximises the scored speaker-frames
   where a mapped system speaker and its reference speaker are both active (md-eval's optimal mapping maximises
   that overlap time). Miss and false alarm do not depend on the mapping, so this is also the mapping that
   minimises the DER. Ties: the first permutation in ``itertools.permutations`` order.
5. Counts, per scored frame, with N_ref reference speakers, N_sys system speakers, N_correct mapped pairs both
   active: miss = max(0, N_ref - N_sys), false alarm = max(0, N_sys - N_ref),
   confusion = min(N_ref, N_sys) - N_correct, reference = N_ref; summed over frames and utterances (md-eval pools
   a whole file set the same way), DER = (miss + false alarm + confusion) / reference. Overlapped speech is scored.

md-eval scores segment times, not frames; these counts equal its counts on RTTM written from the same frames at
``frame_shift`` resolution, up to that quantisation of the collar (a frame is in or out as a whole, by its centre).
The threshold (and median) are tuned on dev with :func:`best_threshold` and then fixed for test.

Reference activity from RTTM: :func:`rttm_to_frames`; system segments for RTTM: :func:`frames_to_segments`.
"""
from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torch import Tensor  # torch is imported where used: `asrkit score` (asrkit.score, WER) never loads it

THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7)  # s3prl downstream/diarization/score.sh's sweep
_FRAME_EPS = 1e-6  # times are compared in frames to this tolerance: 0.035 s / 0.01 s is 3.5000000000000004


@dataclass(frozen=True)
class DerResult:
    """A DER and its parts, each a fraction of the reference speech (speaker-frames), and how it was scored."""

    der: float
    miss: float
    false_alarm: float
    confusion: float
    ref_seconds: float  # reference speech scored, in speaker-seconds (overlap counts once per speaker)
    threshold: float
    median: int
    collar: float

    def describe(self) -> str:
        return (f"DER {100 * self.der:.2f}% (miss {100 * self.miss:.2f}%, false alarm "
                f"{100 * self.false_alarm:.2f}%, confusion {100 * self.confusion:.2f}%) over "
                f"{self.ref_seconds:.2f} s of reference speech; threshold {self.threshold:g}, median filter "
                f"{self.median} frames, collar {self.collar:g} s, overlap scored")


def median_filter(x: Tensor, width: int) -> Tensor:
    """Median over ``width`` (odd) frames along dim 1 of ``x`` ``(N, T, S)``, zero padded at both ends:
    ``scipy.signal.medfilt(x[n], (width, 1))`` for each n. Zero the padding of ``x`` first to filter each
    utterance on its own valid frames."""
    if width < 1 or width % 2 == 0:
        raise ValueError(f"median filter width must be odd and >= 1, got {width}")
    if width == 1:
        return x
    import torch

    half = width // 2
    padded = torch.nn.functional.pad(x, (0, 0, half, half))  # pads dim 1 (time)
    windows = padded.unfold(1, width, 1)  # (N, T, S, width)
    return windows.median(dim=-1).values  # odd width: the middle value, no averaging


def _check(probs: Tensor, ref: Tensor, lengths: Tensor) -> Tensor:
    import torch

    if probs.shape != ref.shape or probs.dim() != 3:
        raise ValueError(f"probs and ref must both be (N, T, S), got {tuple(probs.shape)} and {tuple(ref.shape)}")
    lengths = lengths.to(probs.device).long()
    if lengths.shape != probs.shape[:1] or bool((lengths < 0).any()) or bool((lengths > probs.size(1)).any()):
        raise ValueError(f"lengths must be (N,) in [0, T={probs.size(1)}], got {lengths.tolist()}")
    return torch.arange(probs.size(1), device=probs.device)[None, :] < lengths[:, None]


def no_score_frames(ref: Tensor, lengths: Tensor, frame_shift: float, collar: float) -> Tensor:
    """``(N, T)`` bool, True at the valid frames md-eval's collar removes from scoring: those whose centre
    ``(k + 0.5) * frame_shift`` is within ``collar`` seconds (closed interval) of a reference boundary. The
    boundaries are the frame edges ``i * frame_shift`` (0 <= i <= length) where some reference speaker's 0/1
    activity changes, the activity being 0 before frame 0 and from ``length`` on."""
    import torch

    valid = _check(ref, ref, lengths)
    num, max_len, _ = ref.shape
    if collar < 0:
        raise ValueError(f"collar must be >= 0 seconds, got {collar}")
    if collar == 0:
        return torch.zeros(num, max_len, dtype=torch.bool, device=ref.device)
    active = (ref > 0.5) & valid[..., None]
    edges = torch.nn.functional.pad(active, (0, 0, 1, 1))  # (N, T + 2, S): inactive before and after
    boundary = (edges[:, 1:] != edges[:, :-1]).any(dim=-1)  # (N, T + 1): edge i is a boundary
    count = torch.nn.functional.pad(boundary.long().cumsum(dim=1), (1, 0))  # count[i]: boundaries below edge i
    reach = collar / frame_shift + _FRAME_EPS  # in frames
    centre = torch.arange(max_len, device=ref.device, dtype=torch.float64) + 0.5
    lo = torch.ceil(centre - reach).clamp(0, max_len + 1).long()  # first boundary edge in reach
    hi = torch.floor(centre + reach).clamp(-1, max_len).long() + 1  # one past the last
    near = count[:, hi] - count[:, lo] > 0
    return near & valid


def der(probs: Tensor, ref: Tensor, lengths: Tensor, frame_shift: float, threshold: float = 0.5,
        median: int = 11, collar: float = 0.0) -> DerResult:
    """Score speaker-activity probabilities against a reference (see the module docstring for each step).

    Args:
        probs: ``(N, T, S)`` speaker-activity probabilities (``sigmoid`` of the head's logits).
        ref: ``(N, T, S)`` 0/1 reference activity at the same frame rate (:func:`rttm_to_frames`).
        lengths: ``(N,)`` valid frames per utterance.
        frame_shift: seconds per frame (SUPERB SD: 160 samples at 16 kHz, 0.01).
        threshold: a frame is active where ``probs > threshold``.
        median: odd median-filter width in frames; 1 turns it off (score.sh sweeps 1 and 11).
        collar: seconds of no-score zone on each side of every reference boundary (score.sh: md-eval -c 0.25).

    System and reference must have the same S channels. Zero scored reference speech is an error.
    """
    import torch

    valid = _check(probs, ref, lengths)
    sys = (probs > threshold) & valid[..., None]
    sys = (median_filter(sys.float(), median) > 0.5) & valid[..., None]
    act = (ref > 0.5) & valid[..., None]
    scored = valid & ~no_score_frames(ref, lengths, frame_shift, collar)

    num_spk = probs.size(-1)
    table = torch.tensor(list(itertools.permutations(range(num_spk))), dtype=torch.long,
                         device=probs.device).reshape(-1, num_spk)  # (P, S)
    # overlap[n, k, j]: scored frames where reference speaker k and system channel j are both active
    overlap = torch.einsum("ntk,ntj->nkj", (act & scored[..., None]).double(), sys.double())
    per_perm = overlap[:, torch.arange(num_spk, device=probs.device), table].sum(dim=-1)  # (N, P)
    best = per_perm.argmax(dim=1)  # first maximum on a tie
    mapped = sys.gather(2, table[best][:, None, :].expand(-1, sys.size(1), -1))  # channel k: reference k's

    n_ref = act.sum(-1)
    n_sys = sys.sum(-1)
    n_correct = (act & mapped).sum(-1)
    w = scored.long()
    miss = int(((n_ref - n_sys).clamp(min=0) * w).sum())
    false_alarm = int(((n_sys - n_ref).clamp(min=0) * w).sum())
    confusion = int(((torch.minimum(n_ref, n_sys) - n_correct) * w).sum())
    total = int((n_ref * w).sum())
    if total == 0:
        raise ValueError("DER is undefined: zero scored reference speech")
    return DerResult(der=(miss + false_alarm + confusion) / total, miss=miss / total,
                     false_alarm=false_alarm / total, confusion=confusion / total,
                     ref_seconds=total * frame_shift, threshold=threshold, median=median, collar=collar)


def best_threshold(probs: Tensor, ref: Tensor, lengths: Tensor, frame_shift: float,
                   thresholds: Sequence[float] = THRESHOLDS, median: int = 11, collar: float = 0.0) -> DerResult:
    """The :func:`der` of the threshold with the lowest DER (the first listed on a tie), its threshold in the
    result. Tune on dev, then score test with :func:`der` at that threshold: picking it on test reports an
    optimistic DER (score.sh reports the best of its sweep on the set it scores)."""
    if not thresholds:
        raise ValueError("no thresholds to sweep")
    results = [der(probs, ref, lengths, frame_shift, t, median, collar) for t in thresholds]
    return min(results, key=lambda r: r.der)


def rttm_to_frames(segments: Sequence[tuple[str, float, float]], num_frames: int, frame_shift: float,
                   speakers: Sequence[str]) -> Tensor:
    """``(T, S)`` float 0/1 activity of ``speakers`` (column order) from ``[(speaker, start_s, end_s), ...]``.

    Frame k covers ``[k * frame_shift, (k + 1) * frame_shift)`` and is active for a speaker when its centre
    ``(k + 0.5) * frame_shift`` lies in one of the speaker's segments, ``start <= centre < end``: a segment
    start on a frame centre turns that frame on, an end on it does not, so abutting segments never share a
    frame and a segment shorter than a frame can vanish. Times are compared in frames rounded to 1e-6 frame,
    so float noise (0.035 / 0.01 = 3.5000000000000004) does not move a boundary. Segments past the last
    frame are cut there.
    """
    import torch

    column = {spk: s for s, spk in enumerate(speakers)}
    if len(column) != len(speakers):
        raise ValueError(f"speakers must be distinct, got {list(speakers)}")
    frames = torch.zeros(num_frames, len(speakers))
    for spk, start, end in segments:
        if spk not in column:
            raise ValueError(f"segment of speaker {spk!r}, not one of {list(speakers)}")
        if end < start or start < 0:
            raise ValueError(f"segment {(spk, start, end)} of negative extent or start")
        # centre k + 0.5 in [start, end) frames  <=>  ceil(start - 0.5) <= k < ceil(end - 0.5)
        first = math.ceil(round(start / frame_shift, 6) - 0.5)
        stop = min(math.ceil(round(end / frame_shift, 6) - 0.5), num_frames)
        if first < stop:
            frames[first:stop, column[spk]] = 1.0
    return frames


def frames_to_segments(frames: Tensor, frame_shift: float, speakers: Sequence[str]) -> list[tuple[str, float, float]]:
    """``[(speaker, start_s, end_s), ...]`` of each run of active frames of ``frames`` ``(T, S)`` (> 0.5 is
    active), from the run's first frame's start to its last frame's end; sorted by start, then column.
    :func:`rttm_to_frames` of the result gives ``frames`` back."""
    import torch

    if frames.dim() != 2 or frames.size(1) != len(speakers):
        raise ValueError(f"frames must be (T, S={len(speakers)}), got {tuple(frames.shape)}")
    active = torch.nn.functional.pad((frames > 0.5).T.long(), (1, 1))  # (S, T + 2)
    change = active[:, 1:] - active[:, :-1]  # +1 at a run's first frame, -1 one past its last
    segments = []
    for s, spk in enumerate(speakers):
        starts = (change[s] == 1).nonzero().flatten().tolist()
        stops = (change[s] == -1).nonzero().flatten().tolist()
        segments += [(spk, a * frame_shift, b * frame_shift, s) for a, b in zip(starts, stops)]
    segments.sort(key=lambda seg: (seg[1], seg[3]))
    return [seg[:3] for seg in segments]
