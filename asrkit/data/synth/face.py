"""Talking faces for the synthetic corpora: espeak-ng phoneme events -> visemes -> mouth-centred frames.

Issue 19 ("Synthetic talking faces"): lip movement must carry real information about the speech, so
the mouth follows the phonemes espeak-ng reports with their times (``[[ms, phoneme], ...]`` in the
corpus metadata), and everything else about a face (shape, skin, position, scale, lighting, blinks,
head motion) is nuisance that varies by speaker or at random.

Pipeline, all numpy:

1. **Phoneme -> viseme** (:func:`viseme_of`, :data:`VISEMES`): espeak's mnemonic loses its stress and
   length marks; diphthongs become two targets (first half, second half); each viseme is a target
   mouth shape ``(open, spread, round, teeth)`` and two *dominance* weights (how strongly it imposes
   its opening, and its lip shape, on its neighbours).
2. **Coarticulation** (:func:`mouth_track`): Cohen & Massaro's (1993) dominance model: at time t each
   parameter is the dominance-weighted mean of all targets, a target's dominance decaying
   exponentially with the distance from its segment. Bilabials dominate the opening (the lips really
   close for p b m, even when short), but not the rounding (the lips round through the b of "boo");
   t, d, k, h barely dominate anything, so they take the lip shape of their vowels. Each 25 fps frame
   averages four instants of its 40 ms (a shutter), so a 30 ms closure still shows.
3. **Drawing** (:func:`render_face`): anti-aliased ellipses with a ~1 px soft edge (sub-pixel motion
   shows): background gradient, face ellipse whose chin drops with the jaw, shading and a per-speaker
   lighting gradient, eyes with blinks at random times, brows, nostrils, then the mouth: outer lips,
   the dark inner opening, upper teeth when open (and on the lower lip for f, v).

Frames are mouth-centred crops (AV-HuBERT crops 96 x 96 around the mouth, notes §2.5), default
``size = 96``: the mouth at the centre, eyes near the top edge, chin near the bottom; head motion
moves the face by a pixel or two inside the crop, as a real tracker's residual jitter does.
"""
from __future__ import annotations

import zlib
from dataclasses import asdict, dataclass

import numpy as np

FPS = 25  # LRS3 and VoxCeleb2 are 25 fps; AV-HuBERT's mouth crops too
SIZE = 96  # AV-HuBERT's 96 x 96 mouth ROI (notes §2.5); a multiple of the 16-px tubelet

# --------------------------------------------------------------------------------------
# Visemes
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Viseme:
    """A target mouth shape and how strongly it imposes itself on its neighbours."""

    open: float  # jaw and lip opening, 0 (lips together) .. 1 (wide open "a")
    spread: float  # lip corners, -1 (narrow) .. 1 (spread "ee")
    round: float  # protrusion and rounding, 0 .. 1 ("oo", "w")
    teeth: float  # how much of the upper teeth shows, 0 .. 1
    dom_open: float = 1.0  # dominance of ``open`` (Cohen & Massaro alpha)
    dom_shape: float = 1.0  # dominance of ``spread``, ``round`` and ``teeth``
    tau: float = 45.0  # ms: how fast the dominance decays outside the segment (Cohen & Massaro's 1/theta)


VISEMES: dict[str, Viseme] = {
    "rest": Viseme(0.00, 0.0, 0.0, 0.0, 1.0, 1.0, 30.0),  # silence and pauses: lips closed, relaxed
    "bilabial": Viseme(0.00, 0.0, 0.0, 0.0, 8.0, 0.2, 15.0),  # p b m (and Spanish B): a full closure
    "labiodental": Viseme(0.08, 0.1, 0.0, 1.0, 5.0, 4.0, 15.0),  # f v: lower lip under the upper teeth
    "dental": Viseme(0.25, 0.2, 0.0, 0.9, 2.0, 1.0, 20.0),  # T D: tongue between the teeth
    "sibilant": Viseme(0.12, 0.4, 0.0, 1.0, 2.0, 1.0, 20.0),  # s z: teeth nearly together
    "postalveolar": Viseme(0.18, -0.3, 0.6, 0.8, 1.5, 2.0, 20.0),  # S Z tS dZ: lips pushed forward
    "alveolar": Viseme(0.22, 0.1, 0.0, 0.6, 0.4, 0.1, 20.0),  # t d n l: shape from the vowels
    "velar": Viseme(0.30, 0.0, 0.0, 0.3, 0.3, 0.1, 20.0),  # k g N h x: shape from the vowels
    "w": Viseme(0.08, -0.6, 1.0, 0.0, 3.0, 5.0, 25.0),  # w: small rounded opening
    "r": Viseme(0.20, -0.2, 0.5, 0.3, 0.6, 1.5, 25.0),  # English r is lip-rounded
    "j": Viseme(0.15, 0.5, 0.0, 0.6, 0.5, 1.0, 25.0),
    "open": Viseme(1.00, 0.2, 0.0, 0.6),  # a A V: the jaw drops
    "open_round": Viseme(0.80, -0.2, 0.5, 0.4),  # 0 O (ɒ ɔ)
    "mid": Viseme(0.55, 0.35, 0.0, 0.6),  # E e
    "schwa": Viseme(0.35, 0.1, 0.0, 0.5, 0.8, 0.5),  # @ 3: reduced, neutral
    "close_front": Viseme(0.20, 0.8, 0.0, 0.7),  # i I: spread lips
    "mid_round": Viseme(0.45, -0.4, 0.8, 0.2, 1.0, 2.0),  # o
    "close_round": Viseme(0.18, -0.6, 1.0, 0.0, 1.0, 2.0),  # u U y: narrow and round
    "neutral": Viseme(0.20, 0.0, 0.0, 0.3, 0.05, 0.05),  # unknown marks (";", "_|"): barely any say
}

# full (normalised) mnemonics; anything else is looked up by its first character
_PHONEMES: dict[str, tuple[str, ...]] = {
    "_": ("rest",), "_!": ("rest",), "_|": ("neutral",), ";": ("neutral",),
    "p": ("bilabial",), "b": ("bilabial",), "m": ("bilabial",), "B": ("bilabial",),
    "f": ("labiodental",), "v": ("labiodental",), "T": ("dental",), "D": ("dental",),
    "s": ("sibilant",), "z": ("sibilant",), "ts": ("sibilant",), "dz": ("sibilant",),
    "S": ("postalveolar",), "Z": ("postalveolar",), "tS": ("postalveolar",), "dZ": ("postalveolar",),
    "w": ("w",), "r": ("r",), "R": ("r",), "j": ("j",),
    "a": ("open",), "aa": ("open",), "A": ("open",), "V": ("open",), "0": ("open_round",), "O": ("open_round",),
    "E": ("mid",), "e": ("mid",), "@": ("schwa",), "3": ("schwa",), "@L": ("schwa", "alveolar"),
    "i": ("close_front",), "I": ("close_front",), "o": ("mid_round",), "u": ("close_round",),
    "U": ("close_round",), "y": ("close_round",), "Y": ("mid_round",), "W": ("mid_round",),
    # diphthongs: first half, second half
    "aI": ("open", "close_front"), "aU": ("open", "close_round"), "eI": ("mid", "close_front"),
    "oU": ("mid_round", "close_round"), "OI": ("open_round", "close_front"), "e@": ("mid", "schwa"),
    "i@": ("close_front", "schwa"), "U@": ("close_round", "schwa"), "O@": ("open_round", "schwa"),
    "o@": ("mid_round", "schwa"), "A@": ("open", "schwa"), "aI@": ("open", "close_front"),
}
_FIRST_CHAR = {
    "t": "alveolar", "d": "alveolar", "n": "alveolar", "l": "alveolar", "L": "alveolar", "N": "velar",
    "k": "velar", "g": "velar", "h": "velar", "x": "velar", "c": "velar", "J": "j", "Q": "velar", "C": "velar",
}


def _normalise(phoneme: str) -> str:
    """Drop espeak's stress (' , %), length (:) and variant marks (- ~ [ # and trailing digits)."""
    p = phoneme.lstrip("'=,%")
    if p.startswith("_"):
        return p.rstrip(":") or "_"
    p = p.replace(":", "").replace("-", "").replace("~", "").replace("[", "").replace("#", "").replace("^", "")
    while len(p) > 1 and p[-1].isdigit():
        p = p[:-1]
    return p


def viseme_of(phoneme: str) -> tuple[str, ...]:
    """The viseme name(s) of an espeak-ng phoneme mnemonic (two for a diphthong)."""
    p = _normalise(phoneme)
    if p in _PHONEMES:
        return _PHONEMES[p]
    if p and p[0] in _PHONEMES and len(_PHONEMES[p[0]]) == 1:
        return _PHONEMES[p[0]]
    return (_FIRST_CHAR.get(p[:1], "neutral"),)


# --------------------------------------------------------------------------------------
# Coarticulation
# --------------------------------------------------------------------------------------
SHUTTER = (0.125, 0.375, 0.625, 0.875)  # instants within a frame that are averaged


def _segments(phonemes, duration_ms: float):
    """(start_ms, end_ms, Viseme) per viseme target; diphthongs split at their middle."""
    events = sorted((float(ms), str(p)) for ms, p in phonemes)
    segs = [(0.0, events[0][0] if events else duration_ms, VISEMES["rest"])]
    for k, (ms, p) in enumerate(events):
        end = events[k + 1][0] if k + 1 < len(events) else max(duration_ms, ms)
        names = viseme_of(p)
        step = (end - ms) / len(names)
        segs += [(ms + i * step, ms + (i + 1) * step, VISEMES[n]) for i, n in enumerate(names)]
    return [s for s in segs if s[1] > s[0]] or [(0.0, max(duration_ms, 1.0), VISEMES["rest"])]


def num_frames(duration_s: float, fps: int = FPS) -> int:
    """Frames covering ``duration_s`` (at least one)."""
    return max(1, int(np.ceil(duration_s * fps - 1e-6)))


def mouth_track(phonemes, duration_s: float, fps: int = FPS) -> np.ndarray:
    """Per-frame mouth parameters ``(T, 4)``: open, spread, round, teeth (see :class:`Viseme`)."""
    segs = _segments(phonemes, duration_s * 1000)
    start = np.array([s[0] for s in segs])
    end = np.array([s[1] for s in segs])
    target = np.array([[v.open, v.spread, v.round, v.teeth] for _, _, v in segs])  # (K, 4)
    dom = np.array([[v.dom_open, v.dom_shape, v.dom_shape, v.dom_shape] for _, _, v in segs])  # (K, 4)
    tau = np.array([v.tau for _, _, v in segs])
    t_frames = num_frames(duration_s, fps)
    times = ((np.arange(t_frames)[:, None] + np.array(SHUTTER)[None, :]) * 1000 / fps).reshape(-1)  # (T*4,)
    dist = np.maximum(0.0, np.maximum(start[None, :] - times[:, None], times[:, None] - end[None, :]))  # (T*4, K)
    w = np.exp(-dist / tau[None, :])[:, :, None] * dom[None]  # (T*4, K, 4)
    track = (w * target[None]).sum(1) / np.maximum(w.sum(1), 1e-12)
    return track.reshape(t_frames, len(SHUTTER), 4).mean(1)


# --------------------------------------------------------------------------------------
# Appearance and drawing
# --------------------------------------------------------------------------------------
_SKIN = np.array([[241, 206, 184], [224, 172, 138], [198, 140, 100], [160, 105, 70], [110, 72, 48], [80, 52, 38]],
                 dtype=np.float32)


@dataclass(frozen=True)
class Appearance:
    """One speaker's face (drawn once per speaker from a seeded RNG by :func:`make_appearance`)."""

    skin: tuple[float, float, float]  # RGB 0-255
    lips: tuple[float, float, float]
    background: tuple[float, float, float]
    iris: tuple[float, float, float]
    face_width: float  # face half-width, fraction of the crop size
    face_aspect: float  # half-height / half-width
    mouth_width: float  # lip half-width, fraction of the face half-width
    lip_thickness: float  # px at size 96
    jaw: float  # how far the mouth opens at open = 1, px at size 96
    offset: tuple[float, float]  # mouth position relative to the crop centre, fraction of the crop
    scale: float  # overall scale (distance to the camera)
    light_angle: float  # direction of the lighting gradient (radians)
    light_strength: float  # 0 = flat lighting
    eye_spacing: float  # half the distance between the eyes, fraction of the face half-width

    def to_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}


def make_appearance(seed: int | str) -> Appearance:
    """A speaker's appearance, drawn from an RNG seeded by ``seed`` (a speaker id or number)."""
    if isinstance(seed, str):
        seed = zlib.crc32(seed.encode())
    rng = np.random.default_rng([0xFACE, int(seed)])
    tone = rng.uniform(0, len(_SKIN) - 1)
    lo = int(tone)
    skin = _SKIN[lo] + (tone - lo) * (_SKIN[min(lo + 1, len(_SKIN) - 1)] - _SKIN[lo])
    lips = skin * np.array([0.78, 0.55, 0.58]) + rng.uniform(-10, 10, 3)
    background = rng.uniform(30, 220, 3)
    iris = rng.choice(np.array([[60, 40, 25], [90, 60, 30], [50, 90, 130], [70, 110, 70], [35, 30, 30]]), axis=0)
    r = lambda a, b: float(rng.uniform(a, b))  # noqa: E731
    return Appearance(
        skin=tuple(float(c) for c in skin), lips=tuple(float(np.clip(c, 0, 255)) for c in lips),
        background=tuple(float(c) for c in background), iris=tuple(float(c) for c in iris),
        face_width=r(0.42, 0.54), face_aspect=r(1.15, 1.45), mouth_width=r(0.33, 0.45),
        lip_thickness=r(2.5, 4.5), jaw=r(11.0, 17.0), offset=(r(-0.06, 0.06), r(-0.05, 0.05)),
        scale=r(0.88, 1.12), light_angle=r(0, 2 * np.pi), light_strength=r(0.05, 0.35), eye_spacing=r(0.34, 0.44),
    )


def _ellipse(x, y, cx, cy, a, b):
    """Anti-aliased coverage (0..1) of the ellipse centred (cx, cy) with half-axes (a, b); any of the
    arguments broadcast (per-frame parameters as (T, 1, 1))."""
    a = np.maximum(a, 1e-3)
    b = np.maximum(b, 1e-3)
    u, v = (x - cx) / a, (y - cy) / b
    r = np.sqrt(u * u + v * v)
    grad = np.sqrt((u / a) ** 2 + (v / b) ** 2) / np.maximum(r, 1e-6)  # |d r / d(x, y)|
    cover = np.clip(0.5 - (r - 1.0) / np.maximum(grad, 1e-6), 0.0, 1.0)  # signed distance in px: 1 px soft edge
    # the first-order distance fails far along a sliver, and a sliver thinner than a pixel covers less of it
    box = np.clip(a + 0.5 - np.abs(x - cx), 0.0, 1.0) * np.clip(b + 0.5 - np.abs(y - cy), 0.0, 1.0)
    return cover * box * np.clip(2 * np.minimum(a, b), 0.0, 1.0)


def _paint(img, alpha, color):
    """Alpha-blend ``color`` (3,) into ``img`` (T, H, W, 3) with coverage ``alpha`` (T, H, W)."""
    alpha = alpha[..., None]
    img *= 1 - alpha
    img += alpha * np.asarray(color, dtype=np.float32)


def blinks(num: int, rng: np.random.Generator, fps: int = FPS) -> np.ndarray:
    """Per-frame eyelid closure (T,) in [0, 1]: blinks as a Poisson process (about one per 3.5 s), each
    closing and reopening over 4-6 frames."""
    closure = np.zeros(num)
    t = rng.exponential(3.5 * fps)
    while t < num:
        length = int(rng.integers(4, 7))
        shape = 1 - np.abs(np.linspace(-1, 1, length))
        i = int(t)
        closure[i:i + length] = np.maximum(closure[i:i + length], shape[:max(0, min(length, num - i))])
        t += length + rng.exponential(3.5 * fps)
    return closure


def head_motion(num: int, rng: np.random.Generator, fps: int = FPS, amplitude: float = 1.5) -> np.ndarray:
    """Per-frame (dx, dy) in px (T, 2): a sum of slow sinusoids (0.1-0.8 Hz) with random phases."""
    t = np.arange(num)[:, None] / fps
    out = np.zeros((num, 2))
    for _ in range(3):
        f = rng.uniform(0.1, 0.8, 2)
        out += np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi, 2)) * rng.uniform(0.2, 1.0, 2)
    return amplitude * out / 2.0


def render_face(track: np.ndarray, appearance: Appearance, seed: int = 0, size: int = SIZE,
                fps: int = FPS) -> np.ndarray:
    """Frames uint8 ``(T, size, size, 3)`` of ``appearance``'s face saying ``track`` (:func:`mouth_track`);
    ``seed`` draws the blinks and head motion."""
    app = appearance
    rng = np.random.default_rng([0xB11, int(seed) & 0xFFFFFFFF])
    t = len(track)
    u = size / 96 * app.scale  # px per unit at size 96
    motion = (head_motion(t, rng, fps) * size / 96).astype(np.float32)
    closure = blinks(t, rng, fps).astype(np.float32)
    col = lambda v: v[:, None, None]  # noqa: E731  (T,) -> (T, 1, 1)
    openness, spread, rnd, teeth = (col(track[:, i].astype(np.float32)) for i in range(4))
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    x, y = x[None], y[None]

    mx = size / 2 + app.offset[0] * size + col(motion[:, 0])  # mouth centre
    my = size / 2 + app.offset[1] * size + col(motion[:, 1])
    fa = app.face_width * size * app.scale  # face half-width
    fb = fa * app.face_aspect
    fcx, fcy = mx, my - 0.45 * fb  # face centre: the mouth sits low in the face
    jaw_drop = openness * app.jaw * u

    img = np.empty((t, size, size, 3), np.float32)
    bg = np.asarray(app.background, np.float32)
    img[:] = bg * (0.8 + 0.4 * (y[..., None] / size))[0]
    # face: the lower half stretches with the jaw
    lower = fb + 0.6 * jaw_drop
    face = _ellipse(x, y, fcx, fcy, fa, np.where(y > fcy, lower, fb))
    rr = np.clip(((x - fcx) / fa) ** 2 + ((y - fcy) / fb) ** 2, 0, 1)
    shade = (1.0 - 0.22 * rr)[..., None]
    _paint(img, face, np.asarray(app.skin, np.float32))
    img = np.where(face[..., None] > 0, img * (1 - face[..., None] + face[..., None] * shade), img)
    # eyes, irises, eyelids (blinks), brows
    ey = fcy - 0.1 * fb
    for side in (-1, 1):
        ex = fcx + side * app.eye_spacing * fa
        ea, eb = 0.16 * fa, 0.08 * fa
        _paint(img, _ellipse(x, y, ex, ey, ea, eb), (235, 235, 230))
        _paint(img, _ellipse(x, y, ex, ey, 0.55 * eb + 0.4, 0.55 * eb + 0.4) * _ellipse(x, y, ex, ey, ea, eb),
               app.iris)
        lid = _ellipse(x, y, ex, ey - eb * (1 - col(closure)) * 2, ea * 1.05, eb * 1.1) * (y < ey + eb * 0.9)
        _paint(img, lid * (col(closure) > 0.05), np.asarray(app.skin, np.float32) * 0.9)
        _paint(img, _ellipse(x, y, ex, ey - 2.2 * eb, ea * 1.1, 0.25 * eb + 0.6), np.asarray(app.skin) * 0.35)
    # nostrils
    ny = my - 0.32 * fb
    for side in (-1, 1):
        _paint(img, _ellipse(x, y, mx + side * 0.11 * fa, ny, 0.05 * fa, 0.03 * fa), np.asarray(app.skin) * 0.45)
    # mouth: the corners follow spread and round; the opening follows open (jaw) and round
    half_w = app.mouth_width * fa * (1 + 0.22 * spread - 0.30 * rnd)
    gap = jaw_drop * (1 - 0.25 * rnd)
    lip = app.lip_thickness * u * (1 + 0.35 * rnd)
    cy = my + 0.5 * gap
    outer = _ellipse(x, y, mx, cy, half_w + 0.5 * u, 0.5 * gap + lip)
    _paint(img, outer, app.lips)
    inner_w = half_w * (0.82 - 0.25 * rnd)
    inner = _ellipse(x, y, mx, cy, inner_w, 0.5 * gap)
    _paint(img, inner, (45, 12, 18))
    # upper teeth: a band under the upper lip, deeper when more is shown
    teeth_h = np.minimum(gap, 1.0 + teeth * 0.35 * app.jaw * u) * (teeth > 0.05)
    band = inner * (y < cy - 0.5 * gap + teeth_h)
    _paint(img, band, (238, 236, 226))
    # closed lips: the line between them
    line = _ellipse(x, y, mx, cy, half_w * 0.9, 0.45) * np.clip(1.0 - gap, 0, 1)
    _paint(img, line, np.asarray(app.lips) * 0.45)
    # lighting gradient across the whole frame
    light = 1 + app.light_strength * ((x - size / 2) * np.cos(app.light_angle)
                                      + (y - size / 2) * np.sin(app.light_angle)) / size
    img *= light[..., None]
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def talking_face(phonemes, duration_s: float, appearance: Appearance, seed: int = 0, size: int = SIZE,
                 fps: int = FPS) -> np.ndarray:
    """Frames ``(T, size, size, 3)`` uint8 for an utterance's phoneme events ``[[ms, phoneme], ...]``."""
    return render_face(mouth_track(phonemes, duration_s, fps), appearance, seed, size, fps)
