"""Frame-level DER of SUPERB SD: counts against hand-scored frames, the speaker mapping, the collar's no-score
zone, the median filter (scipy.signal.medfilt's zero-padded edges, worked by hand: scipy is not a dependency),
the threshold sweep and the RTTM <-> frames conversion."""
from __future__ import annotations

import pytest
import torch

from asrkit.score.der import (
    DerResult,
    best_threshold,
    der,
    frames_to_segments,
    median_filter,
    no_score_frames,
    rttm_to_frames,
)

SHIFT = 0.01
ON, OFF = 0.75, 0.25  # exact in float32, so a threshold can equal them


def hand_case():
    """10 frames, reference A at frames 2-7, B at 6-9 (10 speaker-frames). The system, channel 0 mapped to A:

    frame      0   1   2 3 4  5  6   7   8 9
    ref        -   -   A A A  A  AB  AB  B B
    system     0   01  0 0 0  1  01  0   1 1
    error      FA  FA2 . . .  C  .   M   . .      -> miss 1, false alarm 3, confusion 1: DER 5/10
    """
    ref = torch.zeros(10, 2)
    ref[2:8, 0] = 1
    ref[6:10, 1] = 1
    sys = torch.full((10, 2), OFF)
    for frame, channels in {0: [0], 1: [0, 1], 2: [0], 3: [0], 4: [0], 5: [1], 6: [0, 1], 7: [0], 8: [1],
                            9: [1]}.items():
        sys[frame, channels] = ON
    return sys, ref


def test_der_counts_miss_false_alarm_and_confusion_per_frame():
    sys, ref = hand_case()
    result = der(sys[None], ref[None], torch.tensor([10]), SHIFT, median=1)
    assert result == DerResult(der=0.5, miss=0.1, false_alarm=0.3, confusion=0.1, ref_seconds=pytest.approx(0.1),
                               threshold=0.5, median=1, collar=0.0)
    # a frame is active when its probability is strictly above the threshold: at 0.75 none is
    result = der(sys[None], ref[None], torch.tensor([10]), SHIFT, threshold=ON, median=1)
    assert (result.der, result.miss, result.false_alarm, result.confusion) == (1.0, 1.0, 0.0, 0.0)


def test_swapped_channels_are_mapped_back_per_utterance_and_padding_is_not_scored():
    sys, ref = hand_case()
    # utterance 1: the same, system channels swapped, 3 padding frames where system and reference are all on
    swapped = torch.ones(13, 2)
    swapped[:10] = sys[:, [1, 0]]
    ref_padded = torch.ones(13, 2)
    ref_padded[:10] = ref
    result = der(torch.stack([sys, swapped[:10]]), torch.stack([ref, ref]), torch.tensor([10, 10]), SHIFT, median=1)
    padded = der(torch.stack([torch.nn.functional.pad(sys, (0, 0, 0, 3)), swapped]),
                 torch.stack([torch.nn.functional.pad(ref, (0, 0, 0, 3)), ref_padded]),
                 torch.tensor([10, 10]), SHIFT, median=1)
    for r in (result, padded):
        assert (r.der, r.miss, r.false_alarm, r.confusion) == (0.5, 0.1, 0.3, 0.1)
        assert r.ref_seconds == pytest.approx(0.2)


def test_collar_removes_the_frames_around_each_reference_boundary():
    sys, ref = hand_case()
    # boundaries at frame edges 2, 8 (A) and 6, 10 (B); collar 1 frame: frames k with an edge at k or k + 1
    removed = no_score_frames(ref[None], torch.tensor([10]), SHIFT, collar=0.01)
    assert removed[0].nonzero().flatten().tolist() == [1, 2, 5, 6, 7, 8, 9]
    assert not no_score_frames(ref[None], torch.tensor([10]), SHIFT, collar=0.0).any()
    # scored frames 0, 3, 4: one false alarm over 2 reference speaker-frames
    result = der(sys[None], ref[None], torch.tensor([10]), SHIFT, median=1, collar=0.01)
    assert (result.der, result.miss, result.false_alarm, result.confusion) == (0.5, 0.0, 0.5, 0.0)
    assert result.ref_seconds == pytest.approx(0.02)


def test_collar_boundaries_include_the_end_of_a_padded_utterance():
    # 16 valid frames of 20; A at 5-9 (edges 5, 10); B at 13-15 and on in the padding (edges 13 and 16, the
    # utterance's end, not 20). Collar 2 frames: a centre k + 0.5 within 2 of an edge i, i.e. i - 2 <= k <= i + 1
    ref = torch.zeros(1, 20, 2)
    ref[0, 5:10, 0] = 1
    ref[0, 13:20, 1] = 1
    expected = [3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14, 15]
    removed = no_score_frames(ref, torch.tensor([16]), SHIFT, collar=0.02)
    assert removed[0].nonzero().flatten().tolist() == expected
    # 1.5 frames reaches the centres 1.5 away, closed interval: the same frames (an open one would keep
    # 3, 6, 8, 11, 12 and 15)
    removed = no_score_frames(ref, torch.tensor([16]), SHIFT, collar=0.015)
    assert removed[0].nonzero().flatten().tolist() == expected


def test_collar_reach_is_not_cut_by_float_noise():
    # A at frames 15-39 of 60 (edges 15, 40); 0.145 s is 14.5 frames, but 0.145 / 0.01 is 14.499999999999998
    # and 0.5 + 14.499999999999998 < 15: the closed interval must still reach frame 0 (centre 0.5, 14.5 from
    # edge 15), as it reaches frame 54 (centre 54.5, 14.5 from edge 40)
    ref = torch.zeros(1, 60, 2)
    ref[0, 15:40, 0] = 1
    removed = no_score_frames(ref, torch.tensor([60]), SHIFT, collar=0.145)
    assert removed[0].nonzero().flatten().tolist() == list(range(0, 55))


def test_median_filter_zero_pads_like_scipy_medfilt():
    x = torch.tensor([1., 0, 1, 1, 0, 0, 0, 1, 1, 1])
    assert median_filter(x[None, :, None], 3)[0, :, 0].tolist() == [0, 1, 1, 1, 0, 0, 0, 1, 1, 1]
    x = torch.tensor([1., 1, 0, 0, 0, 1, 1, 1, 0, 1])
    assert median_filter(x[None, :, None], 5)[0, :, 0].tolist() == [0, 0, 0, 0, 0, 1, 1, 1, 1, 0]
    # non-binary values, each speaker on its own: windows [0 3 1] [3 1 2] [1 2 0] and [0 2 5] [2 5 4] [5 4 0]
    x = torch.tensor([[[3., 2.], [1., 5.], [2., 4.]]])
    assert median_filter(x, 3)[0].tolist() == [[1, 2], [2, 4], [1, 4]]
    assert median_filter(x, 1) is x
    with pytest.raises(ValueError, match="odd"):
        median_filter(x, 4)


def test_der_median_filter_fills_holes_and_eats_edges_of_the_valid_frames_only():
    # reference A on all 10 valid frames; system on except frame 4, and on in 4 padding frames
    ref = torch.zeros(1, 14, 2)
    ref[0, :10, 0] = 1
    probs = torch.zeros(1, 14, 2)
    probs[0, :, 0] = ON
    probs[0, 4, 0] = OFF
    lengths = torch.tensor([10])
    assert der(probs, ref, lengths, SHIFT, median=1).miss == pytest.approx(0.1)
    assert der(probs, ref, lengths, SHIFT, median=3).der == 0.0
    # width 11 over 10 frames: frames 0 and 9 see 5 ones among 11 values (zeros past both edges, the hole)
    result = der(probs, ref, lengths, SHIFT, median=11)
    assert (result.der, result.miss, result.false_alarm, result.confusion) == (0.2, 0.2, 0.0, 0.0)


def test_threshold_sweep_picks_the_best_threshold():
    # A speaks on frames 0-4; probabilities 0.45 there, 0.35 on frames 5-6, 0.1 after
    ref = torch.zeros(1, 10, 2)
    ref[0, :5, 0] = 1
    probs = torch.zeros(1, 10, 2)
    probs[0, :, 0] = torch.tensor([0.45] * 5 + [0.35] * 2 + [0.1] * 3)
    lengths = torch.tensor([10])
    # 0.3: 2 false alarms (DER 0.4); 0.4: exact (0); 0.5 and up: all 5 missed (1.0)
    assert [der(probs, ref, lengths, SHIFT, t, median=1).der for t in (0.3, 0.4, 0.5, 0.6, 0.7)] == \
        [0.4, 0.0, 1.0, 1.0, 1.0]
    best = best_threshold(probs, ref, lengths, SHIFT, median=1)
    assert (best.threshold, best.der) == (0.4, 0.0)
    # a tie goes to the first threshold listed
    probs[0, 5:7, 0] = 0.1
    assert best_threshold(probs, ref, lengths, SHIFT, median=1).threshold == 0.3
    assert best_threshold(probs, ref, lengths, SHIFT, thresholds=(0.4, 0.3), median=1).threshold == 0.4


def test_describe_names_threshold_median_and_collar():
    sys, ref = hand_case()
    text = der(sys[None], ref[None], torch.tensor([10]), SHIFT, threshold=0.5, median=1).describe()
    assert text == ("DER 50.00% (miss 10.00%, false alarm 30.00%, confusion 10.00%) over 0.10 s of reference "
                    "speech; threshold 0.5, median filter 1 frames, collar 0 s, overlap scored")


def test_no_reference_speech_and_bad_shapes_are_errors():
    with pytest.raises(ValueError, match="zero scored reference speech"):
        der(torch.ones(1, 5, 2), torch.zeros(1, 5, 2), torch.tensor([5]), SHIFT)
    with pytest.raises(ValueError, match=r"\(N, T, S\)"):
        der(torch.ones(1, 5, 2), torch.zeros(1, 5, 3), torch.tensor([5]), SHIFT)
    with pytest.raises(ValueError, match="lengths"):
        der(torch.ones(1, 5, 2), torch.zeros(1, 5, 2), torch.tensor([6]), SHIFT)


def test_rttm_to_frames_uses_the_frame_centre():
    # centres 0.005, 0.015, ..., 0.055: a segment starting on a centre covers that frame, one ending on it not.
    # A: frames 0-1 (ends on frame 2's centre), then frame 3 (starts on its centre, ends on frame 4's).
    # B: frames 1-2 (ends on frame 3's centre), then from frame 4 on, cut at the last frame.
    # 0.035 / 0.01 is 3.5000000000000004 in floats: times are compared rounded, so 0.035 is frame 3's centre.
    segments = [("A", 0.0, 0.025), ("B", 0.015, 0.035), ("A", 0.035, 0.045), ("B", 0.045, 0.2)]
    frames = rttm_to_frames(segments, 6, SHIFT, ["A", "B"])
    assert frames.T.tolist() == [[1, 1, 0, 1, 0, 0], [0, 1, 1, 0, 1, 1]]
    # a segment shorter than a frame, between two centres, covers none
    assert rttm_to_frames([("A", 0.006, 0.014)], 3, SHIFT, ["A"]).flatten().tolist() == [0, 0, 0]
    with pytest.raises(ValueError, match="'C'"):
        rttm_to_frames([("C", 0.0, 0.1)], 6, SHIFT, ["A", "B"])


def test_frames_to_segments_round_trips():
    frames = torch.tensor([[1., 0], [1, 1], [0, 1], [0, 1], [1, 1]])
    segments = frames_to_segments(frames, SHIFT, ["A", "B"])
    assert [s for s, _, _ in segments] == ["A", "B", "A"]
    assert [t for _, a, b in segments for t in (a, b)] == pytest.approx([0.0, 0.02, 0.01, 0.05, 0.04, 0.05])
    assert torch.equal(rttm_to_frames(segments, 5, SHIFT, ["A", "B"]), frames)
