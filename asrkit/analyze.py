"""What the discrete latents of a pre-trained wav2vec 2.0 model stand for: the co-occurrence of its quantizer's
codes with phones (Baevski et al., 2020, Appendix D and its Figure 3, P(phoneme | q_t)).

- One code per frame: the feature encoder and the quantizer in eval mode, which takes the argmax entry of each of
  the G codebooks (no Gumbel noise). The G entries together are one code, as the paper counts its latents: for
  G = 2 the code is ``g1 * V + g2``, one of V^G (in general the entries as digits of a base-V number).
- The phone under a frame is the one most represented in the frame's receptive field (Appendix D): frame t of the
  feature encoder sees samples ``[t * stride, t * stride + field)``, a stride of 320 and a field of 400 for the
  paper's convolutions at 16 kHz, both computed from the model's conv config; a tie goes to the phone at the
  window's centre.
- Phones come from the built-in corpus's metadata (``metadata/<split>.jsonl`` of ``asrkit prepare synth``:
  espeak-ng phoneme events with their start times in ms, folded by :func:`asrkit.data.phones.fold_espeak`) or from
  an alignment file (:func:`read_alignments` documents its format).
- The labels are the 38 phones of :data:`asrkit.data.phones.PHONES` and silence (``sil``): Lee & Hon's 39 classes,
  as on the paper's figure, where silence takes 22 % of the frames. ``silence=False`` leaves silent frames out.
- The numbers, in bits: phone purity (the frame-weighted mean of max_p P(p | code)), code purity (of
  max_code P(code | p), HuBERT's cluster purity), H(phone | code), I(code; phone) and I / H(phone), HuBERT's
  phone-normalised mutual information (PNMI). All are counted on the frames they describe, so they rise with the
  number of codes used (a code seen once is pure); the held-out phone purity (:func:`heldout_purity`, two-fold over
  utterances) does not, and is the one to compare between models using different numbers of codes.
"""
from __future__ import annotations

import json
import math
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .checkpoint import load_model
from .data.audio import normalize_waveform, read_audio
from .data.manifest import read_manifest
from .data.phones import ESPEAK_DROP, PHONES, TIMIT_FOLD, PhoneError, fold_arpabet, fold_espeak, fold_timit
from .models.wav2vec2 import Wav2Vec2Model

SILENCE = "sil"
# the 39 labels grouped by manner, the order of the figure's rows and of the counts' columns
PHONE_CLASSES: dict[str, tuple[str, ...]] = {
    "vowels": ("iy", "ih", "eh", "ae", "ah", "uw", "uh", "aa", "ey", "ay", "oy", "aw", "ow", "er"),
    "semivowels": ("l", "r", "y", "w"),
    "nasals": ("m", "n", "ng"),
    "stops": ("b", "d", "g", "p", "t", "k", "dx"),
    "affricates": ("ch", "jh"),
    "fricatives": ("dh", "th", "f", "v", "s", "z", "sh", "hh"),
    "silence": (SILENCE,),
}
LABELS = tuple(p for group in PHONE_CLASSES.values() for p in group)
assert sorted(LABELS) == sorted((*PHONES, SILENCE))
PHONE_SETS = ("timit", "arpabet", "espeak")  # the names an alignment file may use
# what aligners call silence: Kaldi and the Montreal Forced Aligner (sil, sp, spn, empty), TIMIT (h#, pau, epi and
# the closures, Lee & Hon's sil), flite and festival (pau)
_SILENCE_NAMES = frozenset({"sil", "sp", "spn", "", "<eps>", "h#", "pau", "epi", "bcl", "dcl", "gcl", "pcl", "tcl",
                            "kcl"})
TOP_CODES = 100  # codes on the figure: the paper's Figure 3 does not say how many of its latents it shows


class AnalysisError(ValueError):
    """An input the analysis cannot use; the message names it and what to do."""


Segment = tuple[float, float, str]  # (start, end) in seconds and a label of LABELS


# ----------------------------------------------------------------------------------------------------
# alignments


def fold_label(phone: str, phone_set: str) -> tuple[str, ...]:
    """One aligned phone of ``phone_set`` -> labels of LABELS (two for an r-coloured espeak-ng vowel, none for
    TIMIT's glottal stop ``q`` or an espeak-ng modifier mark); a ``PhoneError`` for a phone the set lacks."""
    if phone.lower() in _SILENCE_NAMES or (phone_set == "espeak" and phone.startswith("_")):
        return (SILENCE,)
    if phone_set == "timit":
        if phone.lower() == "q":
            return ()
        if TIMIT_FOLD.get(phone.lower(), "") is None:
            return (SILENCE,)
        return tuple(fold_timit([phone]))
    if phone_set == "arpabet":
        return tuple(fold_arpabet([phone.upper()]))
    if phone_set == "espeak":
        return tuple(fold_espeak([phone]))
    raise ValueError(f"phone set {phone_set!r}: choose one of {', '.join(PHONE_SETS)}")


def _split(start: float, end: float, labels: tuple[str, ...]) -> list[Segment]:
    """A segment of several labels (``A@`` -> aa r) in equal parts."""
    step = (end - start) / len(labels)
    return [(start + i * step, start + (i + 1) * step, p) for i, p in enumerate(labels)]


def read_alignments(path: str | Path, phone_set: str = "timit") -> dict[str, list[Segment]]:
    """A phone alignment file: one segment a line, ``<utterance id> <start> <end> <phone>``, times in seconds
    from the start of the utterance's audio, whitespace-separated; blank lines and lines starting with ``#`` are
    skipped. Phones are ``phone_set``'s names (:func:`fold_label`): ``timit``, TIMIT's 61 phones or their 39
    folded classes (what ``.PHN`` files hold, in seconds); ``arpabet``, CMUdict's with or without stress digits
    (the Montreal Forced Aligner's phones); ``espeak``, espeak-ng's mnemonics. Silence names of every aligner
    (sil, sp, spn, pau, h#, the TIMIT closures, ...) are silence. The time between segments has no phone."""
    path = Path(path)
    if not path.is_file():
        raise AnalysisError(f"{path}: alignment file not found")
    out: dict[str, list[Segment]] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        where = f"{path}:{number}"
        if len(words) != 4:
            raise AnalysisError(f"{where}: expected '<utterance id> <start> <end> <phone>' (seconds), got "
                                f"{len(words)} fields")
        utt, start, end, phone = words
        try:
            start_s, end_s = float(start), float(end)
        except ValueError:
            raise AnalysisError(f"{where}: start and end must be numbers of seconds, got {start!r} {end!r}") from None
        if not (0 <= start_s <= end_s) or not math.isfinite(end_s):
            raise AnalysisError(f"{where}: the segment [{start}, {end}] must have 0 <= start <= end")
        try:
            labels = fold_label(phone, phone_set)
        except PhoneError as e:
            raise AnalysisError(f"{where}: {e} (phone set {phone_set}; pick another with --phone-set)") from None
        if labels and end_s > start_s:
            out.setdefault(utt, []).extend(_split(start_s, end_s, labels))
    return out


def synth_segments(events: Iterable[tuple[float, str]], end_s: float) -> list[Segment]:
    """The built-in corpus's phoneme events of one utterance (start in ms, espeak-ng mnemonic; each lasts until
    the next, the last until ``end_s``) -> segments. A pause (``_``, ``_:``) is silence; a mark folding to no
    phone (``;``, ``|``) belongs to the phone before it."""
    events = [(float(t) / 1000, str(p)) for t, p in events]
    out: list[Segment] = []
    for (start, phone), (end, _) in zip(events, [*events[1:], (end_s, "")]):
        end = min(end, end_s)
        if end <= start:
            continue
        stripped = phone.lstrip("',%=")
        labels = (SILENCE,) if stripped.startswith("_") else \
            () if not stripped or stripped in ESPEAK_DROP else tuple(fold_espeak([phone]))
        if not labels:
            if out and out[-1][1] == start:
                out[-1] = (out[-1][0], end, out[-1][2])
            continue
        out.extend(_split(start, end, labels))
    return out


def find_synth_metadata(audio_paths: Iterable[str]) -> Path | None:
    """The ``metadata`` folder of the built-in corpus that holds these audio files: the first one beside a
    folder above the first audio path."""
    for audio in audio_paths:
        for parent in Path(audio).resolve().parents:
            if (parent / "metadata").is_dir() and any((parent / "metadata").glob("*.jsonl")):
                return parent / "metadata"
        return None
    return None


def read_synth_alignments(metadata: str | Path, utterances: Mapping[str, float],
                          audio_paths: Iterable[str] = ()) -> dict[str, list[Segment]]:
    """Segments of the ``utterances`` (id -> seconds of audio) from the corpus's metadata: a ``.jsonl`` file or
    the ``metadata`` folder, whose files named after a folder on the ``audio_paths`` (``dev``, ``1h``) are read
    first, the others only for ids still missing."""
    metadata = Path(metadata)
    if metadata.is_dir():
        files = sorted(metadata.glob("*.jsonl"))
        if not files:
            raise AnalysisError(f"{metadata}: no <split>.jsonl files; give the metadata folder of a corpus made by "
                                "`asrkit prepare synth`")
        folders = {part for a in audio_paths for part in Path(a).parts}
        files.sort(key=lambda f: f.stem not in folders)
    elif metadata.is_file():
        files = [metadata]
    else:
        raise AnalysisError(f"{metadata}: metadata not found")
    out: dict[str, list[Segment]] = {}
    for f in files:
        for number, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as e:
                raise AnalysisError(f"{f}:{number}: not JSON ({e.msg})") from None
            utt = record.get("id") if isinstance(record, dict) else None
            if utt in utterances and utt not in out and record.get("phonemes"):
                try:
                    out[utt] = synth_segments(record["phonemes"], utterances[utt])
                except (PhoneError, TypeError, ValueError) as e:
                    raise AnalysisError(f"{f}:{number}: utterance {utt}: {e}") from None
        if len(out) == len(utterances):
            break
    return out


# ----------------------------------------------------------------------------------------------------
# frames, codes and their co-occurrence


def frame_labels(segments: list[Segment], num_frames: int, receptive_field: int, stride: int, sample_rate: int,
                 labels: tuple[str, ...] = LABELS) -> np.ndarray:
    """``(num_frames,)`` index into ``labels`` of the label most represented in each frame's receptive field,
    samples ``[t * stride, t * stride + receptive_field)``; a tie goes to the label at the window's centre, then
    to the first of ``labels``; -1 where no segment (of a label in ``labels``) overlaps the window."""
    index = {p: i for i, p in enumerate(labels)}
    kept = [(s * sample_rate, e * sample_rate, index[p]) for s, e, p in segments if p in index]
    out = np.full(num_frames, -1, dtype=np.int64)
    if not kept or num_frames == 0:
        return out
    starts, ends, ids = (np.array(v) for v in zip(*kept))
    lo = np.arange(num_frames, dtype=np.float64)[:, None] * stride
    overlap = np.clip(np.minimum(lo + receptive_field, ends[None]) - np.maximum(lo, starts[None]), 0, None)  # (T, S)
    per_label = np.zeros((num_frames, len(labels)))
    np.add.at(per_label, (slice(None), ids), overlap)
    centre = lo + receptive_field / 2
    at_centre = np.zeros_like(per_label)
    np.add.at(at_centre, (slice(None), ids), ((starts[None] <= centre) & (centre < ends[None])).astype(np.float64))
    top = per_label.max(axis=1, keepdims=True)
    tied = (per_label > 0) & (per_label >= top - 1e-6)  # times in seconds make overlaps fractional samples
    best = np.argmax(tied * (1 + np.minimum(at_centre, 1)), axis=1)
    return np.where(top[:, 0] > 0, best, out)


def combine_groups(indices: torch.Tensor, num_vars: int) -> torch.Tensor:
    """``(..., G)`` entries chosen per codebook -> ``(...)`` one code: ``g1 * V + g2`` for G = 2."""
    code = torch.zeros(indices.shape[:-1], dtype=torch.long, device=indices.device)
    for g in range(indices.size(-1)):
        code = code * num_vars + indices[..., g].long()
    return code


@torch.no_grad()
def utterance_codes(model: Wav2Vec2Model, wav: torch.Tensor) -> torch.Tensor:
    """Waveform ``(L,)`` -> ``(T,)`` codes of the model's quantizer (in eval mode: argmax per group)."""
    z, _ = model.feature_encoder(wav[None])
    _, features = model.feature_projection(z)
    q = model.quantizer(features)
    return combine_groups(q.indices[0], model.quantizer.num_vars)


def cooccurrence(codes: np.ndarray, labels: np.ndarray, num_labels: int) -> tuple[np.ndarray, np.ndarray]:
    """Frames' codes and label indices -> the codes seen (ascending) and their ``(codes, num_labels)`` counts."""
    seen, row = np.unique(np.asarray(codes, dtype=np.int64), return_inverse=True)
    counts = np.zeros((len(seen), num_labels), dtype=np.int64)
    np.add.at(counts, (row.reshape(-1), np.asarray(labels, dtype=np.int64)), 1)
    return seen, counts


def _entropy(p: np.ndarray) -> float:
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


def code_phone_statistics(counts: np.ndarray) -> dict[str, float]:
    """Numbers of a ``(codes, phones)`` count matrix, in bits: ``phone_purity`` (sum over codes of the count of
    their most frequent phone, over all frames: the frame-weighted mean of max_p P(p | code)), ``code_purity``
    (the same across phones), ``phone_entropy`` H(phone), ``conditional_entropy`` H(phone | code),
    ``mutual_information`` I(code; phone) = H(phone) - H(phone | code), ``pnmi`` I / H(phone), ``code_entropy``
    H(code) and ``code_perplexity`` 2^H(code)."""
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum()
    if total <= 0:
        raise AnalysisError("no frame has both a code and a phone")
    joint = counts / total
    p_code, p_phone = counts.sum(axis=1) / total, counts.sum(axis=0) / total
    h_phone, h_joint, h_code = _entropy(p_phone), _entropy(joint.ravel()), _entropy(p_code)
    h_cond = max(h_joint - h_code, 0.0)
    mi = max(h_phone - h_cond, 0.0)
    return {
        "phone_purity": float(counts.max(axis=1).sum() / total),
        "code_purity": float(counts.max(axis=0).sum() / total),
        "phone_entropy": h_phone,
        "conditional_entropy": h_cond,
        "mutual_information": mi,
        "pnmi": mi / h_phone if h_phone > 0 else 0.0,
        "code_entropy": h_code,
        "code_perplexity": 2.0**h_code,
    }


def heldout_purity(fit: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray], num_labels: int
                   ) -> float:
    """Phone purity on frames the code-to-phone map was not counted on: the share of ``test``'s (codes, labels)
    frames whose phone is their code's most frequent phone in ``fit`` (the most frequent phone of ``fit`` for a
    code it lacks). Purity counted on the frames it is measured on rises with the codes used (a code seen once is
    pure); this does not."""
    seen, counts = cooccurrence(*fit, num_labels)
    codes, labels = (np.asarray(a, dtype=np.int64) for a in test)
    pos = np.clip(np.searchsorted(seen, codes), 0, len(seen) - 1)
    known = seen[pos] == codes
    predicted = np.where(known, counts.argmax(axis=1)[pos], counts.sum(axis=0).argmax())
    return float((predicted == labels).mean()) if len(labels) else float("nan")


def figure_order(counts: np.ndarray) -> np.ndarray:
    """Row order of ``(codes, labels)`` counts for the figure: by the label each code co-occurs with most (labels
    in their order), then by how much of the code's frames that label takes, highest first."""
    totals = np.maximum(counts.sum(axis=1), 1)
    top = counts.argmax(axis=1)
    share = counts[np.arange(len(counts)), top] / totals
    return np.lexsort((-share, top))


# ----------------------------------------------------------------------------------------------------
# the analysis


@dataclass
class CodesResult:
    summary: dict  # what summary.json holds
    counts_tsv: Path
    figure: Path
    summary_json: Path
    missing: list[str] = field(default_factory=list)  # utterances without alignment


def _resolve_device(name: str) -> str:
    return ("cuda" if torch.cuda.is_available() else "cpu") if name == "auto" else name


def _load_quantizing_model(checkpoint: str | Path, device: str) -> tuple[Wav2Vec2Model, typing.Any]:
    model, ckpt = load_model(checkpoint, kinds=("pretrain",), device=device)
    if not isinstance(model, Wav2Vec2Model):
        raise AnalysisError(f"{checkpoint}: an audio-visual pre-trained model has no quantizer; give a wav2vec 2.0, "
                            "SEW or SEW-D pre-training checkpoint")
    return model, ckpt


def analyze_codes(checkpoint: str | Path, manifest: str | Path, out_dir: str | Path, *,
                  alignments: str | Path | None = None, phone_set: str = "timit", metadata: str | Path | None = None,
                  top: int = TOP_CODES, silence: bool = True, device: str = "cpu",
                  progress: typing.Callable[[str, int, int], None] | None = None) -> CodesResult:
    """Codes of the pre-trained ``checkpoint`` on the ``manifest``'s utterances against their phones: from the
    ``alignments`` file (``phone_set`` names), else from the built-in corpus's ``metadata`` (found above the
    audio files when not given). Writes to ``out_dir``: ``code_phone_counts.tsv`` (a row per code seen, most
    frequent first: the code, its codebook entries, its frames and its frames per label), ``p_phone_given_code.png``
    (Figure 3 for the ``top`` most frequent codes) and ``summary.json``. Utterances without alignment are counted
    and listed, not an error; a checkpoint that is no pre-trained model with a quantizer is a ``CheckpointError``
    or an ``AnalysisError``."""
    device = _resolve_device(device)
    model, ckpt = _load_quantizing_model(checkpoint, device)
    cfg = ckpt.model_config
    df = read_manifest(manifest)
    if not len(df):
        raise AnalysisError(f"{manifest}: no utterances")
    seconds = {utt: n / rate for utt, n, rate in zip(df["id"], df["num_samples"], df["sample_rate"])}
    if alignments is not None:
        segments = read_alignments(alignments, phone_set)
        source = f"{alignments} ({phone_set} phones)"
    else:
        found = Path(metadata) if metadata is not None else find_synth_metadata(df["audio"])
        if found is None:
            raise AnalysisError(f"{manifest}: its audio is not in a corpus made by `asrkit prepare synth` (no "
                                "metadata/ folder above it); give --alignments or --metadata")
        segments = read_synth_alignments(found, seconds, df["audio"])
        source = f"{found} (espeak-ng phoneme events)"
    labels = LABELS if silence else LABELS[:-1]  # silence is the last label
    receptive, stride = model.feature_encoder.receptive_field, model.feature_encoder.downsample_rate
    rate = cfg.sample_rate
    all_codes, all_labels, missing, short = [], [], [], []
    frames_total = frames_unlabelled = frames_silent = 0
    # a row that is a segment of its file (Kaldi segments): ``offset`` samples in, alignment times from there
    offsets = df["offset"].astype(int) if "offset" in df.columns else [0] * len(df)
    for utt, audio, offset, num_samples in zip(df["id"], df["audio"], offsets, df["num_samples"]):
        if progress:
            progress("utterances", 1, len(df))
        if utt not in segments:
            missing.append(utt)
            continue
        wav = read_audio(audio, sample_rate=rate, offset=offset, num_frames=num_samples if offset else -1)
        if len(wav) < receptive:
            short.append(utt)
            continue
        if cfg.normalize:
            wav = normalize_waveform(wav)
        codes = utterance_codes(model, wav.to(device)).cpu().numpy()
        lab = frame_labels(segments[utt], len(codes), receptive, stride, rate)  # silence competes for the frame
        frames_total += len(codes)
        frames_unlabelled += int((lab < 0).sum())
        if not silence:  # then the frames silence wins are left out, not given to a phone they hold less of
            frames_silent += int((lab == LABELS.index(SILENCE)).sum())
            lab[lab == LABELS.index(SILENCE)] = -1
        all_codes.append(codes[lab >= 0])
        all_labels.append(lab[lab >= 0])
    if not all_codes or not sum(len(c) for c in all_codes):
        raise AnalysisError(f"{manifest}: no frame of its {len(df)} utterances has a phone ({len(missing)} without "
                            f"alignment in {source})")
    seen, counts = cooccurrence(np.concatenate(all_codes), np.concatenate(all_labels), len(labels))
    stats = code_phone_statistics(counts)
    if len(all_codes) >= 2:  # two-fold over utterances (even, odd), weighted by frames
        halves = [(np.concatenate(all_codes[k::2]), np.concatenate(all_labels[k::2])) for k in (0, 1)]
        sizes = [len(h[1]) for h in halves]
        stats["heldout_phone_purity"] = (heldout_purity(halves[0], halves[1], len(labels)) * sizes[1]
                                         + heldout_purity(halves[1], halves[0], len(labels)) * sizes[0]) / sum(sizes)

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    order = np.argsort(-counts.sum(axis=1), kind="stable")
    groups, num_vars = model.quantizer.num_groups, model.quantizer.num_vars
    counts_tsv = write_counts(out_dir / "code_phone_counts.tsv", seen[order], counts[order], labels, groups, num_vars)
    shown = order[:top]
    frames = int(counts.sum())
    share = counts[shown].sum() / frames
    title = (f"P(phone | code): the {len(shown)} most frequent of {len(seen)} codes ({share:.0%} of {frames:,} frames)"
             f"\n{Path(checkpoint).name} ({ckpt.num_updates} updates): phone purity "
             f"{stats['phone_purity']:.3f}" + (f" (held out {stats['heldout_phone_purity']:.3f})"
                                               if "heldout_phone_purity" in stats else "")
             + f", PNMI {stats['pnmi']:.3f}")
    figure = plot_code_phone(counts[shown], seen[shown], labels, out_dir / "p_phone_given_code.png", title)
    summary = {
        "checkpoint": str(checkpoint), "num_updates": ckpt.num_updates, "manifest": str(manifest),
        "alignments": source, "silence": silence,
        "code": f"one code per frame: the argmax entries of the {groups} codebooks of {num_vars} as one index "
                f"(g1 * V + g2 for G = 2), of {num_vars ** groups}",
        "codebooks": groups, "entries_per_codebook": num_vars,
        "receptive_field_samples": receptive, "stride_samples": stride, "sample_rate": rate,
        "utterances": len(df), "utterances_analysed": len(df) - len(missing) - len(short),
        "utterances_without_alignment": len(missing), "without_alignment": missing[:20],
        "utterances_too_short": len(short),
        "frames": frames_total, "frames_with_phone": frames,
        "frames_without_phone": frames_unlabelled,  # outside every segment
        "frames_silent_left_out": frames_silent,  # with silence off
        "codes_used": int(len(seen)), "codes_possible": num_vars**groups,
        "top_codes": len(shown), "top_codes_frame_share": float(share),
        **stats,
    }
    summary_json = out_dir / "summary.json"
    summary_json.write_text(json.dumps(summary, indent=2) + "\n")
    return CodesResult(summary, counts_tsv, figure, summary_json, missing)


def write_counts(path: Path, codes: np.ndarray, counts: np.ndarray, labels: tuple[str, ...], groups: int,
                 num_vars: int) -> Path:
    """The count matrix as a TSV: ``code``, ``entries`` (the codebook entry of each group, comma-separated),
    ``frames``, then one column per label."""
    lines = ["\t".join(("code", "entries", "frames", *labels))]
    for code, row in zip(codes, counts):
        entries = [(int(code) // num_vars ** (groups - 1 - g)) % num_vars for g in range(groups)]
        lines.append("\t".join((str(int(code)), ",".join(map(str, entries)), str(int(row.sum())), *map(str, row))))
    path.write_text("\n".join(lines) + "\n")
    return path


def plot_code_phone(counts: np.ndarray, codes: np.ndarray, labels: tuple[str, ...], out_png: str | Path,
                    title: str = "") -> Path:
    """Figure 3 of the paper: P(phone | code) for the ``(codes, labels)`` counts, codes along x ordered by the
    phone they co-occur with most (:func:`figure_order`), phones along y in ``labels``' order, their classes
    marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_png = Path(out_png)
    order = figure_order(counts)
    probs = (counts[order] / np.maximum(counts[order].sum(axis=1, keepdims=True), 1)).T  # (labels, codes)
    width = min(max(7.5, 0.09 * len(order) + 3.5), 24.0)
    fig, ax = plt.subplots(figsize=(width, 7.0))
    image = ax.imshow(probs, aspect="auto", cmap="viridis", vmin=0, vmax=1, interpolation="nearest")
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    ax.set_xlabel(f"the {len(order)} most frequent codes, by the phone they co-occur with most")
    ax.set_ylabel("phone")
    if len(order) <= 60:
        ax.set_xticks(range(len(order)), [str(int(c)) for c in codes[order]], rotation=90, fontsize=6)
    else:
        ax.set_xticks([])
    row = 0
    for name, members in PHONE_CLASSES.items():
        n = sum(p in labels for p in members)
        if not n:
            continue
        if row:
            ax.axhline(row - 0.5, color="white", linewidth=0.6)
        ax.text(1.01, 1 - (row + n / 2) / len(labels), name, transform=ax.transAxes, fontsize=7, va="center")
        row += n
    fig.colorbar(image, ax=ax, fraction=0.03, pad=min(0.13, 1.0 / width), label="P(phone | code)")  # past the names
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    out_png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_png, dpi=110)
    plt.close(fig)
    return out_png
