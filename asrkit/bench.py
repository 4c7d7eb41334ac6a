"""``make bench``: throughput tables, written to ``bench/results/`` as TSV and Markdown.

Timing goals live here, never in tests. Sections:

- data: corpus synthesis (x real time), manifest validation and data loading
  (seconds of audio per second) on a freshly synthesised corpus.
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
    args = parser.parse_args(argv)
    from rich.console import Console
    from rich.table import Table

    with tempfile.TemporaryDirectory() as tmp:
        rows = bench_data(Path(tmp), args.hours)
    path = write_table(rows, args.out)
    table = Table(title=f"asrkit benchmarks ({path})")
    for col in rows[0]:
        table.add_column(col)
    for r in rows:
        table.add_row(*(str(v) for v in r.values()))
    Console().print(table)


if __name__ == "__main__":
    main()
