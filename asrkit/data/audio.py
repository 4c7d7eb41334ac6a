"""Reading audio: soundfile for decoding, torchaudio only when resampling is asked for.

wav2vec 2.0 §2: "The raw waveform input to the encoder is normalized to zero mean and
unit variance" (fairseq ``task.normalize``; True for LARGE, False for BASE on LibriSpeech).
"""
from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import soundfile as sf

if TYPE_CHECKING:
    import torch  # imported where used: the file checks serve commands that never load torch

# Hz: LibriSpeech's rate, hence wav2vec 2.0's and every named config's. The one default; a model's own rate
# travels in its config and checkpoints (asrkit.models.wav2vec2.Wav2Vec2Config.sample_rate).
SAMPLE_RATE = 16000


class AudioError(ValueError):
    """A file that cannot be used as audio; the message names the file and what to do."""

    def __init__(self, message: str = ""):
        # a DataLoader worker's error comes back as AudioError("Caught AudioError in DataLoader worker process
        # 0.\nOriginal Traceback ...\nasrkit.data.audio.AudioError: <message>"): keep the one-line message
        if "\nOriginal Traceback" in message and "AudioError: " in message:
            message = message.rsplit("AudioError: ", 1)[1].strip()
        super().__init__(message)


def audio_file_problem(path: str | Path) -> str | None:
    """Why ``path`` cannot be opened as an audio file, or None. Only a regular file will do: opening a
    named pipe (FIFO) blocks until something writes to it, possibly forever, and a device never ends."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return "does not exist"
    except OSError as e:
        return f"cannot be read ({e.strerror})"
    if stat.S_ISREG(st.st_mode):
        return None
    if stat.S_ISDIR(st.st_mode):
        return "is a directory, not an audio file"
    kind = "a named pipe (FIFO)" if stat.S_ISFIFO(st.st_mode) else "a device or socket"
    return f"is {kind}, not a regular file (reading it could block forever)"


def check_audio_file(path: str | Path) -> None:
    """An :class:`AudioError` unless ``path`` is a regular file (see :func:`audio_file_problem`)."""
    problem = audio_file_problem(path)
    if problem is not None:
        raise AudioError(f"{path}: {problem}; fix the path or drop the utterance")


def resampling_advice(rate: int, sample_rate: int) -> str:
    """What to do about audio at ``rate`` Hz for a model or run at ``sample_rate`` Hz."""
    return (f"resample the corpus to {sample_rate} Hz (e.g. `sox IN -r {sample_rate} OUT` or "
            f"`ffmpeg -i IN -ar {sample_rate} OUT`) and regenerate its manifest, or decode it with "
            f"`asrkit decode --resample`; to train on {rate} Hz audio instead, set data.sample_rate: {rate}")


def read_audio(
    path: str | Path,
    *,
    sample_rate: int | None = None,
    offset: int = 0,
    num_frames: int = -1,
    resample: bool = False,
    speed: float = 1.0,
) -> torch.Tensor:
    """Decode ``path`` to a float32 mono waveform of shape ``(T,)`` in [-1, 1].

    ``offset``/``num_frames`` select a segment in samples of the file's own rate (Kaldi
    ``segments``). With ``sample_rate`` given, a file at another rate is an error unless
    ``resample`` is set, in which case torchaudio's band-limited resampler is used. ``speed``
    (with ``sample_rate``) plays the audio that many times faster, as sox's ``speed`` effect:
    the samples are resampled from ``round(file rate x speed)``, so tempo, pitch and formants
    scale together (speed perturbation).
    """
    path = Path(path)
    check_audio_file(path)
    try:
        with sf.SoundFile(str(path)) as f:
            file_rate = f.samplerate
            if sample_rate is not None and file_rate != sample_rate and not resample:
                raise AudioError(f"{path}: sample rate {file_rate} Hz, expected {sample_rate} Hz; "
                                 + resampling_advice(file_rate, sample_rate))
            if offset > f.frames:
                raise AudioError(f"{path}: has {f.frames} samples, cannot start reading at sample {offset}")
            if offset:
                f.seek(offset)
            data = f.read(frames=num_frames, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError) as e:
        raise AudioError(f"{path}: cannot decode audio ({e}); re-encode it or drop the utterance") from e
    if data.shape[1] != 1:
        raise AudioError(f"{path}: has {data.shape[1]} channels, expected mono; downmix it first")
    finite = np.isfinite(data[:, 0])
    if not finite.all():
        first = offset + int(np.argmin(finite))
        raise AudioError(f"{path}: sample {first} is {data[first - offset, 0]} ({int((~finite).sum())} NaN or "
                         "infinite samples); regenerate the audio or drop the utterance")
    import torch

    wav = torch.from_numpy(np.ascontiguousarray(data[:, 0]))
    if sample_rate is None:
        return wav
    source_rate = round(file_rate * speed)
    if source_rate != sample_rate:
        import torchaudio.functional as AF  # only needed here

        wav = AF.resample(wav, source_rate, sample_rate)
    return wav


def normalize_waveform(wav: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Zero mean, unit variance over time (wav2vec 2.0 §2; fairseq uses F.layer_norm)."""
    import torch

    return torch.nn.functional.layer_norm(wav, wav.shape[-1:], eps=eps)
