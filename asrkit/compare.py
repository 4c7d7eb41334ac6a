"""Models side by side as SEW-D's Table 1 sets them out (Wu et al., 2021, §4.2): parameters, inference
time at batch 1 (mean ± std) and WER without and with the LM.

Nothing is measured here; the rows are joined from the TSVs the recipes and ``asrkit benchmark`` write:

- parameters and inference time: one row of an ``asrkit benchmark --out`` TSV (one row per precision);
- WER: the rows of a recipe's ``exp/results.tsv`` (``asrkit score --results``) for one experiment
  (``pretrained_10m``), one split (``test``) and each decoder (``greedy``, ``4gram``). ``score`` appends,
  so where a row was scored more than once the last one counts.

The comparison is at equal inference conditions (Table 1 times every model the same way), so the models'
benchmarks must agree on device, threads and utterances.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

COLUMNS = ["model", "params_m", "infer_mean_ms", "infer_std_ms", "precision", "device", "threads", "utterances"]
SAME_TIMING = ("device", "threads", "utterances")  # benchmark settings every compared model must share


class CompareError(ValueError):
    pass


@dataclass(frozen=True)
class ModelRun:
    """One row of the comparison: its name, its ``asrkit benchmark`` TSV and its results TSV."""

    name: str
    benchmark_tsv: Path
    results_tsv: Path


def _read(path: Path, columns: Sequence[str], what: str) -> pd.DataFrame:
    if not Path(path).is_file():
        raise CompareError(f"{path}: {what} not found")
    try:
        df = pd.read_csv(path, sep="\t", keep_default_na=False, dtype=str)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as e:
        raise CompareError(f"{path}: not {what} ({' '.join(str(e).split())})") from None
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise CompareError(f"{path}: not {what} (no column {', '.join(missing)})")
    return df


def _timing(run: ModelRun, precision: str) -> dict:
    df = _read(run.benchmark_tsv, ["precision", "device", "threads", "params_m", "utterances", "mean_ms", "std_ms"],
               "an `asrkit benchmark` TSV")
    rows = df[df["precision"] == precision]
    if rows.empty:
        raise CompareError(f"{run.benchmark_tsv}: no {precision} row (it has {', '.join(df['precision'])})")
    r = rows.iloc[-1]
    return {"params_m": float(r["params_m"]), "infer_mean_ms": float(r["mean_ms"]),
            "infer_std_ms": float(r["std_ms"]), "precision": precision, "device": r["device"],
            "threads": int(r["threads"]), "utterances": int(r["utterances"])}


def _wers(run: ModelRun, exp: str, split: str, decoders: Sequence[str]) -> dict:
    df = _read(run.results_tsv, ["exp", "decoder", "split", "wer"], "a results TSV")
    wers = {}
    for decoder in decoders:
        rows = df[(df["exp"] == exp) & (df["decoder"] == decoder) & (df["split"] == split)]
        if rows.empty:
            have = sorted(set(df["exp"] + "/" + df["decoder"] + "/" + df["split"]))
            raise CompareError(f"{run.results_tsv}: no row for exp {exp!r}, decoder {decoder!r}, split {split!r} "
                               f"(it has exp/decoder/split {', '.join(have) or 'nothing'})")
        wers[f"wer_{decoder}"] = float(rows["wer"].iloc[-1])
    return wers


def compare_models(runs: Sequence[ModelRun], *, exp: str = "pretrained_10m", split: str = "test",
                   decoders: Sequence[str] = ("greedy", "4gram"), precision: str = "fp32") -> pd.DataFrame:
    """One row per model, in the order given: :data:`COLUMNS`, then ``wer_<decoder>`` per decoder."""
    if not runs:
        raise CompareError("no model to compare")
    if not decoders:
        raise CompareError("no decoder: give at least one (e.g. greedy)")
    rows = [{"model": run.name, **_timing(run, precision), **_wers(run, exp, split, decoders)} for run in runs]
    for key in SAME_TIMING:
        values = {r["model"]: r[key] for r in rows}
        if len(set(values.values())) > 1:
            raise CompareError(f"inference timed with different {key}: "
                               + ", ".join(f"{m} {v}" for m, v in values.items()) + "; time every model alike")
    return pd.DataFrame(rows, columns=[*COLUMNS, *(f"wer_{d}" for d in decoders)])


def compare_table(df: pd.DataFrame, title: str):
    """The comparison as a rich table, Table 1's columns in Table 1's order."""
    from rich.table import Table

    first = df.iloc[0]
    table = Table(title=f"{title} (inference: batch 1, {first['precision']}, {first['device']}, "
                        f"{first['threads']} thread(s), {first['utterances']} utterances)")
    wer_columns = [c for c in df.columns if c.startswith("wer_")]
    for col in ("model", "params (M)", "inference ms / utterance", *(f"WER {c[4:]}" for c in wer_columns)):
        table.add_column(col, justify="left" if col == "model" else "right")
    for r in df.to_dict("records"):
        table.add_row(r["model"], f"{r['params_m']:.2f}", f"{r['infer_mean_ms']:.1f} ± {r['infer_std_ms']:.1f}",
                      *(f"{r[c]:.2f}" for c in wer_columns))
    return table


def write_tsv(df: pd.DataFrame, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, sep="\t", index=False, float_format="%.6g")
    return path
