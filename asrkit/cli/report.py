"""``asrkit results``, ``asrkit benchmark``, ``asrkit compare`` and ``asrkit multistage-report``: tables across
experiments (results TSVs, inference speed, SEW-D's Table 1, the multi-stage paper's Table 1 and Figure 3)."""
from __future__ import annotations

from pathlib import Path

import click

from .ui import CONTEXT, console, dataframe_table, fail, progress_bars, stdout_console


@click.command("results", context_settings=CONTEXT)
@click.argument("results_tsv", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def results_cmd(results_tsv: Path):
    """Show a results TSV (rows appended by `asrkit score --results`) as a table.

    \b
    Example:
      asrkit results exp/results.tsv
    """
    from ..score import read_results

    try:
        df = read_results(results_tsv)
    except ValueError as e:
        fail(str(e))
    stdout_console().print(dataframe_table(df, str(results_tsv)))


@click.command("benchmark", context_settings=CONTEXT)
@click.option("--config", "configs", multiple=True, help="Model config: a name in asrkit/conf/model (tiny, base, "
              "sew_d_tiny, ...) or a YAML file; random weights unless --checkpoint is given. Repeat it (or "
              "--checkpoint) to time several models interleaved, utterance by utterance.")
@click.option("--checkpoint", "checkpoints", type=click.Path(dir_okay=False, path_type=Path), multiple=True,
              help="asrkit checkpoint, pre-training or fine-tuned CTC (its encoder is timed); repeatable. With "
                   "--config given as often, they pair up in order.")
@click.option("--manifest", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Utterances to time, one at a time, in manifest order.")
@click.option("--out", "outs", type=click.Path(dir_okay=False, path_type=Path), multiple=True,
              help="Write the rows as TSV; once per model when several are timed.")
@click.option("--max-utterances", default=0, help="Time only the first N usable utterances (0: all).")
@click.option("--warmup", default=2, help="Utterances run untimed first.")
@click.option("--threads", default=0, help="torch intra-op threads (0: torch's default).")
@click.option("--precision", default="fp32,bf16", help="Comma-separated: fp32, bf16, fp16 (autocast), auto.")
@click.option("--device", default="auto", help="auto (cuda when available), cpu or cuda.")
@click.option("--pretrain-batch", default=4, help="Utterances in the pre-training batch (0: skip that measurement).")
@click.option("--pretrain-steps", default=3, help="Timed pre-training updates.")
@click.option("--repeats", default=1, type=click.IntRange(min=1),
              help="Time each utterance this many rounds and keep its fastest (timeit's rule: the round least "
                   "disturbed by other load).")
@click.option("--times-out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write every utterance's time (model, precision, utterance, duration_s, ms) as TSV, for "
                   "comparisons paired by utterance (asrkit ablation collect).")
def benchmark_cmd(configs, checkpoints, manifest, outs, max_utterances, warmup, threads, precision, device,
                  pretrain_batch, pretrain_steps, repeats, times_out):
    """Parameters, inference time per utterance at batch 1 (mean ± std, real-time factor) and
    pre-training throughput, as SEW-D (Wu et al., 2021) compares models.

    \b
    Examples:
      asrkit benchmark --config tiny --config sew_d_tiny --manifest data/manifests/test.tsv --max-utterances 50
      asrkit benchmark --checkpoint exp/pretrained_10m/checkpoint_best.pt --manifest data/manifests/test.tsv \\
          --precision fp32 --threads 1 --out exp/pretrained_10m/benchmark_test.tsv
    """
    from ..benchmark import BenchmarkOptions, benchmark_models_and_times, results_table, write_tsv
    from ..config import ConfigError
    from ..data.audio import AudioError
    from ..data.manifest import ManifestError

    if configs and checkpoints and len(configs) != len(checkpoints):
        fail(f"--config given {len(configs)} times and --checkpoint {len(checkpoints)} times: give them as often "
             "(they pair up in order) or give only one of them")
    models = list(zip(configs, checkpoints)) if configs and checkpoints else \
        [(c, None) for c in configs] or [(None, c) for c in checkpoints] or [(None, None)]
    if outs and len(outs) != len(models):
        fail(f"--out given {len(outs)} times for {len(models)} model(s): give it once per model, in order")
    try:
        opts = BenchmarkOptions(tuple(p.strip() for p in precision.split(",") if p.strip()), max_utterances, warmup,
                                threads, device, pretrain_batch, pretrain_steps, repeats)
        with progress_bars(transient=True) as update:
            per_model, times = benchmark_models_and_times(manifest, models, opts, progress=update)
    except (ValueError, ConfigError, ManifestError, AudioError) as e:
        fail(str(e))
    rows = [row for model_rows in per_model for row in model_rows]
    names = ", ".join(dict.fromkeys(r["model"] for r in rows))
    stdout_console().print(results_table(rows, f"{names} on {manifest}"))
    for out, model_rows in zip(outs, per_model):
        console.print(f"wrote {write_tsv(model_rows, out)}")
    if times_out is not None:
        times_out.parent.mkdir(parents=True, exist_ok=True)
        times.to_csv(times_out, sep="\t", index=False, float_format="%.6g")
        console.print(f"wrote {times_out}")
    if rows[0]["skipped"]:
        console.print(f"[yellow]{rows[0]['skipped']} utterance(s) shorter than the receptive field were left out")


@click.command("compare", context_settings=CONTEXT)
@click.option("--model", "models", nargs=3, multiple=True, required=True,
              metavar="NAME BENCHMARK_TSV RESULTS_TSV",
              help="One row, repeated per model: its name, an `asrkit benchmark --out` TSV and a results TSV "
                   "(`asrkit score --results`, a recipe's exp/results.tsv).")
@click.option("--exp", "exp_name", default="pretrained_10m", help="Experiment whose WERs to take (results column exp).")
@click.option("--split", default="test", help="Split whose WERs to take (results column split).")
@click.option("--decoders", default="greedy,4gram", help="Comma-separated decoders, one WER column each.")
@click.option("--precision", default="fp32", help="Benchmark row to take (SEW-D times fp32).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write the table as TSV.")
def compare_cmd(models, exp_name, split, decoders, precision, out):
    """Models side by side as SEW-D's Table 1: parameters, inference time (batch 1, mean ± std), WER
    without and with the LM.

    \b
    Example:
      asrkit compare --model 'W2V2 (demo)' w2v2_tiny/exp/pretrained_10m/benchmark_test.tsv w2v2_tiny/exp/results.tsv \\
          --model 'SEW-D (sew_d_demo)' sewd_tiny/exp/pretrained_10m/benchmark_test.tsv sewd_tiny/exp/results.tsv \\
          --out exp/table1.tsv
    """
    from ..compare import CompareError, ModelRun, compare_models, compare_table, write_tsv

    try:
        df = compare_models([ModelRun(name, Path(bench), Path(results)) for name, bench, results in models],
                            exp=exp_name, split=split, precision=precision,
                            decoders=[d.strip() for d in decoders.split(",") if d.strip()])
    except CompareError as e:
        fail(str(e))
    stdout_console().print(compare_table(df, f"{exp_name}, {split} set"))
    if out is not None:
        console.print(f"wrote {write_tsv(df, out)}")


@click.command("multistage-report", context_settings=CONTEXT)
@click.argument("runs_tsv", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("results_tsv", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out-dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Where table1.tsv, table1.md, figure3.tsv and figure3.png go.")
@click.option("--decoder", default="greedy", help="Results rows to take (column decoder).")
@click.option("--split", default="test", help="Results rows to take (column split).")
@click.option("--title", default="", help="Heading of the table and the chart (default: split and decoder).")
def multistage_report_cmd(runs_tsv, results_tsv, out_dir, decoder, split, title):
    """The multi-stage paper's Table 1 and Figure 3 in miniature: WER after no pre-training, pre-training only
    and pre-training + mid-training (RUNS_TSV: exp, objective, data, pair, seed; RESULTS_TSV: `asrkit score
    --results`), relative improvements, mid-training's average gain by method, pair and set, the findings.

    \b
    Examples:
      asrkit multistage-report exp/runs_frozen.tsv exp/results.tsv --out-dir exp/report_frozen
      asrkit multistage-report exp/runs_frozen.tsv exp/results.tsv --out-dir exp/report_dev --split dev
    """
    from ..multistage_report import ReportError, multistage_report

    try:
        paths = multistage_report(runs_tsv, results_tsv, out_dir, decoder=decoder, split=split, title=title)
    except ReportError as e:
        fail(str(e))
    stdout_console().print(paths["table1.md"].read_text(encoding="utf-8"), markup=False, highlight=False)
    console.print(f"wrote {', '.join(str(p) for p in paths.values())}")


@click.command("eval-av", context_settings=CONTEXT)
@click.argument("checkpoint", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--manifest", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="Held-out AV manifest (clips from their start, centre-cropped).")
@click.option("--batch-size", default=32, type=click.IntRange(min=2), help="Clips per retrieval batch (chance 1/N).")
@click.option("--shift-seconds", default=0.5, type=click.FloatRange(min=0, min_open=True),
              help="Audio shift of the sync test (rounded to whole video frames).")
@click.option("--sync-window-seconds", default=1.28, type=click.FloatRange(min=0, min_open=True),
              help="Length of the sync test's audio and video windows, inside each clip with room for both shifts.")
@click.option("--frame-stride", default=None, type=click.IntRange(min=1),
              help="Video frame stride (default: the checkpoint's pre-training data.frame_stride).")
@click.option("--seed", default=0, help="Seed of the MAE masks and of the retrieval batches.")
@click.option("--precision", default="fp32", help="fp32, bf16, fp16 (autocast) or auto.")
@click.option("--device", default="cpu", help="cpu or cuda.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the measures as TSV (measure, value, reference).")
def eval_av_cmd(checkpoint, manifest, batch_size, shift_seconds, sync_window_seconds, frame_stride, seed, precision,
                device, out):
    """What an audio-visual pre-training checkpoint learned: MAE loss against the mean-of-visible-tokens
    reference, CLR retrieval top-1 in batches (and in same-speaker batches), and an audio-video sync test.

    \b
    Example:
      asrkit eval-av exp/pretrain_mae/checkpoint_last.pt --manifest data/manifests/lrs3/test.tsv \\
          --out exp/pretrain_mae/av_eval_test.tsv
    """
    import pandas as pd
    from rich.table import Table

    from ..config import ConfigError
    from ..data.audio import AudioError
    from ..data.manifest import ManifestError
    from ..data.video import VideoError
    from ..train.av_eval import AVEvalOptions, evaluate_av, measures_table

    opts = AVEvalOptions(batch_size=batch_size, shift_seconds=shift_seconds, sync_window_seconds=sync_window_seconds,
                         seed=seed, frame_stride=frame_stride,
                         precision=precision, device=device)
    try:
        with progress_bars(transient=True) as update:
            result = evaluate_av(checkpoint, manifest, opts, progress=update)
    except (ConfigError, ManifestError, AudioError, VideoError) as e:
        fail(str(e))
    rows = measures_table(result, batch_size)
    table = Table(title=f"{checkpoint} on {manifest} ({int(result['clips'])} clips)")
    for col in ("measure", "value", "reference"):
        table.add_column(col, justify="left" if col == "measure" else "right")
    for measure, value, ref in rows:
        table.add_row(measure, f"{value:.4g}", ref)
    stdout_console().print(table)
    if out is not None:
        pd.DataFrame(rows, columns=["measure", "value", "reference"]).to_csv(out, sep="\t", index=False)
