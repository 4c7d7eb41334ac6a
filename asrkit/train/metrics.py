"""Training metrics: ``exp_dir/metrics.tsv`` (appended, survives resumes), TensorBoard event
files, a rich progress bar while running and ``curves.png`` at the end."""
from __future__ import annotations

import contextlib
import csv
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

# shown on the progress bar, in this order, when the task reports them
BAR_FIELDS = ("loss", "accuracy", "code_perplexity", "wer", "per", "lr", "audio_s_per_s")


class MetricsLogger:
    """One TSV row per logged update: ``split update key=value...`` in long format, so runs
    that add a metric later (or resume) never break the file's columns."""

    def __init__(self, exp_dir: Path, enabled: bool = True, tensorboard: bool = True):
        self.enabled = enabled
        self.path = exp_dir / "metrics.tsv"
        self._writer = None
        if not enabled:
            return
        exp_dir.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():
            self.path.write_text("split\tupdate\tmetric\tvalue\n")
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self._writer = SummaryWriter(str(exp_dir / "tb"))

    def log(self, split: str, row: dict) -> None:
        if not self.enabled:
            return
        step = int(row["update"])
        with open(self.path, "a", encoding="utf-8") as f:
            for k, v in row.items():
                if k != "update" and isinstance(v, (int, float)):
                    f.write(f"{split}\t{step}\t{k}\t{v:.6g}\n")
                    if self._writer is not None:
                        self._writer.add_scalar(f"{split}/{k}", v, step)

    def close(self, plot: bool = True) -> None:
        if self._writer is not None:
            self._writer.close()
        if self.enabled and plot:
            with contextlib.suppress(Exception):  # a plot must never cost a finished run
                plot_curves(self.path, self.path.parent / "curves.png")


def read_metrics(path: str | Path) -> dict[str, dict[str, list[tuple[int, float]]]]:
    """``{split: {metric: [(update, value), ...]}}``, keeping the last value per update (resumes)."""
    out: dict[str, dict[str, dict[int, float]]] = {}
    with open(path, encoding="utf-8") as f:
        for r in csv.DictReader(f, delimiter="\t"):
            out.setdefault(r["split"], {}).setdefault(r["metric"], {})[int(r["update"])] = float(r["value"])
    return {s: {m: sorted(v.items()) for m, v in ms.items()} for s, ms in out.items()}


def save_figure(fig, out_png: Path, dpi: int = 120) -> Path:
    """Write a matplotlib figure as a PNG atomically (a temporary file renamed over ``out_png``) and close it."""
    import os

    import matplotlib.pyplot as plt

    tmp = out_png.with_name(out_png.stem + ".tmp.png")
    fig.savefig(tmp, dpi=dpi)
    plt.close(fig)
    os.replace(tmp, out_png)
    return out_png


def plot_curves(metrics_tsv: Path, out_png: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = read_metrics(metrics_tsv)
    train, valid = data.get("train", {}), data.get("valid", {})
    names = [m for m in ("loss", "accuracy", "code_perplexity", "prob_perplexity", "wer", "per", "lr")
             if m in train or m in valid]
    fig, axes = plt.subplots(1, len(names), figsize=(4 * len(names), 3.2), squeeze=False)
    for ax, name in zip(axes[0], names):
        for split, series in (("train", train), ("valid", valid)):
            if name in series:
                xs, ys = zip(*series[name])
                ax.plot(xs, ys, label=split, marker="o" if split == "valid" else None, markersize=3)
        ax.set_title(name)
        ax.set_xlabel("update")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(out_png, dpi=100)
    plt.close(fig)
    return out_png


class _Bar:
    def __init__(self, progress: Progress | None, task):
        self.progress, self.task = progress, task

    def update(self, **kw) -> None:
        if self.progress is not None:
            self.progress.update(self.task, **kw)

    def show(self, row: dict) -> None:
        if self.progress is None:
            return
        parts = []
        for k in BAR_FIELDS:
            if k in row:
                v = row[k]
                parts.append(f"{k}={v:.2e}" if k == "lr" else f"{k}={v:.3f}" if abs(v) < 100 else f"{k}={v:.0f}")
        self.progress.update(self.task, stats=" ".join(parts))


@contextlib.contextmanager
def progress_bar(console, enabled: bool, total: int, completed: int = 0):
    if not enabled or console is None:
        yield _Bar(None, None)
        return
    progress = Progress(
        TextColumn("[bold]update"), MofNCompleteColumn(), BarColumn(bar_width=30), TimeElapsedColumn(),
        TextColumn("eta"), TimeRemainingColumn(), TextColumn("{task.fields[stats]}"), console=console,
    )
    with progress:
        task = progress.add_task("train", total=total, completed=completed, stats="")
        yield _Bar(progress, task)
