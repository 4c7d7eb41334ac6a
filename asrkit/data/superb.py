"""SUPERB's downstream tasks (Yang et al., 2021; s3prl ``downstream/``) as asrkit manifests: keyword spotting
(KS), intent classification (IC), phoneme recognition (PR) and speaker diarization (SD), the four tasks of the
multi-stage paper's Figure 2 (Jain et al., 2024; notes §2.7).

Every task reads ``<dir>/{train,dev,test}.tsv``: manifests of :mod:`asrkit.data.manifest` (``id audio
num_samples sample_rate duration speaker text``, ``offset`` in samples for a slice of a longer file) with the
task's columns after them:

==== ====================================================================================================
task columns
==== ====================================================================================================
ks   ``label``: one of 12 classes, 10 keywords + ``_unknown_`` + ``_silence_`` (Speech Commands v0.01, s3prl
     ``speech_commands``); a ``_silence_`` row is a 1 s slice (``offset``) of a background-noise file
ic   ``action``, ``object``, ``location``: Fluent Speech Commands' three slots (s3prl ``fluent_commands``:
     an utterance is right when all three are)
pr   ``phones``: space-separated phones of :data:`asrkit.data.phones.PHONES` (no silence: CTC has its blank)
sd   two-speaker mixtures; ``<split>.rttm`` beside ``<split>.tsv`` holds each mixture's speech segments as
     RTTM lines ``SPEAKER <id> 1 <start s> <duration s> <NA> <NA> <speaker> <NA> <NA>`` (LibriMix-style,
     s3prl ``diarization``); ``speaker`` is the mixture's speakers joined by ``,``
==== ====================================================================================================

Corpora into these manifests: the real ones (``local/prepare_speech_commands.py``,
``local/prepare_fluent_commands.py``, ``local/prepare_librispeech_phones.py``, ``local/prepare_librimix.py``,
through :mod:`asrkit.data.superb_corpora`), and the built-in analogs (``asrkit prepare synth-superb``), which
are written in the real corpora's layouts and read by the same code.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from .datasets import AudioDataset
from .manifest import ManifestError, read_manifest
from .phones import PHONES

TASKS = ("ks", "ic", "pr", "sd")
SPLITS = ("train", "dev", "test")
UNKNOWN, SILENCE = "_unknown_", "_silence_"
# Speech Commands v0.01's ten keywords (s3prl speech_commands: CLASSES), and the built-in corpus's: command
# words its grammar says (it never says yes, no or right)
SPEECH_COMMANDS_KEYWORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
SYNTH_KEYWORDS = ("on", "off", "up", "down", "stop", "go", "play", "pause", "open", "close")
IC_SLOTS = ("action", "object", "location")  # Fluent Speech Commands' columns


TASK_COLUMNS = {"ks": ("label",), "ic": IC_SLOTS, "pr": ("phones",), "sd": ()}
PHONE_TOKENS = ("<blank>", *PHONES)  # PR's CTC outputs: the blank first


def read_task_manifest(path: str | Path, task: str) -> pd.DataFrame:
    """A task's manifest, its task columns checked (:data:`TASK_COLUMNS`); SD's RTTM beside it must exist."""
    df = read_manifest(path)
    missing = [c for c in TASK_COLUMNS[task] if c not in df.columns]
    if missing:
        raise ManifestError(f"{path}: a {task.upper()} manifest needs the column(s) {', '.join(missing)} "
                            f"(asrkit.data.superb); prepare it with the task's local/prepare_*.py")
    if task == "sd" and not rttm_path(path).is_file():
        raise ManifestError(f"{path}: no {rttm_path(path).name} beside it (the reference speech segments of SD); "
                            "prepare it with local/prepare_librimix.py")
    return df


def rttm_path(manifest: str | Path) -> Path:
    """SD's reference segments: ``<split>.rttm`` beside ``<split>.tsv``."""
    return Path(manifest).with_suffix(".rttm")


def class_labels(df: pd.DataFrame, columns: Sequence[str]) -> list[list[str]]:
    """The classes of each label column, sorted (``_silence_``/``_unknown_`` among them)."""
    return [sorted(set(df[c])) for c in columns]


def label_ids(df: pd.DataFrame, columns: Sequence[str], classes: Sequence[Sequence[str]], where: str) -> np.ndarray:
    """``(U, len(columns))`` class indices; a class the training set never had is a ``ManifestError``."""
    out = np.zeros((len(df), len(columns)), dtype=np.int64)
    for j, (col, names) in enumerate(zip(columns, classes)):
        index = {n: i for i, n in enumerate(names)}
        for i, (utt, value) in enumerate(zip(df["id"], df[col])):
            if value not in index:
                raise ManifestError(f"{where}: utterance {utt!r}: {col} {value!r} is not a class of the training "
                                    f"set ({', '.join(names[:8])}{', ...' if len(names) > 8 else ''})")
            out[i, j] = index[value]
    return out


def phone_ids(df: pd.DataFrame, where: str) -> list[list[int]]:
    """PR targets: each row's ``phones`` as indices of :data:`PHONE_TOKENS`."""
    index = {p: i for i, p in enumerate(PHONE_TOKENS) if i > 0}
    out = []
    for utt, phones in zip(df["id"], df["phones"]):
        bad = [p for p in phones.split() if p not in index]
        if bad or not phones.split():
            raise ManifestError(f"{where}: utterance {utt!r}: "
                                + (f"phone {bad[0]!r} is not in asrkit.data.phones.PHONES" if bad else "no phones"))
        out.append([index[p] for p in phones.split()])
    return out


# ---------------------------------------------------------------------------------------------------------
# hidden states cached on disk


def cache_key(upstream: str | Path, manifest: str | Path, **settings) -> str:
    """A directory name for the features of ``upstream`` on ``manifest``: both files' paths, sizes and times,
    and ``settings`` (the upstream's initialisation, the sample rate); a changed file gets new features."""
    parts = []
    for p in (upstream, manifest):
        p = Path(p).resolve()
        st = p.stat()
        parts.append(f"{p}:{st.st_size}:{st.st_mtime_ns}")
    parts.append(json.dumps(settings, sort_keys=True))
    digest = hashlib.sha1("\n".join(parts).encode()).hexdigest()[:16]
    return f"{Path(manifest).stem}-{digest}"


class FeatureStore:
    """An upstream's hidden states of every utterance of a manifest, in one float16 array on disk.

    ``states.npy``: ``(frames of all utterances, S, D)``; ``index.tsv``: ``id``, ``start``, ``frames`` per
    utterance; ``meta.json``: shapes and what made them. Written into ``<dir>.tmp`` and renamed when complete,
    so a directory that exists is whole; read through a memory map."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        meta = self.path / "meta.json"
        if not meta.is_file():
            raise ManifestError(f"{self.path}: not a feature cache (no meta.json); delete it to extract again")
        try:
            self.meta = json.loads(meta.read_text(encoding="utf-8"))
            index = pd.read_csv(self.path / "index.tsv", sep="\t", dtype={"id": str}, keep_default_na=False)
            self.ids = index["id"].to_numpy(str)
            self.starts = index["start"].to_numpy(np.int64)
            self.frames = index["frames"].to_numpy(np.int64)
            self.states = np.load(self.path / "states.npy", mmap_mode="r")
            if len(self.states) != int(self.frames.sum()):
                raise ValueError(f"{len(self.states)} frames of states, the index says {int(self.frames.sum())}")
        except (OSError, ValueError, KeyError, pd.errors.ParserError, pd.errors.EmptyDataError) as e:
            raise ManifestError(f"{self.path}: damaged feature cache ({type(e).__name__}: {e}); delete it to extract "
                                "again") from None

    def __getitem__(self, i: int) -> torch.Tensor:
        """``(S, T, D)`` float32 states of utterance ``i``."""
        s = self.starts[i]
        return torch.from_numpy(np.array(self.states[s : s + self.frames[i]], dtype=np.float32)).transpose(0, 1)

    @staticmethod
    def write(path: str | Path, ids: Sequence[str], frames: Sequence[int], num_states: int, dim: int,
              fill: Callable[[Callable[[int, np.ndarray], None]], None], meta: dict) -> FeatureStore:
        """Create the store at ``path``: ``fill(put)`` calls ``put(i, states)`` with the ``(T_i, S, D)`` states of
        utterance ``i`` (``frames[i]`` frames), in any order, each once."""
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        frames = np.asarray(frames, dtype=np.int64)
        starts = np.concatenate([[0], np.cumsum(frames)[:-1]]).astype(np.int64)
        states = np.lib.format.open_memmap(tmp / "states.npy", mode="w+", dtype=np.float16,
                                           shape=(int(frames.sum()), num_states, dim))
        done = np.zeros(len(frames), dtype=bool)

        def put(i: int, x: np.ndarray) -> None:
            if x.shape != (frames[i], num_states, dim):
                raise ValueError(f"utterance {ids[i]!r}: states of shape {x.shape}, expected "
                                 f"{(int(frames[i]), num_states, dim)}")
            states[starts[i] : starts[i] + frames[i]] = x
            done[i] = True

        fill(put)
        if not done.all():
            raise ValueError(f"{int((~done).sum())} utterances got no states")
        states.flush()
        del states
        pd.DataFrame({"id": ids, "start": starts, "frames": frames}).to_csv(tmp / "index.tsv", sep="\t", index=False)
        (tmp / "meta.json").write_text(json.dumps({**meta, "num_states": num_states, "dim": dim}, indent=1),
                                       encoding="utf-8")
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
        return FeatureStore(path)


# ---------------------------------------------------------------------------------------------------------
# datasets


class SuperbDataset(torch.utils.data.Dataset):
    """A task's utterances with their labels, as waveforms (an ``AudioDataset``: the upstream runs in the
    training step) or as cached hidden states (a ``FeatureStore``).

    Items and batches carry ``ids``, ``lengths`` (samples) and either ``source``/``padding_mask`` or
    ``states`` ``(N, S, T, D)`` with ``frames`` ``(N,)``; then the task's labels: ``labels`` ``(N, slots)``
    (KS, IC), ``target``/``target_lengths`` (PR, CTC), or ``activity`` ``(N, T, speakers)`` with ``frames``
    (SD, frame labels at the upstream's rate).

    Args:
        audio: the utterances (its ``ids``, ``sizes`` and ``sample_rate`` are this dataset's).
        labels: utterance id -> its label (a row of ``label_ids``, a list of phone ids, or an SD
            ``(frames, speakers)`` tensor).
        store: cached states of the same utterances (by id), or None.
    """

    def __init__(self, audio: AudioDataset, labels: dict, store: FeatureStore | None = None):
        self.audio, self.labels, self.store = audio, labels, store
        self.sample_rate = audio.sample_rate
        keep = np.ones(len(audio.ids), dtype=bool)
        self._store_index = None
        if store is not None:
            # unreadable when extracted (skip_bad): no states, left out
            keep = ~np.isin(audio.ids, np.asarray(store.meta.get("skipped", []), dtype=str))
            position = {u: i for i, u in enumerate(store.ids)}
            missing = [u for u in audio.ids[keep] if u not in position]
            if missing:
                raise ManifestError(f"{store.path}: the feature cache lacks utterance {missing[0]!r}; delete it to "
                                    "extract again")
            self._store_index = np.array([position[u] for u in audio.ids[keep]], dtype=np.int64)
        self.ids, self.sizes = audio.ids[keep], audio.sizes[keep]

    def __len__(self) -> int:
        return len(self.ids)

    def set_epoch(self, epoch: int) -> None:
        self.audio.set_epoch(epoch)

    def __getitem__(self, index: int) -> dict:
        utt = str(self.ids[index])
        if self.store is not None:
            item = {"index": index, "id": utt, "states": self.store[int(self._store_index[index])]}
        else:
            item = self.audio[index]
            if "error" in item:
                return item
        item["label"] = self.labels[utt]
        return item

    def collate(self, items: list[dict]) -> dict:
        if self.store is None:
            batch = self.audio.collate(items)
            items = [it for it in items if "error" not in it]
        else:
            n, t = len(items), max(it["states"].size(1) for it in items)
            s, d = items[0]["states"].shape[0], items[0]["states"].shape[2]
            states = torch.zeros(n, s, t, d)
            for i, it in enumerate(items):
                states[i, :, : it["states"].size(1)] = it["states"]
            batch = {"ids": [it["id"] for it in items], "states": states,
                     "frames": torch.tensor([it["states"].size(1) for it in items]),
                     "lengths": torch.tensor([int(self.sizes[it["index"]]) for it in items]), "skipped": []}
        labels = [it["label"] for it in items]
        if labels and isinstance(labels[0], np.ndarray):  # KS, IC
            batch["labels"] = torch.as_tensor(np.stack(labels))
        elif labels and torch.is_tensor(labels[0]):  # SD frame activity
            t = max(len(x) for x in labels)
            activity = torch.zeros(len(labels), t, labels[0].size(1))
            for i, x in enumerate(labels):
                activity[i, : len(x)] = x
            batch["activity"] = activity
            batch["label_frames"] = torch.tensor([len(x) for x in labels])
        else:  # PR phone ids
            lengths = torch.tensor([len(x) for x in labels], dtype=torch.long)
            target = torch.zeros(len(labels), int(lengths.max()) if labels else 0, dtype=torch.long)
            for i, x in enumerate(labels):
                target[i, : len(x)] = torch.as_tensor(x)
            batch["target"], batch["target_lengths"] = target, lengths
        return batch
