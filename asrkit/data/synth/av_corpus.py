"""Three synthetic audio-visual pre-training sets, laid out like LRS3, VoxCeleb2 and Kinetics-600.

Issue 19, "Three pre-training sets mirroring the paper's data composition" (notes §1.5: Kinetics-600
non-speech activity, VoxCeleb2 multilingual noisy speech with faces, LRS3 clean TED speech). Every clip
is one mp4 with H.264 video and AAC audio (16 kHz mono) inside, as the real corpora ship them, written
by :func:`asrkit.data.synth.mp4.write_mp4`; faces come from :mod:`.face`, action clips from
:mod:`.sound_events`. Frames are 96 x 96 at 25 fps (:data:`.face.SIZE`, AV-HuBERT's mouth crop)::

    <root>/lrs3/pretrain/<talk>/<NNNNN>.mp4 + .txt     clean English speech, the grammar's sentences
    <root>/lrs3/trainval/<talk>/...  <root>/lrs3/test/<talk>/...   (test talks held out)
    <root>/voxceleb2/dev/mp4/idNNNNN/<youtube id>/<NNNNN>.mp4      speech in babble / noise at
    <root>/voxceleb2/test/mp4/...                                  0-12 dB SNR, other accents, 30 %
    <root>/voxceleb2/vox2_meta.csv                                 of speakers Italian/German/Spanish/French
    <root>/kinetics/<split>/<class>/<ytid>_<start:06d>_<end:06d>.mp4   no speech: action clips
    <root>/kinetics/annotations/<split>.csv      label,youtube_id,time_start,time_end,split
    <root>/<set>/metadata/<split>.jsonl          text, language, voice, speaker, appearance,
                                                 phoneme and word times (ms), noise, events
    <root>/synth_av_config.yaml

LRS3's ``.txt`` is ``Text:  WORDS`` and ``Conf:  3``; in ``pretrain`` also a blank line, the header
``WORD START END ASDSCORE`` and one line per word with start and end in seconds (from espeak's word
events; a word ends where the next begins, the last where the final pause begins). VoxCeleb2's
``vox2_meta.csv`` keeps the real file's quirks: ``VoxCeleb2 ID ,VGGFace2 ID ,Gender ,Set `` (a space
before every comma and at the end). Real Kinetics downloads are incomplete; so are ours: in the
training split :attr:`AVSynthConfig.kinetics_no_audio` clips have no audio stream,
:attr:`~AVSynthConfig.kinetics_silent` an all-zero audio track, and
:attr:`~AVSynthConfig.kinetics_missing` annotation rows have no file (defaults 3, 3, 2).

Default sizes (:class:`AVSynthConfig`): LRS3 720 pretrain + 120 trainval + 128 test clips (60 + 8 talks),
VoxCeleb2 360 dev + 96 test clips (40 + 8 speakers), Kinetics 240 train + 60 val clips of 4 s (5 classes);
1.2 h in all. On 2 otherwise idle cores (2 workers) 600 clips of these sets took 69 s (0.115 s a clip), so the
defaults take about 3.5 minutes; ``synth_av_config.yaml`` records the sizes used.

Determinism as in :mod:`.corpus`: everything is planned in the parent from ``random.Random`` seeded per
set; a worker renders a planned clip from seeds derived from its id (espeak-ng in a forked child,
numpy generators for faces, noise and actions), so the same config gives byte-identical files
whatever the number of workers. Workers import no torch.
"""
from __future__ import annotations

import json
import multiprocessing as mp
import random
import string
import zlib
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ...config import check_ranges
from ..audio import SAMPLE_RATE
from .corpus import (FINETUNE_DIR, LANGUAGES, VARIANTS, _pool_errors, _single_threaded_blas, _synthesize, _worker_init,
                     _write_atomic)
from .espeak import Voice
from .face import FPS, SIZE, make_appearance, talking_face
from .grammar import sample_utterance
from .sound_events import CLASSES, action_clip

SETS = ("lrs3", "voxceleb2", "kinetics")
LRS3_LANGUAGES = ("en-us", "en", "en-gb-x-rp")  # TED talks: mostly American and British speakers
OTHER_LANGUAGES = ("it", "de", "es", "fr")  # VoxCeleb2 is multilingual; Italian speaks the grammar's translation
SIMPLE_TEXT = {  # what the German, Spanish and French speakers say: short home-assistant requests
    "de": ("mach das licht in der küche an", "wie spät ist es", "wie wird das wetter morgen", "spiel etwas musik",
           "stell einen wecker für sieben uhr", "schalte den fernseher aus", "ruf meine mutter an",
           "wie viel grad sind es draußen", "öffne die garage", "lies mir die nachrichten vor"),
    "es": ("enciende la luz de la cocina", "qué hora es", "qué tiempo hará mañana", "pon algo de música",
           "pon una alarma a las siete", "apaga la televisión", "llama a mi madre", "cuántos grados hace fuera",
           "abre la puerta del garaje", "léeme las noticias"),
    "fr": ("allume la lumière de la cuisine", "quelle heure est-il", "quel temps fera-t-il demain",
           "mets de la musique", "mets un réveil à sept heures", "éteins la télévision", "appelle ma mère",
           "quelle température fait-il dehors", "ouvre la porte du garage", "lis-moi les nouvelles"),
}
YT_CHARS = string.ascii_letters + string.digits + "-_"


@dataclass(frozen=True)
class AVSynthConfig:
    """Sizes of the three synthetic AV sets (defaults: 1724 clips, 1.2 h, ~3.5 minutes on 2 cores)."""

    seed: int = 0
    # LRS3: pretrain for training, trainval (the same talks: a dev set of seen speakers, as AV-HuBERT holds out
    # part of trainval) and test (unseen talks); held-out sets of >= 120 clips give retrieval batches of 32
    lrs3_pretrain_clips: int = 720
    lrs3_trainval_clips: int = 120
    lrs3_test_clips: int = 128
    lrs3_train_talks: int = 60  # pretrain and trainval share talks, as in LRS3
    lrs3_test_talks: int = 8
    vox_dev_clips: int = 360
    vox_test_clips: int = 96
    vox_dev_speakers: int = 40
    vox_test_speakers: int = 8
    vox_non_english: float = 0.3  # fraction of VoxCeleb2-like speakers in another language
    vox_snr_min: float = 0.0  # dB, speech to babble or noise
    vox_snr_max: float = 12.0
    kinetics_train_clips: int = 240
    kinetics_val_clips: int = 60
    kinetics_clip_seconds: int = 4  # real Kinetics clips are 10 s; shorter keeps generation in minutes
    kinetics_no_audio: int = 3  # training clips written without an audio stream
    kinetics_silent: int = 3  # training clips with an all-zero audio track
    kinetics_missing: int = 2  # training annotation rows whose clip was never "downloaded"
    frame_size: int = SIZE
    num_workers: int = 2

    def __post_init__(self) -> None:
        check_ranges(self, seed=">= 0", lrs3_pretrain_clips=">= 0", lrs3_trainval_clips=">= 0",
                     lrs3_test_clips=">= 0", lrs3_train_talks=">= 1", lrs3_test_talks=">= 1", vox_dev_clips=">= 0",
                     vox_test_clips=">= 0", vox_dev_speakers=">= 1", vox_test_speakers=">= 1",
                     vox_non_english="[0, 1]", vox_snr_min="any", vox_snr_max="any", kinetics_train_clips=">= 0",
                     kinetics_val_clips=">= 0", kinetics_clip_seconds=">= 1", kinetics_no_audio=">= 0",
                     kinetics_silent=">= 0", kinetics_missing=">= 0", frame_size=">= 16", num_workers=">= 1")
        if self.frame_size % 2:
            raise ValueError(f"frame_size must be even (yuv420p), got {self.frame_size}")
        if self.vox_snr_max < self.vox_snr_min:
            raise ValueError("vox_snr_max must be >= vox_snr_min")
        if self.kinetics_no_audio + self.kinetics_silent > self.kinetics_train_clips:
            raise ValueError("kinetics_no_audio + kinetics_silent exceed kinetics_train_clips")


@dataclass(frozen=True)
class AVSpeaker:
    id: str  # LRS3: the talk's 11-character YouTube id; VoxCeleb2: idNNNNN
    sex: str
    voice: Voice
    videos: tuple[str, ...] = ()  # VoxCeleb2: the speaker's YouTube ids
    vggface2: str = ""


@dataclass(frozen=True)
class AVClip:
    """One planned clip; a worker renders it (:func:`_render_clip`)."""

    set: str
    split: str
    path: str  # relative to the set's root, without extension
    seed: int
    speaker: AVSpeaker | None = None
    text: str = ""
    transcript: str = ""  # LRS3: upper-case words
    language: str = ""
    babble: tuple[tuple[str, Voice], ...] = ()  # VoxCeleb2: other talkers mixed in
    noise: str = ""  # "babble" | "noise" | "" (clean)
    snr_db: float = 0.0
    label: str = ""  # Kinetics class
    duration: float = 0.0  # Kinetics: seconds
    broken: str = ""  # "no_audio" | "silent" | "missing"
    extra: dict = field(default_factory=dict)


def _ytid(rng: random.Random) -> str:
    return "".join(rng.choice(YT_CHARS) for _ in range(11))


def _voice(rng: random.Random, language: str, used: set) -> tuple[Voice, str]:
    for _ in range(1000):
        sex = rng.choice("MF")
        variant = rng.choice(VARIANTS[sex])
        if (language, variant) not in used:
            used.add((language, variant))
            break
    return Voice(language, variant, rate=rng.randint(145, 195), pitch=rng.randint(25, 75),
                 pitch_range=rng.randint(30, 80)), sex


def _clip_seed(cfg: AVSynthConfig, name: str, path: str) -> int:
    return zlib.crc32(f"{cfg.seed}/{name}/{path}".encode())


# --------------------------------------------------------------------------------------
# Plans (parent process)
# --------------------------------------------------------------------------------------
def plan_lrs3(cfg: AVSynthConfig) -> list[AVClip]:
    rng = random.Random(f"lrs3-{cfg.seed}")
    used: set = set()
    talks = []
    for _ in range(cfg.lrs3_train_talks + cfg.lrs3_test_talks):
        voice, sex = _voice(rng, rng.choice(LRS3_LANGUAGES), used)
        talks.append(AVSpeaker(_ytid(rng), sex, voice))
    train, test = talks[:cfg.lrs3_train_talks], talks[cfg.lrs3_train_talks:]
    clips = []
    for split, n, pool in (("pretrain", cfg.lrs3_pretrain_clips, train), ("trainval", cfg.lrs3_trainval_clips, train),
                           ("test", cfg.lrs3_test_clips, test)):
        counter: dict[str, int] = {}
        for _ in range(n):
            spk = pool[rng.randrange(len(pool))]
            counter[spk.id] = counter.get(spk.id, 0) + 1
            path = f"{split}/{spk.id}/{counter[spk.id]:05d}"
            u = sample_utterance(rng)
            clips.append(AVClip("lrs3", split, path, _clip_seed(cfg, "lrs3", path), spk, u.english, u.transcript,
                                spk.voice.language))
    return clips


def plan_voxceleb2(cfg: AVSynthConfig) -> tuple[list[AVClip], list[AVSpeaker], list[str]]:
    rng = random.Random(f"voxceleb2-{cfg.seed}")
    used: set = set()
    n = cfg.vox_dev_speakers + cfg.vox_test_speakers
    ids = sorted(rng.sample(range(1, 10000), n))
    rng.shuffle(ids)
    speakers = []
    for i in ids:
        foreign = rng.random() < cfg.vox_non_english
        voice, sex = _voice(rng, rng.choice(OTHER_LANGUAGES if foreign else LANGUAGES), used)
        videos = tuple(_ytid(rng) for _ in range(rng.randint(2, 3)))
        speakers.append(AVSpeaker(f"id{i:05d}", sex, voice, videos, f"n{i + 100000:06d}"))
    subsets = ["dev"] * cfg.vox_dev_speakers + ["test"] * cfg.vox_test_speakers
    english = [s for s in speakers if s.voice.language.startswith("en")] or speakers
    clips = []
    for split, count in (("dev", cfg.vox_dev_clips), ("test", cfg.vox_test_clips)):
        pool = [s for s, sub in zip(speakers, subsets) if sub == split]
        counter: dict[tuple[str, str], int] = {}
        for _ in range(count):
            spk = pool[rng.randrange(len(pool))]
            video = rng.choice(spk.videos)
            counter[spk.id, video] = counter.get((spk.id, video), 0) + 1
            path = f"{split}/mp4/{spk.id}/{video}/{counter[spk.id, video]:05d}"
            lang = spk.voice.language
            u = sample_utterance(rng)
            if lang == "it":
                text = u.italian
            elif lang in SIMPLE_TEXT:
                text = rng.choice(SIMPLE_TEXT[lang])
                if rng.random() < 0.3:
                    text += ", " + rng.choice(SIMPLE_TEXT[lang])
            else:
                text = u.english
            noise = rng.choice(("babble", "babble", "noise"))
            babble = ()
            if noise == "babble":  # two or three other English talkers
                babble = tuple((sample_utterance(rng).english, rng.choice(english).voice)
                               for _ in range(rng.randint(2, 3)))
            snr = round(rng.uniform(cfg.vox_snr_min, cfg.vox_snr_max), 2)
            clips.append(AVClip("voxceleb2", split, path, _clip_seed(cfg, "voxceleb2", path), spk, text,
                                u.transcript if lang.startswith("en") else "", lang, babble, noise, snr))
    return clips, speakers, subsets


def plan_kinetics(cfg: AVSynthConfig) -> tuple[list[AVClip], list[AVClip]]:
    """(clips to render, annotation rows without a file)."""
    rng = random.Random(f"kinetics-{cfg.seed}")
    clips, missing = [], []
    for split, n in (("train", cfg.kinetics_train_clips), ("val", cfg.kinetics_val_clips)):
        extra = cfg.kinetics_missing if split == "train" else 0
        broken = [""] * n
        if split == "train":
            picks = rng.sample(range(n), cfg.kinetics_no_audio + cfg.kinetics_silent)
            for k, i in enumerate(picks):
                broken[i] = "no_audio" if k < cfg.kinetics_no_audio else "silent"
        for i in range(n + extra):
            label = CLASSES[rng.randrange(len(CLASSES))]
            start = rng.randrange(0, 300)
            end = start + cfg.kinetics_clip_seconds
            path = f"{split}/{label}/{_ytid(rng)}_{start:06d}_{end:06d}"
            clip = AVClip("kinetics", split, path, _clip_seed(cfg, "kinetics", path), label=label,
                          duration=float(cfg.kinetics_clip_seconds), broken=broken[i] if i < n else "missing",
                          extra={"time_start": start, "time_end": end, "youtube_id": path.split("/")[-1][:11]})
            (clips if i < n else missing).append(clip)
    return clips, missing


# --------------------------------------------------------------------------------------
# Workers: no torch here (see .corpus)
# --------------------------------------------------------------------------------------
def _speech(text: str, voice: Voice, seed: int):
    from .resample import resample

    syn = _synthesize(text, voice, seed)
    return resample(syn.samples.astype(np.float32) / 32768.0, syn.sample_rate, SAMPLE_RATE), syn


def _mix(clean: np.ndarray, clip: AVClip, rng: np.random.Generator) -> np.ndarray:
    """Speech plus babble (other talkers, looped to length) or coloured noise at ``clip.snr_db``."""
    n = len(clean)
    if clip.noise == "babble":
        other = np.zeros(n, np.float32)
        for k, (text, voice) in enumerate(clip.babble):
            wav, _ = _speech(text, voice, clip.seed + k + 1)
            wav = np.roll(np.resize(wav, n), int(rng.integers(n)))
            other += wav / max(1e-6, float(np.sqrt(np.mean(wav ** 2))))
    else:  # coloured noise: white noise with a 1/f^alpha power spectrum, alpha from 0 (white) to 1 (pink)
        spectrum = np.fft.rfft(rng.standard_normal(n))
        f = np.arange(len(spectrum)) + 1.0
        other = np.fft.irfft(spectrum * f ** (-rng.uniform(0.0, 1.0) / 2), n).astype(np.float32)
    p_speech = float(np.mean(clean ** 2)) + 1e-10
    p_other = float(np.mean(other ** 2)) + 1e-10
    mixed = clean + other * np.sqrt(p_speech / p_other / 10 ** (clip.snr_db / 10))
    peak = float(np.abs(mixed).max())
    return (mixed * (0.9 / peak) if peak > 0.9 else mixed).astype(np.float32)


def _word_times(text: str, syn, duration_ms: float) -> list[tuple[str, float, float]]:
    """(WORD, start s, end s) from espeak's word events: a word ends where the next starts, the last
    where the final pause starts."""
    pauses = [ms for ms, p in syn.phonemes if p.startswith("_")]
    last_end = min([ms for ms in pauses if ms > (syn.words[-1][0] if syn.words else 0)] or [duration_ms])
    spoken = text.upper().split()
    aligned = len(spoken) == len(syn.words)  # espeak's word lengths drop a trailing "'s": prefer the text's words
    out = []
    for k, (ms, pos, length) in enumerate(syn.words):
        end = syn.words[k + 1][0] if k + 1 < len(syn.words) else last_end
        word = spoken[k] if aligned else text[pos:pos + length].upper()
        if word.strip():
            out.append((word, ms / 1000, max(end, ms + 1) / 1000))
    return out


def _lrs3_txt(clip: AVClip, words) -> str:
    head = f"Text:  {clip.transcript}\nConf:  3\n"
    if clip.split != "pretrain":
        return head
    rng = random.Random(clip.seed)
    rows = "".join(f"{w} {s:.2f} {e:.2f} {rng.uniform(2.0, 9.0):.1f}\n" for w, s, e in words)
    return head + "\nWORD START END ASDSCORE\n" + rows


def _render_clip(args: tuple[Path, AVClip, int]) -> dict:
    """Render and write one clip; returns its metadata record."""
    from .mp4 import write_mp4

    root, clip, size = args
    rng = np.random.default_rng(clip.seed)
    path = root / clip.set / f"{clip.path}.mp4"
    record = {"id": clip.path, "path": f"{clip.path}.mp4", "split": clip.split}
    if clip.set == "kinetics":
        frames, audio, events = action_clip(clip.label, clip.duration, clip.seed, size, FPS, SAMPLE_RATE)
        if clip.broken == "silent":
            audio = np.zeros_like(audio)
        write_mp4(path, frames, FPS, None if clip.broken == "no_audio" else audio, SAMPLE_RATE)
        record.update(label=clip.label, events=events, broken=clip.broken, num_samples=0 if clip.broken ==
                      "no_audio" else len(audio), num_frames=len(frames), **clip.extra)
        return record
    clean, syn = _speech(clip.text, clip.speaker.voice, clip.seed)
    audio = _mix(clean, clip, rng) if clip.noise else clean
    duration = len(audio) / SAMPLE_RATE
    appearance = make_appearance(f"{clip.set}/{clip.speaker.id}")
    frames = talking_face(syn.phonemes, duration, appearance, seed=clip.seed, size=size)
    write_mp4(path, frames, FPS, audio, SAMPLE_RATE)
    words = _word_times(clip.text, syn, duration * 1000)
    if clip.set == "lrs3":
        _write_atomic(path.with_suffix(".txt"), _lrs3_txt(clip, words).encode())
    record.update(speaker=clip.speaker.id, language=clip.language, voice=asdict(clip.speaker.voice),
                  text=clip.text, transcript=clip.transcript, num_samples=len(audio), num_frames=len(frames),
                  phonemes=syn.phonemes, words=[[round(s * 1000), round(e * 1000), w] for w, s, e in words],
                  appearance=appearance.to_dict(), noise=clip.noise or None,
                  snr_db=clip.snr_db if clip.noise else None)
    return record


# --------------------------------------------------------------------------------------
def generate_av_corpus(root: str | Path, cfg: AVSynthConfig = AVSynthConfig(), sets=SETS,
                       progress=None) -> dict[str, dict]:
    """Write the chosen ``sets`` under ``root``; returns ``{"<set>/<split>": {hours, clips, speakers,
    broken}}`` (``speakers`` counts classes for Kinetics). ``progress(set, clips_done, clips_total)``."""
    root = Path(root)
    unknown = set(sets) - set(SETS)
    if unknown:
        raise ValueError(f"unknown set(s) {sorted(unknown)}; choose from {', '.join(SETS)}")
    plans: dict[str, list[AVClip]] = {}
    if "lrs3" in sets:
        plans["lrs3"] = plan_lrs3(cfg)
    if "voxceleb2" in sets:
        plans["voxceleb2"], vox_speakers, vox_subsets = plan_voxceleb2(cfg)
    if "kinetics" in sets:
        plans["kinetics"], missing = plan_kinetics(cfg)
    summary: dict[str, dict] = {}
    pool = ProcessPoolExecutor(cfg.num_workers, mp_context=mp.get_context("spawn"), initializer=_worker_init)
    with _single_threaded_blas(), _pool_errors(cfg), pool:
        for name, clips in plans.items():
            records: dict[str, list[str]] = {}
            for k, (clip, rec) in enumerate(zip(clips, pool.map(
                    _render_clip, [(root, c, cfg.frame_size) for c in clips], chunksize=2))):
                records.setdefault(clip.split, []).append(json.dumps(rec, sort_keys=True, ensure_ascii=False))
                s = summary.setdefault(f"{name}/{clip.split}", {"hours": 0.0, "clips": 0, "speakers": set(),
                                                                 "broken": 0})
                s["hours"] += rec["num_frames"] / FPS / 3600
                s["clips"] += 1
                s["speakers"].add(rec.get("speaker") or rec.get("label"))
                s["broken"] += bool(rec.get("broken"))
                if progress:
                    progress(name, k + 1, len(clips))
            if name == "kinetics":
                for clip in missing:
                    records.setdefault(clip.split, []).append(json.dumps(
                        {"id": clip.path, "path": f"{clip.path}.mp4", "split": clip.split, "label": clip.label,
                         "broken": "missing", **clip.extra}, sort_keys=True))
                    summary[f"kinetics/{clip.split}"]["broken"] += 1
                _write_kinetics_annotations(root / "kinetics", clips + missing)
            if name == "voxceleb2":
                _write_vox_meta(root / "voxceleb2", vox_speakers, vox_subsets)
            for split, lines in records.items():
                (root / name / "metadata").mkdir(parents=True, exist_ok=True)
                _write_atomic(root / name / "metadata" / f"{split}.jsonl", ("\n".join(lines) + "\n").encode())
    import yaml

    _write_atomic(root / "synth_av_config.yaml", yaml.safe_dump(asdict(cfg), sort_keys=False).encode())
    return {k: {**v, "speakers": len(v["speakers"])} for k, v in summary.items()}


def _write_kinetics_annotations(root: Path, clips: list[AVClip]) -> None:
    """``annotations/<split>.csv`` as Kinetics ships them: label,youtube_id,time_start,time_end,split."""
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    for split in sorted({c.split for c in clips}):
        rows = ["label,youtube_id,time_start,time_end,split"]
        for c in clips:
            if c.split == split:
                label = f'"{c.label}"' if "," in c.label else c.label
                rows.append(f"{label},{c.extra['youtube_id']},{c.extra['time_start']},{c.extra['time_end']},{split}")
        _write_atomic(root / "annotations" / f"{split}.csv", ("\n".join(rows) + "\n").encode())


def _write_vox_meta(root: Path, speakers: list[AVSpeaker], subsets: list[str]) -> None:
    """``vox2_meta.csv`` with the real file's spacing: ``id00012 ,n000012 ,m ,dev ``."""
    rows = ["VoxCeleb2 ID ,VGGFace2 ID ,Gender ,Set "]
    for s, subset in sorted(zip(speakers, subsets), key=lambda p: p[0].id):
        rows.append(f"{s.id} ,{s.vggface2} ,{s.sex.lower()} ,{subset} ")
    root.mkdir(parents=True, exist_ok=True)
    _write_atomic(root / "vox2_meta.csv", ("\n".join(rows) + "\n").encode())


# --------------------------------------------------------------------------------------
# Talking faces for the built-in corpus (``asrkit prepare synth --video``)
# --------------------------------------------------------------------------------------
def _face_for_utterance(args: tuple[str, str, list, int]) -> None:
    import soundfile as sf

    from .mp4 import write_mp4

    flac, speaker, phonemes, size = args
    audio, sr = sf.read(flac, dtype="float32")
    frames = talking_face(phonemes, len(audio) / sr, make_appearance(f"synth/{speaker}"),
                          seed=zlib.crc32(Path(flac).stem.encode()), size=size)
    write_mp4(Path(flac).with_suffix(".mp4"), frames, FPS, audio, sr)


def add_talking_faces(root: str | Path, num_workers: int = 2, size: int = SIZE, progress=None) -> int:
    """Write ``<id>.mp4`` (the talking face at 25 fps + the utterance's audio) next to every ``<id>.flac`` of
    the built-in corpus under ``root``, from ``metadata/<split>.jsonl``'s phoneme events and the speaker's
    :func:`~.face.make_appearance`. Returns the number of clips; ``progress(done, total)``."""
    root = Path(root)
    jobs = []
    for meta in sorted((root / "metadata").glob("*.jsonl")):
        # an id may be in two splits (test_unseen_engine and its telephone copy): each split's own files
        split_dir = root / (FINETUNE_DIR if meta.stem == "1h" else meta.stem)
        flacs = {p.stem: p for p in split_dir.rglob("*.flac")}
        for line in meta.read_text().splitlines():
            rec = json.loads(line)
            if rec["id"] in flacs:
                jobs.append((str(flacs[rec["id"]]), rec["speaker"], rec["phonemes"], size))
    cfg = AVSynthConfig(num_workers=num_workers)
    pool = ProcessPoolExecutor(num_workers, mp_context=mp.get_context("spawn"))
    with _single_threaded_blas(), _pool_errors(cfg), pool:
        for k, _ in enumerate(pool.map(_face_for_utterance, jobs, chunksize=4)):
            if progress:
                progress(k + 1, len(jobs))
    return len(jobs)
