"""MuST-C (Di Gangi et al., NAACL 2019; the multi-stage paper's mid-training data, notes §2) -> ST manifests.

Official layout read (nothing is downloaded; v1.0 and v2.0 alike)::

    <root>/en-<xx>/data/<split>/wav/<talk>.wav          whole TED talks, 16 kHz mono
    <root>/en-<xx>/data/<split>/txt/<split>.yaml        one segment a line: {duration: D, offset: O,
                                                        [rW: .., uW: ..,] speaker_id: spk.N, wav: <talk>.wav}
    <root>/en-<xx>/data/<split>/txt/<split>.en          the English transcript, line k = segment k
    <root>/en-<xx>/data/<split>/txt/<split>.<xx>        the translation, line k = segment k

One manifest per pair and split, ``<out>/<pair>/<split>.tsv``, one row per segment: the ordinary columns
(:data:`asrkit.data.manifest.COLUMNS`; ``audio`` is the talk's wav, ``num_samples`` the segment's length) plus
``offset`` (samples into the wav; no audio is copied) and ``translation``. ``text`` and ``translation`` are
MuST-C's lines as they are, stripped; ids are fairseq's ``<talk>_<k>`` (``prep_mustc_data.py``), k the
segment's rank by offset in its talk, counted before anything is left out so an id never changes with the
filters.

The corpus's traps, each handled here and counted in :class:`MustcPrepared`:

- the yaml lists segments in file order, not necessarily grouped by talk or sorted by offset: they are
  grouped by ``wav`` and sorted by offset (fairseq sorts the offsets as strings, "10.5" before "9.0");
- segments repeat, with the same offset (ESPnet's ``data_prep.sh`` "remove duplicated utterances (the same
  offset)"): of the segments of one talk starting at the same sample the longest is kept, as ESPnet's
  ``remove_duplicate_utterances.py`` keeps "the longer utterance" (``duplicate_offset``);
- segments of zero length, or that start past the end of their wav, cannot be read (``empty_segment``,
  ``past_end``); one that ends past the end by at most :data:`END_TOLERANCE` seconds (the yaml's
  rounding) is cut at the end, by more it is left out (``past_end``);
- length filters, in training splits only (:data:`FILTER_SPLITS`; test sets are scored whole, as fairseq
  and ESPnet leave tst-COMMON unfiltered): shorter than ``min_seconds`` (``too_short``), longer than
  ``max_seconds`` (``too_long``), more than ``max_chars`` characters on either side (``long_text``), an
  empty transcript or translation (``empty_text``); in the other splits short segments are kept and counted;
- the text files are split at ``\\n`` only: MuST-C's lines hold characters that :meth:`str.splitlines`
  also breaks at (U+2028, U+0085, form feed), which would shift every later line. Those characters, and
  tabs and carriage returns, which would break the TSV, become spaces (counted in ``separators``);
- a yaml whose segment count differs from a text file's line count, and a segment whose wav is missing,
  are errors naming the files and counts, or the yaml line and the wav.

The yaml is read by a line parser (250k segments, MuST-C v2.0 en-de's size, in 1.8 s on 2 busy cores, where
PyYAML's C loader took 42 s); a file not written one flow mapping a line is read with PyYAML's safe loader.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import soundfile as sf

from ..utf8 import read_utf8
from .manifest import COLUMNS, ManifestError, write_manifest

PAIRS = ("en-de", "en-it", "en-nl")  # the multi-stage paper's mid-training pairs (§3.2)
SPLITS = ("train", "dev", "tst-COMMON")
FILTER_SPLITS = ("train", "dev")  # ESPnet's must_c st1 filters train and dev (remove_longshortdata.sh), not tst-*
MIN_SECONDS = 0.05  # fairseq prep_mustc_data.py: min_n_frames=5 frames of 10 ms
MAX_SECONDS = 30.0  # fairseq max_n_frames=3000 frames of 10 ms; ESPnet remove_longshortdata.sh --maxframes 3000
MAX_CHARS = 400  # ESPnet must_c st1: remove_longshortdata.sh --maxchars 400
END_TOLERANCE = 0.01  # seconds a segment may run past its wav's end (yaml times have 2-6 decimals) and be cut
ST_COLUMNS = ["offset", "translation"]
REASONS = {
    "duplicate_offset": "another segment of the talk starts at the same sample (the longest is kept)",
    "empty_segment": "zero length once converted to samples",
    "past_end": f"starts after its wav's end, or ends more than {END_TOLERANCE} s after it",
    "too_short": "shorter than --min-seconds",
    "too_long": "longer than --max-seconds",
    "long_text": "transcript or translation longer than --max-chars characters",
    "empty_text": "empty transcript or translation",
}
# str.splitlines() breaks lines at these too; \t and \r would break the TSV manifest
_SEPARATORS = re.compile("[\t\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
_FLOW_LINE = re.compile(r"^\s*-\s*\{(.*)\}\s*$")
_FLOW_ITEM = re.compile(r"\s*([A-Za-z_]\w*)\s*:\s*([^,]*?)\s*(?:,|$)")
_PAIR = re.compile(r"^en-[a-z]{2,3}$")

ProgressCallback = Callable[[str, int, int], None]  # (what, done since the last call, total): cli.ui.progress_bars


@dataclass(frozen=True)
class Segment:
    """One yaml entry with its two text lines; ``line`` is 1-based in all three files."""
    line: int
    wav: str
    offset: float  # seconds
    duration: float  # seconds
    speaker: str
    text: str
    translation: str


@dataclass
class MustcPrepared:
    """One written manifest and what was left out of it."""
    manifest: Path
    rows: int = 0
    hours: float = 0.0
    talks: int = 0
    speakers: int = 0
    filtered: bool = True  # the length filters applied (a training split)
    dropped: Counter = field(default_factory=Counter)  # reason (REASONS) -> segments
    examples: dict[str, list[str]] = field(default_factory=dict)  # reason -> a few "file:line (why)"
    kept_short: int = 0  # segments shorter than min_seconds kept because the split is not filtered
    separators: int = 0  # text lines in which separator characters became spaces

    def drop(self, reason: str, what: str) -> None:
        self.dropped[reason] += 1
        if len(self.examples.setdefault(reason, [])) < 3:
            self.examples[reason].append(what)


# ---------------------------------------------------------------------------------------------------
# Reading the files
# ---------------------------------------------------------------------------------------------------
def read_segment_yaml(path: str | Path) -> list[tuple[int, dict[str, str]]]:
    """The entries of a MuST-C ``<split>.yaml`` as ``(line, {key: value})``, values as written.

    One ``- {key: value, ...}`` flow mapping a line is parsed line by line; any other yaml falls back to
    ``yaml.safe_load`` (then ``line`` is the entry's number, 1-based)."""
    text = read_utf8(path, ManifestError)
    entries = []
    for lineno, line in enumerate(text.split("\n"), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        m = _FLOW_LINE.match(line)
        if m is None:
            return _safe_load_yaml(path, text)
        items = dict(_FLOW_ITEM.findall(m.group(1)))
        entries.append((lineno, {k: v.strip().strip("'\"") for k, v in items.items()}))
    return entries


def _safe_load_yaml(path: str | Path, text: str) -> list[tuple[int, dict[str, str]]]:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        data = yaml.load(text, Loader=loader)
    except yaml.YAMLError as e:
        raise ManifestError(f"{path}: not valid yaml ({str(e).splitlines()[0]}); MuST-C's is one "
                            "'- {duration: D, offset: O, speaker_id: S, wav: W}' a line") from None
    if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
        raise ManifestError(f"{path}: expected a yaml list of segments "
                            "'- {duration: D, offset: O, speaker_id: S, wav: W}'")
    return [(k, {str(a): str(b) for a, b in d.items()}) for k, d in enumerate(data, 1)]


def read_text_lines(path: str | Path) -> list[str]:
    """The lines of a MuST-C text file, split at ``\\n`` only (see the module doc), without the last empty one."""
    lines = read_utf8(path, ManifestError).split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def read_segments(txt_dir: str | Path, split: str, lang: str) -> list[Segment]:
    """The segments of ``<txt_dir>/<split>.yaml`` with their lines of ``<split>.en`` and ``<split>.<lang>``."""
    txt_dir = Path(txt_dir)
    yaml_path, en_path, xx_path = (txt_dir / f"{split}.{ext}" for ext in ("yaml", "en", lang))
    for p in (yaml_path, en_path, xx_path):
        if not p.is_file():
            raise ManifestError(f"{p}: not found; a MuST-C split holds txt/{split}.yaml, txt/{split}.en and "
                                f"txt/{split}.{lang}")
    entries = read_segment_yaml(yaml_path)
    en, xx = read_text_lines(en_path), read_text_lines(xx_path)
    for p, lines in ((en_path, en), (xx_path, xx)):
        if len(lines) != len(entries):
            raise ManifestError(f"{p}: {len(lines)} lines, but {yaml_path} has {len(entries)} segments; the "
                                "text files must be line-aligned with the yaml (re-extract the corpus)")
    segments = []
    for (line, e), text, translation in zip(entries, en, xx):
        for key in ("wav", "offset", "duration"):
            if not e.get(key):
                raise ManifestError(f"{yaml_path}:{line}: segment has no {key!r}; MuST-C's read "
                                    "'- {duration: D, offset: O, speaker_id: S, wav: W}'")
        try:
            offset, duration = float(e["offset"]), float(e["duration"])
        except ValueError:
            raise ManifestError(f"{yaml_path}:{line}: offset {e['offset']!r} and duration {e['duration']!r} "
                                "must be numbers (seconds)") from None
        if not (0 <= offset < math.inf and 0 <= duration < math.inf):  # NaN fails both
            raise ManifestError(f"{yaml_path}:{line}: offset {offset} and duration {duration} must be finite "
                                "and >= 0")
        segments.append(Segment(line, e["wav"], offset, duration, e.get("speaker_id") or Path(e["wav"]).stem,
                                text, translation))
    return segments


def _natural_key(name: str) -> tuple:
    """ted_2 before ted_10."""
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name))


def _clean(text: str) -> tuple[str, bool]:
    out = _SEPARATORS.sub(" ", text).strip()
    return out, out != text.strip()


# ---------------------------------------------------------------------------------------------------
# One split of one pair
# ---------------------------------------------------------------------------------------------------
def prepare_split(split_dir: str | Path, lang: str, out_path: str | Path, *, filtered: bool = True,
                  min_seconds: float = MIN_SECONDS, max_seconds: float = MAX_SECONDS, max_chars: int = MAX_CHARS
                  ) -> MustcPrepared:
    """``out_path`` from ``<split_dir>/{wav,txt}`` (``split_dir`` = ``en-<lang>/data/<split>``); see the module
    doc for what is left out. ``filtered``: apply the length filters (training splits)."""
    split_dir = Path(split_dir)
    split = split_dir.name
    txt_dir, wav_dir = split_dir / "txt", split_dir / "wav"
    yaml_path = txt_dir / f"{split}.yaml"
    segments = read_segments(txt_dir, split, lang)
    prepared = MustcPrepared(Path(out_path), filtered=filtered)
    by_wav: dict[str, list[Segment]] = {}
    for s in segments:
        by_wav.setdefault(s.wav, []).append(s)
    rows = []
    for wav in sorted(by_wav, key=_natural_key):
        path = wav_dir / wav
        if not path.is_file():
            raise ManifestError(f"{yaml_path}:{by_wav[wav][0].line}: {path} not found "
                                f"({len(by_wav[wav])} segment(s) name it); restore the wav or remove them")
        try:
            info = sf.info(str(path))
        except (sf.LibsndfileError, RuntimeError) as e:
            raise ManifestError(f"{path}: cannot read its audio header ({e}); re-extract the talk") from None
        rate, frames = int(info.samplerate), int(info.frames)
        talk = Path(wav).stem
        # rank by offset (numbers, not strings); the yaml order breaks ties
        ranked = sorted(by_wav[wav], key=lambda s: (s.offset, s.line))
        starts: dict[int, int] = {}  # first sample -> index in `kept` of the longest segment starting there
        kept: list[dict] = []
        for k, s in enumerate(ranked):
            where = f"{yaml_path}:{s.line}"
            start, num = round(s.offset * rate), round(s.duration * rate)
            if start >= frames:
                prepared.drop("past_end", f"{where} (starts at {s.offset} s, {wav} lasts {frames / rate:.2f} s)")
                continue
            if start + num > frames:
                if start + num - frames > END_TOLERANCE * rate:
                    prepared.drop("past_end", f"{where} (ends at {s.offset + s.duration:.2f} s, {wav} lasts "
                                              f"{frames / rate:.2f} s)")
                    continue
                num = frames - start
            if num <= 0:
                prepared.drop("empty_segment", f"{where} (duration {s.duration} s)")
                continue
            text, changed_en = _clean(s.text)
            translation, changed_xx = _clean(s.translation)
            prepared.separators += changed_en + changed_xx
            row = {"id": f"{talk}_{k}", "audio": str(path.resolve()), "num_samples": num, "sample_rate": rate,
                   "duration": round(num / rate, 4), "speaker": s.speaker, "text": text, "offset": start,
                   "translation": translation, "_where": where}
            if start in starts:
                other = kept[starts[start]]
                longer, shorter = (row, other) if num > other["num_samples"] else (other, row)
                prepared.drop("duplicate_offset", f"{shorter['_where']} (same start as {longer['_where']}, "
                                                  "which is longer or first)")
                kept[starts[start]] = longer
                continue
            starts[start] = len(kept)
            kept.append(row)
        for row in kept:
            reason = _filter_reason(row, filtered, min_seconds, max_seconds, max_chars)
            if reason is not None:
                prepared.drop(reason, f"{row['_where']} ({row['duration']} s, {len(row['text'])}/"
                                      f"{len(row['translation'])} characters)")
                continue
            if not filtered and row["num_samples"] < min_seconds * rate:
                prepared.kept_short += 1
            rows.append(row)
    df = pd.DataFrame(rows, columns=COLUMNS + ST_COLUMNS)
    prepared.manifest = write_manifest(df, prepared.manifest)
    prepared.rows = len(df)
    prepared.hours = float(df["duration"].sum()) / 3600
    prepared.talks = int(df["audio"].nunique())
    prepared.speakers = int(df["speaker"].nunique())
    return prepared


def _filter_reason(row: dict, filtered: bool, min_seconds: float, max_seconds: float, max_chars: int) -> str | None:
    if not filtered:
        return None
    seconds = row["num_samples"] / row["sample_rate"]
    if seconds < min_seconds:
        return "too_short"
    if seconds > max_seconds:
        return "too_long"
    if not row["text"] or not row["translation"]:
        return "empty_text"
    if max(len(row["text"]), len(row["translation"])) > max_chars:
        return "long_text"
    return None


# ---------------------------------------------------------------------------------------------------
# The corpus
# ---------------------------------------------------------------------------------------------------
def find_pairs(corpus_dir: str | Path) -> list[str]:
    """The ``en-<xx>`` directories under ``corpus_dir`` that hold ``data/``."""
    corpus_dir = Path(corpus_dir)
    return sorted(p.name for p in corpus_dir.iterdir() if _PAIR.match(p.name) and (p / "data").is_dir())


def prepare_mustc(corpus_dir: str | Path, out_dir: str | Path, pairs: Iterable[str] | None = None,
                  splits: Iterable[str] | None = None, *, min_seconds: float = MIN_SECONDS,
                  max_seconds: float = MAX_SECONDS, max_chars: int = MAX_CHARS,
                  filter_splits: Iterable[str] = FILTER_SPLITS, progress: ProgressCallback | None = None
                  ) -> dict[str, MustcPrepared]:
    """``<out_dir>/<pair>/<split>.tsv`` for each pair (default: every ``en-<xx>`` found) and split (default
    :data:`SPLITS`); returns ``{"<pair>/<split>": MustcPrepared}``. ``corpus_dir`` holds the ``en-<xx>``
    directories, or is one. Length filters (seconds; characters of either side) apply to ``filter_splits``."""
    corpus_dir, out_dir = Path(corpus_dir), Path(out_dir)
    if not corpus_dir.is_dir():
        raise ManifestError(f"{corpus_dir}: MuST-C directory not found; it holds en-de/, en-it/, ... "
                            "(each with data/{train,dev,tst-COMMON}/)")
    if min_seconds < 0 or max_seconds <= min_seconds or max_chars < 1:
        raise ManifestError(f"length filters: need 0 <= min_seconds < max_seconds and max_chars >= 1, got "
                            f"{min_seconds}, {max_seconds}, {max_chars}")
    root = corpus_dir
    found = find_pairs(corpus_dir)
    if not found and _PAIR.match(corpus_dir.name) and (corpus_dir / "data").is_dir():
        root, found = corpus_dir.parent, [corpus_dir.name]
    pairs = list(pairs) if pairs else found
    if not pairs:
        raise ManifestError(f"{corpus_dir}: no en-<xx>/data/ directories; is this MuST-C?")
    for pair in pairs:
        if not _PAIR.match(pair):
            raise ManifestError(f"pair {pair!r}: expected en-<xx>, e.g. en-de")
        if not (root / pair / "data").is_dir():
            raise ManifestError(f"{root / pair}/data: not found; pairs here: {', '.join(found) or 'none'}")
    splits = list(splits) if splits else list(SPLITS)
    filter_splits = set(filter_splits)
    written = {}
    for pair in pairs:
        lang = pair.split("-", 1)[1]
        for split in splits:
            split_dir = root / pair / "data" / split
            if not split_dir.is_dir():
                raise ManifestError(f"{split_dir}: not a directory; MuST-C has "
                                    f"{', '.join(sorted(p.name for p in split_dir.parent.iterdir()))} here")
            written[f"{pair}/{split}"] = prepare_split(
                split_dir, lang, out_dir / pair / f"{split}.tsv", filtered=split in filter_splits,
                min_seconds=min_seconds, max_seconds=max_seconds, max_chars=max_chars)
            if progress:
                progress("mustc", 1, len(pairs) * len(splits))
    return written


def report_lines(written: dict[str, MustcPrepared], min_seconds: float = MIN_SECONDS) -> list[str]:
    """One line per pair/split and reason segments were left out (with an example), and one per unfiltered split
    that kept short segments, for the scripts' summaries."""
    lines = []
    for key, p in written.items():
        for reason, n in sorted(p.dropped.items()):
            lines.append(f"{key}: left out {n} segment(s), {reason}: {REASONS[reason]} (e.g. {p.examples[reason][0]})")
        if p.kept_short:
            lines.append(f"{key}: kept {p.kept_short} segment(s) shorter than {min_seconds} s (not a filtered "
                         "split: test sets are scored whole)")
        if p.separators:
            lines.append(f"{key}: {p.separators} text line(s) had tabs, carriage returns or line separators, "
                         "now spaces")
    return lines
