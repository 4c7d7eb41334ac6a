"""Tiny audio-visual clips and the real AV corpora's layouts, for tests (nothing downloaded).

Each ``write_*_fixture(root)`` writes a miniature LRS3, VoxCeleb2 or Kinetics-600 in its official layout
(32x32 px, 25 fps, about a second per clip), including the clips prep must leave out, and returns what
prep should find: ``{split: {"ids": [...], "skipped": {reason: count}}}``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..data.audio import SAMPLE_RATE
from ..data.synth.mp4 import write_mp4

FPS = 25
SIZE = 32


def clip_frames(seconds: float, seed: int = 0, size: int = SIZE, fps: int = FPS) -> np.ndarray:
    """``(T, size, size, 3)`` uint8: a bright square moving over a coloured background."""
    rng = np.random.default_rng(seed)
    n = int(round(seconds * fps))
    frames = np.empty((n, size, size, 3), np.uint8)
    frames[:] = rng.integers(30, 200, size=3, dtype=np.uint8)
    for t in range(n):
        x = (t * 2) % (size - 8)
        frames[t, 8:16, x:x + 8] = 240
    return frames


def clip_audio(seconds: float, seed: int = 0, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """A tone with a little noise, float32."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(round(seconds * sample_rate))) / sample_rate
    freq = 200 + 50 * (seed % 7)
    return (0.3 * np.sin(2 * np.pi * freq * t) + 0.01 * rng.standard_normal(t.shape)).astype(np.float32)


def write_clip(path: str | Path, seconds: float = 1.0, seed: int = 0, *, audio: str = "tone",
               size: int = SIZE, fps: int = FPS, audio_seconds: float | None = None) -> Path:
    """One mp4; ``audio``: ``"tone"``, ``"silent"`` (an all-zero track) or ``"none"`` (no audio stream)."""
    frames = clip_frames(seconds, seed, size, fps)
    a_sec = seconds if audio_seconds is None else audio_seconds
    wav = {"tone": lambda: clip_audio(a_sec, seed), "silent": lambda: np.zeros(int(a_sec * SAMPLE_RATE), np.float32),
           "none": lambda: None}[audio]()
    return write_mp4(path, frames, fps, wav, SAMPLE_RATE)


def write_garbage(path: str | Path) -> Path:
    """A file named like a clip that no decoder opens."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 4)
    return path


# word times for the long LRS3 pretrain clip (1.6 s): split at max_seconds=0.7 into 3 rows
LRS3_WORDS = [("SO", 0.05, 0.25), ("WE", 0.30, 0.50), ("WENT", 0.60, 0.80), ("HOME", 0.85, 1.10),
              ("AGAIN", 1.20, 1.50)]


def _lrs3_txt(path: Path, text: str, words=None) -> None:
    lines = [f"Text:  {text}", "Conf:  4", ""]
    if words:
        lines += ["WORD START END ASDSCORE"] + [f"{w} {s:.2f} {e:.2f} 3.1" for w, s, e in words]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_lrs3_fixture(root: str | Path) -> dict[str, dict]:
    """``root/{pretrain,trainval,test}/<speaker>/<NNNNN>.mp4 + .txt``."""
    root = Path(root)
    p = root / "pretrain" / "0Fi83BHQsMA"
    write_clip(p / "00001.mp4", 1.6, 1)
    _lrs3_txt(p / "00001.txt", " ".join(w for w, _, _ in LRS3_WORDS), LRS3_WORDS)
    write_clip(p / "00002.mp4", 0.6, 2)
    _lrs3_txt(p / "00002.txt", "HELLO THERE", [("HELLO", 0.05, 0.30), ("THERE", 0.32, 0.55)])
    t = root / "trainval"
    write_clip(t / "0Fi83BHQsMA" / "50001.mp4", 0.8, 3)
    _lrs3_txt(t / "0Fi83BHQsMA" / "50001.txt", "GOOD MORNING")
    write_clip(t / "5BsvLXz3gdg" / "50002.mp4", 0.8, 4, audio="none")
    _lrs3_txt(t / "5BsvLXz3gdg" / "50002.txt", "NO SOUND HERE")
    write_clip(t / "5BsvLXz3gdg" / "50003.mp4", 0.8, 5)  # no .txt: left out
    e = root / "test" / "0akiEFwtkyA"
    write_clip(e / "00001.mp4", 0.8, 6)
    _lrs3_txt(e / "00001.txt", "THANK YOU")
    write_clip(e / "00002.mp4", 0.8, 7, audio="silent")
    _lrs3_txt(e / "00002.txt", "SILENCE")
    return {
        "pretrain": {"ids": ["pretrain/0Fi83BHQsMA/00001", "pretrain/0Fi83BHQsMA/00002"], "skipped": {}},
        "trainval": {"ids": ["trainval/0Fi83BHQsMA/50001"],
                     "skipped": {"missing_audio_stream": 1, "missing_text": 1}},
        "test": {"ids": ["test/0akiEFwtkyA/00001"], "skipped": {"silent_audio": 1}},
    }


def write_voxceleb2_fixture(root: str | Path) -> dict[str, dict]:
    """``root/{dev,test}/mp4/id<N>/<ytid>/<NNNNN>.mp4`` plus ``root/vox-en.id`` (English clips, AV-HuBERT)."""
    root = Path(root)
    d = root / "dev" / "mp4"
    write_clip(d / "id00012" / "21Uxsk56VDQ" / "00001.mp4", 0.8, 11)
    write_clip(d / "id00012" / "21Uxsk56VDQ" / "00002.mp4", 0.6, 12)
    write_clip(d / "id00015" / "0fijmz4vTVU" / "00001.mp4", 0.8, 13)
    write_garbage(d / "id00015" / "0fijmz4vTVU" / "00002.mp4")
    write_clip(root / "test" / "mp4" / "id00017" / "01dfn2spqyE" / "00001.mp4", 0.8, 14)
    (root / "vox-en.id").write_text("dev/id00012/21Uxsk56VDQ/00001\ndev/id00015/0fijmz4vTVU/00001\n"
                                    "test/id00017/01dfn2spqyE/00001\n", encoding="utf-8")
    return {
        "dev": {"ids": ["id00012/21Uxsk56VDQ/00001", "id00012/21Uxsk56VDQ/00002", "id00015/0fijmz4vTVU/00001"],
                "skipped": {"undecodable_video": 1}},
        "test": {"ids": ["id00017/01dfn2spqyE/00001"], "skipped": {}},
    }


def write_kinetics_fixture(root: str | Path) -> dict[str, dict]:
    """``root/<split>/<class>/<ytid>_<start:06d>_<end:06d>.mp4`` + ``root/annotations/<split>.csv``; the
    ``validate`` clips live in ``val/`` as in the common download scripts."""
    root = Path(root)
    rows = {"train": [("playing drums", "--6bJUbfpnQ", 4, 14, "tone"), ("playing drums", "-0NyQ0sj6aA", 25, 35, "none"),
                      ("riding a bike", "-4wsuPCjDBc", 5, 15, "silent"),
                      ("riding a bike", "0-1MLblaMRA", 0, 10, "tone"),
                      ("riding a bike", "0KBgYLX53BY", 30, 40, None)],  # None: listed, not on disk
            "validate": [("playing drums", "1CIBfZF0zyE", 12, 22, "tone")]}
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    for i, (split, clips) in enumerate(rows.items()):
        lines = ["label,youtube_id,time_start,time_end,split"]
        for j, (label, yt, s, e, audio) in enumerate(clips):
            lines.append(f"{label if ' ' not in label else chr(34) + label + chr(34)},{yt},{s},{e},{split}")
            if audio is not None:
                folder = root / ("val" if split == "validate" else split) / label.replace(" ", "_")
                write_clip(folder / f"{yt}_{s:06d}_{e:06d}.mp4", 0.8, 20 + 10 * i + j, audio=audio)
        (root / "annotations" / f"{split}.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {
        "train": {"ids": ["--6bJUbfpnQ_000004_000014", "0-1MLblaMRA_000000_000010"],
                  "labels": ["playing drums", "riding a bike"],
                  "skipped": {"missing_audio_stream": 1, "silent_audio": 1, "missing_video": 1}},
        "validate": {"ids": ["1CIBfZF0zyE_000012_000022"], "labels": ["playing drums"], "skipped": {}},
    }


def write_audio_only(path: str | Path, seconds: float = 0.8, seed: int = 0) -> Path:
    """An mp4 holding only an AAC track (no video stream)."""
    import av

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wav = clip_audio(seconds, seed).reshape(1, -1)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("aac", rate=SAMPLE_RATE)
        stream.layout = "mono"
        for i in range(0, wav.shape[1], 1024):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(wav[:, i:i + 1024]), format="fltp", layout="mono")
            frame.sample_rate, frame.pts = SAMPLE_RATE, i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def write_av_manifest(path: str | Path, clips: dict[str, str | Path], *, speaker: str = "spk",
                      text: str = "") -> Path:
    """An AV manifest (audio = video = the mp4) for ``{id: mp4}``, numbers taken from the files as far as
    they can be read (zeros where not): for tests that need rows whatever state their files are in."""
    import pandas as pd

    from ..data.manifest import write_manifest
    from ..data.video import VideoError, probe, read_audio

    rows = []
    for utt, mp4 in clips.items():
        row = {"id": utt, "audio": str(Path(mp4).resolve()), "num_samples": 0, "sample_rate": SAMPLE_RATE,
               "duration": 0.0, "speaker": speaker, "text": text, "video": str(Path(mp4).resolve()),
               "num_frames": 0, "fps": float(FPS), "width": SIZE, "height": SIZE}
        try:
            info = probe(mp4)
            if info.has_video:
                row.update(num_frames=info.num_frames, fps=info.fps, width=info.width, height=info.height)
            if info.has_audio:
                n = len(read_audio(mp4, SAMPLE_RATE))
                row.update(num_samples=n, duration=round(n / SAMPLE_RATE, 4))
        except VideoError:
            pass
        rows.append(row)
    return write_manifest(pd.DataFrame(rows), path)
