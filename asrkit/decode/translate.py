"""``asrkit decode --task st``: a mid-trained speech-translation model over a manifest, scored with sacrebleu.

Utterances are batched by length (:class:`~asrkit.data.samplers.BucketBatchSampler`), encoded once in the chosen
precision, and searched by the batched beam search of :mod:`.seq2seq` (fairseq's length normalisation
``score / len ** len_penalty``; at most ``max_len_a * S + max_len_b`` tokens for ``S`` encoder frames). The token
ids become text by the sentencepiece convention (pieces joined, ``▁`` a space), from the checkpoint's own token
list, so no tokenizer file is needed. Output in manifest order: ``hyp.txt`` and ``ref.txt`` (one sentence per
line, what sacrebleu reads), ``hyp.trn`` (sclite form), ``scores.tsv``, ``bleu.yaml`` (BLEU and chrF with their
signatures) and ``decode.yaml``.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import torch
import yaml

from ..checkpoint import load_model
from ..data.datasets import AudioDataset
from ..data.manifest import ManifestError, read_manifest
from ..data.samplers import BucketBatchSampler
from ..precision import autocast, resolve_precision
from ..score.bleu import bleu_chrf, format_scores
from . import write_hyp_trn, write_scores_tsv
from .infer import _check_sample_rates, resolve_device
from .seq2seq import beam_search

SPACE = "\u2581"  # sentencepiece's word-boundary mark


def detokenize(tokens: list[str], ids) -> str:
    """Token ids -> text as sentencepiece decodes: pieces joined, ``▁`` read as a space."""
    return "".join(tokens[i] for i in ids).replace(SPACE, " ").strip()


@torch.no_grad()
def translate_manifest(checkpoint: str | Path, manifest: str | Path, out_dir: str | Path, opts, *,
                       progress: Callable[[str, int, int], None] | None = None, log=print) -> dict:
    """Translate ``manifest`` with the ``midtrain`` checkpoint; returns ``{"utterances", "bleu", "chrf",
    "bleu_signature", "chrf_signature"}`` (the scores only when the manifest has translations)."""
    if opts.lm or opts.lexicon or opts.tune:
        raise ValueError("--lm, --lexicon and --tune are for CTC decoding (--task asr); translation decodes with "
                         "its own decoder")
    device = resolve_device(opts.device)
    model, ckpt = load_model(checkpoint, kinds=("midtrain",), device=device)
    tokens = list(ckpt.tokens)
    eos, pad = len(tokens) - 1, 0
    df = read_manifest(manifest)
    if len(df) == 0:
        raise ManifestError(f"{manifest}: lists no utterances (a header only); nothing to decode")
    encoder = model.encoder
    rate = ckpt.model_config.sample_rate
    if not opts.resample:
        _check_sample_rates(df, manifest, rate)
    ds = AudioDataset(df, sample_rate=rate, resample=opts.resample,
                      normalize=bool(getattr(ckpt.model_config, "normalize", False)), seed=0, source=manifest)
    usable = [i for i, n in enumerate(ds.sizes) if n >= encoder.min_samples]
    sampler = BucketBatchSampler([int(ds.sizes[i]) for i in usable], max(opts.max_tokens, int(ds.sizes.max())),
                                 shuffle=False)
    amp = autocast(resolve_precision(opts.precision, device), device)
    texts: dict[str, str] = {}
    scores: dict[str, float] = {}
    for batch_idx in sampler:
        batch = ds.collate([ds[usable[j]] for j in batch_idx])
        with amp:
            x, x_padding = model.encode(batch["source"].to(device), batch["padding_mask"].to(device))
            memory = model.memory(x)
        hyps = beam_search(model.decoder, memory.float(), x_padding, beam=opts.beam_size, max_len_a=opts.max_len_a,
                           max_len_b=opts.max_len_b, max_len=model.decoder.cfg.max_target_positions - 1,
                           len_penalty=opts.len_penalty, bos=eos, eos=eos, pad=pad)
        for utt, nbest in zip(batch["ids"], hyps):
            texts[utt] = detokenize(tokens, nbest[0].tokens) if nbest else ""
            scores[utt] = float(nbest[0].score) if nbest else float("-inf")
        if progress:
            progress("translate", len(batch_idx), len(ds))
    ids = [str(u) for u in ds.ids]
    hyps = [texts.get(u, "") for u in ids]
    refs_by_id = dict(zip(df["id"], df["translation"])) if "translation" in df.columns else {}
    refs = [str(refs_by_id.get(u, "")) for u in ids]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "hyp.txt").write_text("".join(h + "\n" for h in hyps), encoding="utf-8")
    write_hyp_trn(out_dir / "hyp.trn", ids, hyps)
    write_scores_tsv(out_dir / "scores.tsv", ids, hyps, [scores.get(u, float("-inf")) for u in ids])
    used = {**asdict(opts), "task": "st", "checkpoint": str(checkpoint), "manifest": str(manifest)}
    used = {k: list(v) if isinstance(v, tuple) else v for k, v in used.items()}
    (out_dir / "decode.yaml").write_text(yaml.safe_dump(used, sort_keys=False))
    result: dict = {"utterances": len(ids)}
    if refs_by_id:
        (out_dir / "ref.txt").write_text("".join(r + "\n" for r in refs), encoding="utf-8")
        result.update(bleu_chrf(hyps, refs))
        (out_dir / "bleu.yaml").write_text(yaml.safe_dump(result, sort_keys=False))
        log(format_scores(result))
    return result
