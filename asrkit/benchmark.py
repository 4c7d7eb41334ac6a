"""``asrkit benchmark``: model size, inference time and pre-training throughput (SEW-D, Wu et al., 2021).

SEW-D studies the trade-off between inference time and WER (§1, §4.1, Table 2). Its protocol:
parameters counted without the pre-training heads (quantizer and projection heads are dropped
after pre-training, §3.3); inference time of the encoder, one utterance at a time, in fp32. Here:

- **parameters**: every parameter except ``quantizer.*`` and ``final_proj.*``;
- **inference**: the forward pass of the encoder (feature encoder, projection, context network;
  ``Wav2Vec2Model.extract_features``) on each utterance at batch 1 under ``torch.inference_mode``,
  after ``warmup`` utterances that are run untimed first (with ``repeats`` > 1 each utterance's fastest
  of that many rounds); mean and standard deviation over the utterances; real-time factor = mean time /
  mean duration. Each utterance's time is kept too (:func:`benchmark_models_and_times`), so that models
  timed in one run can be compared utterance by utterance (paired ratios: ``asrkit.sewd_ablation``);
- **pre-training throughput**: seconds of audio per second of one update (forward with span masking
  and distractor sampling, contrastive + diversity + feature-penalty loss, backward, AdamW step) on a
  batch of utterances from the same manifest, cropped to the shortest as in pre-training.

Each precision is measured in turn: ``fp32``, and ``bf16`` or ``fp16`` as autocast (CPU or CUDA; ``auto``
is what ``asrkit.precision`` picks for the device). A fine-tuned
CTC checkpoint is timed through its encoder; its pre-training heads, which it no longer has, are
freshly initialised for the throughput measurement (the time of an update does not depend on them).
"""
from __future__ import annotations

import contextlib
import copy
import dataclasses
import math
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

from .checkpoint import HEADS, encoder_weights, load_encoder, load_encoder_weights, read_checkpoint
from .config import ConfigError
from .data.audio import AudioError
from .data.datasets import AudioDataset
from .data.manifest import read_manifest
from .models.factory import wav2vec2_model
from .models.fast import prepare_for_inference
from .models.wav2vec2 import Wav2Vec2Model, load_wav2vec2_config
from .precision import PRECISIONS, autocast, resolve_precision

COLUMNS = ["model", "precision", "device", "threads", "params_m", "utterances", "skipped", "audio_s",
           "mean_duration_s", "mean_ms", "std_ms", "rtf", "pretrain_batch", "pretrain_audio_s_per_s"]


@dataclass(frozen=True)
class BenchmarkOptions:
    precisions: tuple[str, ...] = ("fp32", "bf16")  # any of asrkit.precision.PRECISIONS, timed in turn
    max_utterances: int = 0  # time the first N usable utterances of the manifest; 0 = all
    warmup: int = 2  # utterances run untimed before timing (oneDNN/MKL kernel selection, allocator)
    threads: int = 0  # torch intra-op threads; 0 keeps torch's default
    device: str = "auto"  # auto: cuda when available, else cpu
    pretrain_batch: int = 4  # utterances in the pre-training batch; 0 skips the throughput measurement
    pretrain_steps: int = 3  # timed updates (after one untimed)
    repeats: int = 1  # rounds per utterance, its time the fastest (timeit's rule: the least disturbed by other load)

    def __post_init__(self) -> None:
        unknown = [p for p in self.precisions if p not in PRECISIONS]
        if unknown or not self.precisions:
            raise ValueError(f"precision must be among {', '.join(PRECISIONS)}, got {', '.join(self.precisions)}")
        if min(self.max_utterances, self.warmup, self.threads, self.pretrain_batch) < 0 or self.pretrain_steps < 1 \
                or self.repeats < 1:
            raise ValueError("counts must be >= 0 (pretrain_steps and repeats >= 1)")


def count_parameters(model: nn.Module) -> int:
    """Parameters of the encoder as the SEW-D tables count them: without the pre-training heads (``HEADS``)."""
    return sum(p.numel() for name, p in model.named_parameters() if not name.startswith(HEADS))


def load_benchmark_model(config: str | Path | None = None, checkpoint: str | Path | None = None
                         ) -> tuple[Wav2Vec2Model, str]:
    """The model to time and its name; its config's ``sample_rate`` and ``normalize`` say how to read audio for it.

    ``config``: a named config (``asrkit/conf/model``) or a YAML path, for random weights or to check a
    checkpoint against. ``checkpoint``: a pretrain (also ``import-checkpoint`` output), midtrain or fine-tuned
    CTC checkpoint, whose encoder is loaded (``asrkit.checkpoint.load_encoder``).
    """
    if config is None and checkpoint is None:
        raise ConfigError("give --config, --checkpoint or both")
    if checkpoint is None:
        model = wav2vec2_model(load_wav2vec2_config(config))
    elif config is None:
        model, _ = load_encoder(checkpoint)
    else:  # the named architecture, with the checkpoint's weights and input settings
        ckpt = read_checkpoint(checkpoint)
        inputs = dict(sample_rate=ckpt.model_config.sample_rate, normalize=ckpt.model_config.normalize)
        model = wav2vec2_model(dataclasses.replace(load_wav2vec2_config(config), **inputs))
        load_encoder_weights(model, encoder_weights(ckpt), f"{checkpoint} (with config {config})")
    name = Path(config).stem if config is not None else Path(checkpoint).stem
    return model, name


def load_utterances(manifest: str | Path, *, sample_rate: int, normalize: bool, max_utterances: int = 0,
                    min_samples: int = 1) -> tuple[list[str], list[Tensor], list[str]]:
    """Utterance ids and ``(L,)`` waveforms of ``manifest``, in manifest order, and the ids left out
    because they are shorter than ``min_samples`` (the encoder's receptive field). Unreadable audio is
    an ``AudioError`` naming the utterance and its file."""
    df = read_manifest(manifest)
    ds = AudioDataset(df, sample_rate=sample_rate, normalize=normalize, crop="start")
    ids, wavs, short = [], [], []
    for i in range(len(ds)):
        if max_utterances and len(wavs) == max_utterances:
            break
        utt = str(ds.ids[i])
        if int(ds.sizes[i]) < min_samples:
            short.append(utt)
            continue
        try:
            wavs.append(ds[i]["source"])
        except AudioError as e:
            raise AudioError(f"{manifest}: utterance {utt!r}: {e}") from e
        ids.append(utt)
    if not wavs:
        raise AudioError(f"{manifest}: no utterance of at least {min_samples} samples (the receptive field)")
    return ids, wavs, short


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_inference(forwards: Mapping[str, Callable[[Tensor], object]],
                   wavs: Sequence[Tensor] | Mapping[str, Sequence[Tensor]], *, precision: str,
                   device: torch.device, warmup: int = 2, repeats: int = 1,
                   progress: Callable[[int], None] | None = None) -> dict[str, list[float]]:
    """Seconds per utterance of each forward function, at batch 1, under ``torch.inference_mode``.
    ``wavs``: the utterances all functions get, or per function its own version of the same utterances
    (e.g. normalised for one model and not for another).

    Several functions (asrkit and ``transformers``, say) are timed interleaved, utterance by
    utterance, their order rotating from one utterance to the next, so that load from other
    processes and the state of caches and the allocator fall on all of them alike. The first ``warmup``
    utterances run once untimed beforehand. With ``repeats`` > 1 each utterance is run that many
    rounds (all functions in each round) and its time is the fastest round, as ``timeit`` reports:
    the run least disturbed by the rest of the machine. The autocast region spans the whole run, so
    fp32 weights are cast to bf16 once, as in a deployed bf16 model.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    names = list(forwards)
    inputs = wavs if isinstance(wavs, Mapping) else dict.fromkeys(names, wavs)
    if len({len(inputs[name]) for name in names}) != 1:
        raise ValueError("every function needs the same number of utterances")
    count = len(inputs[names[0]])
    times: dict[str, list[float]] = {name: [] for name in forwards}
    with torch.inference_mode(), autocast(resolve_precision(precision, device), device):
        for i in range(min(warmup, count)):
            for name, forward in forwards.items():
                forward(inputs[name][i][None].to(device))
        for i in range(count):
            xs = {name: inputs[name][i][None].to(device) for name in names}
            best = dict.fromkeys(names, math.inf)
            for r in range(repeats):
                k = (i + r) % len(names)
                for name in names[k:] + names[:k]:
                    forward = forwards[name]
                    _sync(device)
                    start = time.perf_counter()
                    forward(xs[name])
                    _sync(device)
                    best[name] = min(best[name], time.perf_counter() - start)
            for name in names:
                times[name].append(best[name])
            if progress is not None:
                progress(1)
    return times


def encoder_forward(model: Wav2Vec2Model) -> Callable[[Tensor], Tensor]:
    """The timed function: waveform ``(1, L)`` -> context representations ``(1, T, D)``."""
    return lambda x: model.extract_features(x).x


def pretrain_throughput(model: Wav2Vec2Model, wavs: Sequence[Tensor], *, precision: str, device: torch.device,
                        batch_size: int = 4, steps: int = 3, seed: int = 0) -> tuple[float, int]:
    """Audio seconds per second of pre-training updates of a copy of ``model`` on the first
    ``batch_size`` utterances cropped to the shortest (fairseq ``pad=False``), and the batch size used.
    One untimed update first."""
    from .objectives.contrastive import wav2vec2_objective

    wavs = list(wavs[:batch_size])
    length = min(len(w) for w in wavs)
    source = torch.stack([w[:length] for w in wavs]).to(device)
    train = copy.deepcopy(model).to(device).train()
    optimizer = torch.optim.AdamW(train.parameters(), lr=1e-6)
    generator = torch.Generator(device=device).manual_seed(seed)

    amp = autocast(resolve_precision(precision, device), device)

    def update() -> None:
        with amp:
            loss, _ = wav2vec2_objective(train, train(source, generator=generator), generator)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    update()
    _sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        update()
    _sync(device)
    seconds = (time.perf_counter() - start) / steps
    return len(wavs) * length / model.cfg.sample_rate / seconds, len(wavs)


def summarize(times: Sequence[float], wavs: Sequence[Tensor], sample_rate: int) -> dict:
    """Mean and (sample) standard deviation of the times in ms, and the real-time factor."""
    mean_s = statistics.fmean(times)
    mean_duration = statistics.fmean(len(w) for w in wavs) / sample_rate
    return {"utterances": len(times), "audio_s": round(sum(len(w) for w in wavs) / sample_rate, 3),
            "mean_duration_s": round(mean_duration, 3), "mean_ms": mean_s * 1e3,
            "std_ms": statistics.stdev(times) * 1e3 if len(times) > 1 else 0.0, "rtf": mean_s / mean_duration}


@contextlib.contextmanager
def num_threads(threads: int):
    """Run with ``threads`` intra-op threads (0: unchanged)."""
    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        yield torch.get_num_threads()
    finally:
        torch.set_num_threads(before)


def benchmark(manifest: str | Path, config: str | Path | None = None, checkpoint: str | Path | None = None,
              opts: BenchmarkOptions = BenchmarkOptions(), *,
              progress: Callable[[str, int, int], None] | None = None) -> list[dict]:
    """One row per precision with the columns of ``COLUMNS`` (times in ms, throughput in audio s / s)."""
    return benchmark_models(manifest, [(config, checkpoint)], opts, progress=progress)[0]


def benchmark_models(manifest: str | Path, models: Sequence[tuple[str | Path | None, str | Path | None]],
                     opts: BenchmarkOptions = BenchmarkOptions(), *,
                     progress: Callable[[str, int, int], None] | None = None) -> list[list[dict]]:
    """``benchmark`` for several ``(config, checkpoint)`` models at once, their rows in the same order.

    The models are timed interleaved, utterance by utterance (``time_inference``), so that a change in
    the machine's load during the run falls on all of them alike: a comparison between them is then
    fairer than one between separate runs. Every model gets the utterances all of them can take (at
    least the largest receptive field), each read at its own config's sample rate and normalised as it says.
    """
    return benchmark_models_and_times(manifest, models, opts, progress=progress)[0]


TIME_COLUMNS = ["model", "precision", "utterance", "duration_s", "ms"]


def benchmark_models_and_times(manifest: str | Path, models: Sequence[tuple[str | Path | None, str | Path | None]],
                               opts: BenchmarkOptions = BenchmarkOptions(), *,
                               progress: Callable[[str, int, int], None] | None = None):
    """``benchmark_models``'s rows, and each utterance's time: a data frame of :data:`TIME_COLUMNS` (one
    line per model, precision and utterance, in manifest order), for comparisons paired by utterance."""
    import pandas as pd

    if not models:
        raise ValueError("no model to time")
    loaded = [load_benchmark_model(config, checkpoint) for config, checkpoint in models]
    names = [name for _, name in loaded]
    if len(set(names)) < len(names):  # e.g. two recipes' checkpoint_best.pt: name them by their paths
        loaded = [(model, str(checkpoint if checkpoint is not None else config))
                  for (model, _), (config, checkpoint) in zip(loaded, models)]
    keys = [f"{i}:{name}" for i, (_, name) in enumerate(loaded)]
    device = resolve_device(opts.device)
    for model, _ in loaded:
        prepare_for_inference(model, device)
    receptive = max(model.feature_encoder.receptive_field for model, _ in loaded)
    versions = {}  # the manifest's audio, read once per (sample rate, normalisation) the models ask for
    for inputs in dict.fromkeys(_inputs(model) for model, _ in loaded):
        ids, versions[inputs], short = load_utterances(manifest, sample_rate=inputs[0], normalize=inputs[1],
                                                       max_utterances=opts.max_utterances, min_samples=receptive)
    wavs = {key: versions[_inputs(model)] for key, (model, _) in zip(keys, loaded)}
    rows: list[list[dict]] = [[] for _ in loaded]
    per_utterance = []
    with num_threads(opts.threads) as threads:
        for precision in dict.fromkeys(resolve_precision(p, device) for p in opts.precisions):
            what = f"{', '.join(name for _, name in loaded)} {precision}"
            count = len(wavs[keys[0]])
            report = (lambda k, what=what, count=count: progress(what, k, count)) if progress else None
            times = time_inference({key: encoder_forward(model) for key, (model, _) in zip(keys, loaded)}, wavs,
                                   precision=precision, device=device, warmup=opts.warmup, repeats=opts.repeats,
                                   progress=report)
            for out, key, (model, name) in zip(rows, keys, loaded):
                rate = model.cfg.sample_rate
                per_utterance += [(name, precision, utt, len(w) / rate, t * 1e3)
                                  for utt, w, t in zip(ids, wavs[key], times[key])]
                row = {"model": name, "precision": precision, "device": device.type, "threads": threads,
                       "params_m": count_parameters(model) / 1e6, "skipped": len(short),
                       **summarize(times[key], wavs[key], model.cfg.sample_rate), "pretrain_batch": 0,
                       "pretrain_audio_s_per_s": float("nan")}
                if opts.pretrain_batch:
                    row["pretrain_audio_s_per_s"], row["pretrain_batch"] = pretrain_throughput(
                        model, wavs[key], precision=precision, device=device, batch_size=opts.pretrain_batch,
                        steps=opts.pretrain_steps)
                out.append({c: row[c] for c in COLUMNS})
    return rows, pd.DataFrame(per_utterance, columns=TIME_COLUMNS)


def _inputs(model: Wav2Vec2Model) -> tuple[int, bool]:
    """How audio is read for ``model``: its config's sample rate and normalisation."""
    return model.cfg.sample_rate, model.cfg.normalize


def results_table(rows: Sequence[dict], title: str):
    """The rows as a rich table: one line per precision (and model, when there are several)."""
    from rich.table import Table

    first = rows[0]
    several = len({r["model"] for r in rows}) > 1 or len(rows) > len({r["precision"] for r in rows})
    table = Table(title=f"{title} ({first['utterances']} utterances of {first['mean_duration_s']:.2f} s on average, "
                        f"{first['device']}, {first['threads']} threads)")
    cols = ("model",) * several + ("precision", "params (M)", "inference ms / utterance", "RTF",
                                   "pre-training audio s / s")
    for col in cols:
        table.add_column(col, justify="left" if col in ("model", "precision") else "right")
    for r in rows:
        pretrain = f"{r['pretrain_audio_s_per_s']:.2f} (batch {r['pretrain_batch']})" if r["pretrain_batch"] else "-"
        table.add_row(*(r["model"],) * several, r["precision"], f"{r['params_m']:.2f}",
                      f"{r['mean_ms']:.1f} ± {r['std_ms']:.1f}", f"{r['rtf']:.4f}", pretrain)
    return table


def write_tsv(rows: Sequence[dict], path: str | Path) -> Path:
    import pandas as pd

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(list(rows), columns=COLUMNS).to_csv(path, sep="\t", index=False, float_format="%.6g")
    return path
