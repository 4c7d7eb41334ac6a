"""Recording-condition augmentation: rooms, noise, microphone EQ, level and the telephone channel.

Used by the corpus generator (its worker processes import this module, so it is numpy only: no torch)
and, through :class:`AugmentConfig` (config key ``data.augment``), by :class:`asrkit.data.datasets.AudioDataset`
at training time. Every random choice comes from a ``numpy.random.Generator`` passed in, and each step
says what it did as a small JSON-able dict, which the corpus keeps in its metadata.

- Rooms: impulse responses of a shoebox room by the image method (Allen & Berkley 1979, "Image method for
  efficiently simulating small-room acoustics", JASA 65(4)). All six walls share one reflection coefficient
  ``beta = sqrt(1 - alpha)``, ``alpha`` from Sabine's formula ``RT60 = 0.161 V / (S alpha)``. Images are
  kept up to the distance the RIR's length reaches, at most ``MAX_IMAGES`` of them; past the last complete
  shell of images the response continues as exponentially decaying noise at the requested RT60, its level
  matched to the images' last 20 ms (a hybrid: the image method's late part is diffuse, so noise stands in
  for the millions of images a long RIR in a small room would need).
- Noise: white, pink and brown (``1/f^alpha`` by FFT shaping), non-stationary (coloured noise under a slow
  random envelope plus short decaying bursts, clatter or a door), and babble (3-6 other talkers), mixed at an
  SNR over the whole signal (:func:`add_noise`).
- Telephone: G.711-style narrowband channel: 8 kHz, 300-3400 Hz band-pass, 8-bit mu-law (mu = 255).
- Microphone EQ: RBJ cookbook biquads (peaking, low/high shelf, +-6 dB), filtered by :func:`iir_filter`,
  an exact-to-1e-8 FFT substitute for ``scipy.signal.lfilter`` (scipy is not a dependency).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from asrkit.config import check_ranges, field_error
from asrkit.data.synth.resample import resample

SPEED_OF_SOUND = 343.0  # m/s
MAX_IMAGES = 40_000  # images per RIR: ~10-25 ms each on one core; beyond them, the noise tail
NOISE_TYPES = ("babble", "stationary", "nonstationary")
STATIONARY_KINDS = {"white": 0.0, "pink": 1.0, "brown": 2.0}  # alpha of 1/f^alpha
LIMIT = 0.99  # apply_augment scales a signal whose peak exceeds this down to it (no clipping)
TELEPHONE_RATE = 8000
TELEPHONE_BAND = (300.0, 3400.0)
MU = 255


# ---------------------------------------------------------------------------------------------------- filters


def biquad(kind: str, f0: float, sample_rate: int, gain_db: float = 0.0,
           q: float = 0.7071) -> tuple[np.ndarray, np.ndarray]:
    """``(b, a)`` of an RBJ Audio-EQ-Cookbook biquad (``a[0] = 1``): ``kind`` is peaking, lowshelf,
    highshelf, lowpass or highpass; ``gain_db`` is used by the first three."""
    amp = 10.0 ** (gain_db / 40.0)
    w0 = 2.0 * math.pi * f0 / sample_rate
    cw, alpha = math.cos(w0), math.sin(w0) / (2.0 * q)
    sa = 2.0 * math.sqrt(amp) * alpha
    if kind == "peaking":
        b = [1 + alpha * amp, -2 * cw, 1 - alpha * amp]
        a = [1 + alpha / amp, -2 * cw, 1 - alpha / amp]
    elif kind == "lowshelf":
        b = [amp * ((amp + 1) - (amp - 1) * cw + sa), 2 * amp * ((amp - 1) - (amp + 1) * cw),
             amp * ((amp + 1) - (amp - 1) * cw - sa)]
        a = [(amp + 1) + (amp - 1) * cw + sa, -2 * ((amp - 1) + (amp + 1) * cw), (amp + 1) + (amp - 1) * cw - sa]
    elif kind == "highshelf":
        b = [amp * ((amp + 1) + (amp - 1) * cw + sa), -2 * amp * ((amp - 1) + (amp + 1) * cw),
             amp * ((amp + 1) + (amp - 1) * cw - sa)]
        a = [(amp + 1) - (amp - 1) * cw + sa, 2 * ((amp - 1) - (amp + 1) * cw), (amp + 1) - (amp - 1) * cw - sa]
    elif kind == "lowpass":
        b = [(1 - cw) / 2, 1 - cw, (1 - cw) / 2]
        a = [1 + alpha, -2 * cw, 1 - alpha]
    elif kind == "highpass":
        b = [(1 + cw) / 2, -(1 + cw), (1 + cw) / 2]
        a = [1 + alpha, -2 * cw, 1 - alpha]
    else:
        raise ValueError(f"unknown biquad kind {kind!r}")
    b, a = np.asarray(b, np.float64), np.asarray(a, np.float64)
    return b / a[0], a / a[0]


def _response(sections: Sequence[tuple[np.ndarray, np.ndarray]], w: np.ndarray) -> np.ndarray:
    """Complex response of cascaded ``(b, a)`` sections at angular frequencies ``w`` (rad/sample)."""
    z = np.exp(-1j * w)
    h = np.ones_like(z)
    for b, a in sections:
        h *= np.polyval(b[::-1], z) / np.polyval(a[::-1], z)
    return h


def _fast_size(n: int) -> int:
    """The smallest 2^i 3^j 5^k >= n (sizes pocketfft does fastest)."""
    best = 1 << max(0, (n - 1).bit_length())
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            p = p35
            while p < n:
                p *= 2
            best = min(best, p)
            p35 *= 3
        p5 *= 5
    return best


def iir_filter(x: np.ndarray, sections: Sequence[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Cascaded biquads ``(b, a)`` applied causally from rest, as ``lfilter`` would, by one FFT.

    The signal is zero-padded by the length over which the slowest pole decays by 1e-8 and multiplied by
    the filters' exact frequency response at the FFT bins: the circular convolution with the (time-aliased)
    impulse response then differs from the direct-form IIR output by less than 1e-8 of the signal.
    """
    x = np.asarray(x, np.float64)
    radius = max((float(np.abs(np.roots(a)).max()) for _, a in sections), default=0.0)
    if radius >= 1.0:
        raise ValueError("unstable filter: a pole on or outside the unit circle")
    pad = 16 if radius < 1e-3 else int(math.ceil(math.log(1e-8) / math.log(radius))) + 16
    nfft = _fast_size(len(x) + pad)
    h = _response(sections, 2.0 * math.pi * np.arange(nfft // 2 + 1) / nfft)
    return np.fft.irfft(np.fft.rfft(x, nfft) * h, nfft)[: len(x)]


def eq_response_db(bands: Sequence[dict], freqs: np.ndarray, sample_rate: int) -> np.ndarray:
    """Gain in dB at ``freqs`` (Hz) of the EQ :func:`mic_eq` recorded (its list of bands)."""
    sections = [biquad(b["type"], b["f0_hz"], sample_rate, b["gain_db"], b["q"]) for b in bands]
    return 20.0 * np.log10(np.abs(_response(sections, 2.0 * np.pi * np.asarray(freqs) / sample_rate)))


# ---------------------------------------------------------------------------------------------------- rooms


def _sabine_beta(room: np.ndarray, rt60: float) -> float:
    volume = float(np.prod(room))
    surface = 2.0 * float(room[0] * room[1] + room[0] * room[2] + room[1] * room[2])
    alpha = min(0.161 * volume / (surface * rt60), 0.99)
    return math.sqrt(1.0 - alpha)


def image_method_rir(room: Sequence[float], source: Sequence[float], mic: Sequence[float], rt60: float,
                     sample_rate: int, max_seconds: float | None = None, *, max_images: int = MAX_IMAGES,
                     highpass: bool = True, rng: np.random.Generator | None = None) -> np.ndarray:
    """Impulse response ``(T,)`` from ``source`` to ``mic`` (metres, inside the shoebox ``room`` = (Lx, Ly, Lz)).

    Length ``direct delay + rt60`` (60 dB of decay), or ``max_seconds``. Each image contributes
    ``beta^reflections / (4 pi r)`` at delay ``r / c``, placed by an 8-tap Hann-windowed sinc (fractional delay).
    Images are those within ``c T``, at most ``max_images`` (the nearest complete shell); past that shell the
    tail is Gaussian noise decaying at ``rt60``, drawn from ``rng`` (a fixed stream when None, so the RIR is
    then a function of its arguments). ``highpass``: Allen & Berkley's DC removal, a 20 Hz high-pass.
    """
    room_, src, mic_ = (np.asarray(v, np.float64) for v in (room, source, mic))
    if not (np.all(src > 0) and np.all(src < room_) and np.all(mic_ > 0) and np.all(mic_ < room_)):
        raise ValueError(f"source {src.tolist()} and mic {mic_.tolist()} must lie inside the room {room_.tolist()}")
    if rt60 <= 0:
        raise ValueError(f"rt60 must be positive, got {rt60}")
    beta = _sabine_beta(room_, rt60)
    direct = float(np.linalg.norm(src - mic_))
    seconds = direct / SPEED_OF_SOUND + rt60 if max_seconds is None else max_seconds
    n = max(int(math.ceil(seconds * sample_rate)), 16)
    reach = SPEED_OF_SOUND * n / sample_rate
    shell = (3.0 * max_images * float(np.prod(room_)) / (4.0 * math.pi)) ** (1.0 / 3.0)
    radius = min(reach, max(shell, direct))

    # per axis: image coordinate (1 - 2q) s + 2 m L relative to the mic; reflections |m - q| + |m|
    coords, refls = [], []
    for s, r, length in zip(src, mic_, room_):
        m = np.arange(-int(radius // (2 * length)) - 1, int(radius // (2 * length)) + 2)
        c = np.concatenate([s + 2 * m * length - r, -s + 2 * m * length - r])
        k = np.concatenate([2 * np.abs(m), np.abs(m - 1) + np.abs(m)])
        near = np.abs(c) <= radius
        coords.append(c[near])
        refls.append(k[near])
    dist = np.sqrt(coords[0][:, None, None] ** 2 + coords[1][None, :, None] ** 2 + coords[2][None, None, :] ** 2)
    refl = refls[0][:, None, None] + refls[1][None, :, None] + refls[2][None, None, :]
    keep = dist <= radius
    dist, refl = dist[keep], refl[keep]
    amp = beta ** refl / (4.0 * math.pi * dist)
    delay = dist * (sample_rate / SPEED_OF_SOUND)

    half = 4  # taps each side of the fractional delay
    base = np.floor(delay).astype(np.int64)
    taps = base[:, None] + np.arange(-half + 1, half + 1)[None, :]
    t = taps - delay[:, None]
    weights = amp[:, None] * np.sinc(t) * (0.5 + 0.5 * np.cos(np.pi * t / half))
    ok = (taps >= 0) & (taps < n)
    h = np.bincount(taps[ok], weights=weights[ok], minlength=n)[:n]
    if highpass:  # before the tail's level is measured: the images' sum of positive pulses is rich in DC
        h = iir_filter(h, [biquad("highpass", 20.0, sample_rate)])

    if radius < reach:  # the images stop at the shell: the diffuse tail goes on as decaying noise
        rng = rng if rng is not None else np.random.default_rng(0x5EED)
        end = int(radius / SPEED_OF_SOUND * sample_rate) - half
        win = max(int(0.02 * sample_rate), 8)
        level = math.sqrt(float(np.mean(h[max(end - win, 0):end] ** 2)))
        i = np.arange(end, n)
        decay = 10.0 ** (-3.0 * (i - (end - win / 2)) / (rt60 * sample_rate))  # amplitude: -60 dB per rt60
        h[end:] += level * decay * rng.standard_normal(len(i))
    return h


def random_room(rng: np.random.Generator) -> dict:
    """A shoebox room of 3-10 x 3-8 x 2.5-4 m, RT60 0.15-0.8 s, source and mic at least 0.5 m from the walls
    and 0.5 m from each other: the keyword arguments of :func:`image_method_rir` (less the rate)."""
    room = np.array([rng.uniform(3, 10), rng.uniform(3, 8), rng.uniform(2.5, 4)])
    source = rng.uniform(0.5, room - 0.5)
    for _ in range(100):
        mic = rng.uniform(0.5, room - 0.5)
        if np.linalg.norm(mic - source) >= 0.5:
            break
    r = lambda v: [round(float(x), 3) for x in v]  # noqa: E731
    return {"room": r(room), "source": r(source), "mic": r(mic), "rt60": round(float(rng.uniform(0.15, 0.8)), 3)}


def reverberate(x: np.ndarray, rir: np.ndarray) -> np.ndarray:
    """``x`` convolved with ``rir`` (by FFT), the same length as ``x``: shifted back by the direct path's delay
    (the RIR's largest sample) so the talker is not delayed, and scaled to ``x``'s RMS."""
    x = np.asarray(x, np.float64)
    if len(x) == 0:
        return x.copy()
    lag = int(np.argmax(np.abs(rir)))
    tail = np.asarray(rir, np.float64)[lag:]
    nfft = _fast_size(len(x) + len(tail) - 1)
    y = np.fft.irfft(np.fft.rfft(x, nfft) * np.fft.rfft(tail, nfft), nfft)[: len(x)]
    return y * _rms_ratio(x, y)


def measure_rt60(rir: np.ndarray, sample_rate: int) -> float:
    """RT60 of an impulse response from its Schroeder energy decay curve: T20 (the -5 to -25 dB fit) x 3."""
    e = np.asarray(rir, np.float64)[int(np.argmax(np.abs(rir))):] ** 2
    edc = 10.0 * np.log10(np.maximum(np.cumsum(e[::-1])[::-1] / e.sum(), 1e-30))
    span = (edc <= -5.0) & (edc >= -25.0)
    t = np.flatnonzero(span) / sample_rate
    slope = np.polyfit(t, edc[span], 1)[0]  # dB per second
    return -60.0 / slope


# ---------------------------------------------------------------------------------------------------- noise


def _rms(x: np.ndarray) -> float:
    return math.sqrt(float(np.mean(np.square(x)))) if len(x) else 0.0


def _rms_ratio(target: np.ndarray, y: np.ndarray) -> float:
    r = _rms(y)
    return _rms(target) / r if r > 0 else 1.0


def _unit_rms(x: np.ndarray) -> np.ndarray:
    r = _rms(x)
    return x / r if r > 0 else x


def _coloured(rng: np.random.Generator, n: int, alpha: float) -> np.ndarray:
    """Gaussian noise with power spectrum ``1/f^alpha`` (by shaping white noise's FFT), unit RMS."""
    white = rng.standard_normal(n)
    if alpha == 0.0 or n < 4:
        return _unit_rms(white)
    spec = np.fft.rfft(white)
    f = np.arange(len(spec), dtype=np.float64)
    f[0] = 1.0
    spec *= f ** (-alpha / 2.0)
    spec[0] = 0.0
    return _unit_rms(np.fft.irfft(spec, n))


def stationary_noise(rng: np.random.Generator, n: int, kind: str = "white") -> np.ndarray:
    """``n`` samples of white, pink (1/f) or brown (1/f^2) Gaussian noise, unit RMS."""
    if kind not in STATIONARY_KINDS:
        raise ValueError(f"noise kind must be one of {', '.join(STATIONARY_KINDS)}, got {kind!r}")
    return _coloured(rng, n, STATIONARY_KINDS[kind])


def nonstationary_noise(rng: np.random.Generator, n: int, sample_rate: int) -> tuple[np.ndarray, dict]:
    """``n`` samples of unit-RMS noise that changes: coloured noise (``1/f^alpha``, alpha 0-2) under a slow
    envelope (three sinusoids in dB, 0.1-1 Hz, up to ~+-10 dB) plus short bursts (clatter, a door: 5-80 ms
    of exponentially decaying noise, 0.3-2 a second, 2-8 x the background). Returns the noise and a record."""
    alpha = float(rng.uniform(0.0, 2.0))
    t = np.arange(n) / sample_rate
    env_db = sum(rng.uniform(1.0, 3.5) * np.sin(2 * np.pi * rng.uniform(0.1, 1.0) * t + rng.uniform(0, 2 * np.pi))
                 for _ in range(3))
    y = _coloured(rng, n, alpha) * 10.0 ** (env_db / 20.0)
    rate = float(rng.uniform(0.3, 2.0))
    bursts = int(rng.poisson(rate * n / sample_rate))
    for _ in range(bursts):
        length = max(int(rng.uniform(0.005, 0.08) * sample_rate), 2)
        start = int(rng.integers(0, max(n - 1, 1)))
        burst = rng.standard_normal(length) * np.exp(-np.arange(length) / (length / 4.0)) * rng.uniform(2.0, 8.0)
        seg = slice(start, min(start + length, n))
        y[seg] += burst[: seg.stop - seg.start]
    return _unit_rms(y), {"alpha": round(alpha, 3), "bursts": bursts}


def _fit(x: np.ndarray, n: int, offset: int) -> np.ndarray:
    """``x`` looped (or cropped) to ``n`` samples, starting ``offset`` samples into it."""
    reps = -(-(n + offset) // len(x))
    return np.tile(x, reps)[offset : offset + n]


def babble(rng: np.random.Generator, speech_list: Sequence[np.ndarray], n: int) -> np.ndarray:
    """The sum of the talkers of ``speech_list`` (3-6 other utterances), each looped or cropped to ``n`` samples
    from a random offset and scaled to the same RMS; unit RMS."""
    out = np.zeros(n)
    for s in speech_list:
        s = np.asarray(s, np.float64)
        if len(s) == 0 or _rms(s) == 0:
            continue
        out += _unit_rms(_fit(s, n, int(rng.integers(0, len(s)))))
    return _unit_rms(out)


def add_noise(x: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """``x`` plus ``noise`` (looped or cropped to ``len(x)``) scaled so that ``10 log10(P_x / P_noise) == snr_db``,
    each power the mean square over the whole signal (pauses included: an utterance with long pauses has its
    speech a little above ``snr_db``). A silent ``x`` or ``noise`` comes back unchanged."""
    x = np.asarray(x, np.float64)
    noise = _fit(np.asarray(noise, np.float64), len(x), 0) if len(noise) else np.zeros(len(x))
    px, pn = float(np.mean(x ** 2)) if len(x) else 0.0, float(np.mean(noise ** 2)) if len(x) else 0.0
    if px == 0 or pn == 0:
        return x.copy()
    return x + noise * math.sqrt(px / (pn * 10.0 ** (snr_db / 10.0)))


# ---------------------------------------------------------------------------------------------------- channel


def mulaw_encode(x: np.ndarray, mu: int = MU) -> np.ndarray:
    """G.711 mu-law (continuous companding law) to 8-bit codes 0-255; ``x`` in [-1, 1]."""
    y = np.sign(x) * np.log1p(mu * np.abs(np.clip(x, -1.0, 1.0))) / math.log1p(mu)
    return np.rint((y + 1.0) / 2.0 * mu).astype(np.uint8)


def mulaw_decode(code: np.ndarray, mu: int = MU) -> np.ndarray:
    y = code.astype(np.float64) / mu * 2.0 - 1.0
    return np.sign(y) * np.expm1(np.abs(y) * math.log1p(mu)) / mu


def _lowpass(x: np.ndarray, start: float, stop: float, sample_rate: int) -> np.ndarray:
    """Zero-phase FFT low-pass: flat to ``start`` Hz, a raised-cosine roll-off to zero at ``stop`` Hz (its
    impulse response is a few ms long: 1024 samples of padding keep the circular wrap out)."""
    x = np.asarray(x, np.float64)
    nfft = _fast_size(len(x) + 1024)
    f = np.fft.rfftfreq(nfft, 1.0 / sample_rate)
    mask = 0.5 + 0.5 * np.cos(np.pi * np.clip((f - start) / (stop - start), 0.0, 1.0))
    return np.fft.irfft(np.fft.rfft(x, nfft) * mask, nfft)[: len(x)]


def telephone(x: np.ndarray, sample_rate: int, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """``x`` through a narrowband telephone channel, at ``sample_rate`` and of the same length: resampled to
    8 kHz, band-passed to 300-3400 Hz (4th-order Butterworth each side), a light random gain (-6 to 0 dB)
    into the codec, 8-bit mu-law encoded and decoded, resampled back and low-passed at 3.6-3.9 kHz (the
    resampler's transition band would let the codec's images near 4 kHz through). Returns the signal and a record."""
    x = np.asarray(x, np.float64)
    narrow = resample(x, sample_rate, TELEPHONE_RATE).astype(np.float64) if sample_rate > TELEPHONE_RATE else x
    rate = min(sample_rate, TELEPHONE_RATE)
    lo, hi = TELEPHONE_BAND
    butter4 = (0.5412, 1.3066)  # the Q of the two biquads of a 4th-order Butterworth
    sections = [biquad("highpass", lo, rate, q=q) for q in butter4]
    if hi < rate / 2:
        sections += [biquad("lowpass", hi, rate, q=q) for q in butter4]
    gain_db = float(rng.uniform(-6.0, 0.0))
    narrow = iir_filter(narrow, sections) * 10.0 ** (gain_db / 20.0)
    narrow = mulaw_decode(mulaw_encode(narrow))
    y = narrow
    if sample_rate > TELEPHONE_RATE:  # back up, and the D/A's reconstruction low-pass to remove the images
        y = _lowpass(resample(narrow.astype(np.float32), TELEPHONE_RATE, sample_rate), 3600.0, 3900.0, sample_rate)
    y = np.pad(y[: len(x)], (0, max(0, len(x) - len(y))))
    return y, {"codec": "mulaw", "rate": rate, "band_hz": [lo, hi], "gain_db": round(gain_db, 2)}


# ---------------------------------------------------------------------------------------------------- mic EQ, level


def mic_eq(x: np.ndarray, sample_rate: int, rng: np.random.Generator) -> tuple[np.ndarray, list[dict]]:
    """One or two random RBJ biquads, a microphone's colouring: peaking (200-5000 Hz, Q 0.5-2), low shelf
    (80-400 Hz) or high shelf (2-6 kHz), each +-6 dB. Returns the signal and its bands (:func:`eq_response_db`)."""
    nyq = 0.45 * sample_rate
    bands = []
    for _ in range(int(rng.integers(1, 3))):
        kind = ("peaking", "lowshelf", "highshelf")[int(rng.integers(0, 3))]
        if kind == "peaking":
            f0, q = math.exp(rng.uniform(math.log(200), math.log(5000))), float(rng.uniform(0.5, 2.0))
        elif kind == "lowshelf":
            f0, q = float(rng.uniform(80, 400)), 0.7071
        else:
            f0, q = float(rng.uniform(2000, 6000)), 0.7071
        bands.append({"type": kind, "f0_hz": round(min(f0, nyq), 1), "gain_db": round(float(rng.uniform(-6, 6)), 2),
                      "q": round(q, 3)})
    sections = [biquad(b["type"], b["f0_hz"], sample_rate, b["gain_db"], b["q"]) for b in bands]
    return iir_filter(x, sections), bands


def gain_db(x: np.ndarray, db: float) -> np.ndarray:
    """``x`` louder by ``db`` decibels."""
    return np.asarray(x, np.float64) * 10.0 ** (db / 20.0)


# ---------------------------------------------------------------------------------------------------- entry point


@dataclass(frozen=True)
class AugmentConfig:
    """Which recording conditions :func:`apply_augment` simulates, and how often (config key ``data.augment``;
    the training set only). All off by default."""

    rir: float = 0.0  # probability of a random room (image method)
    noise: float = 0.0  # probability of added noise
    snr_db: tuple[float, float] = (5.0, 20.0)  # uniform SNR range of the noise, whole-signal powers
    telephone: float = 0.0  # probability of the 8 kHz mu-law telephone channel
    eq: float = 0.0  # probability of a random microphone EQ (1-2 biquads, +-6 dB)
    gain_db: tuple[float, float] = (0.0, 0.0)  # uniform level change range, every utterance; (0, 0) = off
    noise_types: tuple[str, ...] = NOISE_TYPES  # drawn uniformly; babble needs other utterances

    def __post_init__(self) -> None:
        check_ranges(self, rir="[0, 1]", noise="[0, 1]", snr_db="any", telephone="[0, 1]", eq="[0, 1]",
                     gain_db="any")
        for key in ("snr_db", "gain_db"):
            lo, hi = getattr(self, key)
            if lo > hi:
                raise field_error(self, key, f"[{lo:g}, {hi:g}]: the low end is above the high end")
        bad = [t for t in self.noise_types if t not in NOISE_TYPES]
        if bad or (self.noise > 0 and not self.noise_types):
            raise field_error(self, "noise_types", f"{list(self.noise_types)}: choose from {', '.join(NOISE_TYPES)}")

    @property
    def enabled(self) -> bool:
        return max(self.rir, self.noise, self.telephone, self.eq) > 0 or self.gain_db != (0.0, 0.0)


BabbleSource = Callable[[np.random.Generator, int], list]


def apply_augment(x: np.ndarray, sample_rate: int, cfg: AugmentConfig, rng: np.random.Generator,
                  babble_source: BabbleSource | None = None,
                  rirs: Sequence[tuple[np.ndarray, dict]] | None = None) -> tuple[np.ndarray, dict]:
    """``x`` ``(T,)`` as if recorded under random conditions: ``(float32 signal of the same length, record)``.

    The order follows the signal's path: the room reverberates the talker, noise arrives at the microphone
    (dry: it is mixed at ``cfg.snr_db`` against the reverberant speech), the microphone's EQ colours both, the
    level changes, and the telephone channel comes last. Each step happens with its probability; the record
    holds only those that did (``{"rir": {...}, "noise": {"type", "snr_db", ...}, "eq": [...], "gain_db": g,
    "telephone": {...}}``, plus ``"limit_db"`` when the result's peak was above 0.99 and the whole signal was
    scaled down to it: no sample is clipped). ``babble_source(rng, k)`` gives ``k`` other utterances; without
    it (or when it gives none) babble is replaced by another noise type. ``rirs``: ``(rir, room)`` pairs made
    once (the corpus generator's rooms); a reverberated utterance takes one of them (``"room"``: its index in the
    record) instead of simulating a room of its own.
    """
    y = np.asarray(x, np.float64)
    n = len(y)
    record: dict = {}
    if rng.random() < cfg.rir:
        if rirs:
            k = int(rng.integers(0, len(rirs)))
            rir, room = rirs[k]
            room = {"room_index": k, **room}
        else:
            room = random_room(rng)
            rir = image_method_rir(sample_rate=sample_rate, rng=rng, **room)
        y = reverberate(y, rir)
        record["rir"] = room
    if rng.random() < cfg.noise:
        kind = cfg.noise_types[int(rng.integers(0, len(cfg.noise_types)))]
        snr = float(rng.uniform(*cfg.snr_db))
        info: dict = {}
        talkers = babble_source(rng, int(rng.integers(3, 7))) if kind == "babble" and babble_source else []
        if kind == "babble" and talkers:
            noise = babble(rng, talkers, n)
            info = {"talkers": len(talkers)}
        else:
            if kind == "babble":
                others = [t for t in cfg.noise_types if t != "babble"] or ["stationary"]
                kind = others[int(rng.integers(0, len(others)))]
            if kind == "stationary":
                colour = ("white", "pink", "brown")[int(rng.integers(0, 3))]
                noise, info = stationary_noise(rng, n, colour), {"colour": colour}
            else:
                noise, info = nonstationary_noise(rng, n, sample_rate)
        y = add_noise(y, noise, snr)
        record["noise"] = {"type": kind, "snr_db": round(snr, 2), **info}
    if rng.random() < cfg.eq:
        y, record["eq"] = mic_eq(y, sample_rate, rng)
    if cfg.gain_db != (0.0, 0.0):
        g = float(rng.uniform(*cfg.gain_db))
        y = gain_db(y, g)
        record["gain_db"] = round(g, 2)
    if rng.random() < cfg.telephone:
        y, record["telephone"] = telephone(y, sample_rate, rng)
    peak = float(np.abs(y).max()) if n else 0.0
    if peak > LIMIT:
        y = y * (LIMIT / peak)
        record["limit_db"] = round(20.0 * math.log10(LIMIT / peak), 2)
    return y.astype(np.float32), record
