"""The mp4 writer and the three synthetic AV sets: round trip, determinism, real-corpus layouts, broken clips."""
import csv
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from asrkit.data.synth.av_corpus import AVSynthConfig, generate_av_corpus
from asrkit.data.synth.mp4 import AAC_FRAME, write_mp4

av = pytest.importorskip("av")

SMALL = dict(lrs3_pretrain_clips=3, lrs3_trainval_clips=2, lrs3_test_clips=2, lrs3_train_talks=2, lrs3_test_talks=1,
             vox_dev_clips=4, vox_test_clips=1, vox_dev_speakers=3, vox_test_speakers=1, vox_non_english=0.5,
             kinetics_train_clips=5, kinetics_val_clips=1, kinetics_clip_seconds=1, kinetics_no_audio=1,
             kinetics_silent=1, kinetics_missing=1)


def tree_digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and p.name != "synth_av_config.yaml"}


def read_back(path: Path):
    with av.open(str(path)) as c:
        frames = np.stack([f.to_ndarray(format="rgb24") for f in c.decode(video=0)])
    with av.open(str(path)) as c:
        if not c.streams.audio:
            return frames, None, None
        audio = np.concatenate([f.to_ndarray().reshape(-1) for f in c.decode(audio=0)])
        rate = c.streams.audio[0].sample_rate
    return frames, audio, rate


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("av")
    summary = generate_av_corpus(root, AVSynthConfig(**SMALL, num_workers=2))
    return root, summary


def test_mp4_round_trip_and_same_inputs_same_bytes(tmp_path):
    t = np.arange(40)[:, None, None]
    frames = np.zeros((40, 64, 96, 3), np.uint8)
    frames[..., 0] = np.linspace(0, 250, 96)[None, None, :]
    frames[..., 1] = ((t * 3 + np.arange(64)[None, :, None]) % 64 * 4).astype(np.uint8)
    audio = (0.3 * np.sin(2 * np.pi * 440 * np.arange(25_000) / 16_000)).astype(np.float32)
    a = write_mp4(tmp_path / "a.mp4", frames, 25, audio)
    write_mp4(tmp_path / "other.mp4", frames[::-1].copy(), 25, audio)  # state from an earlier encode must not leak
    b = write_mp4(tmp_path / "b.mp4", frames, 25, audio)
    assert a.read_bytes() == b.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.mp4", "b.mp4", "other.mp4"]  # no temporaries left
    got, sound, rate = read_back(a)
    assert got.shape == frames.shape and np.abs(got.astype(int) - frames).mean() < 3
    assert rate == 16_000 and abs(len(sound) - len(audio)) <= AAC_FRAME
    n = min(len(sound), len(audio)) - 2048
    assert np.corrcoef(sound[1024:n], audio[1024:n])[0, 1] > 0.99  # aligned: no priming offset


def test_mp4_without_audio_has_one_stream(tmp_path):
    path = write_mp4(tmp_path / "v.mp4", np.full((5, 32, 32, 3), 128, np.uint8), 25)
    with av.open(str(path)) as c:
        assert [s.type for s in c.streams] == ["video"]


def test_same_seed_same_files_whatever_the_workers(corpus, tmp_path):
    root, _ = corpus
    generate_av_corpus(tmp_path, AVSynthConfig(**SMALL, num_workers=1), sets=("lrs3", "kinetics"))
    ours = {k: v for k, v in tree_digest(root).items() if not k.startswith("voxceleb2")}
    assert len(ours) > 15 and ours == tree_digest(tmp_path)


def test_lrs3_layout_and_transcripts(corpus):
    root, summary = corpus
    lrs3 = root / "lrs3"
    assert {p.name for p in lrs3.iterdir()} == {"pretrain", "trainval", "test", "metadata"}
    mp4s = sorted(lrs3.glob("*/*/*.mp4"))
    assert len(mp4s) == 7 and all(p.with_suffix(".txt").is_file() for p in mp4s)
    assert all(len(p.parent.name) == 11 and len(p.stem) == 5 and p.stem.isdigit() for p in mp4s)
    test_talks = {p.parent.name for p in lrs3.glob("test/*/*.mp4")}
    assert test_talks and not test_talks & {p.parent.name for p in lrs3.glob("pretrain/*/*.mp4")}
    pre = next(lrs3.glob("pretrain/*/*.txt")).read_text().splitlines()
    assert pre[0].startswith("Text:  ") and pre[1] == "Conf:  3" and pre[2] == "" and pre[3] == "WORD START END ASDSCORE"
    words = [line.split() for line in pre[4:]]
    assert [w[0] for w in words] == pre[0][len("Text:  "):].split()
    starts = [float(w[1]) for w in words]
    assert starts == sorted(starts) and all(float(w[2]) > float(w[1]) for w in words)
    tv = next(lrs3.glob("trainval/*/*.txt")).read_text()
    assert tv.count("\n") == 2 and tv.splitlines()[1] == "Conf:  3"
    frames, audio, rate = read_back(mp4s[0])
    assert frames.shape[1:] == (96, 96, 3) and rate == 16_000
    assert abs(len(audio) / rate - len(frames) / 25) <= 0.04 + AAC_FRAME / rate  # within a frame (+ aac padding)
    meta = [json.loads(line) for line in (lrs3 / "metadata" / "pretrain.jsonl").read_text().splitlines()]
    assert len(meta) == 3 and meta[0]["phonemes"] and meta[0]["words"] and "skin" in meta[0]["appearance"]
    assert summary["lrs3/test"]["clips"] == 2


def test_voxceleb2_layout_meta_and_languages(corpus):
    root, _ = corpus
    vox = root / "voxceleb2"
    mp4s = sorted(vox.glob("*/mp4/id*/*/*.mp4"))
    assert len(mp4s) == 5 and {p.parts[-5] for p in mp4s} == {"dev", "test"}
    assert all(len(p.parts[-3]) == 7 and len(p.parent.name) == 11 for p in mp4s)
    lines = (vox / "vox2_meta.csv").read_text().splitlines()
    assert lines[0] == "VoxCeleb2 ID ,VGGFace2 ID ,Gender ,Set "
    rows = [[c.strip() for c in line.split(",")] for line in lines[1:]]
    assert len(rows) == 4 and {r[3] for r in rows} == {"dev", "test"} and {r[2] for r in rows} <= {"m", "f"}
    assert {p.parts[-3] for p in mp4s} <= {r[0] for r in rows}
    meta = [json.loads(x) for s in ("dev", "test") for x in (vox / "metadata" / f"{s}.jsonl").read_text().splitlines()]
    assert all(m["noise"] in ("babble", "noise") and m["snr_db"] is not None for m in meta)
    assert not list(vox.rglob("*.txt"))  # VoxCeleb2 has no transcripts


def test_kinetics_layout_annotations_and_broken_clips(corpus):
    root, summary = corpus
    kin = root / "kinetics"
    with open(kin / "annotations" / "train.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["label", "youtube_id", "time_start", "time_end", "split"]
    assert len(rows) == 6  # 5 clips + 1 never "downloaded"
    present = [r for r in rows if (kin / "train" / r["label"] /
                                   f"{r['youtube_id']}_{int(r['time_start']):06d}_{int(r['time_end']):06d}.mp4").is_file()]
    assert len(present) == 5
    meta = {m["youtube_id"]: m for m in map(json.loads, (kin / "metadata" / "train.jsonl").read_text().splitlines())}
    kinds = sorted(m["broken"] for m in meta.values() if m["broken"])
    assert kinds == ["missing", "no_audio", "silent"] and summary["kinetics/train"]["broken"] == 3
    for r in present:
        path = kin / "train" / r["label"] / f"{r['youtube_id']}_{int(r['time_start']):06d}_{int(r['time_end']):06d}.mp4"
        frames, audio, _ = read_back(path)
        assert len(frames) == 25
        broken = meta[r["youtube_id"]]["broken"]
        if broken == "no_audio":
            assert audio is None
        elif broken == "silent":
            assert np.abs(audio).max() < 1e-4
        else:
            assert np.abs(audio).max() > 0.1


def test_synth_video_writes_a_talking_face_next_to_every_flac(tmp_path):
    import soundfile as sf

    from asrkit.data.synth.av_corpus import add_talking_faces
    from asrkit.data.synth.corpus import SynthConfig, generate_corpus

    # every engine's phone events drive the mouth: espeak-ng's own, flite's and festival's mapped to them
    generate_corpus(tmp_path, SynthConfig(pretrain_hours=0.004, finetune_folds=1, fold_minutes=0.03, dev_minutes=0.03,
                                          test_minutes=0.03, train_speakers=3, dev_speakers=1, test_speakers=1,
                                          other_engines_share=0.7, unseen_minutes=0.02, num_workers=1))
    flacs = sorted(tmp_path.rglob("*.flac"))
    assert add_talking_faces(tmp_path, num_workers=1) == len(flacs) > 3
    frames, audio, rate = read_back(flacs[0].with_suffix(".mp4"))
    wav, sr = sf.read(flacs[0], dtype="float32")
    assert rate == sr and abs(len(audio) - len(wav)) <= AAC_FRAME
    assert abs(len(frames) / 25 - len(wav) / sr) <= 0.04
    # the lips of flite's and festival's speakers follow their speech (as test_the_lips_move_with_the_speech)
    engine = {r["id"]: r["engine"] for meta in (tmp_path / "metadata").glob("*.jsonl")
              for r in map(json.loads, meta.read_text().splitlines())}
    others = [f for f in flacs if engine[f.stem] != "espeak"]
    assert {engine[f.stem] for f in others} == {"flite", "festival"}
    corr = np.zeros(3)
    for path in others:
        motion, loud = _motion_and_loudness(path.with_suffix(".mp4"))
        t = len(motion)
        for k, lag in enumerate((-12, 0, 12)):
            a, b = (motion[lag:], loud[:t - lag]) if lag >= 0 else (motion[:t + lag], loud[-lag:])
            corr[k] += float(np.mean(a * b)) / len(others)
    assert corr[1] > 0.15 and corr[1] > 2 * max(abs(corr[0]), abs(corr[2])), corr


def _motion_and_loudness(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Per video frame: how far the lower middle of the picture (where the mouth is) is from the clip's median
    frame, and the audio's RMS over the frame's 40 ms."""
    frames, audio, rate = read_back(path)
    h, w = frames.shape[1:3]
    frames = frames[:, int(0.55 * h):int(0.85 * h), int(0.25 * w):int(0.75 * w)].astype(np.float32)
    motion = np.abs(frames - np.median(frames, axis=0)).mean(axis=(1, 2, 3))
    hop = rate // 25
    loud = np.array([np.sqrt(np.mean(audio[i * hop:(i + 1) * hop] ** 2) + 1e-12) for i in range(len(frames))])
    return (motion - motion.mean()) / (motion.std() + 1e-9), (loud - loud.mean()) / (loud.std() + 1e-9)


def test_the_lips_move_with_the_speech(tmp_path):
    """The talking faces carry the speech's timing: the mouth's motion follows the audio's loudness at lag 0,
    not half a second off (the time shift of `asrkit eval-av`'s sync test). On 30 test clips of a 3000-clip
    LRS3-like set: correlation 0.31 at lag 0, 0.03 at -0.48 s and 0.05 at +0.48 s."""
    sizes = {**SMALL, "lrs3_pretrain_clips": 0, "lrs3_trainval_clips": 0, "lrs3_test_clips": 24,
             "lrs3_test_talks": 4, "vox_dev_clips": 0, "vox_test_clips": 0,
             "kinetics_train_clips": 0, "kinetics_val_clips": 0, "kinetics_no_audio": 0, "kinetics_silent": 0,
             "kinetics_missing": 0}
    generate_av_corpus(tmp_path, AVSynthConfig(**sizes, num_workers=2))
    lags = (-12, 0, 12)  # video frames: -0.48 s, 0, +0.48 s
    corr = np.zeros(len(lags))
    clips = sorted((tmp_path / "lrs3" / "test").glob("*/*.mp4"))
    assert len(clips) == 24
    for path in clips:
        motion, loud = _motion_and_loudness(path)
        t = len(motion)
        for k, lag in enumerate(lags):
            a, b = (motion[lag:], loud[:t - lag]) if lag >= 0 else (motion[:t + lag], loud[-lag:])
            corr[k] += float(np.mean(a * b)) / len(clips)
    assert corr[1] > 0.2 and corr[1] > 3 * max(abs(corr[0]), abs(corr[2])), corr
