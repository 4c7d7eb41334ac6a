"""Writing mp4 clips (H.264 video + AAC audio) through PyAV.

Minimal stand-in with the contract's signature; the synthetic-AV helper's version replaces it at merge.
"""
from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import numpy as np


def write_mp4(path: str | Path, frames: np.ndarray, fps: int, audio: np.ndarray | None = None,
              sample_rate: int = 16000) -> Path:
    """Write ``frames`` uint8 ``(T, H, W, 3)`` RGB at ``fps`` (libx264 yuv420p, crf 18, keyframe every 25
    frames) and optional mono ``audio`` float32 ``(S,)`` (AAC) to ``path``, via a temporary file renamed."""
    import av

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.mp4")
    frames = np.ascontiguousarray(frames, dtype=np.uint8)
    with av.open(str(tmp), "w") as out:
        vs = out.add_stream("libx264", rate=fps)
        vs.width, vs.height = int(frames.shape[2]), int(frames.shape[1])
        vs.pix_fmt = "yuv420p"
        vs.options = {"crf": "18", "g": "25", "threads": "1"}
        a_s = None
        if audio is not None:
            a_s = out.add_stream("aac", rate=sample_rate)
            a_s.layout = "mono"
        for img in frames:
            for packet in vs.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in vs.encode():
            out.mux(packet)
        if a_s is not None:
            wav = np.asarray(audio, dtype=np.float32).reshape(1, -1)
            step = 1024
            for i in range(0, wav.shape[1], step):
                af = av.AudioFrame.from_ndarray(np.ascontiguousarray(wav[:, i:i + step]), format="fltp",
                                                layout="mono")
                af.sample_rate = sample_rate
                af.pts = i
                af.time_base = Fraction(1, sample_rate)
                for packet in a_s.encode(af):
                    out.mux(packet)
            for packet in a_s.encode():
                out.mux(packet)
    os.replace(tmp, path)
    return path
