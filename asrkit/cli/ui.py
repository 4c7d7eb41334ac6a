"""What every ``asrkit`` command shares: the console, progress bars, one-line errors, options made
from a config dataclass, and the tables the commands print."""
from __future__ import annotations

import contextlib
import dataclasses
import errno
import importlib
import os
import shlex
import sys
import tempfile
import time
import traceback
import typing
from collections.abc import Iterator, Mapping
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

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


# OSErrors that are the machine's state, not asrkit's bug: one line naming the file, no log
_ENVIRONMENT_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOENT,
                       errno.ENOTDIR, errno.EISDIR, errno.EMFILE, errno.ENAMETOOLONG, errno.EIO}


class AsrkitGroup(click.Group):
    """The top-level group: an exception no command turned into a one-line error is a bug or an input asrkit
    does not check; the user gets one line naming a log file that holds the traceback (``--debug`` or
    ``ASRKIT_DEBUG=1``: the traceback itself). Ctrl-C exits 130; click's own errors and exits pass unchanged.

    Its commands load lazily (click's "lazily loading subcommands"): ``lazy_commands`` maps each name to the
    ``module:attribute`` of this package that defines it, imported when the command is looked up (to run it, or
    to list it in ``--help``), so that a command starts without the modules of the others; an import that fails
    as the command runs is handled as any other unexpected error."""

    def __init__(self, *args, lazy_commands: Mapping[str, str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy_commands and cmd_name not in self.commands:
            module, _, attribute = self.lazy_commands[cmd_name].partition(":")
            self.add_command(getattr(importlib.import_module(f".{module}", __package__), attribute), cmd_name)
        return super().get_command(ctx, cmd_name)

    def resolve_command(self, ctx: click.Context, args: list[str]
                        ) -> tuple[str | None, click.Command | None, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError as e:
            # click 8.4+ suggests close names (NoSuchCommand) from self.commands: only the commands loaded so far
            if isinstance(e, getattr(click, "NoSuchCommand", ())):
                raise click.NoSuchCommand(e.command_name, possibilities=self.list_commands(ctx), ctx=ctx) from None
            raise

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["asrkit.argv"] = [ctx.info_name or "asrkit", *args]
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt:
            console.print("[red]interrupted[/red]", soft_wrap=True)
            sys.exit(130)
        except Exception as e:
            if ctx.params.get("debug") or (isinstance(e, OSError) and e.errno == errno.EPIPE):
                raise  # a broken pipe (asrkit ... | head) is click's to handle
            if isinstance(e, BrokenProcessPool):  # every pool of worker processes (validate, decode, synth)
                fail(f"a worker process died ({str(e).strip() or 'killed'}): the system may have run out of memory "
                     "(the OOM killer, see `dmesg`); rerun with fewer --num-workers")
            if isinstance(e, OSError) and e.filename and e.errno in _ENVIRONMENT_ERRNOS:
                fail(f"{e.filename}: {e.strerror}; free space, fix the permissions or the path, and rerun"
                     + (" (training resumes from its last checkpoint)" if ctx.invoked_subcommand in
                        ("pretrain", "finetune") else ""))
            log = write_crash_log(ctx.meta.get("asrkit.argv", sys.argv))
            lines = str(e).strip().splitlines()
            what = f"{type(e).__name__}: {lines[0][:300]}" if lines else type(e).__name__
            where = f"the traceback is in {log}" if log else "the traceback could not be written to a log file"
            fail(f"unexpected {what} (this is a bug in asrkit or an input it does not check; {where}; "
                 "rerun with --debug to see it)")


def crash_log_dir() -> Path:
    """Where tracebacks of unexpected errors go: ``$XDG_CACHE_HOME/asrkit/logs`` (``~/.cache/asrkit/logs``)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "asrkit" / "logs"


def write_crash_log(argv: typing.Sequence[str]) -> Path | None:
    """Write the exception being handled, with the command line that raised it, to a new file in
    ``crash_log_dir()`` (else the system's temp dir); its path, or None when neither could be written."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        asrkit_version = version("asrkit")
    except PackageNotFoundError:
        asrkit_version = "(not installed)"
    rank = os.environ.get("RANK")
    torch = sys.modules.get("torch")
    text = "".join([
        f"command: {shlex.join(map(str, argv))}\n",
        f"cwd: {os.getcwd()}\n",
        f"time: {time.strftime('%Y-%m-%d %H:%M:%S %z')}\n",
        f"asrkit {asrkit_version}, python {sys.version.split()[0]}"
        + (f", torch {torch.__version__}" if torch else "") + "\n",
        f"rank: {rank}\n" if rank else "",
        "\n",
        traceback.format_exc(),
    ])
    name = f"asrkit-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}{f'-rank{rank}' if rank else ''}.log"
    for folder in (crash_log_dir(), Path(tempfile.gettempdir())):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(text)
            return folder / name
        except OSError:
            continue
    return None


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
