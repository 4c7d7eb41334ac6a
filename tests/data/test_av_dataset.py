"""AVDataset: audio and video windows start at the same instant, crops are seeded per epoch, collate shapes,
short clips, skip_bad, audio-only, the shifted audio of the sync test."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from asrkit.data.av import AVDataset, clip_samples, random_resized_crop_box
from asrkit.data.samplers import BucketBatchSampler
from asrkit.data.synth.mp4 import write_mp4
from asrkit.data.video import VideoError
from asrkit.testing.av import write_av_manifest, write_clip, write_garbage

FPS, SR = 25, 16000
FLASHES = (17, 31, 44)  # frames that flash white; the audio clicks at the same instants


@pytest.fixture(scope="module")
def flash_manifest(tmp_path_factory):
    """Two 2.4 s clips (60 frames, 32x48): dark frames with white flashes, silence (low noise) with clicks."""
    d = tmp_path_factory.mktemp("flash")
    clips = {}
    for k in range(2):
        frames = np.full((60, 32, 48, 3), 20, np.uint8)
        frames[:, :, :8] = 120  # a bar on the left: shows a flip
        rng = np.random.default_rng(k)
        wav = (0.003 * rng.standard_normal(60 * SR // FPS)).astype(np.float32)
        for f in FLASHES:
            frames[f] = 255
            at = f * SR // FPS
            wav[at:at + 16] = 0.9
        clips[f"clip{k}"] = write_mp4(d / f"clip{k}.mp4", frames, FPS, wav, SR)
    return write_av_manifest(d / "av.tsv", clips)


def dataset(manifest, **kw):
    args = dict(max_frames=50, num_frames=12, frame_stride=1, crop_size=32, seed=3)
    return AVDataset(manifest, **{**args, **kw})


def test_clip_samples_give_max_frames_fbank_frames():
    assert clip_samples(1000) == 160_240
    assert (clip_samples(50) - 400) // 160 + 1 == 50


def test_audio_and_video_windows_start_at_the_same_instant(flash_manifest):
    ds = dataset(flash_manifest, crop_scale=(1.0, 1.0), crop_ratio=(1.5, 1.5), flip=False)
    checked = 0
    for epoch in range(6):
        ds.set_epoch(epoch)
        for i in range(len(ds)):
            item = ds[i]
            brightness = item["video"].float().mean(dim=(1, 2, 3)).numpy()
            flashes = np.flatnonzero(brightness > 200)
            clicks = np.flatnonzero(np.abs(item["source"].numpy()) > 0.5)
            if len(flashes) == 0:
                continue
            # the first flash in the window, and the first click: same time from the window start
            assert abs(clicks[0] / SR - flashes[0] / FPS) < 2e-3, (epoch, i, clicks[0], flashes[0])
            checked += 1
    assert checked >= 4
    starts = set()
    for epoch in range(6):
        ds.set_epoch(epoch)
        starts.add(ds.clip_start(0))
    assert len(starts) > 1  # random starts in training


def test_validation_starts_at_zero_and_centre_crops(flash_manifest):
    ds = dataset(flash_manifest, train=False)
    assert ds.clip_start(0) == (0, 0) and ds.clip_start(1) == (0, 0)
    v = ds[0]["video"]
    assert v.shape == (12, 32, 32, 3)
    assert int(v[0, 0, 0, 0]) < 60  # centre 32x32 of 32x48: the bright bar (columns 0-7) is cropped away


def test_crops_are_seeded_by_seed_and_epoch(flash_manifest):
    a, b, c = dataset(flash_manifest), dataset(flash_manifest), dataset(flash_manifest, seed=4)
    assert torch.equal(a[0]["video"], b[0]["video"]) and torch.equal(a[0]["source"], b[0]["source"])
    b.set_epoch(1)
    box = lambda ds: random_resized_crop_box(32, 48, ds.crop_scale, ds.crop_ratio, ds._rng(0, 1))  # noqa: E731
    assert box(a) != box(b) and box(a) != box(c)
    b.set_epoch(0)  # a resumed epoch: the same clips
    assert torch.equal(a[1]["video"], b[1]["video"])


def test_random_resized_crop_box_within_ranges():
    rng = np.random.default_rng(0)
    for _ in range(200):
        top, left, h, w = random_resized_crop_box(90, 120, (0.5, 1.0), (3 / 4, 4 / 3), rng)
        assert 0 <= top <= 90 - h and 0 <= left <= 120 - w
        assert 0.5 * 90 * 120 * 0.9 <= h * w <= 90 * 120 and 3 / 4 * 0.95 <= w / h <= 4 / 3 * 1.05


def test_collate_shapes_and_padding(flash_manifest, tmp_path):
    short = write_clip(tmp_path / "short.mp4", 0.2, 1, size=32)  # 5 frames, 3200 samples
    manifest = write_av_manifest(tmp_path / "m.tsv", {"short": short, "long": str(flash_manifest.parent / "clip0.mp4")})
    ds = dataset(manifest)
    batch = ds.collate([ds[0], ds[1]])
    n = clip_samples(50)
    assert batch["source"].shape == (2, n) and batch["source"].dtype == torch.float32
    assert batch["padding_mask"].dtype == torch.bool and batch["padding_mask"][0].sum() == n - 3200
    assert not batch["padding_mask"][1].any()
    assert batch["video"].shape == (2, 12, 32, 32, 3) and batch["video"].dtype == torch.uint8
    assert batch["id"] == ["short", "long"]
    assert "short" in ds.padded_video  # 5 frames padded to 12 with the last one
    assert torch.equal(batch["video"][0, 4], batch["video"][0, 11])
    assert list(ds.sizes) == [3200, n]
    sampler = BucketBatchSampler(ds.sizes, max_tokens=2 * n, ids=ds.ids)
    assert sorted(i for b in sampler for i in b) == [0, 1]


def test_segment_rows_read_from_their_offset(tmp_path):
    from asrkit.data.manifest import read_manifest, write_manifest

    path = write_clip(tmp_path / "c.mp4", 2.0, 2)
    df = read_manifest(write_av_manifest(tmp_path / "m.tsv", {"whole": path}))
    seg = df.iloc[0].copy()
    seg["id"], seg["num_samples"], seg["num_frames"], seg["offset"] = "seg", 8000, 12, 16000
    df["offset"] = 0
    df.loc[1] = seg
    ds = dataset(write_manifest(df, tmp_path / "seg.tsv"), train=False, max_frames=40)
    whole = dataset(tmp_path / "m.tsv", train=False, max_frames=200, num_frames=40)[0]
    item = ds[1]
    assert torch.allclose(item["source"], whole["source"][16000:16000 + len(item["source"])])
    assert torch.equal(item["video"][:10], whole["video"][25:35])


def test_skip_bad_drops_and_names_the_line(tmp_path, caplog):
    good = write_clip(tmp_path / "good.mp4", 0.6, 1)
    manifest = write_av_manifest(tmp_path / "m.tsv", {"good": good, "bad": good})
    write_garbage(tmp_path / "bad.mp4")
    lines = manifest.read_text().splitlines()
    lines[2] = lines[2].replace("good.mp4", "bad.mp4")  # the file went bad after the manifest was made
    manifest.write_text("\n".join(lines) + "\n")
    with pytest.raises(VideoError, match=r"m\.tsv:3: utterance 'bad': undecodable_video"):
        dataset(manifest)[1]
    ds = dataset(manifest, skip_bad=True)
    batch = ds.collate([ds[0], ds[1], ds[1]])
    assert batch["id"] == ["good"] and [s[0] for s in batch["skipped"]] == ["bad", "bad"]
    assert sum("bad" in r.message for r in caplog.records) == 1  # logged once


def test_audio_only_mode_needs_no_video_column(tmp_path, flash_manifest):
    from asrkit.data.manifest import read_manifest

    df = read_manifest(flash_manifest).drop(columns=["video", "num_frames", "fps", "width", "height"])
    ds = AVDataset(df, max_frames=50, use_video=False, seed=0)
    batch = ds.collate([ds[0], ds[1]])
    assert "video" not in batch and batch["source"].shape == (2, clip_samples(50))
    with pytest.raises(ValueError, match="no video column"):
        AVDataset(df, max_frames=50)


def test_shifted_audio_for_the_sync_test(flash_manifest):
    ds = dataset(flash_manifest, train=False, max_frames=150)
    aligned, shifted = ds.get(0)["source"], ds.get(0, shift_seconds=0.5)["source"]
    assert len(aligned) == len(shifted)
    assert torch.allclose(shifted[: len(shifted) - 8000], aligned[8000:])
    early = ds.get(0, shift_seconds=-0.5)["source"]
    assert torch.all(early[:8000] == 0) and torch.allclose(early[8000:], aligned[:-8000])


def test_time_shifted_negatives_are_unedited_windows_of_the_same_clip(flash_manifest):
    ds = dataset(flash_manifest, train=True, max_frames=100, negative_shift_seconds=0.4)  # 10 frames
    assert len(ds) == 2  # 2.4 s clips hold a 1 s window and two 0.4 s shifts
    full = dataset(flash_manifest, train=False, max_frames=238)  # the whole 2.4 s clip
    whole = full.get(0)["source"]
    for epoch in range(3):
        ds.set_epoch(epoch)
        item = ds.get(0)
        start, frame = ds.clip_start(0)
        assert 6400 <= start <= len(whole) - len(item["source"]) - 6400  # room on both sides
        assert start == frame * SR // FPS
        size = len(item["source"])
        assert torch.allclose(item["source"], whole[start:start + size])
        assert torch.allclose(item["shifted"][0], whole[start - 6400:start - 6400 + size])  # 0.4 s earlier
        assert torch.allclose(item["shifted"][1], whole[start + 6400:start + 6400 + size])  # 0.4 s later
    batch = ds.collate([ds.get(0), ds.get(1)])
    assert batch["shifted_source"].shape == (4, batch["source"].size(1))
    assert torch.equal(batch["shifted_source"][1], ds.get(1)["shifted"][0])  # earlier windows first, clip order
    short = dataset(flash_manifest, train=True, max_frames=200, negative_shift_seconds=0.4)
    assert len(short) == 0 and len(short.skipped) == 2  # 2 s + 0.8 s do not fit 2.4 s clips
