"""TIMIT (LDC93S1) -> phone-recognition manifests, the splits of wav2vec 2.0 §5.3 / Table 3 and of Kaldi's
``egs/timit/s5``.

LDC's layout (other copies, Kaldi's among them, differ in the case of the names only)::

    <root>/TRAIN|TEST/DR1-8/<speaker>/<utt>.WAV   NIST SPHERE, 16 kHz 16 bit, 1024-byte header
                                      <utt>.PHN   "<start> <end> <phone>" per line, sample indices, 61 phones
                                      <utt>.WRD   the words, timed alike;  <utt>.TXT  the sentence

The splits: ``train`` = TRAIN without the two SA sentences every speaker reads (3,696 utterances, 462
speakers); ``dev`` = the 50 TEST speakers of Kaldi's ``conf/dev_spk.list`` (400); ``test`` = the 24-speaker
core test set (``conf/test_spk.list``; 192), SA excluded too. The ``text`` column is the ``.PHN`` labels folded
61 -> 48 -> 39 (:func:`asrkit.data.phones.fold_timit`, space-separated), what TIMIT results are scored on;
``phones48`` holds the 48-phone step and ``words`` the ``.TXT`` sentence.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

import pandas as pd

from ..utf8 import read_utf8
from .manifest import COLUMNS, ManifestError, manifest_row, write_manifest
from .phones import PhoneError, fold_48, fold_timit_48

# Kaldi egs/timit/s5/conf/test_spk.list: the core test set, two men and a woman from each dialect region
CORE_TEST_SPEAKERS = frozenset("""
mdab0 mwbt0 felc0 mtas1 mwew0 fpas0 mjmp0 mlnt0 fpkt0 mlll0 mtls0 fjlm0 mbpm0 mklt0 fnlp0 mcmj0 mjdh0 fmgd0
mgrt0 mnjm0 fdhc0 mjln0 mpam0 fmld0""".split())
# Kaldi egs/timit/s5/conf/dev_spk.list: 50 other TEST speakers
DEV_SPEAKERS = frozenset("""
faks0 fdac1 fjem0 mgwt0 mjar0 mmdb1 mmdm2 mpdf0 fcmh0 fkms0 mbdg0 mbwm0 mcsh0 fadg0 fdms0 fedw0 mgjf0 mglb0
mrtk0 mtaa0 mtdt0 mthc0 mwjg0 fnmr0 frew0 fsem0 mbns0 mmjr0 mdls0 mdlf0 mdvc0 mers0 fmah0 fdrw0 mrcs0 mrjm4
fcal1 mmwh0 fjsj0 majc0 mjsw0 mreb0 fgjd0 fjmg0 mroa0 mteb0 mjfc0 mrjr0 fmml0 mrws1""".split())
SPLITS = {"train": "TRAIN", "dev": "TEST", "test": "TEST"}  # manifest -> the corpus directory it is read from
SPLIT_SPEAKERS = {"dev": DEV_SPEAKERS, "test": CORE_TEST_SPEAKERS}
SPLIT_UTTERANCES = {"train": 3696, "dev": 400, "test": 192}  # in the complete corpus
NOT_FOUND = "TIMIT is LDC93S1, licensed from the LDC (https://catalog.ldc.upenn.edu/LDC93S1), not downloadable"


def _child(parent: Path, name: str) -> Path | None:
    """``parent``'s entry named ``name`` in any case (LDC's TRAIN, a copy's train), or None."""
    exact = parent / name
    if exact.exists():
        return exact
    return next((p for p in sorted(parent.iterdir()) if p.name.lower() == name.lower()), None)


def find_timit_root(corpus_dir: str | Path) -> Path:
    """The directory holding TRAIN/ and TEST/: ``corpus_dir`` itself or one level below it (``TIMIT/``,
    ``data/``, as the copies nest it); a :class:`ManifestError` naming what is missing otherwise."""
    corpus_dir = Path(corpus_dir)
    if not corpus_dir.is_dir():
        raise ManifestError(f"{corpus_dir}: TIMIT directory not found; {NOT_FOUND}")
    for root in (corpus_dir, *sorted(p for p in corpus_dir.iterdir() if p.is_dir())):
        if all(_child(root, d) is not None and _child(root, d).is_dir() for d in ("TRAIN", "TEST")):
            return root
    have = [d for d in ("TRAIN", "TEST") if _child(corpus_dir, d) is not None]
    missing = [d for d in ("TRAIN", "TEST") if d not in have]
    raise ManifestError(f"{corpus_dir}: no {' and no '.join(f'{d}/' for d in missing)} directory (TIMIT's layout: "
                        f"TRAIN|TEST/DR1-8/<speaker>/<utt>.WAV with .PHN); {NOT_FOUND}")


def read_phn(path: Path) -> list[str]:
    """The phone labels of a ``.PHN`` file, in order (``<start> <end> <phone>`` per line)."""
    phones = []
    for lineno, line in enumerate(read_utf8(path, ManifestError).splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 3 or not (fields[0].isdigit() and fields[1].isdigit()):
            raise ManifestError(f"{path}:{lineno}: expected '<start sample> <end sample> <phone>', got {line!r}")
        phones.append(fields[2])
    return phones


def read_txt(path: Path | None) -> str:
    """The sentence of a ``.TXT`` file (``<start> <end> <sentence>``), or "" without one."""
    if path is None:
        return ""
    fields = read_utf8(path, ManifestError).split(maxsplit=2)
    return " ".join(fields[2].split()) if len(fields) == 3 else ""


def _utterances(split_dir: Path) -> list[tuple[str, Path]]:
    """(speaker, audio) of every SI and SX sentence under ``DR*/<speaker>/``, SA sentences left out."""
    regions = sorted(p for p in split_dir.iterdir() if p.is_dir() and p.name.lower().startswith("dr"))
    if not regions:
        raise ManifestError(f"{split_dir}: no DR1-DR8 dialect-region directories (TIMIT's layout: "
                            f"{split_dir.name}/DR1-8/<speaker>/<utt>.WAV)")
    out = []
    for region in regions:
        for spk in sorted(p for p in region.iterdir() if p.is_dir()):
            for wav in sorted(spk.iterdir()):
                # <utt>.WAV (not the <utt>.WAV.wav RIFF copies some distributions add beside it)
                if wav.suffix.lower() == ".wav" and "." not in wav.stem and not wav.stem.lower().startswith("sa"):
                    out.append((spk.name.lower(), wav))
    return out


def _sibling(wav: Path, ext: str) -> Path | None:
    for suffix in (ext.upper(), ext.lower()):
        if wav.with_suffix(suffix).is_file():
            return wav.with_suffix(suffix)
    return None


def _row(spk: str, wav: Path) -> dict:
    phn = _sibling(wav, ".PHN")
    if phn is None:
        raise ManifestError(f"{wav}: no {wav.stem}.PHN beside it (TIMIT's phone transcription)")
    try:
        phones48 = fold_timit_48(read_phn(phn))
        phones = fold_48(phones48)
    except PhoneError as e:
        raise ManifestError(f"{phn}: {e}") from None
    if not phones:
        raise ManifestError(f"{phn}: no phones besides silences")
    row = manifest_row(f"{spk}-{wav.stem.lower()}", wav, spk, " ".join(phones), phones48=" ".join(phones48),
                       words=read_txt(_sibling(wav, ".TXT")))
    if row["sample_rate"] != 16000:
        raise ManifestError(f"{wav}: {row['sample_rate']} Hz; TIMIT is 16 kHz (a copy resampled or converted?)")
    return row


def check_timit(corpus_dir: str | Path) -> tuple[Path, dict[str, int]]:
    """Where TRAIN/ and TEST/ are, and the SI/SX sentences each holds (SA left out; 3,696 and 1,344 in the
    complete corpus), without reading any file; a :class:`ManifestError` naming what is missing otherwise."""
    root = find_timit_root(corpus_dir)
    counts = {d: len(_utterances(_child(root, d))) for d in ("TRAIN", "TEST")}
    empty = [d for d, n in counts.items() if not n]
    if empty:
        raise ManifestError(f"{root / empty[0]}: no <speaker>/<utt>.WAV files under its DR1-DR8 directories")
    return root, counts


def prepare_timit(corpus_dir: str | Path, out_dir: str | Path, progress: Callable[[str], None] | None = None,
                  num_threads: int = 8) -> dict[str, dict]:
    """Write ``<out_dir>/{train,dev,test}.tsv`` and ``<out_dir>/tokens.txt`` (the blank and the 38 phones,
    ``data.tokenizer`` of fine-tuning). Returns per split its utterances, hours, speakers and ``missing``: the
    listed dev/test speakers the corpus lacks (none in the complete corpus)."""
    from .tokenizer import PhoneTokenizer

    root, out_dir = find_timit_root(corpus_dir), Path(out_dir)
    scanned = {d: _utterances(_child(root, d)) for d in ("TRAIN", "TEST")}
    counts: dict[str, dict] = {}
    for name, directory in SPLITS.items():
        if progress:
            progress(name)
        utts = scanned[directory]
        speakers = SPLIT_SPEAKERS.get(name)
        if speakers is not None:
            utts = [(spk, wav) for spk, wav in utts if spk in speakers]
        if not utts:
            listed = f" of the {len(speakers)} speakers of its list" if speakers is not None else ""
            raise ManifestError(f"{root / directory}: no SI/SX utterances{listed} for the {name} split; "
                                f"is the corpus complete? ({NOT_FOUND})")
        with ThreadPoolExecutor(num_threads) as pool:  # header reads are I/O bound
            df = pd.DataFrame(list(pool.map(lambda job: _row(*job), utts)))
        write_manifest(df[COLUMNS + ["phones48", "words"]], out_dir / f"{name}.tsv")
        found = set(df["speaker"])
        counts[name] = {"utterances": len(df), "hours": round(float(df["duration"].sum()) / 3600.0, 3),
                        "speakers": len(found),
                        "missing": sorted(speakers - found) if speakers is not None else []}
    PhoneTokenizer().save(out_dir / "tokens.txt")
    return counts
