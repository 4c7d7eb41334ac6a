"""Miniature corpora in the official layouts of SUPERB's four downstream tasks (tones and noise instead of
speech), for :mod:`asrkit.data.superb_corpora`'s tests: each writer returns what preparation should find."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from ..data.superb import SPEECH_COMMANDS_KEYWORDS
from . import tone

RATE = 16000


def _wav(path: Path, x: np.ndarray, rate: int = RATE) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, x, rate)
    return path


# Speech Commands v0.01 ----------------------------------------------------------------------------------
SC_UNKNOWN_WORDS = ("bed", "cat")  # two of v0.01's twenty other words
SC_SPEAKERS = ("0a7c2a8d", "1b4c9b89", "c5e1f6a2")
SC_NOISE = {"white_noise.wav": 3.5, "running_tap.wav": 2.2}  # seconds


def write_speech_commands(root: str | Path, test_root: str | Path | None = None,
                          keywords: tuple[str, ...] = SPEECH_COMMANDS_KEYWORDS,
                          unknown_words: tuple[str, ...] = SC_UNKNOWN_WORDS) -> dict:
    """``root/<word>/<hash>_nohash_<n>.wav`` (4 a word: 2 train, 1 in validation_list, 1 in testing_list),
    ``root/_background_noise_/`` (:data:`SC_NOISE`) and, with ``test_root``, a test set of one file per class
    (``speech_commands_test_set_v0.01`` layout). Returns ``{"train"|"dev"|"test": [word/file.wav],
    "noise": {name: frames}, "test_set": {class: [file names]}}``."""
    root = Path(root)
    out: dict = {"train": [], "dev": [], "test": [], "noise": {}, "test_set": {}}
    for w, word in enumerate((*keywords, *unknown_words)):
        for k in range(4):
            name = f"{SC_SPEAKERS[k % 3]}_nohash_{k // 3}.wav"
            _wav(root / word / name, tone(0.25, RATE, 200 + 30 * w, seed=w * 10 + k))
            out[("train", "train", "dev", "test")[k]].append(f"{word}/{name}")
    (root / "validation_list.txt").write_text("\n".join(out["dev"]) + "\n")
    (root / "testing_list.txt").write_text("\n".join(out["test"]) + "\n")
    rng = np.random.default_rng(0)
    for name, seconds in SC_NOISE.items():
        frames = int(seconds * RATE)
        _wav(root / "_background_noise_" / name, (0.1 * rng.standard_normal(frames)).astype(np.float32))
        out["noise"][name] = frames
    (root / "_background_noise_" / "README.md").write_text("noise files\n")  # only the wavs are noise
    if test_root is not None:
        for c, label in enumerate((*keywords, "_unknown_", "_silence_")):
            name = f"{SC_SPEAKERS[c % 3]}_nohash_{c}.wav" if label != "_silence_" else "silence_0.wav"
            _wav(Path(test_root) / label / name, tone(1.0, RATE, 300 + 20 * c, seed=100 + c))
            out["test_set"][label] = [name]
    return out


# Fluent Speech Commands ---------------------------------------------------------------------------------
FSC_ROWS = {  # split -> (speakerId, transcription, action, object, location)
    "train": [("2BqVo8kVB2Skwgyb", "Turn on the lights in the kitchen", "activate", "lights", "kitchen"),
              ("2BqVo8kVB2Skwgyb", "Change language", "change language", "none", "none"),
              ("4aGjX3AG5xcxeL7a", "Volume up, please", "increase", "volume", "none")],
    "valid": [("4aGjX3AG5xcxeL7a", "Switch off the washroom lights", "deactivate", "lights", "washroom")],
    "test": [("7B4XmNppyrCK977p", "Bring me my shoes", "bring", "shoes", "none"),
             ("7B4XmNppyrCK977p", "Turn the heat down", "decrease", "heat", "none")],
}


def write_fluent_commands(root: str | Path) -> dict[str, list[dict]]:
    """``root/data/{train,valid,test}_data.csv`` (with the corpus's index column and header) and
    ``root/wavs/speakers/<spk>/<uuid>.wav``; returns ``{split: [{path, speakerId, transcription, action,
    object, location}]}`` (``valid`` as the csv names it)."""
    root = Path(root)
    out: dict[str, list[dict]] = {}
    n = 0
    for split, rows in FSC_ROWS.items():
        lines = [",path,speakerId,transcription,action,object,location"]
        out[split] = []
        for i, (spk, text, action, obj, loc) in enumerate(rows):
            rel = f"wavs/speakers/{spk}/{n:08x}-4474-11e9-a9a5-5dbec3b8816a.wav"
            _wav(root / rel, tone(0.3, RATE, 250 + 25 * n, seed=n))
            quoted = f'"{text}"' if "," in text else text
            lines.append(f"{i},{rel},{spk},{quoted},{action},{obj},{loc}")
            out[split].append({"path": rel, "speakerId": spk, "transcription": text, "action": action,
                               "object": obj, "location": loc})
            n += 1
        (root / "data").mkdir(parents=True, exist_ok=True)
        (root / "data" / f"{split}_data.csv").write_text("\n".join(lines) + "\n")
    return out


# LibriSpeech for phones ---------------------------------------------------------------------------------
LS_TRANSCRIPTS = {  # split -> {(speaker, chapter): [transcript]}; ZORBLEFLAX is in no lexicon
    "train-clean-100": {(19, 198): ["THE CAT SAT", "MEASURE ALL", "THE ZORBLEFLAX SAT"]},
    "dev-clean": {(84, 121123): ["IT'S A DOG"]},
    "test-clean": {(1089, 134686): ["TALK TO THE CAT", "A VISION"]},
}
# the lines of librispeech-lexicon.txt for the words above (CMUdict's first pronunciations, tab-separated)
LS_LEXICON = {"THE": "DH AH0", "CAT": "K AE1 T", "SAT": "S AE1 T", "MEASURE": "M EH1 ZH ER0", "ALL": "AO1 L",
              "IT'S": "IH1 T S", "A": "AH0", "DOG": "D AO1 G", "TALK": "T AO1 K", "TO": "T UW1",
              "VISION": "V IH1 ZH AH0 N"}


def write_librispeech(root: str | Path) -> dict[str, list[tuple[str, str]]]:
    """``root/<split>/<spk>/<chap>/<spk>-<chap>-NNNN.flac`` + ``.trans.txt`` with :data:`LS_TRANSCRIPTS`, and
    ``root/librispeech-lexicon.txt`` (:data:`LS_LEXICON`); returns ``{split: [(utterance id, transcript)]}``."""
    root = Path(root)
    out: dict[str, list[tuple[str, str]]] = {}
    for split, chapters in LS_TRANSCRIPTS.items():
        out[split] = []
        for (spk, chap), texts in chapters.items():
            d = root / split / str(spk) / str(chap)
            lines = []
            for n, text in enumerate(texts):
                utt = f"{spk}-{chap}-{n:04d}"
                _wav(d / f"{utt}.flac", tone(0.2, RATE, 180 + 40 * n, seed=n))
                lines.append(f"{utt} {text}")
                out[split].append((utt, text))
            (d / f"{spk}-{chap}.trans.txt").write_text("\n".join(lines) + "\n")
    (root / "librispeech-lexicon.txt").write_text("".join(f"{w}\t{p}\n" for w, p in LS_LEXICON.items()))
    return out


# Libri2Mix ----------------------------------------------------------------------------------------------
LM_SECONDS = 2.0
LM_MIXTURES = {  # split -> {mixture_ID: (source 1's active stretches, source 2's)}, seconds
    "dev": {"84-121123-0001_174-168635-0002": ([(0.20, 0.90), (1.05, 1.50)], [(0.60, 1.40)])},
    "test": {"1089-134686-0000_121-121726-0003": ([(0.10, 0.70)], [(0.90, 1.40), (1.80, 1.85)]),
             "237-126133-0002_908-157963-0001": ([(0.50, 1.90)], [(0.00, 0.40)])},
}
# what the VAD should find: gaps under 0.3 s filled, segments under 0.1 s (the 50 ms blip) dropped
LM_EXPECTED = {
    "dev": {"84-121123-0001_174-168635-0002": [("84", 0.20, 1.50), ("174", 0.60, 1.40)]},
    "test": {"1089-134686-0000_121-121726-0003": [("1089", 0.10, 0.70), ("121", 0.90, 1.40)],
             "237-126133-0002_908-157963-0001": [("908", 0.00, 0.40), ("237", 0.50, 1.90)]},
}


def _source(stretches: list[tuple[float, float]], seed: int) -> np.ndarray:
    """Zeros with a tone (amplitude 0.3) over each stretch, and noise 70 dB below it everywhere."""
    n = int(LM_SECONDS * RATE)
    x = 1e-4 * np.random.default_rng(seed).standard_normal(n)
    t = np.arange(n) / RATE
    for start, end in stretches:
        on = (t >= start) & (t < end)
        x[on] += 0.3 * np.sin(2 * np.pi * (200 + 50 * seed) * t[on])
    return x.astype(np.float32)


def write_librimix(root: str | Path, absolute_elsewhere: tuple[str, ...] = ("test",)) -> dict:
    """``root/wav16k/max/{dev,test}/{mix_clean,s1,s2}/<id>.wav`` and ``metadata/mixture_<split>_mix_clean.csv``
    for :data:`LM_MIXTURES`; the splits in ``absolute_elsewhere`` have metadata paths of another machine
    (``/home/someone/...``), the others this machine's absolute paths. Returns :data:`LM_EXPECTED`."""
    base = Path(root) / "wav16k" / "max"
    for split, mixtures in LM_MIXTURES.items():
        lines = ["mixture_ID,mixture_path,source_1_path,source_2_path,length"]
        for k, (mid, (a, b)) in enumerate(mixtures.items()):
            s1, s2 = _source(a, 2 * k), _source(b, 2 * k + 1)
            paths = [_wav(base / split / d / f"{mid}.wav", x) for d, x in (("mix_clean", s1 + s2), ("s1", s1),
                                                                            ("s2", s2))]
            if split in absolute_elsewhere:
                paths = [f"/home/someone/Libri2Mix/wav16k/max/{split}/{p.parent.name}/{p.name}" for p in paths]
            lines.append(",".join([mid, *map(str, paths), str(len(s1))]))
        (base / "metadata").mkdir(parents=True, exist_ok=True)
        (base / "metadata" / f"mixture_{split}_mix_clean.csv").write_text("\n".join(lines) + "\n")
    return LM_EXPECTED
