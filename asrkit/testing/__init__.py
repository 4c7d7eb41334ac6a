"""Small real data for tests, shipped with the package (as lhotse ships its dummies).

:func:`make_librispeech_fixture` writes a miniature corpus in the *official* LibriSpeech +
Libri-light layout (FLAC, ``trans.txt``, ``librispeech_finetuning/1h/<fold>/{clean,other}``
and ``9h``), with tones instead of speech, so corpus prep is tested on the real layout.
"""
from __future__ import annotations

import contextlib
import signal
from pathlib import Path

import numpy as np
import soundfile as sf

from ..data.audio import SAMPLE_RATE

WORDS = ("THE", "CAT", "SAT", "ON", "A", "MAT", "AND", "IT'S", "GOOD", "DAY")


def tone(seconds: float, sample_rate: int = SAMPLE_RATE, freq: float = 220.0, seed: int = 0) -> np.ndarray:
    """A short tone with a little noise, float32 in [-1, 1]."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    return (0.3 * np.sin(2 * np.pi * freq * t) + 0.01 * rng.standard_normal(t.shape)).astype(np.float32)


def write_chapter(chapter_dir: Path, speaker: int, chapter: int, num_utts: int, seed: int = 0,
                  sample_rate: int = SAMPLE_RATE) -> list[str]:
    """``<spk>-<chap>-NNNN.flac`` files plus ``<spk>-<chap>.trans.txt``; returns the ids."""
    rng = np.random.default_rng(seed)
    chapter_dir.mkdir(parents=True, exist_ok=True)
    lines, ids = [], []
    for n in range(num_utts):
        utt = f"{speaker}-{chapter}-{n:04d}"
        sf.write(chapter_dir / f"{utt}.flac", tone(0.2 + 0.1 * n, sample_rate, 150 + 40 * n, seed + n), sample_rate)
        lines.append(f"{utt} " + " ".join(rng.choice(WORDS, size=3 + n % 3)))
        ids.append(utt)
    (chapter_dir / f"{speaker}-{chapter}.trans.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return ids


def make_librispeech_fixture(root: str | Path) -> dict[str, list[str]]:
    """Miniature LibriSpeech (``root/LibriSpeech``) + Libri-light (``root/librispeech_finetuning``).

    Returns ``{split: [utterance ids]}`` for what prep should find, including the nested
    Libri-light sets ``10m`` (fold 0), ``1h`` (all folds) and ``10h`` (1h + 9h).
    """
    root = Path(root)
    ls = root / "LibriSpeech"
    expected: dict[str, list[str]] = {}
    layout = {"train-clean-100": [(19, 198, 3), (26, 495, 2)], "train-clean-360": [(100, 121669, 1)],
              "train-other-500": [(20, 205, 2)], "dev-clean": [(84, 121123, 2)], "dev-other": [(116, 288045, 1)],
              "test-clean": [(1089, 134686, 2), (121, 121726, 1)], "test-other": [(1688, 142285, 1)]}
    for split, chapters in layout.items():
        expected[split] = []
        for i, (spk, chap, n) in enumerate(chapters):
            expected[split] += write_chapter(ls / split / str(spk) / str(chap), spk, chap, n, seed=i)
    (ls / "SPEAKERS.TXT").write_text(";ID  |SEX| SUBSET           |MINUTES| NAME\n19   | F | train-clean-100  | 25.19 | Kara\n")
    ft = root / "librispeech_finetuning"
    one_h: list[str] = []
    for fold in range(6):
        for kind, spk in (("clean", 1000 + fold), ("other", 2000 + fold)):
            ids = write_chapter(ft / "1h" / str(fold) / kind / str(spk) / "10", spk, 10, 1, seed=fold)
            one_h += ids
            if fold == 0:
                expected.setdefault("10m", []).extend(ids)
    nine_h = write_chapter(ft / "9h" / "clean" / "3000" / "20", 3000, 20, 2, seed=9)
    nine_h += write_chapter(ft / "9h" / "other" / "3001" / "21", 3001, 21, 1, seed=10)
    expected["1h"] = one_h
    expected["10h"] = one_h + nine_h
    return expected


def make_tone_manifest(out_dir: str | Path, num_utts: int = 12, min_seconds: float = 0.6,
                       max_seconds: float = 1.4, seed: int = 0, name: str = "train.tsv") -> Path:
    """A manifest of ``num_utts`` short multi-tone utterances (for training-loop tests)."""
    from ..data.manifest import manifest_row, write_manifest
    import pandas as pd

    out_dir = Path(out_dir)
    audio_dir = out_dir / "audio"
    audio_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(num_utts):
        sec = float(rng.uniform(min_seconds, max_seconds))
        wav = sum(tone(sec, freq=float(f), seed=seed * 1000 + i) for f in rng.uniform(100, 2000, size=3)) / 3
        path = audio_dir / f"{name.split('.')[0]}-{i:03d}.flac"
        sf.write(path, wav, SAMPLE_RATE)
        rows.append(manifest_row(f"utt{seed}-{i:03d}", path, f"spk{i % 3}", " ".join(rng.choice(WORDS, 3))))
    return write_manifest(pd.DataFrame(rows), out_dir / name)


@contextlib.contextmanager
def time_limit(seconds: int):
    """Raise ``TimeoutError`` in the block if it runs longer than ``seconds`` (SIGALRM, main thread): a test
    of something that used to hang fails instead of stopping the suite."""
    def expired(signum, frame):
        raise TimeoutError(f"still running after {seconds} s: it hangs")

    old = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
