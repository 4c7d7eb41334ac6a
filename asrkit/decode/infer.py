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

from ..data.datasets import AudioDataset
from ..data.samplers import BucketBatchSampler
from ..data.manifest import read_manifest
from ..data.tokenizer import TokenizerError
from ..models.heads import Wav2Vec2ForCTC
from ..models.factory import wav2vec2_model
from ..models.wav2vec2 import Wav2Vec2Config
from ..precision import autocast, resolve_precision
from ..train.checkpoint import load_checkpoint


@dataclass
class Emissions:
    ids: list[str]  # manifest order
    log_probs: list[torch.Tensor]  # (T_i, V) fp32 per utterance
    refs: list[str]  # reference transcripts (may be empty)
    speakers: list[str]


def load_ctc_checkpoint(path: str | Path, device: str = "cpu") -> tuple[Wav2Vec2ForCTC, list[str], dict]:
    """A fine-tuned asrkit checkpoint -> (model in eval mode, tokens, its config dict)."""
    state = load_checkpoint(path)
    config = state.get("config", {})
    if "tokens" not in config or "encoder" not in config:
        raise TokenizerError(f"{path}: not a fine-tuned CTC checkpoint (no token list); "
                             "decode the output of `asrkit finetune`")
    encoder = wav2vec2_model(Wav2Vec2Config.from_dict(config["encoder"]))
    model = Wav2Vec2ForCTC(encoder, len(config["tokens"]))
    model.load_state_dict(state["model"])
    return model.to(device).eval(), config["tokens"], config


@torch.no_grad()
def compute_emissions(model: Wav2Vec2ForCTC, manifest: str | Path, *, sample_rate: int = 16000,
                      normalize: bool = False, max_tokens: int = 1_600_000, precision: str = "fp32",
                      device: str = "cpu", progress: Callable[[int], None] | None = None) -> Emissions:
    """Log-probabilities for every utterance of ``manifest``, in manifest order."""
    df = read_manifest(manifest)
    ds = AudioDataset(df, sample_rate=sample_rate, normalize=normalize, seed=0)
    texts, speakers = dict(zip(df["id"], df["text"])), dict(zip(df["id"], df["speaker"]))
    # zero-length (or too short for one frame) audio cannot go through the encoder: empty emission
    receptive = model.encoder.feature_encoder.receptive_field
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
