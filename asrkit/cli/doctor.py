"""``asrkit doctor`` (:mod:`asrkit.doctor`): is this machine ready for the demo, the tests, or everything?"""
from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from ..doctor import MIN_FREE_GB, PURPOSES, run_checks, verdict
from .ui import CONTEXT, fail, stdout_console

_STYLES = {"ok": "green", "FAIL": "bold red", "missing": "yellow", "info": "cyan"}


@click.command("doctor", context_settings=CONTEXT)
@click.option("--exp-dir", type=click.Path(path_type=Path), default=Path("."),
              help="Where the recipe or run will write: its disk must have --min-free-gb free, and it must be "
                   "writable (if it does not exist yet, its nearest existing parent).")
@click.option("--for", "purpose", type=click.Choice(list(PURPOSES)), default="demo",
              help="Which checks must pass. demo: everything `make demo` uses (espeak-ng, flite, festival, KenLM, "
                   "the 4-gram decoder); test: the test suite's needs (its flite, festival and sclite tests skip "
                   "where those are missing); all: what demo needs and sclite. The CPU's bf16 and the GPUs are "
                   "reported, never required.")
@click.option("--min-free-gb", type=click.FloatRange(min=0), default=MIN_FREE_GB,
              help="Free disk space (GB) needed on --exp-dir's disk.")
def doctor_cmd(exp_dir: Path, purpose: str, min_free_gb: float):
    """Check the installation: Python, torch + torchaudio (a matching CUDA pair), soundfile, the synthesis
    engines, KenLM, the CTC decoder, sclite, disk space and write access. Prints each check with a fix for each
    failure (again below the table, unwrapped); exits 1 when a check that --for needs fails.

    \b
    Examples:
      asrkit doctor
      asrkit doctor --for all --exp-dir recipes/synth/w2v2_tiny --min-free-gb 10
    """
    checks = run_checks(purpose, exp_dir, min_free_gb)
    table = Table(title=f"asrkit doctor (--for {purpose})")
    for col in ("check", "status", "detail", "fix"):
        table.add_column(col)
    for c in checks:
        style = _STYLES[c.status]
        table.add_row(c.name, f"[{style}]{c.status}[/{style}]", escape(c.detail), escape(c.fix))
    out = stdout_console()
    out.print(table)
    for c in checks:  # again, unwrapped, to copy
        if c.fix and not c.ok:
            out.print(f"fix {c.name}: {c.fix}", soft_wrap=True, markup=False, highlight=False)
    ready, line = verdict(checks, purpose)
    if not ready:
        fail(line)
    out.print(f"[green]{escape(line)}[/green]", soft_wrap=True)
