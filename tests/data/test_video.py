"""The one video reader: write/read round trip, seeking, the frame cache, audio, one-line errors."""
from __future__ import annotations

import os

import numpy as np
import pytest

from asrkit.data import video
from asrkit.data.synth.mp4 import write_mp4
from asrkit.testing.av import write_audio_only, write_clip, write_garbage


@pytest.fixture
def clip(tmp_path):
    """2 s at 25 fps, 32x32: frame t is grey level 4t; a 440 Hz tone."""
    frames = np.repeat(np.arange(50, dtype=np.uint8)[:, None, None, None] * 4, 32, 1).repeat(32, 2).repeat(3, 3)
    wav = (0.3 * np.sin(2 * np.pi * 440 * np.arange(32000) / 16000)).astype(np.float32)
    return write_mp4(tmp_path / "c.mp4", frames, 25, wav), frames, wav


@pytest.fixture(autouse=True)
def fresh_cache():
    video.set_cache_bytes(video.DEFAULT_CACHE_BYTES)
    yield
    video.set_cache_bytes(video.DEFAULT_CACHE_BYTES)


def test_probe_reports_streams_and_lengths(clip):
    info = video.probe(clip[0])
    assert (info.has_video, info.has_audio, info.fps, info.width, info.height) == (True, True, 25.0, 32, 32)
    assert info.num_frames == 50 and info.sample_rate == 16000 and info.duration == pytest.approx(2.0)


def test_round_trip_frames_close(clip):
    path, frames, _ = clip
    got = video.read_frames(path)
    assert got.shape == (50, 32, 32, 3) and got.dtype == np.uint8
    assert np.abs(got.astype(int) - frames.astype(int)).mean() < 3


@pytest.mark.parametrize("cache_bytes", [video.DEFAULT_CACHE_BYTES, 0])  # whole-clip decode, and seeking
def test_window_and_stride_pick_the_right_frames(clip, cache_bytes):
    video.set_cache_bytes(cache_bytes)
    got = video.read_frames(clip[0], start=33, num=4, stride=3)  # past the keyframe at 25: a seek
    assert got.shape[0] == 4
    assert np.allclose(got.reshape(4, -1).mean(1), [4 * i for i in (33, 36, 39, 42)], atol=3)
    assert video.read_frames(clip[0], start=45, num=10).shape[0] == 5  # the clip ends first


def test_cache_answers_later_windows_without_decoding(clip):
    path = clip[0]
    video.read_frames(path, 0, 8, 2)
    assert video.cache_info().decodes == 1
    video.read_frames(path, 20, 8, 2)
    video.read_frames(path, 5, 4)
    info = video.cache_info()
    assert (info.decodes, info.hits) == (1, 2) and info.bytes == 50 * 32 * 32 * 3
    os.utime(path, ns=(1, 1))  # a changed file is a new key
    video.read_frames(path, 0, 2)
    assert video.cache_info().decodes == 2


def test_cache_stays_within_its_bytes(clip, tmp_path):
    clip_bytes = 50 * 32 * 32 * 3
    video.set_cache_bytes(4 * clip_bytes)  # four whole clips (a clip up to a quarter of it is decoded whole)
    others = [write_clip(tmp_path / f"o{i}.mp4", 2.0, i) for i in range(4)]
    video.read_frames(clip[0], 0, 2)
    for other in others:
        video.read_frames(other, 0, 2)
    info = video.cache_info()
    assert info.bytes <= info.max_bytes and info.decodes == 5
    video.read_frames(others[-1], 10, 2)  # still there
    video.read_frames(clip[0], 0, 2)  # least recently used: evicted, decodes again
    assert video.cache_info().decodes == 6


def test_read_audio_mono_resampled_and_trimmed(clip):
    path, _, wav = clip
    got = video.read_audio(path, 16000)
    assert got.dtype == np.float32 and got.shape == (32000,)
    assert np.abs(got[2000:30000] - wav[2000:30000]).max() < 0.05  # sample 0 is the track's first: no shift
    assert video.read_audio(path, 8000).shape == (16000,)
    assert np.array_equal(video.read_audio(path, 16000, offset=100, num_samples=50), got[100:150])


@pytest.mark.parametrize("make, reason, words", [
    (lambda d: d / "nope.mp4", "missing_video", "does not exist"),
    (lambda d: (os.mkfifo(d / "f.mp4"), d / "f.mp4")[1], "missing_video", "FIFO"),
    (lambda d: write_garbage(d / "g.mp4"), "undecodable_video", "cannot be opened"),
    (lambda d: write_audio_only(d / "a.mp4"), "missing_video_stream", "no video stream"),
])
def test_frame_errors_are_one_line_naming_the_file(tmp_path, make, reason, words):
    path = make(tmp_path)
    with pytest.raises(video.VideoError) as e:
        video.read_frames(path)
    assert e.value.reason == reason and str(path) in str(e.value) and words in str(e.value)
    assert "\n" not in str(e.value)


def test_audio_error_for_a_clip_without_sound(tmp_path):
    path = write_clip(tmp_path / "m.mp4", 0.4, audio="none")
    with pytest.raises(video.VideoError, match="no audio stream") as e:
        video.read_audio(path)
    assert e.value.reason == "missing_audio_stream"
    assert video.is_silent(video.read_audio(write_clip(tmp_path / "s.mp4", 0.4, audio="silent")))
