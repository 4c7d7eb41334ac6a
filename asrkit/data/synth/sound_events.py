"""Non-speech action clips for the Kinetics-like set (issue 19): moving shapes with matching sounds.

Kinetics-600 is the paper's non-speech pre-training set (§3.1): actions whose sounds follow what is
seen. Each class here is a real Kinetics-600 label whose synthetic video and audio share one event
timeline, so audio and video correspond in time (a contrastive model can learn the sync):

- ``dribbling basketball``: a ball bouncing (gravity, random height); an impact (a low thud and a
  noise burst) at each floor contact, louder for a faster fall.
- ``playing ping pong``: a ball flying between two paddles; a short high click at each hit.
- ``driving car``: a rotating spoked wheel on a moving road; an engine hum (a buzzy harmonic tone)
  whose pitch and loudness follow the wheel's speed.
- ``playing xylophone``: a row of coloured bars; a struck bar lights up and sounds its note (a
  pentatonic scale from left to right, a decaying partial pair).
- ``playing drums``: a drum that flashes and jumps at each hit; a pitched-down thump plus noise.

Everything is drawn with numpy (the same soft-edged ellipses as :mod:`.face`) at 25 fps, audio at 16 kHz;
each clip gets a random background colour, a quiet noise floor and a level, from its own RNG.
"""
from __future__ import annotations

import numpy as np

from .face import _ellipse, _paint

CLASSES = ("dribbling basketball", "playing ping pong", "driving car", "playing xylophone", "playing drums")
PENTATONIC = (0, 2, 4, 7, 9, 12, 14)  # semitones above the lowest bar


def _box(x, y, x0, y0, x1, y1):
    """Anti-aliased coverage of the axis-aligned box [x0, x1] x [y0, y1] (arguments broadcast)."""
    return (np.clip(np.minimum(x - x0, x1 - x) + 0.5, 0, 1) * np.clip(np.minimum(y - y0, y1 - y) + 0.5, 0, 1))


def _impact(audio, t, sr, rng, *, gain, freq, decay, noise):
    """Add at ``t`` seconds a damped sine at ``freq`` Hz plus a noise burst (impacts, clicks, drums)."""
    start = int(round(t * sr))
    if start >= len(audio):
        return
    n = min(len(audio) - start, int(sr * decay * 6))
    k = np.arange(n) / sr
    env = np.exp(-k / decay)
    sweep = freq * (1 + 0.5 * np.exp(-k / 0.01))  # the pitch drops as an impact rings down
    tone = np.sin(2 * np.pi * np.cumsum(sweep) / sr)
    audio[start:start + n] += gain * env * ((1 - noise) * tone + noise * rng.standard_normal(n))


def _grid(num, size):
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    return x[None], y[None], np.arange(num, dtype=np.float32)[:, None, None]


def _background(num, size, rng):
    top, bottom = rng.uniform(40, 220, 3), rng.uniform(40, 220, 3)
    ramp = np.linspace(0, 1, size, dtype=np.float32)[:, None, None]
    img = np.empty((num, size, size, 3), np.float32)
    img[:] = top * (1 - ramp) + bottom * ramp
    return img


def _bouncing_ball(num, size, fps, sr, rng):
    x, y, _ = _grid(num, size)
    img = _background(num, size, rng)
    floor = size * rng.uniform(0.78, 0.9)
    _paint(img, _box(x, y, -1, floor, size + 1, size + 1), rng.uniform(60, 160, 3))
    radius = size * rng.uniform(0.07, 0.11)
    g = size * rng.uniform(6, 10)  # px / s^2
    t = np.arange(num) / fps
    height = np.zeros(num)
    bounces, t0, v0 = [], 0.0, -rng.uniform(0.0, 1.0) * np.sqrt(2 * g * size * 0.5)
    h0 = rng.uniform(0.3, 0.6) * size
    while t0 < t[-1] + 1:  # ballistic arcs; each contact restarts with a fresh (dribbled) speed
        t_hit = (v0 + np.sqrt(v0 * v0 + 2 * g * h0)) / g
        seg = (t >= t0) & (t < t0 + t_hit)
        tau = t[seg] - t0
        height[seg] = h0 + v0 * tau - 0.5 * g * tau * tau
        speed = g * t_hit - v0
        bounces.append((t0 + t_hit, speed))
        t0 += t_hit
        h0, v0 = 0.0, rng.uniform(0.8, 1.05) * np.sqrt(2 * g * size * rng.uniform(0.3, 0.6))
    cx = size * rng.uniform(0.3, 0.7) + np.zeros(num)
    cy = floor - radius - np.maximum(height, 0)
    _paint(img, _ellipse(x, y, cx[:, None, None], cy[:, None, None], radius, radius), rng.uniform(150, 255, 3) * [1, .5, .2])
    audio = np.zeros(int(round(num / fps * sr)), np.float32)
    top = max(s for _, s in bounces)
    events = []
    for when, speed in bounces:
        if when < num / fps:
            _impact(audio, when, sr, rng, gain=0.6 * speed / top, freq=rng.uniform(90, 140), decay=0.03, noise=0.4)
            events.append([round(when * 1000), "impact"])
    return img, audio, events


def _ping_pong(num, size, fps, sr, rng):
    x, y, _ = _grid(num, size)
    img = _background(num, size, rng)
    _paint(img, _box(x, y, size * 0.1, size * 0.72, size * 0.9, size * 0.76), (30, 90, 40))
    left, right = size * 0.12, size * 0.88
    period = rng.uniform(0.45, 0.8)  # seconds per crossing
    p0 = rng.uniform(0, 1)
    t = np.arange(num) / fps
    phase = (t / period + p0) % 2
    frac = np.where(phase < 1, phase, 2 - phase)
    bx = left + (right - left) * frac
    by = size * 0.55 - size * 0.25 * np.sin(np.pi * frac)
    for px in (left - size * 0.04, right + size * 0.04):
        _paint(img, _ellipse(x, y, px, size * 0.5, size * 0.05, size * 0.1), (200, 40, 40))
    _paint(img, _ellipse(x, y, bx[:, None, None], by[:, None, None], size * 0.04, size * 0.04), (250, 250, 245))
    audio = np.zeros(int(round(num / fps * sr)), np.float32)
    events = []
    for k in range(1, int(num / fps / period) + 2):  # a hit when the ball reaches a paddle: t / period + p0 whole
        when = (k - p0) * period
        if when < num / fps:
            _impact(audio, when, sr, rng, gain=0.5, freq=rng.uniform(1800, 2600), decay=0.006, noise=0.5)
            events.append([round(when * 1000), "hit"])
    return img, audio, events


def _driving_car(num, size, fps, sr, rng):
    x, y, _ = _grid(num, size)
    img = _background(num, size, rng)
    t = np.arange(num) / fps
    # speed in revolutions per second: a smooth random profile (accelerate, cruise, brake)
    knots = rng.uniform(0.3, 3.0, 4)
    speed = np.interp(t, np.linspace(0, t[-1] + 1e-6, 4), knots)
    angle = 2 * np.pi * np.cumsum(speed) / fps
    road = size * 0.82
    stripes = ((x + (np.cumsum(speed) / fps * size * 0.8)[:, None, None]) % (size * 0.3)) < size * 0.15
    _paint(img, _box(x, y, -1, road, size + 1, size + 1), (70, 70, 75))
    _paint(img, stripes * _box(x, y, -1, road + size * 0.06, size + 1, road + size * 0.08), (230, 230, 230))
    cx, cy, r = size * 0.5, road - size * 0.28, size * 0.26
    _paint(img, _ellipse(x, y, cx, cy, r, r), (25, 25, 25))
    _paint(img, _ellipse(x, y, cx, cy, r * 0.7, r * 0.7), rng.uniform(120, 220, 3))
    theta = np.arctan2(y - cy, x - cx)  # (1, H, W)
    radial = np.hypot(x - cx, y - cy)
    for k in range(4):  # four spokes, rotating
        d = np.abs(np.sin(theta - angle[:, None, None] - k * np.pi / 4)) * radial
        _paint(img, np.clip(1.5 - d, 0, 1) * (radial < r * 0.7), (40, 40, 40))
    n = int(round(num / fps * sr))
    ts = np.arange(n) / sr
    rev = np.interp(ts, t, speed)
    f0 = 40 + 35 * rev  # Hz: the engine's firing frequency follows the wheel's speed
    phase = 2 * np.pi * np.cumsum(f0) / sr
    buzz = sum(np.sin(k * phase) / k for k in range(1, 8))  # a sawtooth-like harmonic series
    audio = (0.12 + 0.1 * rev / 3.0) * buzz + 0.02 * rng.standard_normal(n)
    events = [[round(tt * 1000), f"speed {s:.2f}"] for tt, s in zip(t[::fps], speed[::fps])]
    return img, audio.astype(np.float32), events


def _xylophone(num, size, fps, sr, rng, drums: bool = False):
    x, y, _ = _grid(num, size)
    img = _background(num, size, rng)
    t_end = num / fps
    n = int(round(t_end * sr))
    audio = np.zeros(n, np.float32)
    beat = rng.uniform(0.25, 0.45)
    hits = np.arange(rng.uniform(0.05, beat), t_end - 0.1, beat)
    hits = hits[rng.random(len(hits)) < 0.8]
    events = []
    if drums:
        cx, cy, r = size * 0.5, size * 0.6, size * 0.3
        glow = np.zeros(num, np.float32)
        for when in hits:
            f = int(when * fps)
            glow[f:f + 4] = np.maximum(glow[f:f + 4], [1.0, 0.6, 0.3, 0.1][:len(glow[f:f + 4])])
            _impact(audio, when, sr, rng, gain=0.7, freq=rng.uniform(60, 90), decay=0.08, noise=0.3)
            events.append([round(when * 1000), "drum"])
        jump = glow[:, None, None] * size * 0.03
        _paint(img, _ellipse(x, y, cx, cy + jump, r, r * 0.35), (150, 40, 40))
        _paint(img, _ellipse(x, y, cx, cy - r * 0.1 + jump, r * 0.95, r * 0.3),
               np.array([200, 200, 190], np.float32))
        flash = glow[:, None, None] * _ellipse(x, y, cx, cy - r * 0.1 + jump, r * 0.95, r * 0.3)
        _paint(img, flash * 0.8, (255, 255, 120))
        return img, audio, events
    bars = len(PENTATONIC)
    base = rng.uniform(330, 520)  # Hz of the lowest bar
    lit = np.zeros((num, bars), np.float32)
    for when in hits:
        b = int(rng.integers(bars))
        f = int(when * fps)
        lit[f:f + 5, b] = np.maximum(lit[f:f + 5, b], [1.0, 0.8, 0.55, 0.3, 0.1][:len(lit[f:f + 5, b])])
        freq = base * 2 ** (PENTATONIC[b] / 12)
        start = int(round(when * sr))
        k = np.arange(min(n - start, int(sr * 0.8))) / sr
        audio[start:start + len(k)] += 0.35 * np.exp(-k / 0.25) * (np.sin(2 * np.pi * freq * k)
                                                                    + 0.3 * np.sin(2 * np.pi * 3.93 * freq * k))
        events.append([round(when * 1000), f"note {b}"])
    width = size * 0.8 / bars
    for b in range(bars):
        x0 = size * 0.1 + b * width
        height = size * (0.5 - 0.03 * b)
        colour = np.array([70 + 25 * b, 200 - 20 * b, 120 + 15 * (b % 3)], np.float32)
        bar = _box(x, y, x0 + 1, size * 0.5 - height / 2, x0 + width - 1, size * 0.5 + height / 2)
        _paint(img, bar, colour * 0.6)
        _paint(img, bar * lit[:, b, None, None], (255, 255, 200))
    return img, audio, events


_RENDER = {
    "dribbling basketball": _bouncing_ball,
    "playing ping pong": _ping_pong,
    "driving car": _driving_car,
    "playing xylophone": _xylophone,
    "playing drums": lambda *a: _xylophone(*a, drums=True),
}


def action_clip(label: str, duration_s: float, seed: int, size: int = 96, fps: int = 25,
                sample_rate: int = 16000) -> tuple[np.ndarray, np.ndarray, list]:
    """One clip of class ``label``: frames uint8 ``(T, size, size, 3)``, audio float32 ``(S,)`` with
    ``S = T / fps * sample_rate``, and its events ``[[ms, what], ...]`` (what the sound follows)."""
    rng = np.random.default_rng([0xAC7, int(seed) & 0xFFFFFFFF])
    num = int(round(duration_s * fps))
    img, audio, events = _RENDER[label](num, size, fps, sample_rate, rng)
    audio = audio + 0.003 * rng.standard_normal(len(audio))  # a recording's noise floor
    audio = audio * (rng.uniform(0.3, 0.8) / max(1e-6, float(np.abs(audio).max())))
    return np.clip(np.round(img), 0, 255).astype(np.uint8), audio.astype(np.float32), events
