"""Run a fine-tuned CTC model over a manifest: emissions for the decoders.

Emissions are computed once per manifest (batched by length, in the chosen precision) and
kept as fp32 log-probabilities, so tuning the LM weight and word score on dev re-runs only
the search, never the network.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from ..data.audio import AudioError
from ..data.datasets import AudioDataset
from ..data.manifest import ManifestError, read_manifest
from ..data.samplers import BucketBatchSampler
from ..models.fast import prepare_for_inference
from ..models.heads import CTCModel
from ..precision import autocast, resolve_precision


@dataclass
class Emissions:
    ids: list[str]  # manifest order
    log_probs: list[torch.Tensor]  # (T_i, V) fp32 per utterance
    refs: list[str]  # reference transcripts (may be empty)
    speakers: list[str]


def resolve_device(name: str) -> str:
    """``auto`` -> ``cuda`` when torch sees a GPU, else ``cpu``; any other name as given."""
    return ("cuda" if torch.cuda.is_available() else "cpu") if name == "auto" else name


def _check_sample_rates(df, manifest: str | Path, sample_rate: int) -> None:
    """Every utterance of manifest ``df`` is at ``sample_rate``, else an ``AudioError`` naming the first other one."""
    bad = df[df["sample_rate"] != sample_rate]
    if len(bad):
        row = bad.iloc[0]
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        raise AudioError(f"{manifest}: utterance {row['id']!r} ({row['audio']}) is at {row['sample_rate']} Hz{more}, "
                         f"but the model was trained on {sample_rate} Hz audio; pass --resample to resample it")


@torch.no_grad()
def compute_emissions(model: CTCModel, manifest: str | Path, *, resample: bool = False,
                      max_tokens: int = 1_600_000, precision: str = "fp32", device: str = "cpu",
                      progress: Callable[[int], None] | None = None) -> Emissions:
    """Log-probabilities for every utterance of ``manifest``, in manifest order.

    The audio is read as the model was trained (its config's ``sample_rate`` and ``normalize``); audio at
    another rate is an error unless ``resample`` is set.
    """
    model = prepare_for_inference(model, device)
    df = read_manifest(manifest)
    if len(df) == 0:
        raise ManifestError(f"{manifest}: lists no utterances (a header only); nothing to decode")
    if not resample:
        _check_sample_rates(df, manifest, model.sample_rate)
    ds = AudioDataset(df, sample_rate=model.sample_rate, resample=resample, normalize=model.normalize, seed=0,
                      source=manifest)
    texts, speakers = dict(zip(df["id"], df["text"])), dict(zip(df["id"], df["speaker"]))
    # zero-length (or too short for one frame) audio cannot go through the encoder: empty emission
    receptive = model.min_samples
    usable = [i for i, n in enumerate(ds.sizes) if n >= receptive]
    sampler = BucketBatchSampler([int(ds.sizes[i]) for i in usable], max(max_tokens, int(ds.sizes.max(initial=1))),
                                 shuffle=False)
    out: dict[str, torch.Tensor] = {}
    amp = autocast(resolve_precision(precision, device), device)
    for batch_idx in sampler:
        batch = ds.collate([ds[usable[j]] for j in batch_idx])
        with amp:
            log_probs, lengths = model(batch["source"].to(device), batch["padding_mask"].to(device))
        for utt, lp, n in zip(batch["ids"], log_probs.float().cpu(), lengths.cpu().tolist()):
            out[utt] = lp[:n].clone()
        if progress:
            progress(len(batch_idx))
    vocab = model.classifier.out_features
    ids = [str(u) for u in ds.ids]
    if progress and len(usable) < len(ids):
        progress(len(ids) - len(usable))
    return Emissions(ids, [out.get(u, torch.zeros(0, vocab)) for u in ids], [texts[u] for u in ids],
                     [speakers[u] for u in ids])
