"""What every ``asrkit`` command shares: the console, progress bars, one-line errors, options made
from a config dataclass, and the tables the commands print."""
from __future__ import annotations

import contextlib
import dataclasses
import sys
import typing
from collections.abc import Iterator, Mapping

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

console = Console(stderr=True, width=None if sys.stderr.isatty() else 140)  # logs keep whole tables
ProgressCallback = typing.Callable[[str, int, int], None]  # (what, n, total)
CONTEXT = {"help_option_names": ["-h", "--help"], "show_default": True, "max_content_width": 100}


def stdout_console() -> Console:
    """A console on stdout, for tables that are a command's output (not its log)."""
    return Console(width=None if sys.stdout.isatty() else 140)


def progress_display(**kwargs) -> Progress:
    """The progress display of every command (kwargs as :class:`rich.progress.Progress`'s)."""
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), TimeRemainingColumn(), console=console, **kwargs)


@contextlib.contextmanager
def progress_bars(*, transient: bool = False, absolute: bool = False) -> Iterator[ProgressCallback]:
    """A progress display and the callback ``update(what, n, total)`` that library functions report
    to: one bar per ``what``, added when first reported, advanced by ``n`` (set to ``n`` when
    ``absolute``)."""
    with progress_display(transient=transient) as bar:
        tasks: dict[str, typing.Any] = {}

        def update(what: str, n: int, total: int) -> None:
            if what not in tasks:
                tasks[what] = bar.add_task(what, total=total)
            bar.update(tasks[what], **({"completed": n} if absolute else {"advance": n}))

        yield update


def fail(message: str, code: int = 1) -> typing.NoReturn:
    """Print ``error: message`` on one line and exit with ``code``."""
    console.print(f"[red]error:[/red] {escape(message)}", soft_wrap=True)
    sys.exit(code)


def dataclass_options(cls):
    """One ``--kebab-name`` option per field of config dataclass ``cls`` (scalar fields only)."""
    hints = typing.get_type_hints(cls)

    def decorate(fn):
        for f in reversed(dataclasses.fields(cls)):
            tp = hints[f.name]
            click.option(f"--{f.name.replace('_', '-')}", f.name, type=tp, default=f.default,
                         show_default=True)(fn)
        return fn

    return decorate


def given_options(ctx: click.Context, params: Mapping[str, typing.Any]) -> dict[str, typing.Any]:
    """The entries of ``params`` the user gave (on the command line), not left at their defaults."""
    return {k: v for k, v in params.items() if ctx.get_parameter_source(k) is not click.core.ParameterSource.DEFAULT}


def summary_table(title: str, rows: dict[str, dict]) -> Table:
    """Hours, utterances and speakers per split (rows of :func:`asrkit.data.manifest.summarize`)."""
    table = Table(title=title)
    for col in ("split", "hours", "utterances", "speakers"):
        table.add_column(col, justify="left" if col == "split" else "right")
    for split, s in rows.items():
        table.add_row(split, f"{s['hours']:.3f}", str(s["utterances"]), str(s["speakers"]))
    return table


def dataframe_table(df, title: str) -> Table:
    """Every row and column of a data frame; numeric columns right-aligned."""
    import pandas as pd

    table = Table(title=title)
    for col in df.columns:
        table.add_column(col, justify="right" if pd.api.types.is_numeric_dtype(df[col]) else "left")
    for row in df.itertuples(index=False):
        table.add_row(*(str(v) for v in row))
    return table
