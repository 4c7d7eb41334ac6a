"""The one mp4 writer of the audio-visual stage (issue 19): H.264 video and AAC audio through PyAV.

Both encoders ship in PyAV's wheel (``libx264``, FFmpeg's native ``aac``). The settings mirror what
the real corpora hold (LRS3 and VoxCeleb2 are H.264 + AAC mp4 at 25 fps): yuv420p, constant quality
``crf 18`` (visually lossless for these flat synthetic frames), a keyframe every 25 frames (one per
second, so a reader seeking to a random clip window decodes at most a second of frames).

Deterministic: the same frames and audio give the same bytes, whatever was encoded before in the same
process. Two x264 features break that and are off: threads (frame threads race on rate control) and
macroblock-tree rate control (``mbtree``: measured, a 96 px wide clip encoded after another one came out
different from the same clip encoded first; 64 and 128 px were stable). Without mbtree, crf 18 spends
a few more bits on static background, which these small frames do not notice. The muxer writes no
creation time unless asked to, and FFmpeg's aac encoder is deterministic.
"""
from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import numpy as np

GOP = 25  # keyframe interval in frames: one per second at 25 fps
CRF = 18
AAC_FRAME = 1024  # samples per AAC frame
AUDIO_BITRATE = 64_000  # mono 16 kHz speech: plenty for AAC-LC


def write_mp4(path: str | Path, frames: np.ndarray, fps: int, audio: np.ndarray | None = None,
              sample_rate: int = 16000) -> Path:
    """Write ``frames`` uint8 ``(T, H, W, 3)`` RGB at ``fps`` and optional mono ``audio`` float32 ``(S,)``
    in [-1, 1] at ``sample_rate`` to the mp4 ``path`` (via a temporary file renamed into place).

    H and W must be even (yuv420p halves the chroma planes). Returns ``path``.
    """
    import av

    path = Path(path)
    frames = np.asarray(frames)
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"frames must be uint8 (T, H, W, 3), got {frames.dtype} {frames.shape}")
    t, h, w, _ = frames.shape
    if t == 0 or h % 2 or w % 2:
        raise ValueError(f"need at least one frame and an even frame size for yuv420p, got {frames.shape}")
    tmp = path.with_name(f".{path.name}.tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with av.open(str(tmp), mode="w", format="mp4") as container:
            video = container.add_stream("libx264", rate=Fraction(int(fps), 1))
            video.width, video.height, video.pix_fmt = w, h, "yuv420p"
            video.codec_context.thread_count = 1  # see the module docstring: threads break determinism
            video.options = {"crf": str(CRF), "g": str(GOP), "keyint_min": str(GOP), "preset": "medium",
                             "x264-params": "threads=1:lookahead-threads=1:no-mbtree=1"}
            sound = None
            if audio is not None:
                sound = container.add_stream("aac", rate=int(sample_rate))
                sound.layout = "mono"
                sound.bit_rate = AUDIO_BITRATE
                sound.codec_context.thread_count = 1
            for i, image in enumerate(frames):
                frame = av.VideoFrame.from_ndarray(rgb_to_yuv420p(image), format="yuv420p")
                frame.pts = i
                container.mux(video.encode(frame))
            container.mux(video.encode())
            if sound is not None:
                _encode_audio(container, sound, np.asarray(audio, dtype=np.float32).reshape(-1), int(sample_rate))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def rgb_to_yuv420p(image: np.ndarray) -> np.ndarray:
    """uint8 ``(H, W, 3)`` RGB -> yuv420p planes stacked ``(H * 3 // 2, W)``: BT.601 limited range (what
    decoders assume for untagged SD video), chroma averaged over 2 x 2 blocks. Converted here rather
    than by swscale so that the colour matrix is stated here."""
    rgb = image.astype(np.float32)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    y = 16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255
    h, w = y.shape
    sub = rgb.reshape(h // 2, 2, w // 2, 2, 3).mean((1, 3))
    r, g, b = sub[..., 0], sub[..., 1], sub[..., 2]
    u = 128 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255
    v = 128 + (112.0 * r - 93.786 * g - 18.214 * b) / 255
    planes = [np.clip(np.round(c), 0, 255).astype(np.uint8) for c in (y, u, v)]
    return np.concatenate([planes[0], planes[1].reshape(h // 4, w), planes[2].reshape(h // 4, w)])


def _encode_audio(container, stream, audio: np.ndarray, sample_rate: int) -> None:
    import av

    audio = np.clip(audio, -1.0, 1.0)
    fmt = stream.codec_context.format.name  # fltp for FFmpeg's aac
    for start in range(0, len(audio), AAC_FRAME):
        chunk = np.ascontiguousarray(audio[start:start + AAC_FRAME][None, :])
        frame = av.AudioFrame.from_ndarray(chunk, format=fmt, layout="mono")
        frame.sample_rate = sample_rate
        frame.pts = start
        frame.time_base = Fraction(1, sample_rate)
        container.mux(stream.encode(frame))
    container.mux(stream.encode())
