"""Reading audio: soundfile for decoding, torchaudio only when resampling is asked for.

wav2vec 2.0 §2: "The raw waveform input to the encoder is normalized to zero mean and
unit variance" (fairseq ``task.normalize``; True for LARGE, False for BASE on LibriSpeech).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
import torch

# Hz: LibriSpeech's rate, hence wav2vec 2.0's and every named config's. The one default; a model's own rate
# travels in its config and checkpoints (asrkit.models.wav2vec2.Wav2Vec2Config.sample_rate).
SAMPLE_RATE = 16000


class AudioError(ValueError):
    """A file that cannot be used as audio; the message names the file and what to do."""


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
    try:
        with sf.SoundFile(str(path)) as f:
            file_rate = f.samplerate
            if offset:
                f.seek(offset)
            data = f.read(frames=num_frames, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError) as e:
        raise AudioError(f"{path}: cannot decode audio ({e}); re-encode it or drop the utterance") from e
    if data.shape[1] != 1:
        raise AudioError(f"{path}: has {data.shape[1]} channels, expected mono; downmix it first")
    wav = torch.from_numpy(np.ascontiguousarray(data[:, 0]))
    if sample_rate is None:
        return wav
    if file_rate != sample_rate and not resample:
        raise AudioError(
            f"{path}: sample rate {file_rate} Hz, expected {sample_rate} Hz; "
            "resample the corpus or enable resampling (resample: true)"
        )
    source_rate = round(file_rate * speed)
    if source_rate != sample_rate:
        import torchaudio.functional as AF  # only needed here

        wav = AF.resample(wav, source_rate, sample_rate)
    return wav


def normalize_waveform(wav: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Zero mean, unit variance over time (wav2vec 2.0 §2; fairseq uses F.layer_norm)."""
    return torch.nn.functional.layer_norm(wav, wav.shape[-1:], eps=eps)
