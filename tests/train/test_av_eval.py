"""``asrkit eval-av``'s measures on a micro checkpoint: which measures each objective gets, their ranges, and
the circular shift of the sync test."""
from __future__ import annotations

import dataclasses

import pandas as pd
import pytest
import torch

from asrkit.checkpoint import LAST
from asrkit.train.av_eval import AVEvalOptions, evaluate_av, measures_table
from asrkit.train.pretrain import load_pretrain_config, run_pretrain

from .test_av_pretrain import av_config, av_manifests  # noqa: F401  (the fixture)


@pytest.fixture(scope="module")
def checkpoints(av_manifests, tmp_path_factory):  # noqa: F811
    d = tmp_path_factory.mktemp("av_eval")
    out = {}
    for objective in ("mae", "clr", "mae_clr"):
        run_pretrain(load_pretrain_config(av_config(d, av_manifests, objective)), d / objective)
        out[objective] = d / objective / LAST
    return out


OPTIONS = AVEvalOptions(batch_size=2, frame_stride=2, shift_seconds=0.2, sync_window_seconds=0.32)


def test_mae_clr_gets_every_measure_in_range(checkpoints, av_manifests):  # noqa: F811
    _, valid = av_manifests
    r = evaluate_av(checkpoints["mae_clr"], valid, OPTIONS)
    assert r["clips"] == 3
    for key in ("mae_audio", "mae_audio_baseline", "mae_video", "mae_video_baseline"):
        assert r[key] > 0
    for key in ("a2v_top1", "v2a_top1", "sync_accuracy", "same_speaker_a2v_top1"):
        assert 0 <= r[key] <= 1
    assert r["chance"] == pytest.approx(0.5)  # batches of 2; the lone third clip has nothing to retrieve among
    assert r["sync_clips"] == 3  # 1 s clips hold a 0.32 s window and two 0.2 s shifts
    rows = measures_table(r, 2)
    assert [m for m, _, _ in rows][:2] == ["MAE audio loss (masked tokens)", "MAE video loss (masked tokens)"]
    assert all(ref for _, _, ref in rows)
    assert evaluate_av(checkpoints["mae_clr"], valid, OPTIONS) == r  # seeded masks and batches
    # the frame stride defaults to the one the checkpoint was pre-trained with (2 here)
    assert evaluate_av(checkpoints["mae_clr"], valid, dataclasses.replace(OPTIONS, frame_stride=None)) == r


def test_an_mae_checkpoint_reports_no_retrieval_from_untrained_projections(checkpoints, av_manifests):  # noqa: F811
    r = evaluate_av(checkpoints["mae"], av_manifests[1], OPTIONS)
    assert "mae_video" in r and "a2v_top1" not in r and "sync_accuracy" not in r


def test_a_clr_checkpoint_reports_no_reconstruction_from_its_untrained_decoder(checkpoints, av_manifests):  # noqa: F811
    r = evaluate_av(checkpoints["clr"], av_manifests[1], OPTIONS)
    assert "a2v_top1" in r and "sync_accuracy" in r and not any(k.startswith("mae") for k in r)


def test_clips_without_speakers_get_no_same_speaker_rows(checkpoints, av_manifests, tmp_path):  # noqa: F811
    df = pd.read_csv(av_manifests[1], sep="\t")
    df["speaker"] = df["id"]  # Kinetics: every clip its own YouTube id
    df["audio"] = [str(av_manifests[1].parent / a) for a in df["audio"]]
    df["video"] = [str(av_manifests[1].parent / v) for v in df["video"]]
    df.to_csv(tmp_path / "k.tsv", sep="\t", index=False)
    r = evaluate_av(checkpoints["mae_clr"], tmp_path / "k.tsv", OPTIONS)
    assert "a2v_top1" in r and "same_speaker_a2v_top1" not in r
    assert not any("same speaker" in m for m, _, _ in measures_table(r, 2))


def test_the_sync_test_leaves_out_clips_too_short_for_its_windows(checkpoints, av_manifests):  # noqa: F811
    r = evaluate_av(checkpoints["mae_clr"], av_manifests[1], AVEvalOptions(batch_size=2, frame_stride=2))
    assert r["sync_clips"] == 0 and "sync_accuracy" not in r  # 1.28 s + 2 x 0.48 s do not fit 1 s clips
    assert "0.333" not in " ".join(ref for _, _, ref in measures_table(r, 2))
