"""asrkit.analyze: codes against phones (wav2vec 2.0 Appendix D) on alignments small enough to count by hand."""
import math

import numpy as np
import pytest
import torch

from asrkit.analyze import (LABELS, SILENCE, AnalysisError, code_phone_statistics, combine_groups, cooccurrence,
                            figure_order, frame_labels, heldout_purity, read_alignments, synth_segments, utterance_codes)
from asrkit.data.phones import PHONES
from asrkit.models.factory import build_model

from .models.test_checkpoint_export import ARCHS, tiny_config

RATE, STRIDE, FIELD = 16000, 320, 400  # the paper's feature encoder at 16 kHz


def H(*p):
    return -sum(x * math.log2(x) for x in p if x > 0)


def test_labels_are_the_39_phones_and_silence_grouped_by_class():
    assert len(LABELS) == 39 and set(LABELS) == {*PHONES, SILENCE} and LABELS[-1] == SILENCE


def test_the_groups_entries_are_one_code_g1_times_v_plus_g2():
    assert combine_groups(torch.tensor([[1, 2], [3, 0], [0, 3]]), 4).tolist() == [6, 12, 3]


def test_counts_purity_entropy_and_mutual_information_of_three_codes_and_three_phones():
    known = np.array([[8, 2, 0],  # code 7: mostly phone 0
                      [0, 5, 5],  # code 3: half phone 1, half phone 2
                      [0, 0, 10]])  # code 40: always phone 2
    codes = np.repeat([7, 3, 40], known.sum(axis=1))
    labels = np.concatenate([np.repeat([0, 1, 2], row) for row in known])
    order = np.random.default_rng(0).permutation(len(codes))
    seen, counts = cooccurrence(codes[order], labels[order], 3)
    assert seen.tolist() == [3, 7, 40]
    assert counts.tolist() == [[0, 5, 5], [8, 2, 0], [0, 0, 10]]

    stats = code_phone_statistics(counts)
    assert stats["phone_purity"] == pytest.approx((8 + 5 + 10) / 30)
    h_cond = 10 / 30 * H(0.8, 0.2) + 10 / 30 * H(0.5, 0.5) + 10 / 30 * 0
    h_phone = H(8 / 30, 7 / 30, 15 / 30)
    assert stats["conditional_entropy"] == pytest.approx(h_cond)
    assert stats["phone_entropy"] == pytest.approx(h_phone)
    assert stats["mutual_information"] == pytest.approx(h_phone - h_cond)
    assert stats["pnmi"] == pytest.approx((h_phone - h_cond) / h_phone)
    assert stats["code_perplexity"] == pytest.approx(3.0)  # three codes of 10 frames each


def test_purities_differ_when_two_codes_share_a_phone_and_no_phone_information_is_zero_mi():
    stats = code_phone_statistics(np.array([[10, 0], [10, 0]]))
    assert stats["phone_purity"] == 1.0 and stats["code_purity"] == 0.5
    assert stats["mutual_information"] == 0.0 and stats["pnmi"] == 0.0
    with pytest.raises(AnalysisError, match="no frame"):
        code_phone_statistics(np.zeros((2, 3)))


def test_a_receptive_field_straddling_two_phones_takes_the_one_it_holds_more_of():
    # aa for samples [0, 240), s for [240, 640), silence after: frame 0 [0, 400) holds 240 aa and 160 s,
    # frame 1 [320, 720) 320 s and 80 silence, frame 2 [640, 1040) silence only
    segments = [(0.0, 240 / RATE, "aa"), (240 / RATE, 640 / RATE, "s"), (640 / RATE, 0.1, SILENCE)]
    got = frame_labels(segments, 4, FIELD, STRIDE, RATE)
    assert [LABELS[i] for i in got] == ["aa", "s", SILENCE, SILENCE]


def test_a_tie_goes_to_the_phone_at_the_centre_and_pieces_of_one_phone_add_up():
    tie = [(0.0, 200 / RATE, "m"), (200 / RATE, 400 / RATE, "n")]  # 200 samples each, the centre (200) in n
    assert LABELS[frame_labels(tie, 1, FIELD, STRIDE, RATE)[0]] == "n"
    pieces = [(0.0, 100 / RATE, "t"), (100 / RATE, 250 / RATE, "s"), (250 / RATE, 400 / RATE, "t")]  # t 250, s 150
    assert LABELS[frame_labels(pieces, 1, FIELD, STRIDE, RATE)[0]] == "t"


def test_frames_outside_every_segment_or_of_a_left_out_label_have_no_phone():
    segments = [(0.0, 400 / RATE, SILENCE), (400 / RATE, 600 / RATE, "k")]  # frame 2 starts at 640
    assert frame_labels(segments, 3, FIELD, STRIDE, RATE).tolist() == [LABELS.index(SILENCE), LABELS.index("k"), -1]
    no_silence = LABELS[:-1]
    assert frame_labels(segments, 3, FIELD, STRIDE, RATE, no_silence).tolist() == [-1, no_silence.index("k"), -1]


def test_synth_phoneme_events_become_segments_with_pauses_as_silence():
    # an r-coloured vowel is two phones in equal parts, a modifier mark lengthens the phone before it
    events = [[0, "_"], [100, "'A@"], [300, ";"], [350, "s"], [450, "_:"]]
    got = [(round(s, 6), round(e, 6), p) for s, e, p in synth_segments(events, 0.5)]
    assert got == [(0.0, 0.1, SILENCE), (0.1, 0.2, "aa"), (0.2, 0.35, "r"), (0.35, 0.45, "s"), (0.45, 0.5, SILENCE)]


def test_alignment_file_folds_timit_and_arpabet_names_and_names_a_bad_line(tmp_path):
    ali = tmp_path / "a.ali"
    ali.write_text("# utt start end phone\nu1 0 0.1 h#\nu1 0.1 0.2 ix\nu1 0.2 0.25 q\n\nu1 0.25 0.3 dcl\n"
                   "u2 0.0 0.2 em\n")
    assert read_alignments(ali) == {"u1": [(0.0, 0.1, SILENCE), (0.1, 0.2, "ih"), (0.25, 0.3, SILENCE)],
                                    "u2": [(0.0, 0.2, "m")]}
    ali.write_text("u1 0 0.1 SIL\nu1 0.1 0.3 AH0\nu1 0.3 0.4 ZH\n")
    assert read_alignments(ali, "arpabet")["u1"] == [(0.0, 0.1, SILENCE), (0.1, 0.3, "ah"), (0.3, 0.4, "sh")]
    ali.write_text("u1 0 0.1 sil\nu1 0.1 0.2 xx\n")
    with pytest.raises(AnalysisError, match=rf"{ali}:2: 'xx' is not a TIMIT phone"):
        read_alignments(ali)
    ali.write_text("u1 0 0.1\n")
    with pytest.raises(AnalysisError, match=rf"{ali}:1: expected '<utterance id> <start> <end> <phone>'"):
        read_alignments(ali)


def test_figure_orders_codes_by_their_most_frequent_phone_then_by_its_share():
    counts = np.array([[0, 9, 1], [5, 0, 0], [0, 6, 4], [1, 0, 3]])
    assert figure_order(counts).tolist() == [1, 0, 2, 3]


@pytest.mark.parametrize("arch", ARCHS)
def test_codes_are_the_targets_the_model_pre_trains_against_one_per_frame(arch):
    """utterance_codes picks, in eval mode, the quantizer's codes that the pre-training forward pass quantizes
    (all frames unmasked), for wav2vec 2.0 and the SEW / SEW-D compositions."""
    torch.manual_seed(0)
    cfg = tiny_config(arch)
    model = build_model(cfg).eval()
    wav = torch.randn(2400)
    codes = utterance_codes(model, wav)
    with torch.no_grad():
        out = model(wav[None], mask=False)
    assert codes.shape == (int(model.output_lengths(torch.tensor(2400))),)
    assert torch.equal(codes, combine_groups(out.codes, cfg.latent_vars))
    assert int(codes.max()) < cfg.latent_vars ** cfg.latent_groups


def test_heldout_purity_maps_codes_to_phones_on_one_half_and_scores_the_other():
    fit = (np.array([1, 1, 1, 2, 2, 5]), np.array([0, 0, 1, 2, 2, 2]))  # code 1 -> phone 0, 2 -> 2; phone 2 commonest
    test = (np.array([1, 1, 2, 9]), np.array([0, 1, 2, 2]))  # code 9 unseen: phone 2 predicted
    assert heldout_purity(fit, test, 3) == pytest.approx(3 / 4)
    singletons = (np.arange(6), np.array([0, 1, 2, 0, 1, 2]))  # pure on its own frames, says nothing held out
    assert code_phone_statistics(cooccurrence(*singletons, 3)[1])["phone_purity"] == 1.0
    assert heldout_purity(singletons, (np.arange(6) + 6, np.array([0, 1, 2, 0, 1, 2])), 3) == pytest.approx(1 / 3)
