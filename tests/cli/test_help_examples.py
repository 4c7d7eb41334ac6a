"""Every command's --help ends with example invocations of that command: one block, the last thing before
Options, in the format ``\\b`` / ``Examples:`` (``Example:`` for one) / lines ``asrkit <command path> ...``, which
use only options that command has and parse (its arguments and required options given, nothing left over). The
walk covers whatever is registered on ``asrkit.cli.cli``."""
from __future__ import annotations

import shlex

import click
import pytest
from click.testing import CliRunner

from asrkit.cli import cli


def leaf_commands(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], click.Command]]:
    out = []
    ctx = click.Context(group, info_name=group.name)
    for name in group.list_commands(ctx):  # not group.commands: asrkit's top level loads its commands lazily
        command = group.get_command(ctx, name)
        if isinstance(command, click.Group):
            out += leaf_commands(command, (*path, name))
        else:
            out.append(((*path, name), command))
    return out


COMMANDS = leaf_commands(cli)


def example_block(help_text: str) -> tuple[str, list[str]]:
    """The heading (``Example:`` / ``Examples:``) and the invocations, continuation lines joined, of the block
    that ends the help text before its Options section."""
    before_options = help_text.split("\nOptions:\n")[0].rstrip().splitlines()
    heads = [i for i, line in enumerate(before_options) if line.strip() in ("Example:", "Examples:")]
    assert heads, "no Example(s) block"
    start = heads[-1]
    body = before_options[start + 1:]
    assert body and all(line.startswith("    ") for line in body), "the block is not the last thing before Options"
    invocations, current = [], ""
    for line in body:
        current += " " + line.strip()
        if current.endswith("\\"):
            current = current[:-1]
        else:
            invocations.append(current.strip())
            current = ""
    assert not current, "an example ends with a line continuation"
    return before_options[start].strip(), invocations


def option_names(command: click.Command) -> set[str]:
    return {name for p in command.params if isinstance(p, click.Option) for name in (*p.opts, *p.secondary_opts)}


def parse(command: click.Command, words: list[str]) -> dict:
    """click's parse of a command line (no type conversion: the example's files need not exist): raises on an
    unknown option or a wrong number of option values; leftover words and missing required parameters are
    asserted here."""
    opts, leftover, _ = command.make_parser(click.Context(command, info_name=command.name)).parse_args(words)
    assert not leftover, f"extra arguments {leftover}"
    missing = [p.name for p in command.params if p.required and not (
        isinstance(opts.get(p.name), (str, tuple, list)) and opts[p.name])]
    assert not missing, f"missing required {missing}"
    return opts


def test_the_walk_finds_every_command():
    paths = {" ".join(path) for path, _ in COMMANDS}
    assert {"prepare synth", "manifest validate", "lm train", "sweep plan", "decode", "doctor"} <= paths
    assert not {"prepare", "manifest", "lm", "sweep"} & paths  # groups are walked into, not checked


@pytest.mark.parametrize("path, command", COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_help_ends_with_examples_of_the_command(path, command):
    result = CliRunner().invoke(cli, [*path, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    heading, examples = example_block(result.output)
    assert examples
    assert heading == ("Example:" if len(examples) == 1 else "Examples:")
    assert 1 <= len(examples) <= 2
    known = option_names(command)
    for example in examples:
        words = shlex.split(example)
        assert words[:len(path) + 1] == ["asrkit", *path], example
        used = {w.split("=", 1)[0] for w in words if w.startswith("--")}
        assert used <= known, f"{example}: no option {', '.join(sorted(used - known))}"
        parse(command, words[len(path) + 1:])
    # the docstring ends with the block in the source's format (\b, then the heading)
    lines = command.help.rstrip().splitlines()
    head = max(i for i, line in enumerate(lines) if line.strip() in ("Example:", "Examples:"))
    assert lines[head - 1].strip() == "\b" and lines[head - 2].strip() == ""
