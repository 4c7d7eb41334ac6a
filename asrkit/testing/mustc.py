"""A miniature MuST-C in the official layout, with the corpus's traps, for tests (nothing downloaded).

:func:`write_mustc_fixture` writes ``<root>/en-<xx>/data/{train,dev,tst-COMMON}/{wav,txt}`` for each pair:
talks of seeded noise (16 kHz, PCM_16), yaml segments out of order and across talks, a repeated offset, a
very short segment, one ending just past its wav (cut) and one well past it (left out), an empty translation,
a translation holding U+2028 (a line break to :meth:`str.splitlines`, not to MuST-C), and yaml lines in
v1.0's and v2.0's forms (v2.0 adds ``rW`` and ``uW``). It returns what prep should find.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

RATE = 16000
TALK_SECONDS = {"ted_2": 4.0, "ted_10": 3.0, "ted_5": 2.0, "ted_7": 2.0}
# (wav, offset s, duration s, English, translation) in yaml order; the comment: k (rank by offset) and fate
TRAIN = [
    ("ted_10", 1.0, 0.8, "B two.", "B zwei."),  # ted_10_1
    ("ted_2", 2.0, 1.0, "A three.", "A drei."),  # ted_2_3
    ("ted_2", 0.5, 0.6, "A one, short copy.", "A eins, kurz."),  # ted_2_0: duplicate_offset (shorter)
    ("ted_2", 0.5, 1.0, "A one.", "A eins."),  # ted_2_1: kept, the longer of the two at 0.5 s
    ("ted_10", 0.1, 0.5, "B one.", "B eins."),  # ted_10_0
    ("ted_2", 1.6, 0.02, "Uh.", "Äh."),  # ted_2_2: too_short
    ("ted_2", 3.5, 0.505, "A six.", "A sechs."),  # ted_2_5: ends 5 ms past the wav: cut to 0.5 s
    ("ted_10", 2.5, 1.0, "B four.", "B vier."),  # ted_10_3: past_end (0.5 s past)
    ("ted_2", 2.6, 0.5, "A five.", ""),  # ted_2_4: empty_text
    ("ted_10", 1.9, 0.5, "B three.", "B\u2028drei."),  # ted_10_2: U+2028 -> space
]
DEV = [("ted_5", 0.2, 0.7, "Dev one.", "Dev eins."), ("ted_5", 1.0, 0.8, "Dev two.", "Dev zwei.")]
TEST = [
    ("ted_7", 0.1, 0.6, "Test one.", "Test eins."),
    ("ted_7", 0.8, 0.03, "Mm.", ""),  # short and untranslated: kept, a test set is scored whole
    ("ted_7", 1.0, 0.9, "Test three.", "1984"),  # a translation pandas would read as a number
]
EXPECTED = {
    "train": {"ids": ["ted_2_1", "ted_2_3", "ted_2_5", "ted_10_0", "ted_10_1", "ted_10_2"],
              "dropped": {"duplicate_offset": 1, "too_short": 1, "past_end": 1, "empty_text": 1},
              "kept_short": 0, "separators": 1},
    "dev": {"ids": ["ted_5_0", "ted_5_1"], "dropped": {}, "kept_short": 0, "separators": 0},
    "tst-COMMON": {"ids": ["ted_7_0", "ted_7_1", "ted_7_2"], "dropped": {}, "kept_short": 1, "separators": 0},
}


def talk_audio(talk: str) -> np.ndarray:
    """The int16 samples of a fixture talk (seeded noise, so every segment's samples are distinct)."""
    rng = np.random.default_rng(int(talk.split("_")[1]))
    return rng.integers(-20000, 20000, size=round(TALK_SECONDS[talk] * RATE), dtype=np.int16)


def yaml_line(wav: str, offset: float, duration: float, v2: bool = False) -> str:
    """A segment as MuST-C writes it (v2.0 adds the word counts rW and uW)."""
    extra = "rW: 3, uW: 0, " if v2 else ""
    return f"- {{duration: {duration:.6f}, offset: {offset:.6f}, {extra}speaker_id: spk.{wav[4:]}, wav: {wav}.wav}}"


def write_split(split_dir: Path, lang: str, segments: list[tuple]) -> None:
    split = split_dir.name
    (split_dir / "wav").mkdir(parents=True, exist_ok=True)
    (split_dir / "txt").mkdir(parents=True, exist_ok=True)
    for talk in dict.fromkeys(s[0] for s in segments):
        sf.write(str(split_dir / "wav" / f"{talk}.wav"), talk_audio(talk), RATE, subtype="PCM_16")
    lines = [yaml_line(w, o, d, v2=k % 2 == 1) for k, (w, o, d, _, _) in enumerate(segments)]
    (split_dir / "txt" / f"{split}.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (split_dir / "txt" / f"{split}.en").write_text("".join(s[3] + "\n" for s in segments), encoding="utf-8")
    (split_dir / "txt" / f"{split}.{lang}").write_text("".join(s[4] + "\n" for s in segments), encoding="utf-8")


def write_mustc_fixture(root: str | Path, pairs: tuple[str, ...] = ("en-de",)) -> dict:
    """Write the miniature corpus for ``pairs`` under ``root``; returns :data:`EXPECTED` (per split: ids in
    manifest order, dropped segments by reason, short segments kept, lines whose separators became spaces)."""
    root = Path(root)
    for pair in pairs:
        lang = pair.split("-")[1]
        for split, segments in (("train", TRAIN), ("dev", DEV), ("tst-COMMON", TEST)):
            write_split(root / pair / "data" / split, lang, segments)
    return EXPECTED
