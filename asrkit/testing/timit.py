"""A miniature TIMIT in LDC's layout (tones instead of speech), for :mod:`asrkit.data.timit`'s tests and the
TIMIT recipe's: SPHERE-headed WAVs as LDC ships them, ``.PHN`` (61 phones, sample-indexed), ``.WRD`` and ``.TXT``;
SA and SI/SX sentences; a training speaker in DR1 and DR2, a core-test speaker in each, a dev speaker and a TEST
speaker in neither list."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from . import tone

RATE = 16000
# (TRAIN|TEST, region, speaker, sentences)
SPEAKERS = (
    ("TRAIN", "DR1", "FCJF0", ("SA1", "SA2", "SI1027", "SX127")),
    ("TRAIN", "DR2", "FAEM0", ("SA1", "SI1392", "SX132")),
    ("TEST", "DR1", "MDAB0", ("SA1", "SI1039", "SX139")),  # core test
    ("TEST", "DR2", "MTAS1", ("SA2", "SX118")),  # core test
    ("TEST", "DR1", "FAKS0", ("SA1", "SI943", "SX133")),  # dev
    ("TEST", "DR2", "MWSH0", ("SI1426",)),  # in neither list
)
# What the preparation should find: utterance ids per split
EXPECTED = {
    "train": ["fcjf0-si1027", "fcjf0-sx127", "faem0-si1392", "faem0-sx132"],
    "dev": ["faks0-si943", "faks0-sx133"],
    "test": ["mdab0-si1039", "mdab0-sx139", "mtas1-sx118"],
}
# "she had your dark suit", as TIMIT transcribes it, with every kind of folding: closures, h#, pau, epi, q,
# ix, ax-h, axr, hv, el, en, nx, zh, ux, ao
PHN_61 = ("h# sh iy hv ae dcl d y axr dcl d aa r kcl k s ux q pau ix el en nx zh ao ax-h epi h#").split()
PHN_48 = ("sil sh iy hh ae vcl d y er vcl d aa r cl k s uw sil ix el en n zh ao ax epi sil").split()
PHN_39 = "sh iy hh ae d y er d aa r k s uw ih l n n sh aa ah".split()
SENTENCE = "She had your dark suit."


def sphere_bytes(samples: np.ndarray, utterance_id: str) -> bytes:
    """A NIST SPHERE file as TIMIT's: 1024-byte ASCII header (its fields, no ``sample_coding``), 16-bit
    little-endian samples."""
    x = samples.astype("<i2")
    header = (f"NIST_1A\n   1024\ndatabase_id -s5 TIMIT\ndatabase_version -s3 1.0\n"
              f"utterance_id -s{len(utterance_id)} {utterance_id}\nchannel_count -i 1\nsample_count -i {len(x)}\n"
              f"sample_rate -i {RATE}\nsample_min -i {int(x.min())}\nsample_max -i {int(x.max())}\n"
              f"sample_n_bytes -i 2\nsample_byte_format -s2 01\nsample_sig_bits -i 16\nend_head\n").encode("ascii")
    return header.ljust(1024, b" ") + x.tobytes()


def write_timit(root: str | Path, upper: bool = True, seconds: float = 0.6) -> Path:
    """Write the miniature corpus under ``root`` (LDC's upper-case names, or a copy's lower-case ones with
    ``upper=False``); returns ``root``."""
    root = Path(root)
    case = str.upper if upper else str.lower
    n = int(seconds * RATE)
    bounds = np.linspace(0, n, len(PHN_61) + 1).astype(int)
    for k, (part, region, spk, sentences) in enumerate(SPEAKERS):
        d = root / case(part) / case(region) / case(spk)
        d.mkdir(parents=True, exist_ok=True)
        for j, utt in enumerate(sentences):
            x = (tone(seconds, RATE, 150.0 + 40 * k + 10 * j, seed=k * 10 + j) * 30000).astype(np.int16)
            (d / case(f"{utt}.wav")).write_bytes(sphere_bytes(x, f"{spk[1:].lower()}_{utt.lower()}"))
            (d / case(f"{utt}.phn")).write_text(
                "".join(f"{bounds[i]} {bounds[i + 1]} {p}\n" for i, p in enumerate(PHN_61)))
            words = SENTENCE.lower().rstrip(".").split()
            wb = np.linspace(bounds[1], bounds[-2], len(words) + 1).astype(int)
            (d / case(f"{utt}.wrd")).write_text("".join(f"{wb[i]} {wb[i + 1]} {w}\n" for i, w in enumerate(words)))
            (d / case(f"{utt}.txt")).write_text(f"0 {n} {SENTENCE}\n")
    return root
