"""The one asrkit checkpoint format: what a checkpoint holds, how it is written, how it is read.

A checkpoint is a ``torch.save``d dict of plain data (tensors, numbers, strings, lists, dicts), so it
is read with ``torch.load(..., weights_only=True)``: opening a checkpoint someone sends you never runs
code. Every checkpoint asrkit reads goes through here, fairseq's too (``load_fairseq_checkpoint``: safe
unless the user trusts the file with ``--trust-checkpoint``). Its keys::

    format: "asrkit", version: 2
    kind: "pretrain" | "midtrain" | "ctc" | "superb" | "lm"
    model_config: the full config of the model (the encoder's, for ctc), including the input it was trained
        on (``sample_rate``, ``normalize``): a ``Wav2Vec2Config`` (wav2vec 2.0, SEW, SEW-D) or an ``AVConfig``
        (the audio-visual model; a ctc model on its Conformer audio encoder), told apart by ``model_type``
    tokens: the output tokens of a ctc model, blank first; the vocabulary of an lm
    task: metadata of the run (its resolved config), or where an imported model came from
    model: the state dict
    trainer: optimizer, scheduler, grad scaler, sampler position, RNG states, counters and an
        interrupted accumulation window; absent from imported checkpoints

``read_checkpoint`` returns that as a typed ``Checkpoint``; ``load_encoder`` and ``load_model`` build
the models. Checkpoints written before this format (asrkit e44333c: the run config under ``config``, a
CTC model's encoder config under ``config["encoder"]``, numpy's RNG state as an array) are read too.

Writing is crash-safe: a checkpoint goes to a temporary file in the same directory, is flushed and
fsync'ed, then renamed over its final name (atomic on POSIX), and the directory is fsync'ed. The
``checkpoint_last.pt`` and ``checkpoint_best.pt`` names are hard links to a numbered checkpoint,
replaced by rename, never written by copying; only the ``keep_last`` newest numbered checkpoints are
kept (``best`` keeps its data through its own link). A process killed mid-save leaves at most a stray
``*.tmp`` behind, and the previous checkpoint intact; a save that fails (a full disk) removes its temporary
file and is a ``CheckpointWriteError`` saying so.
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import errno
import os
import random
import re
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from .config import ConfigError, to_dict
from .models.av import AVConfig
from .models.factory import (ENCODER_PREFIX, build_model, ctc_model, encoder_model, model_config_from_dict,
                             wav2vec2_model)
from .models.seq2seq import DecoderConfig, EncoderDecoderModel, TransformerDecoder
from .models.transformer_lm import transformer_lm
from .models.wav2vec2 import Wav2Vec2Config, Wav2Vec2Model

FORMAT, VERSION = "asrkit", 2
KINDS = {  # kind -> what it is and what writes it, for error messages
    "pretrain": "a pre-trained encoder (asrkit pretrain or import-checkpoint)",
    "midtrain": "a mid-trained speech-translation model (asrkit midtrain)",
    "ctc": "a fine-tuned CTC model (asrkit finetune)",
    # model_config: the frozen upstream's; model: the downstream's weights only; task: the run's config, naming
    # the upstream checkpoint
    "superb": "a SUPERB downstream model on a frozen upstream (asrkit superb)",
    # model_config: a TransformerLMConfig; tokens: the LM's vocabulary (words or sentencepiece units)
    "lm": "a Transformer language model (asrkit lm train --type transformer)",
}
ENCODER_KINDS = ("pretrain", "midtrain", "ctc")  # the kinds that hold an encoder's weights
HEADS = ("quantizer.", "final_proj.")  # pre-training heads: fine-tuning drops them, imports may lack them
LAST, BEST = "checkpoint_last.pt", "checkpoint_best.pt"
_NUMBERED = re.compile(r"checkpoint_(\d+)\.pt$")
_LEGACY_TRAINER_KEYS = ("optimizer", "scheduler", "scaler", "sampler", "rng", "num_updates", "epoch", "best",
                        "nonfinite_in_a_row", "accum")


class CheckpointError(ConfigError):
    """A file that cannot be used as the checkpoint asked for; the message names the file and what to do."""


# ----------------------------------------------------------------------------------------------------
# what a checkpoint holds


@dataclass(frozen=True)
class Checkpoint:
    path: Path
    kind: str  # one of KINDS
    model_config: Wav2Vec2Config | AVConfig  # of the model; of its encoder for ctc
    model: dict[str, Tensor]  # state dict
    tokens: tuple[str, ...] = ()  # ctc output tokens, blank first
    task: dict = field(default_factory=dict)  # the run's resolved config, or where an import came from
    trainer: dict | None = None  # what resuming needs; None for imported checkpoints

    @property
    def num_updates(self) -> int:
        return int(self.trainer.get("num_updates", 0)) if self.trainer else 0


def checkpoint_header(kind: str, model_config: Wav2Vec2Config | AVConfig, *, tokens: Iterable[str] = (),
                      task: Mapping | None = None) -> dict:
    """The part of a checkpoint that describes it; add ``model`` (and ``trainer``) and save."""
    if kind not in KINDS:
        raise ValueError(f"checkpoint kind {kind!r}: choose one of {', '.join(KINDS)}")
    return {"format": FORMAT, "version": VERSION, "kind": kind, "model_config": to_dict(model_config),
            "tokens": list(tokens), "task": dict(task or {})}


# ----------------------------------------------------------------------------------------------------
# safe reading


class _LegacyStats:
    """What e44333c pickled as ``asrkit.train.loop._Stats`` into a checkpoint saved mid-accumulation: its
    ``sums`` and ``weights`` dicts. Unpickled as this plain class, whose construction runs no code."""

    sums: dict
    weights: dict


def _numpy_globals() -> list:
    """numpy arrays, scalars and dtypes, as pickled by numpy 1 (``numpy.core``) and 2 (``numpy._core``): their
    reconstruction builds an array or a number from bytes and runs no other code."""
    try:
        from numpy._core import multiarray
    except ImportError:  # numpy 1
        from numpy.core import multiarray
    dtypes = {type(np.dtype(t)) for t in (np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16,
                                           np.uint32, np.uint64, np.float16, np.float32, np.float64)}
    return [np.ndarray, np.dtype, *dtypes,
            *((getattr(multiarray, f), f"{m}.multiarray.{f}") for f in ("_reconstruct", "scalar")
              for m in ("numpy.core", "numpy._core"))]


def _legacy_globals() -> list:
    """What checkpoints of e44333c pickled besides plain data: numpy's RNG state array (its functions moved
    from ``numpy.core`` to ``numpy._core`` in numpy 2) and the trainer's statistics."""
    return [*_numpy_globals(), (_LegacyStats, "asrkit.train.loop._Stats")]


def _fairseq_globals() -> list:
    """What a fairseq checkpoint of the ``args`` era holds besides plain data: its options as an
    ``argparse.Namespace`` (unpickled by setting attributes, no code of the class runs) and numpy numbers in
    its ``extra_state``. Hydra-era checkpoints hold an omegaconf ``DictConfig``, which is not on this list."""
    return [argparse.Namespace, *_numpy_globals()]


def _global_name(g) -> str:
    return g[1] if isinstance(g, tuple) else f"{g.__module__}.{g.__qualname__}"


class _NeedsUnpickling(CheckpointError):
    """A torch file whose pickle holds globals (``refused``) that ``weights_only`` loading does not accept."""

    def __init__(self, path: Path, refused: list[str]):
        self.path, self.refused = path, refused
        super().__init__(f"{path}: refused to load: it holds Python objects ({', '.join(refused[:3])}) that could "
                         "run code when unpickled")


def _safe_load(path: Path, allowed: list, map_location: str | torch.device = "cpu",
               expected: str = "one written by asrkit (pretrain, finetune, import-checkpoint)") -> Any:
    """``torch.load(path, weights_only=True)`` with the globals ``allowed``. A file whose pickle holds others is
    a ``_NeedsUnpickling`` listing them, one that is no torch file a ``CheckpointError`` saying so (``expected``:
    what to give instead); nothing in the file runs either way."""
    if not path.exists():
        raise CheckpointError(f"{path}: checkpoint not found")
    if path.is_dir():
        raise CheckpointError(f"{path}: is a directory; give the checkpoint file (e.g. {path / BEST})")
    try:
        with torch.serialization.safe_globals(allowed):
            return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # noqa: BLE001 - torch reports every failure alike; tell the two cases apart
        refused = _refused_globals(path, e, allowed)
        if refused:
            raise _NeedsUnpickling(path, refused) from e
        raise CheckpointError(f"{path}: cannot load checkpoint: it is corrupt or not a torch checkpoint "
                              f"({type(e).__name__}); give {expected}") from e


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict:
    """The raw dict of an asrkit checkpoint, unpickled with ``weights_only=True``: a file holding anything
    but plain data (a function, an object whose unpickling would run code) is refused without running it."""
    path = Path(path)
    try:
        state = _safe_load(path, _legacy_globals(), map_location)
    except _NeedsUnpickling as e:
        raise CheckpointError(f"{e}, and asrkit checkpoints hold none; convert fairseq/transformers weights with "
                              "`asrkit import-checkpoint`") from e
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: not an asrkit checkpoint (holds a {type(state).__name__}, not a dict)")
    return state


def load_fairseq_checkpoint(path: str | Path, *, trust: bool = False) -> dict:
    """The dict of a fairseq checkpoint (``{"cfg" | "args", "model", ...}``). Read with ``weights_only=True``
    and the few harmless globals of ``_fairseq_globals``; a file that needs more (an omegaconf config, or
    anything that could run code) is unpickled fully only when ``trust`` is given (``--trust-checkpoint``)."""
    path = Path(path)
    try:
        state = _safe_load(path, _fairseq_globals(), expected="a fairseq wav2vec 2.0 .pt file")
    except _NeedsUnpickling as e:
        if not trust:
            raise CheckpointError(f"{path}: refused to unpickle: it holds Python objects "
                                  f"({', '.join(e.refused[:3])}) that run code when unpickled; only pass "
                                  "--trust-checkpoint for a file from a source you trust (fairseq's own releases)"
                                  ) from e
        try:
            state = torch.load(path, map_location="cpu", weights_only=False)
        except ModuleNotFoundError as e2:
            raise CheckpointError(f"{path}: unpickling it needs the Python package {e2.name!r}, which is not "
                                  f"installed (fairseq's hydra-era checkpoints need `pip install omegaconf`)") from e2
        except Exception as e2:  # noqa: BLE001 - whatever the pickle's own code raised
            raise CheckpointError(f"{path}: cannot unpickle it: {type(e2).__name__}: "
                                  f"{str(e2).strip().splitlines()[0] if str(e2).strip() else ''}") from e2
    if not isinstance(state, dict) or not isinstance(state.get("model"), Mapping) or \
            (state.get("cfg") is None and state.get("args") is None):
        keys = sorted(map(str, state))[:6] if isinstance(state, dict) else type(state).__name__
        raise CheckpointError(f"{path}: not a fairseq checkpoint (no 'model' weights with a 'cfg' or 'args'; holds "
                              f"{keys}); give a fairseq wav2vec 2.0 .pt file, or use --from hf for a transformers "
                              "directory")
    return state


_UNSUPPORTED_GLOBAL = re.compile(r"GLOBAL ([\w.]+)")


def _refused_globals(path: Path, error: BaseException, allowed: list) -> list[str]:
    """The globals of the pickle at ``path`` that are not ``allowed``, read from its opcodes (nothing is
    executed); for a file that is no torch zip checkpoint (torch's legacy format, a bare pickle), the one
    that ``error`` names; [] when there are none."""
    names = []
    try:
        names = torch.serialization.get_unsafe_globals_in_checkpoint(path)
    except Exception:  # noqa: BLE001 - not a zip checkpoint
        for e in (error, error.__cause__, error.__context__):
            if e is not None:
                names += _UNSUPPORTED_GLOBAL.findall(str(e))
    names = list(dict.fromkeys(names))
    return [n for n in names if n not in {_global_name(g) for g in allowed}]


def read_checkpoint(path: str | Path, kinds: Iterable[str] = ENCODER_KINDS, *,
                    map_location: str | torch.device = "cpu") -> Checkpoint:
    """The typed checkpoint at ``path``, which must be of one of ``kinds`` (old layouts included)."""
    path = Path(path)
    state = load_checkpoint(path, map_location)
    ckpt = _from_state(path, state) if state.get("format") == FORMAT else _from_legacy_state(path, state)
    kinds = tuple(kinds)
    if ckpt.kind not in kinds:
        wanted = " or ".join(KINDS[k] for k in kinds)
        raise CheckpointError(f"{path}: {KINDS[ckpt.kind]}, but this needs {wanted}")
    return ckpt


def _model_config(path: Path, values: Any, overrides: Mapping = {}) -> Wav2Vec2Config | AVConfig:
    if not isinstance(values, Mapping):
        raise CheckpointError(f"{path}: not an asrkit checkpoint (no model config); convert fairseq/transformers "
                              "weights with `asrkit import-checkpoint`")
    try:
        return model_config_from_dict({**values, **overrides})
    except (ConfigError, TypeError, ValueError) as e:
        raise CheckpointError(f"{path}: its model config is not valid for this asrkit: {e}") from e


def _from_state(path: Path, state: dict) -> Checkpoint:
    if state.get("version", 0) > VERSION:
        raise CheckpointError(f"{path}: checkpoint format version {state['version']} is newer than this asrkit "
                              f"reads ({VERSION}); upgrade asrkit")
    if state.get("kind") not in KINDS or not isinstance(state.get("model"), Mapping):
        raise CheckpointError(f"{path}: damaged asrkit checkpoint (kind {state.get('kind')!r}, model weights "
                              f"{'present' if isinstance(state.get('model'), Mapping) else 'missing'})")
    return Checkpoint(path, state["kind"], _model_config(path, state.get("model_config")), dict(state["model"]),
                      tuple(state.get("tokens") or ()), dict(state.get("task") or {}), state.get("trainer"))


def _from_legacy_state(path: Path, state: dict) -> Checkpoint:
    """The layout of e44333c: trainer state at the top level, the run config under ``config``; a CTC
    model's encoder config under ``config["encoder"]``, the input settings under ``config["data"]``."""
    config = state.get("config")
    if not isinstance(config, Mapping) or not isinstance(state.get("model"), Mapping):
        raise CheckpointError(f"{path}: not an asrkit checkpoint (no model weights and config); convert "
                              "fairseq/transformers weights with `asrkit import-checkpoint`")
    kind = "ctc" if "encoder" in config else "pretrain"
    data = config.get("data") if isinstance(config.get("data"), Mapping) else {}
    inputs = {k: data[k] for k in ("sample_rate", "normalize") if k in data}
    model_config = _model_config(path, config.get("encoder" if kind == "ctc" else "model"), inputs)
    task = {k: v for k, v in config.items() if k not in ("encoder", "tokens")}
    if "imported_from" in state:
        task["imported_from"] = state["imported_from"]
    trainer = {k: state[k] for k in _LEGACY_TRAINER_KEYS if k in state} if "optimizer" in state else None
    stats = (trainer or {}).get("accum", {}) or {}
    if isinstance(stats.get("stats"), _LegacyStats):
        trainer["accum"] = {**stats, "stats": {"sums": stats["stats"].sums, "weights": stats["stats"].weights}}
    return Checkpoint(path, kind, model_config, dict(state["model"]), tuple(config.get("tokens") or ()), task,
                      trainer)


# ----------------------------------------------------------------------------------------------------
# models


def encoder_weights(ckpt: Checkpoint) -> dict[str, Tensor]:
    """The encoder's part of the checkpoint's weights, unprefixed: a CTC or ST model's ``encoder.*``, the AV
    model's ``audio_encoder.*``, a ``Wav2Vec2Model``'s all."""
    prefix = "encoder." if ckpt.kind in ("ctc", "midtrain") else ENCODER_PREFIX[type(ckpt.model_config)]
    if not prefix:
        return ckpt.model
    return {k.removeprefix(prefix): v for k, v in ckpt.model.items() if k.startswith(prefix)}


def load_encoder_weights(model: nn.Module, weights: Mapping[str, Tensor], source: str | Path) -> list[str]:
    """Load ``weights`` into a ``Wav2Vec2Model``; only the pre-training heads may be missing (fine-tuned and
    imported encoders lack them). Returns the missing keys; a misfit is a ``CheckpointError`` naming ``source``."""
    try:
        missing, unexpected = model.load_state_dict(dict(weights), strict=False)
    except RuntimeError as e:  # a shape mismatch: another architecture
        reason = str(e).strip().splitlines()[-1].strip()
        raise CheckpointError(f"{source}: weights do not fit the model: {reason}") from e
    misfit = [k for k in missing if not k.startswith(HEADS)]
    if misfit or unexpected:
        raise CheckpointError(f"{source}: weights do not fit the model (missing {misfit[:5]}, unexpected "
                              f"{unexpected[:5]})")
    return missing


def load_encoder(path: str | Path | Checkpoint, **config_changes: Any) -> tuple[nn.Module, Checkpoint]:
    """The encoder of a pretrain, midtrain or ctc checkpoint (or of an already read ``Checkpoint``), and the
    checkpoint: a ``Wav2Vec2Model`` with the pre-training heads it has, or the AV model's Conformer audio
    encoder (``ConformerEncoder``). ``config_changes`` replace fields of its config first (the fine-tuning
    dropouts and masking, say); heads the checkpoint lacks keep their initial values."""
    ckpt = path if isinstance(path, Checkpoint) else read_checkpoint(path)
    path = ckpt.path
    try:
        cfg = dataclasses.replace(ckpt.model_config, **config_changes)
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{path}: cannot apply {sorted(config_changes)} to its model config: {e}") from e
    model = encoder_model(cfg)
    load_encoder_weights(model, encoder_weights(ckpt), path)
    return model, ckpt


def load_model(path: str | Path, kinds: Iterable[str] = ENCODER_KINDS, device: str | torch.device = "cpu"
               ) -> tuple[nn.Module, Checkpoint]:
    """The whole model of the checkpoint's kind, in eval mode on ``device``: a ``Wav2Vec2Model`` for pretrain
    (``AudioVisualModel`` for an AV one), a ``CTCModel`` over ``ckpt.tokens`` for ctc, an
    ``EncoderDecoderModel`` for midtrain (its decoder config in the task's ``model.decoder``), a ``TransformerLM``
    for lm. ``kinds``: the kinds the caller accepts."""
    ckpt = read_checkpoint(path, kinds)
    if ckpt.kind == "ctc":
        if not ckpt.tokens:
            raise CheckpointError(f"{path}: CTC checkpoint without its token list; fine-tune again")
        # the task decoder's settings live in the fine-tuning config (a checkpoint from before them: linear)
        head = ckpt.task.get("model") if isinstance(ckpt.task.get("model"), dict) else {}
        model = ctc_model(encoder_model(ckpt.model_config), ckpt.model_config, len(ckpt.tokens),
                          **{k: head[k] for k in ("head", "head_layers", "head_dim", "head_dropout") if k in head})
    elif ckpt.kind == "midtrain":
        model = _st_model(ckpt)
    elif ckpt.kind == "lm":
        model = transformer_lm(ckpt.model_config)
    else:
        model = build_model(ckpt.model_config)
    try:
        model.load_state_dict(ckpt.model)
    except RuntimeError as e:
        reason = str(e).strip().splitlines()[-1].strip()
        raise CheckpointError(f"{path}: weights do not fit its own model config: {reason}") from e
    return model.to(device).eval(), ckpt


def _st_model(ckpt: Checkpoint) -> EncoderDecoderModel:
    decoder_values = (ckpt.task.get("model") or {}).get("decoder")
    if not ckpt.tokens or not isinstance(decoder_values, dict):
        raise CheckpointError(f"{ckpt.path}: midtrain checkpoint without its target tokens or decoder config; "
                              "mid-train again")
    try:
        decoder_cfg = DecoderConfig.from_dict(decoder_values)
    except ConfigError as e:
        raise CheckpointError(f"{ckpt.path}: its decoder config does not load: {e}") from e
    encoder = encoder_model(ckpt.model_config)
    ctc = ckpt.model.get("ctc.weight")
    decoder = TransformerDecoder(decoder_cfg, len(ckpt.tokens), encoder_dim=decoder_cfg.embed_dim)
    return EncoderDecoderModel(encoder, encoder.embed_dim, decoder, ctc_vocab_size=0 if ctc is None else len(ctc))


def write_imported_checkpoint(source: str | Path, kind: str, out: str | Path, *, trust: bool = False
                              ) -> tuple[Wav2Vec2Model, list[str]]:
    """Convert fairseq or transformers weights (``asrkit.models.checkpoint_import``; ``kind`` hf or fairseq)
    into a pretrain checkpoint at ``out``; returns the model and the keys left at their initial values.

    A fairseq file is read by ``load_fairseq_checkpoint``: safely, unless ``trust`` lets it unpickle what
    could run code. An asrkit checkpoint given as fairseq's is recognised by the safe loader first.
    """
    from .models.checkpoint_import import import_fairseq_wav2vec2, load_hf_directory

    if kind == "fairseq":
        try:
            read_checkpoint(source)
        except CheckpointError:
            pass  # not asrkit's: import it as fairseq's
        else:
            raise CheckpointError(f"{source}: already an asrkit checkpoint; give it to finetune, decode or benchmark "
                                  "as it is")
        cfg, weights = import_fairseq_wav2vec2(load_fairseq_checkpoint(source, trust=trust))
    elif kind == "hf":
        cfg, weights = load_hf_directory(source)
    else:
        raise ValueError(f"unknown checkpoint kind {kind!r}; use 'hf' or 'fairseq'")
    model = wav2vec2_model(cfg)
    unexpected = model.load_state_dict(weights, strict=False).unexpected_keys
    if unexpected:
        raise CheckpointError(f"{source}: weights asrkit has no place for: {', '.join(unexpected[:10])}")
    missing = sorted(set(model.state_dict()) - set(weights))
    task = {"imported_from": {"kind": kind, "source": str(source)}}
    atomic_save({**checkpoint_header("pretrain", cfg, task=task), "model": model.state_dict()}, out)
    return model, missing


# ----------------------------------------------------------------------------------------------------
# RNG state as plain data


def rng_state() -> dict:
    """Every RNG a training step draws from, so a resumed run continues bit for bit; numpy's state as a
    tensor, so that the checkpoint loads with ``weights_only``."""
    name, keys, pos, has_gauss, cached_gaussian = np.random.get_state()
    state = {"python": random.getstate(), "torch": torch.get_rng_state(),
             "numpy": {"bit_generator": name, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                       "has_gauss": int(has_gauss), "cached_gaussian": float(cached_gaussian)}}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Restore ``rng_state()`` (or the tuple layout of older checkpoints for numpy)."""
    random.setstate(state["python"])
    numpy_state = state["numpy"]
    if isinstance(numpy_state, Mapping):
        numpy_state = (numpy_state["bit_generator"], numpy_state["keys"].numpy().astype(np.uint32),
                       numpy_state["pos"], numpy_state["has_gauss"], numpy_state["cached_gaussian"])
    np.random.set_state(numpy_state)
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


# ----------------------------------------------------------------------------------------------------
# crash-safe writing


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class CheckpointWriteError(CheckpointError):
    """A checkpoint that could not be written (a full disk, say); whatever was at its path is left as it was
    and no temporary file remains."""

    def __init__(self, path: Path, error: OSError, then: str = "rerun"):
        self.path, self.error = path, error
        reason = error.strerror or str(error)
        if error.errno in (errno.ENOSPC, errno.EDQUOT):
            try:
                reason += f", {shutil.disk_usage(path.parent).free / 2**20:.0f} MB free"
            except OSError:
                pass
            todo = f"free space on {path.parent} and {then}"
        else:
            todo = f"fix that and {then}"
        super().__init__(f"{path}: could not be written ({reason}); {todo}")


def _os_error(error: BaseException) -> OSError | None:
    """The ``OSError`` behind ``error``: itself, or what torch's zip writer turned into a ``RuntimeError``."""
    while error is not None:
        if isinstance(error, OSError):
            return error
        error = error.__cause__ or error.__context__
    return None


def atomic_save(obj: Any, path: str | Path, *, then: str = "rerun") -> Path:
    """``torch.save`` to ``path`` so that readers only ever see a complete file. A write that fails (a full
    disk) is a ``CheckpointWriteError`` saying what to do (``then``: after freeing space); the file that was
    at ``path`` stays as it was and no temporary file is left."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except (OSError, RuntimeError) as e:
        cause = _os_error(e)
        if cause is None:
            raise
        raise CheckpointWriteError(path, cause, then) from e
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
    return path


def _link_atomic(target: Path, link: Path) -> None:
    """Point ``link`` at ``target``'s data: hard link under a temp name, then rename."""
    tmp = link.with_name(f".{link.name}.{os.getpid()}.lnk")
    if tmp.exists():
        tmp.unlink()
    try:
        os.link(target, tmp)
        os.replace(tmp, link)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def numbered_checkpoints(exp_dir: str | Path) -> list[Path]:
    """``checkpoint_<step>.pt`` files, oldest first."""
    found = [(int(m.group(1)), p) for p in Path(exp_dir).glob("checkpoint_*.pt") if (m := _NUMBERED.search(p.name))]
    return [p for _, p in sorted(found)]


def save_checkpoint(state: dict, exp_dir: str | Path, step: int, *, is_best: bool = False, keep_last: int = 3,
                    keep_steps: Iterable[int] = ()) -> Path:
    """Write ``checkpoint_<step>.pt``, point ``last`` (and ``best``) at it, prune old ones but the ``keep_last``
    newest and those of ``keep_steps``. A write that fails (a full disk) is a ``CheckpointWriteError`` that says
    the previous checkpoint is intact and how to resume."""
    exp_dir = Path(exp_dir)
    previous = f"the previous checkpoint {exp_dir / LAST} is intact" if (exp_dir / LAST).exists() else \
        "no earlier checkpoint was written"
    then = f"rerun the same command to resume ({previous})"
    path = atomic_save(state, exp_dir / f"checkpoint_{step}.pt", then=then)
    try:
        _link_atomic(path, exp_dir / LAST)
        if is_best:
            _link_atomic(path, exp_dir / BEST)
        _fsync_dir(exp_dir)
    except OSError as e:
        raise CheckpointWriteError(exp_dir / LAST, e, then) from e
    kept = {f"checkpoint_{k}.pt" for k in keep_steps}
    for old in numbered_checkpoints(exp_dir)[:-keep_last] if keep_last > 0 else []:
        if old.name not in kept:
            old.unlink()  # ``last``/``best`` are hard links: their data stays
    return path
