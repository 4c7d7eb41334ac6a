"""``make bench`` (``python -m benchmarks``): throughput tables, written to ``bench/results/`` as TSV and Markdown.

Timing goals live here, never in tests. Sections:

- data: corpus synthesis (x real time), manifest validation and data loading
  (seconds of audio per second) on a freshly synthesised corpus;
- pretrain: wav2vec 2.0 pre-training throughput (seconds of audio per second: forward,
  backward and optimizer step, masking and distractor sampling included) of asrkit and of
  ``transformers.Wav2Vec2ForPreTraining`` on the same config and batch, fp32 and bf16;
- av: audio-visual pre-training throughput (Jain et al., 2024) of ``av_tiny`` and ``av_paper``, MAE, CLR and
  MAE+CLR, fp32 and bf16: seconds of audio+video clip per second (a clip's audio and video start together and
  count once: clip seconds x clips per update / seconds per update) and ms per update (masks, forward, loss,
  backward, AdamW step). Written in full to ``av_pretrain.tsv`` / ``av_pretrain.md``;
- inference: every model of SEW-D Table 2 (W2V2-tiny ... large, SEW-D-tiny ... base+) in asrkit
  and in ``transformers`` (``Wav2Vec2Model``, ``SEWDModel``) with the same weights, measured in the
  same run: parameters without pre-training heads, ms per utterance at batch 1 (mean ± std) in fp32
  and bf16, and the speed ratio. Written in full to ``inference.tsv`` / ``inference.md``;
- profile: where that time goes, for the same models, utterances and rounds: ms per utterance in the
  feature encoder, the positional convolution and the Transformer blocks (their attention and
  feed-forward parts), asrkit and ``transformers`` side by side, and the speed-up asrkit would reach
  with a free feature encoder and positional convolution. Written to ``profile.tsv`` / ``profile.md``;
- lm_decode: the lexicon beam search's real-time factor (search seconds per second of audio, one thread, the
  network's emissions computed beforehand) with the 4-gram and with the Transformer LM (wav2vec 2.0 §4.4), at the
  same beam, on the demo recipe's model, LMs and test set (``--lm-decode-dir``, after ``make demo`` and its
  ``run.sh --stage 2 --stop-stage 2 --transformer-lm true --force true``), and the incremental Transformer forwards
  per second of audio.
"""
from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch

from asrkit.data.audio import SAMPLE_RATE


def _row(section: str, what: str, value: float, unit: str, note: str = "") -> dict:
    return {"section": section, "what": what, "value": round(value, 2), "unit": unit, "note": note}


def bench_data(work: Path, hours: float = 0.25, num_workers: int = 2) -> list[dict]:
    from asrkit.data.datasets import AudioDataset
    from asrkit.data.librispeech import prepare_librispeech
    from asrkit.data.manifest import read_manifest
    from asrkit.data.samplers import BucketBatchSampler
    from asrkit.data.synth.corpus import SynthConfig, generate_corpus
    from asrkit.data.validate import validate_manifest

    cfg = SynthConfig(pretrain_hours=hours, finetune_folds=1, fold_minutes=1, dev_minutes=1, test_minutes=1,
                      num_workers=num_workers)
    t = time.perf_counter()
    summary = generate_corpus(work / "synth", cfg)
    synth_s = time.perf_counter() - t
    audio_s = sum(s["hours"] for s in summary.values()) * 3600
    manifests = prepare_librispeech(work / "synth", work / "manifests")
    pool = manifests["pretrain"]
    pool_s = float(read_manifest(pool)["duration"].sum())

    t = time.perf_counter()
    validate_manifest(pool, num_workers=num_workers)
    validate_s = time.perf_counter() - t

    ds = AudioDataset(pool, normalize=True, max_sample_size=250_000)
    sampler = BucketBatchSampler(ds.sizes, max_tokens=1_400_000, seed=0)
    loader = torch.utils.data.DataLoader(ds, batch_sampler=sampler, collate_fn=ds.collate, num_workers=num_workers)
    t = time.perf_counter()
    for _ in loader:
        pass
    load_s = time.perf_counter() - t
    return [
        _row("data", "synthesise corpus (espeak-ng, FLAC)", audio_s / synth_s, "x real time",
             f"{audio_s / 3600:.2f} h, {num_workers} workers"),
        _row("data", "validate manifest (decode every file)", pool_s / validate_s, "audio s / s",
             f"{num_workers} workers"),
        _row("data", "DataLoader, bucketed, normalised", pool_s / load_s, "audio s / s",
             f"max_tokens 1.4M, {num_workers} workers"),
    ]


def hf_wav2vec2_config(cfg):
    """The ``transformers.Wav2Vec2Config`` of an asrkit ``Wav2Vec2Config`` (bench only)."""
    import transformers

    from asrkit.models.checkpoint_import import HF_CONFIG_MAP

    layers = cfg.conv_layers
    values = {theirs: getattr(cfg, ours) for ours, theirs in HF_CONFIG_MAP.items()}
    values["codevector_dim"] = cfg.codevector_dim
    return transformers.Wav2Vec2Config(
        **values, conv_dim=[c for c, _, _ in layers], conv_kernel=[k for _, k, _ in layers],
        conv_stride=[s for _, _, s in layers], feat_extract_norm="group" if cfg.extractor_mode == "group_norm" else "layer",
        max_gumbel_temperature=cfg.latent_temp[0], min_gumbel_temperature=cfg.latent_temp[1],
        gumbel_temperature_decay=cfg.latent_temp[2], diversity_loss_weight=0.1, attn_implementation="sdpa",
    )


def _time_steps(step, warmup: int, steps: int) -> float:
    for _ in range(warmup):
        step()
    t = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - t) / steps


def bench_pretrain(config: str = "tiny", batch: tuple[int, int] = (8, 64000), warmup: int = 2,
                   steps: int = 5) -> list[dict]:
    """Seconds of audio per second for one pre-training update, asrkit vs transformers."""
    from transformers.models.wav2vec2.modeling_wav2vec2 import (Wav2Vec2ForPreTraining, _compute_mask_indices,
                                                                _sample_negative_indices)

    from asrkit.models import load_wav2vec2_config, wav2vec2_model
    from asrkit.models.fast import prepare_for_training
    from asrkit.objectives.contrastive import wav2vec2_objective
    from asrkit.precision import autocast

    cfg = load_wav2vec2_config(config)
    torch.manual_seed(0)
    ours = prepare_for_training(wav2vec2_model(cfg)).train()
    theirs = Wav2Vec2ForPreTraining(hf_wav2vec2_config(cfg)).train()
    x = torch.randn(*batch)
    audio_s = batch[0] * batch[1] / cfg.sample_rate
    rows = []
    for precision in ("fp32", "bf16"):
        amp = autocast(precision, "cpu")
        opt_ours = torch.optim.AdamW(ours.parameters(), lr=1e-5)
        opt_theirs = torch.optim.AdamW(theirs.parameters(), lr=1e-5)

        def step_ours():
            with amp:
                loss, _ = wav2vec2_objective(ours, ours(x))
            loss.backward()
            opt_ours.step()
            opt_ours.zero_grad(set_to_none=True)

        def step_theirs():
            frames = int(theirs._get_feat_extract_output_lengths(batch[1]))
            mask = _compute_mask_indices((batch[0], frames), cfg.mask_prob, cfg.mask_length, min_masks=2)
            neg = _sample_negative_indices((batch[0], frames), cfg.num_negatives, mask_time_indices=mask)
            with amp:
                out = theirs(x, mask_time_indices=torch.from_numpy(mask),
                             sampled_negative_indices=torch.from_numpy(neg))
            out.loss.backward()
            opt_theirs.step()
            opt_theirs.zero_grad(set_to_none=True)

        t_ours = _time_steps(step_ours, warmup, steps)
        t_theirs = _time_steps(step_theirs, warmup, steps)
        note = f"W2V2-{config}, batch {batch[0]} x {batch[1] / cfg.sample_rate:g} s, {torch.get_num_threads()} threads"
        rows.append(_row("pretrain", f"asrkit {precision}", audio_s / t_ours, "audio s / s", note))
        rows.append(_row("pretrain", f"transformers {precision}", audio_s / t_theirs, "audio s / s", note))
        rows.append(_row("pretrain", f"asrkit / transformers {precision}", t_theirs / t_ours, "x", ""))
    return rows


# The AV section's (clips per update, warm-up updates, timed updates) by config, so that it takes ~3 minutes on
# 2 CPU cores: av_paper (125M parameters, 10 s clips, 16 frames of 224 px) takes 5-40 s per update of 2 clips
# there, so it is timed on one update after one warm-up update (oneDNN's kernel choice and the allocator's
# first pass would otherwise land in the timed one); configs not listed (YAML paths) take AV_DEFAULT_RUN.
AV_RUNS = {"av_tiny": (8, 1, 3), "av_paper": (2, 1, 1)}
AV_DEFAULT_RUN = (8, 1, 2)


def av_synthetic_batch(cfg, clips: int, seed: int = 0) -> dict:
    """``clips`` full-length clips of ``cfg``'s geometry (an ``AVConfig``), as ``AVDataset.collate`` gives them:
    ``source`` ``(N, S)`` noise with S = (max_frames - 1) * 160 + 400 samples at 16 kHz (exactly ``max_frames``
    fbank frames, ``asrkit.data.av.clip_samples``), ``padding_mask`` ``(N, S)`` all False, ``video`` uint8
    ``(N, num_frames, image_size, image_size, 3)``. The time of an update does not depend on content."""
    from asrkit.data.av import clip_samples

    gen = torch.Generator().manual_seed(seed)
    samples = clip_samples(cfg.max_frames, cfg.sample_rate)
    batch = {"source": 0.1 * torch.randn(clips, samples, generator=gen),
             "padding_mask": torch.zeros(clips, samples, dtype=torch.bool)}
    if cfg.use_video:
        batch["video"] = torch.randint(0, 256, (clips, cfg.num_frames, cfg.image_size, cfg.image_size, 3),
                                       generator=gen, dtype=torch.uint8)
    return batch


def bench_av_pretrain(configs=("av_tiny", "av_paper"), objectives=("mae", "clr", "mae_clr"),
                      precisions=("fp32", "bf16"), batch: int | None = None, warmup: int | None = None,
                      steps: int | None = None, device: torch.device | str = "cpu") -> list[dict]:
    """Audio-visual pre-training throughput (Jain et al., 2024): one full update per step as the trainer runs
    it (``asrkit.train.av_pretrain``): the model's fast path (``prepare_for_training``), the objective's random
    token masks and loss by ``AVPretrainTask.loss`` through the model's forward, backward, gradient clipping
    and an AdamW step with the task's default optimiser settings; on ``av_synthetic_batch`` clips.

    ``configs``: named AV configs or YAML paths; ``batch`` (clips per update), ``warmup`` and ``steps``: for
    every config, or None for each config's ``AV_RUNS`` entry. A row per config x objective x precision:
    ``ms_per_update`` (the mean of ``steps`` after ``warmup``) and ``av_s_per_s`` = clip seconds x clips per
    update / seconds per update. A clip is one window of audio and video starting at the same instant
    (``AVDataset``); its seconds ``clip_s`` are the audio's (``max_frames`` x 10 ms), counted once, not once per
    modality. ``video_s`` is the time the video
    frames span at the data default stride 4 and the synthetic corpora's 25 fps (av_tiny: 2.56 s against 2.5 s
    of audio; av_paper, following MAE-ST's 16 frames: 2.56 s of the 10 s window). bf16 is skipped on CPUs
    without native bf16 (emulated there, ~3x slower than fp32): its row says so and has NaN times."""
    from asrkit.models.av import load_av_config
    from asrkit.models.factory import av_model
    from asrkit.models.fast import prepare_for_training
    from asrkit.precision import autocast, cpu_has_native_bf16
    from asrkit.train.av_pretrain import AVDataConfig, AVLossConfig, AVPretrainConfig, AVPretrainTask
    from asrkit.train.optim import build_optimizer

    device = torch.device(device)
    optim = AVPretrainConfig().optim
    rows = []
    for config in configs:
        cfg = load_av_config(config)
        name = Path(config).stem
        run = AV_RUNS.get(name, AV_DEFAULT_RUN)
        clips, warm, timed = (run[i] if v is None else v for i, v in enumerate((batch, warmup, steps)))
        torch.manual_seed(0)
        model = prepare_for_training(av_model(cfg)).to(device).train()
        data = {k: v.to(device) for k, v in av_synthetic_batch(cfg, clips).items()}
        clip_s = data["source"].size(1) / cfg.sample_rate
        video_s = cfg.num_frames * AVDataConfig().frame_stride / 25  # at the synthetic corpora's 25 fps
        for precision in precisions:
            for objective in objectives:
                row = {"config": name, "objective": objective, "precision": precision,
                       "params_m": round(sum(p.numel() for p in model.parameters()) / 1e6, 2), "clips": clips,
                       "updates": timed, "warmup": warm, "clip_s": round(clip_s, 3), "video_s": round(video_s, 2),
                       "threads": torch.get_num_threads(), "device": device.type}
                if precision != "fp32" and device.type == "cpu" and not cpu_has_native_bf16():
                    rows.append({**row, "ms_per_update": float("nan"), "av_s_per_s": float("nan"),
                                 "note": f"skipped: {precision} is emulated on this CPU (no AVX-512 BF16 / AMX)"})
                    continue
                task = AVPretrainTask(objective, AVLossConfig())
                opt = build_optimizer(model.parameters(), optim)

                def step():
                    with autocast(precision, device):
                        loss, n, _ = task.loss(model, data)
                    (loss / n).backward()
                    torch.nn.utils.clip_grad_norm_(model.parameters(), optim.clip_norm)
                    opt.step()
                    opt.zero_grad(set_to_none=True)
                    if device.type == "cuda":
                        torch.cuda.synchronize(device)

                seconds = _time_steps(step, warm, timed)
                rows.append({**row, "ms_per_update": round(1e3 * seconds, 1),
                             "av_s_per_s": round(clip_s * clips / seconds, 2),
                             "note": f"{clips} clips: {clip_s:g} s audio + {cfg.num_frames} frames of "
                                     f"{cfg.image_size} px"})
                del opt
        del model
    return rows


def av_pretrain_summary(rows: list[dict]) -> list[dict]:
    """The AV section's throughputs as rows of the main table."""
    return [_row("av_pretrain", f"{r['config']} {r['objective']} {r['precision']}", r["av_s_per_s"],
                 "audio+video s / s", f"{r['ms_per_update']} ms per update; {r['note']}") for r in rows]


# SEW-D Table 2 by inference-time category: (row name, asrkit config). The models of a category are
# timed together, interleaved, so the SEW-D / W2V2 ratio within a category is as robust as the
# asrkit / transformers one.
TABLE2 = {
    "tiny": [("W2V2-tiny", "tiny"), ("SEW-D-tiny", "sew_d_tiny")],
    "small": [("W2V2-small", "small"), ("SEW-D-small", "sew_d_small")],
    "mid": [("W2V2-mid", "mid"), ("SEW-D-mid", "sew_d_mid")],
    "base": [("W2V2-base", "base"), ("SEW-D-base", "sew_d_base"), ("SEW-D-base+", "sew_d_base_plus")],
    "large": [("W2V2-large", "large")],
}
# Utterance lengths (s) standing in for LibriSpeech dev-clean (mean 7.2 s, 1.5 to 33 s), so the table
# is reproducible without the corpus. To keep `make bench` to minutes on 2 cores, categories with a
# model over 150M parameters take every other one; bf16 takes the same ones on CPUs with native bf16
# (AVX512-BF16 / AMX) and every other one of those elsewhere (emulated there, ~3x slower than fp32).
UTTERANCE_SECONDS = (2.0, 3.0, 4.5, 6.0, 7.5, 9.0, 11.0, 14.5)


def synthetic_utterances(seconds=UTTERANCE_SECONDS, sample_rate: int = SAMPLE_RATE, seed: int = 0) -> list[torch.Tensor]:
    """Noise waveforms of the given lengths (the time of a forward pass does not depend on content)."""
    gen = torch.Generator().manual_seed(seed)
    return [0.1 * torch.randn(int(s * sample_rate), generator=gen) for s in seconds]


def transformers_model(cfg):
    """The ``transformers`` encoder of an asrkit config (``Wav2Vec2Model``, ``SEWModel``, ``SEWDModel``),
    with SDPA attention where transformers has it."""
    import transformers

    from asrkit.models.checkpoint_import import hf_config_for

    hf_config = hf_config_for(cfg)
    try:
        return transformers.AutoModel.from_config(hf_config, attn_implementation="sdpa")
    except ValueError:  # SEW-D: DeBERTa attention, eager only
        return transformers.AutoModel.from_config(hf_config, attn_implementation="eager")


def category_models(members) -> dict:
    """``{row name: (config, asrkit model, transformers model)}`` for a category's ``(row name, config)``
    members: the transformers model randomly initialised, asrkit's given its weights."""
    from asrkit.checkpoint import load_encoder_weights
    from asrkit.models import load_wav2vec2_config, wav2vec2_model
    from asrkit.models.checkpoint_import import import_hf
    from asrkit.models.fast import prepare_for_inference

    models = {}
    for row_name, config in members:
        cfg = load_wav2vec2_config(config)
        torch.manual_seed(0)
        theirs = transformers_model(cfg).eval()
        ours = wav2vec2_model(cfg).eval()
        _, weights = import_hf(theirs)
        load_encoder_weights(ours, weights, f"{config} (transformers' weights)")
        models[row_name] = (config, prepare_for_inference(ours), theirs)
    return models


def category_utterances(wavs: list[torch.Tensor], models: dict, precision: str, big_model: float) -> list[torch.Tensor]:
    """The utterances a category is timed on in ``precision``: every other one where one of its ``models``
    (``category_models``) has over ``big_model`` parameters, and of those every other one in reduced
    precision where the CPU lacks native bf16 (emulated there, ~3x slower than fp32)."""
    from asrkit.benchmark import count_parameters
    from asrkit.precision import cpu_has_native_bf16

    utts = wavs[::2] if any(count_parameters(ours) > big_model for _, ours, _ in models.values()) else wavs
    return utts if precision == "fp32" or cpu_has_native_bf16() else utts[1::2]


class _ProgressBars:
    """``progress(what, advance, total)`` for the bench sections: one rich bar per ``what``."""

    def __init__(self, bar) -> None:
        self.bar, self.tasks = bar, {}

    def __call__(self, what: str, advance: int, total: int) -> None:
        if what not in self.tasks:
            self.tasks[what] = self.bar.add_task(what, total=total)
        self.bar.update(self.tasks[what], advance=advance)


def bench_inference(categories=TABLE2, precisions=("fp32", "bf16"), wavs: list[torch.Tensor] | None = None,
                    warmup: int = 1, repeats: int = 3, big_model: float = 150e6, progress=None) -> list[dict]:
    """asrkit vs transformers, batch-1 encoder forward. All models of a category, asrkit's and
    transformers', are timed interleaved utterance by utterance (``asrkit.benchmark.time_inference``),
    each utterance the best of ``repeats`` rounds; asrkit's models get the transformers models'
    weights. Precisions other than fp32 use every other utterance where the CPU lacks native bf16."""
    from asrkit.benchmark import count_parameters, encoder_forward, summarize, time_inference

    wavs = wavs if wavs is not None else synthetic_utterances()
    device = torch.device("cpu")
    rows = []
    for category, members in categories.items():
        models = category_models(members)
        diffs = {}
        with torch.inference_mode():
            for name, (_, ours, theirs) in models.items():
                x = category_utterances(wavs, models, "fp32", big_model)[0][None]
                diffs[name] = float((ours.extract_features(x).x - theirs(x).last_hidden_state).abs().max())
        forwards = {}
        for name, (_, ours, theirs) in models.items():
            forwards[name, "asrkit"] = encoder_forward(ours)
            forwards[name, "transformers"] = lambda x, m=theirs: m(x).last_hidden_state
        for precision in precisions:
            utts = category_utterances(wavs, models, precision, big_model)
            what = f"{category} {precision} ({', '.join(models)})"
            times = time_inference(forwards, utts, precision=precision, device=device, warmup=warmup,
                                   repeats=repeats,
                                   progress=(lambda k, what=what: progress(what, k, len(utts))) if progress else None)
            first = next(iter(models))  # the category's W2V2
            w2v2 = times[first, "asrkit"]
            w2v2_ms = summarize(w2v2, utts, models[first][1].cfg.sample_rate)["mean_ms"]
            for name, (config, ours, theirs) in models.items():
                rate = ours.cfg.sample_rate
                a, t = summarize(times[name, "asrkit"], utts, rate), summarize(times[name, "transformers"], utts, rate)
                paired = _paired_median(times[name, "transformers"], times[name, "asrkit"])
                rows.append({
                    "model": name, "config": config, "category": category, "precision": precision,
                    "threads": torch.get_num_threads(), "params_m": round(count_parameters(ours) / 1e6, 2),
                    "transformers_params_m": round(sum(p.numel() for p in theirs.parameters()) / 1e6, 2),
                    "utterances": len(utts), "mean_duration_s": a["mean_duration_s"],
                    "asrkit_ms": round(a["mean_ms"], 1), "asrkit_std_ms": round(a["std_ms"], 1),
                    "transformers_ms": round(t["mean_ms"], 1), "transformers_std_ms": round(t["std_ms"], 1),
                    "speedup": round(t["mean_ms"] / a["mean_ms"], 2),
                    "speedup_median_paired": round(paired, 2), "asrkit_rtf": round(a["rtf"], 4),
                    "vs_w2v2_same_category": round(a["mean_ms"] / w2v2_ms, 2),
                    # per utterance, the two timed back to back: robust to the machine's load varying over the run
                    "vs_w2v2_median_paired": round(_paired_median(times[name, "asrkit"], w2v2), 2),
                    "max_abs_diff_fp32": float(f"{diffs[name]:.2g}"),
                })
        del models, forwards
    return rows


# Where a forward pass spends its time (``bench_profile``): regions named by the modules that run them, as
# (asrkit module paths, transformers module paths); "*" stands for one name (a block's index). A region is the
# time inside its modules' forward calls. "Transformer blocks" holds "attention" and "feed-forward" and, beyond
# them, the blocks' residual additions and LayerNorms (transformers' SEW-D counts those LayerNorms in its
# attention and FFN-output modules).
PROFILE_REGIONS = {
    "feature encoder": (["feature_encoder"], ["feature_extractor"]),
    "positional conv": (["encoder.pos_conv"], ["encoder.pos_conv_embed"]),
    "Transformer blocks": (["encoder.layers.*", "encoder.transformer.layers.*"],
                           ["encoder.layers.*", "encoder.encoder.layer.*"]),
    "attention": (["encoder.layers.*.attention", "encoder.transformer.layers.*.attention"],
                  ["encoder.layers.*.attention", "encoder.encoder.layer.*.attention"]),
    "feed-forward": (["encoder.layers.*.feed_forward", "encoder.transformer.layers.*.feed_forward"],
                     ["encoder.layers.*.feed_forward", "encoder.encoder.layer.*.intermediate",
                      "encoder.encoder.layer.*.output"]),
}
# The regions that partition the pass; the rest (feature projection, SEW's pooling and upsampling, Python) is "other".
TOP_REGIONS = ("feature encoder", "positional conv", "Transformer blocks")


class RegionTimer:
    """Wall time spent inside the forward calls of a model's modules, summed per region (forward hooks).

    ``regions``: ``{label: [module path patterns]}``, "*" standing for one path component. Every region must
    match at least one module: a misnamed path would otherwise read as a region that takes no time."""

    def __init__(self, model: torch.nn.Module, regions: dict[str, list[str]]):
        import re

        self.totals = dict.fromkeys(regions, 0.0)
        self._starts: dict[tuple[int, str], float] = {}
        self._handles = []
        names = dict(model.named_modules())
        for label, patterns in regions.items():
            exprs = [re.compile("^" + re.escape(p).replace(r"\*", r"[^.]+") + "$") for p in patterns]
            modules = [m for name, m in names.items() if any(e.match(name) for e in exprs)]
            if not modules:
                self.remove()
                raise ValueError(f"profile region {label!r}: no module of {type(model).__name__} matches {patterns}")
            for module in modules:
                key = (id(module), label)
                self._handles.append(module.register_forward_pre_hook(
                    lambda m, args, key=key: self._starts.__setitem__(key, time.perf_counter())))
                self._handles.append(module.register_forward_hook(
                    lambda m, args, out, key=key: self._stop(key)))

    def _stop(self, key: tuple[int, str]) -> None:
        self.totals[key[1]] += time.perf_counter() - self._starts.pop(key)

    def reset(self) -> None:
        self.totals = dict.fromkeys(self.totals, 0.0)

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []


def bench_profile(categories=TABLE2, precisions=("fp32", "bf16"), wavs: list[torch.Tensor] | None = None,
                  warmup: int = 1, repeats: int = 3, big_model: float = 150e6, progress=None) -> list[dict]:
    """Where the time goes: ms per utterance in each of ``PROFILE_REGIONS``, asrkit and transformers, batch 1.

    Utterances, weights and rounds as ``bench_inference`` (all models of a category interleaved, each
    utterance the fastest of ``repeats`` rounds, whose region times are kept). asrkit's row also has
    ``speedup_without_fe_pos``: transformers' total over asrkit's total less its feature encoder and
    positional convolution, the speed-up asrkit would reach were those two free and the rest unchanged."""
    from asrkit.benchmark import encoder_forward
    from asrkit.precision import autocast

    wavs = wavs if wavs is not None else synthetic_utterances()
    rows = []
    for category, members in categories.items():
        models = category_models(members)
        runs = {}  # (row name, implementation) -> (forward, timer)
        try:
            for name, (_, ours, theirs) in models.items():
                runs[name, "asrkit"] = (encoder_forward(ours),
                                        RegionTimer(ours, {k: v[0] for k, v in PROFILE_REGIONS.items()}))
                runs[name, "transformers"] = (lambda x, m=theirs: m(x).last_hidden_state,
                                              RegionTimer(theirs, {k: v[1] for k, v in PROFILE_REGIONS.items()}))
            keys = list(runs)
            for precision in precisions:
                utts = category_utterances(wavs, models, precision, big_model)
                sums = {key: dict.fromkeys(("total", *PROFILE_REGIONS), 0.0) for key in keys}
                with torch.inference_mode(), autocast(precision, torch.device("cpu")):
                    for x in utts[:warmup]:
                        for forward, _ in runs.values():
                            forward(x[None])
                    for i, x in enumerate(utts):
                        best = {key: None for key in keys}
                        for r in range(repeats):
                            k = (i + r) % len(keys)
                            for key in keys[k:] + keys[:k]:
                                forward, timer = runs[key]
                                timer.reset()
                                start = time.perf_counter()
                                forward(x[None])
                                took = time.perf_counter() - start
                                if best[key] is None or took < best[key]["total"]:
                                    best[key] = {"total": took, **timer.totals}
                        for key in keys:
                            for region, seconds in best[key].items():
                                sums[key][region] += seconds
                        if progress is not None:
                            progress(f"profile {category} {precision}", 1, len(utts))
                for name in models:
                    ms = {impl: {region: 1e3 * s / len(utts) for region, s in sums[name, impl].items()}
                          for impl in ("asrkit", "transformers")}
                    for impl, m in ms.items():
                        row = {"model": name, "precision": precision, "implementation": impl,
                               "utterances": len(utts), "total_ms": round(m["total"], 2)}
                        row.update({f"{region.replace(' ', '_').replace('-', '_')}_ms": round(m[region], 2)
                                    for region in PROFILE_REGIONS})
                        row["other_ms"] = round(m["total"] - sum(m[region] for region in TOP_REGIONS), 2)
                        row["speedup"] = round(ms["transformers"]["total"] / m["total"], 2)
                        rest = m["total"] - m["feature encoder"] - m["positional conv"]
                        row["speedup_without_fe_pos"] = round(ms["transformers"]["total"] / rest, 2) \
                            if impl == "asrkit" else float("nan")
                        rows.append(row)
        finally:
            for _, timer in runs.values():
                timer.remove()
        del models, runs
    return rows


def _paired_median(numerator: list[float], denominator: list[float]) -> float:
    """Median over utterances of the per-utterance time ratio (robust to load that varies over the run)."""
    ratios = sorted(a / b for a, b in zip(numerator, denominator))
    mid = len(ratios) // 2
    return ratios[mid] if len(ratios) % 2 else (ratios[mid - 1] + ratios[mid]) / 2


def inference_summary(rows: list[dict]) -> list[dict]:
    """The speed ratios as rows of the main table."""
    return [_row("inference", f"{r['model']} asrkit / transformers {r['precision']}", r["speedup"], "x",
                 f"{r['asrkit_ms']} vs {r['transformers_ms']} ms per utterance of {r['mean_duration_s']} s on average")
            for r in rows]


def write_markdown(df: pd.DataFrame, path: Path, header: str = "") -> Path:
    md = header + "| " + " | ".join(df.columns) + " |\n|" + "---|" * len(df.columns) + "\n"
    md += "".join("| " + " | ".join(str(v) for v in r) + " |\n" for r in df.itertuples(index=False))
    path.write_text(md)
    return path


def write_table(rows: list[dict], out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    df = pd.DataFrame(rows)
    df.to_csv(out / "bench.tsv", sep="\t", index=False)
    return write_markdown(df, out / "bench.md", _machine())


def write_profile(rows: list[dict], out: Path, console=None) -> Path:
    """``profile.tsv`` / ``profile.md`` (and a table on ``console``): ms per utterance by region."""
    df = pd.DataFrame(rows)
    out.mkdir(parents=True, exist_ok=True)
    df.to_csv(out / "profile.tsv", sep="\t", index=False)
    path = write_markdown(df, out / "profile.md", _machine())
    if console is not None:
        from rich.table import Table

        table = Table(title=f"where the time goes, ms per utterance at batch 1 ({out / 'profile.tsv'})")
        regions = ["total", *(r.replace(" ", "_").replace("-", "_") for r in PROFILE_REGIONS), "other"]
        headers = ("model", "precision", "impl.", "total", "feature enc.", "pos. conv", "blocks", "(attention)",
                   "(FFN)", "other", "speed-up", "speed-up w/o FE + pos. conv")
        for col in headers:
            table.add_column(col, justify="left" if col in ("model", "precision", "impl.") else "right")
        for r in rows:
            bound = r["speedup_without_fe_pos"]
            table.add_row(r["model"], r["precision"], r["implementation"], *(f"{r[c + '_ms']:.1f}" for c in regions),
                          f"{r['speedup']:.2f}x", "" if bound != bound else f"{bound:.2f}x")
        console.print(table)
    return path


def write_av_pretrain(rows: list[dict], out: Path, console=None) -> Path:
    """``av_pretrain.tsv`` / ``av_pretrain.md`` (and a table on ``console``): the AV section's rows."""
    df = pd.DataFrame(rows)
    out.mkdir(parents=True, exist_ok=True)
    df.to_csv(out / "av_pretrain.tsv", sep="\t", index=False)
    path = write_markdown(df, out / "av_pretrain.md", _machine())
    if console is not None:
        from rich.table import Table

        table = Table(title="audio-visual pre-training, one update (masks, forward, loss, backward, AdamW): "
                            f"clip seconds x clips / seconds per update ({out / 'av_pretrain.tsv'})")
        for col in ("config", "objective", "precision", "params (M)", "clips x s", "ms / update", "AV s / s",
                    "note"):
            table.add_column(col, justify="left" if col in ("config", "objective", "precision", "note") else "right")
        for r in rows:
            table.add_row(r["config"], r["objective"], r["precision"], f"{r['params_m']:.1f}",
                          f"{r['clips']} x {r['clip_s']:g}", f"{r['ms_per_update']:.1f}", f"{r['av_s_per_s']:.2f}",
                          r["note"])
        console.print(table)
    return path


def bench_lm_decode(checkpoint: Path, manifest: Path, lexicon: Path, lms: dict[str, Path], beam_size: int = 50,
                    max_utterances: int = 20, lm_weight: float = 1.0) -> list[dict]:
    """Real-time factor of the lexicon beam search with each of ``lms`` (name -> KenLM file or Transformer LM
    checkpoint) on the first ``max_utterances`` of ``manifest``: the same emissions, beam and weights for every LM."""
    from asrkit.checkpoint import load_model
    from asrkit.data.manifest import read_manifest
    from asrkit.decode.beam import LexiconBeamDecoder
    from asrkit.decode.infer import compute_emissions

    model, ckpt = load_model(checkpoint, kinds=("ctc",))
    df = read_manifest(manifest).head(max_utterances)
    # the subset, written elsewhere, names its audio by absolute paths
    df["audio"] = [str((Path(manifest).parent / a).resolve()) for a in df["audio"]]
    with tempfile.TemporaryDirectory() as tmp:
        df.to_csv(Path(tmp) / "subset.tsv", sep="\t", index=False)
        em = compute_emissions(model, Path(tmp) / "subset.tsv", precision="fp32")
    audio_s = float(df["num_samples"].sum()) / model.sample_rate
    rows = []
    for name, lm in lms.items():
        decoder = LexiconBeamDecoder(list(ckpt.tokens), lexicon, lm, beam_size=beam_size, lm_weight=lm_weight)
        start = time.perf_counter()
        for lp in em.log_probs:
            decoder.decode(lp[None])
        seconds = time.perf_counter() - start
        note = f"beam {beam_size}, {len(em.ids)} utts, {audio_s:.0f} s of audio"
        rows.append(_row("lm_decode", f"{name} beam search", seconds / audio_s, "x real time (RTF)", note))
        if decoder.lm_kind == "transformer":
            rows.append(_row("lm_decode", f"{name} forwards", decoder.custom_lm.forwards / audio_s,
                             "forwards per s of audio", "one per LM state the search extended"))
    return rows


SECTIONS = ("data", "pretrain", "av", "inference", "profile", "lm_decode")
DEFAULT_SECTIONS = SECTIONS[:-1]  # lm_decode needs a trained demo and Transformer LM: asked for by name


def _machine() -> str:
    return (f"machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, "
            f"{torch.get_num_threads()} threads\n\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    parser.add_argument("--hours", type=float, default=0.25, help="size of the synthesised pool to time")
    parser.add_argument("--sections", default=",".join(DEFAULT_SECTIONS),
                        help="comma-separated: data, pretrain, av (audio-visual pre-training), inference, "
                             "profile (where the inference time goes), lm_decode (beam search with the 4-gram and "
                             "the Transformer LM; not in the default)")
    parser.add_argument("--categories", default=",".join(TABLE2),
                        help="inference and profile sections: SEW-D Table 2 inference-time categories to time")
    parser.add_argument("--precisions", default="fp32,bf16",
                        help="av, inference and profile sections: comma-separated precisions (bf16 is emulated, "
                             "and slow, on CPUs without AVX-512 BF16 / AMX)")
    parser.add_argument("--av-configs", default="av_tiny,av_paper",
                        help="av section: comma-separated AV model configs (names or YAML paths)")
    parser.add_argument("--av-objectives", default="mae,clr,mae_clr",
                        help="av section: comma-separated pre-training objectives (mae, clr, mae_clr)")
    parser.add_argument("--lm-decode-dir", type=Path, default=Path("recipes/synth/w2v2_tiny"),
                        help="lm_decode section: a recipe directory with data/lm/{4gram.bin,lexicon.txt}, "
                             "data/lm/transformer/checkpoint_best.pt, exp/scratch_10m/checkpoint_best.pt and "
                             "data/manifests/test.tsv")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="inference and profile sections: rounds per utterance, the fastest kept "
                             "(timeit's best of k)")
    args = parser.parse_args(argv)
    sections = args.sections.split(",")
    unknown = [name for name in sections if name not in SECTIONS]
    if unknown:
        parser.error(f"--sections: unknown {', '.join(unknown)} (choose from {', '.join(SECTIONS)})")
    if "lm_decode" in sections:  # before any timing
        d = args.lm_decode_dir
        needed = [d / p for p in ("exp/scratch_10m/checkpoint_best.pt", "data/manifests/test.tsv", "data/lm/lexicon.txt",
                                  "data/lm/4gram.bin", "data/lm/transformer/checkpoint_best.pt")]
        missing = [str(p) for p in needed if not p.is_file()]
        if missing:
            parser.error(f"--sections lm_decode: missing {', '.join(missing)} (make demo, then {d}/run.sh --stage 2 "
                         "--stop-stage 2 --transformer-lm true --force true)")
    from asrkit.precision import PRECISIONS, resolve_precision

    unknown = sorted(set(args.precisions.split(",")) - set(PRECISIONS))
    if unknown:
        parser.error(f"--precisions: unknown {', '.join(unknown)} (choose from {', '.join(PRECISIONS)})")
    precisions = tuple(dict.fromkeys(resolve_precision(p, "cpu") for p in args.precisions.split(",")))
    if args.repeats < 1:
        parser.error(f"--repeats: must be at least 1, got {args.repeats}")
    unknown = [c for c in args.categories.split(",") if c not in TABLE2]
    if unknown:
        parser.error(f"--categories: unknown {', '.join(unknown)} (choose from {', '.join(TABLE2)})")
    categories = {c: TABLE2[c] for c in args.categories.split(",")}
    from asrkit.config import ConfigError
    from asrkit.models.av import load_av_config
    from asrkit.train.av_pretrain import AV_OBJECTIVES

    av_configs = args.av_configs.split(",")
    for config in av_configs if "av" in sections else ():
        try:
            load_av_config(config)
        except ConfigError as e:
            parser.error(f"--av-configs: {e}")
    av_objectives = args.av_objectives.split(",")
    unknown = [o for o in av_objectives if o not in AV_OBJECTIVES]
    if unknown:
        parser.error(f"--av-objectives: unknown {', '.join(unknown)} (choose from {', '.join(AV_OBJECTIVES)})")
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    if args.threads:
        torch.set_num_threads(args.threads)
    console = Console(width=None if sys.stdout.isatty() else 160)
    rows = []
    if "data" in sections:
        with tempfile.TemporaryDirectory() as tmp:
            rows += bench_data(Path(tmp), args.hours)
    if "pretrain" in sections:
        rows += bench_pretrain()
    if "av" in sections:
        av = bench_av_pretrain(av_configs, av_objectives, precisions)
        write_av_pretrain(av, args.out, console)
        rows += av_pretrain_summary(av)
    if "inference" in sections:
        with Progress(console=console, transient=True) as bar:
            inference = bench_inference(categories, precisions, repeats=args.repeats,
                                        progress=_ProgressBars(bar))
        df = pd.DataFrame(inference)
        args.out.mkdir(parents=True, exist_ok=True)
        df.to_csv(args.out / "inference.tsv", sep="\t", index=False)
        write_markdown(df, args.out / "inference.md", _machine())
        table = Table(title=f"inference, batch 1: asrkit vs transformers ({args.out / 'inference.tsv'})")
        for col in ("model", "precision", "params (M)", "utts", "asrkit ms", "transformers ms", "speedup",
                    "vs W2V2 same category (means)", "vs W2V2 (paired median)"):
            table.add_column(col, justify="left" if col in ("model", "precision") else "right")
        for r in inference:
            table.add_row(r["model"], r["precision"], f"{r['params_m']:.1f}", str(r["utterances"]),
                          f"{r['asrkit_ms']:.1f} ± {r['asrkit_std_ms']:.1f}",
                          f"{r['transformers_ms']:.1f} ± {r['transformers_std_ms']:.1f}", f"{r['speedup']:.2f}x",
                          f"{r['vs_w2v2_same_category']:.2f}", f"{r['vs_w2v2_median_paired']:.2f}")
        console.print(table)
        rows += inference_summary(inference)
    if "profile" in sections:
        with Progress(console=console, transient=True) as bar:
            profile = bench_profile(categories, precisions, repeats=args.repeats,
                                    progress=_ProgressBars(bar))
        write_profile(profile, args.out, console)
    if "lm_decode" in sections:
        d = args.lm_decode_dir
        rows += bench_lm_decode(d / "exp/scratch_10m/checkpoint_best.pt", d / "data/manifests/test.tsv",
                                d / "data/lm/lexicon.txt", {"4-gram": d / "data/lm/4gram.bin",
                                                            "Transformer LM": d / "data/lm/transformer/checkpoint_best.pt"})
    if not rows:  # only the profile section
        return
    path = write_table(rows, args.out)
    table = Table(title=f"asrkit benchmarks ({path})")
    for col in rows[0]:
        table.add_column(col)
    for r in rows:
        table.add_row(*(str(v) for v in r.values()))
    console.print(table)


if __name__ == "__main__":
    main()
