"""``make bench``: throughput tables, written to ``bench/results/`` as TSV and Markdown.

Timing goals live here, never in tests. Sections:

- data: corpus synthesis (x real time), manifest validation and data loading
  (seconds of audio per second) on a freshly synthesised corpus;
- pretrain: wav2vec 2.0 pre-training throughput (seconds of audio per second: forward,
  backward and optimizer step, masking and distractor sampling included) of asrkit and of
  ``transformers.Wav2Vec2ForPreTraining`` on the same config and batch, fp32 and bf16.
"""
from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch


def _row(section: str, what: str, value: float, unit: str, note: str = "") -> dict:
    return {"section": section, "what": what, "value": round(value, 2), "unit": unit, "note": note}


def bench_data(work: Path, hours: float = 0.25, num_workers: int = 2) -> list[dict]:
    from .data.datasets import AudioDataset
    from .data.librispeech import prepare_librispeech
    from .data.manifest import read_manifest
    from .data.samplers import BucketBatchSampler
    from .data.synth.corpus import SynthConfig, generate_corpus
    from .data.validate import validate_manifest

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

    from .models.checkpoint_import import HF_CONFIG_MAP

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

    from .models.wav2vec2 import load_wav2vec2_config, wav2vec2_model
    from .objectives.contrastive import wav2vec2_loss

    cfg = load_wav2vec2_config(config)
    torch.manual_seed(0)
    ours = wav2vec2_model(cfg).train()
    theirs = Wav2Vec2ForPreTraining(hf_wav2vec2_config(cfg)).train()
    x = torch.randn(*batch)
    audio_s = batch[0] * batch[1] / 16000
    rows = []
    for precision in ("fp32", "bf16"):
        amp = torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16")
        opt_ours = torch.optim.AdamW(ours.parameters(), lr=1e-5)
        opt_theirs = torch.optim.AdamW(theirs.parameters(), lr=1e-5)

        def step_ours():
            with amp:
                out = ours(x)
                loss, _ = wav2vec2_loss(out.logits, out.prob_perplexity, out.num_vars, out.features_pen)
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
        note = f"W2V2-{config}, batch {batch[0]} x {batch[1] / 16000:g} s, {torch.get_num_threads()} threads"
        rows.append(_row("pretrain", f"asrkit {precision}", audio_s / t_ours, "audio s / s", note))
        rows.append(_row("pretrain", f"transformers {precision}", audio_s / t_theirs, "audio s / s", note))
        rows.append(_row("pretrain", f"asrkit / transformers {precision}", t_theirs / t_ours, "x", ""))
    return rows


def write_table(rows: list[dict], out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    df = pd.DataFrame(rows)
    df.to_csv(out / "bench.tsv", sep="\t", index=False)
    header = f"machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, " \
             f"{torch.get_num_threads()} threads\n\n"
    md = header + "| " + " | ".join(df.columns) + " |\n|" + "---|" * len(df.columns) + "\n"
    md += "".join("| " + " | ".join(str(v) for v in r) + " |\n" for r in df.itertuples(index=False))
    (out / "bench.md").write_text(md)
    return out / "bench.md"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    parser.add_argument("--hours", type=float, default=0.25, help="size of the synthesised pool to time")
    parser.add_argument("--sections", default="data,pretrain", help="comma-separated: data, pretrain")
    args = parser.parse_args(argv)
    sections = args.sections.split(",")
    from rich.console import Console
    from rich.table import Table

    rows = []
    if "data" in sections:
        with tempfile.TemporaryDirectory() as tmp:
            rows += bench_data(Path(tmp), args.hours)
    if "pretrain" in sections:
        rows += bench_pretrain()
    path = write_table(rows, args.out)
    table = Table(title=f"asrkit benchmarks ({path})")
    for col in rows[0]:
        table.add_column(col)
    for r in rows:
        table.add_row(*(str(v) for v in r.values()))
    Console().print(table)


if __name__ == "__main__":
    main()
