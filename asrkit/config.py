"""YAML configs -> frozen, typed dataclasses, with dotted ``--set key=value`` overrides.

Unknown keys, values of the wrong type and values out of their range are errors that name
where the value came from (the file, or ``--set``), the dotted key and what is allowed
(``conf.yaml.optim.update_freq: 0 is out of range: must be >= 1``). Each config dataclass
declares the range of every numeric field once, in its ``__post_init__`` (:func:`check_ranges`),
so a config built in code is checked as one read from YAML. Every run writes the resolved
config next to its outputs (:func:`save_config`), so a result can always be traced back to its settings.
"""
from __future__ import annotations

import dataclasses
import math
import numbers
import re
import types
import typing
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import yaml

from .utf8 import read_utf8

T = TypeVar("T")


class ConfigError(ValueError):
    pass


class FieldError(ConfigError):
    """A config value that is not allowed: ``key`` (dotted, relative to the dataclass raising it) and
    ``problem``. :func:`from_dict` puts where the value came from in front of the key."""

    def __init__(self, owner: str, key: str, problem: str):
        self.key, self.problem = key, problem
        super().__init__(f"{owner}.{key}: {problem}")


def field_error(cfg: Any, key: str, problem: str) -> FieldError:
    """The error for ``cfg``'s field ``key`` (dotted for a field of a section: ``trainer.max_tokens``)."""
    return FieldError(type(cfg).__name__, key, problem)


_BOUND = re.compile(r"(>=|>|<=|<)\s*(\S+)")
_INTERVAL = re.compile(r"([\[(])\s*([^,\s]+)\s*,\s*([^\])\s]+)\s*([\])])")


def _range_test(spec: str) -> Callable[[float], bool]:
    """``">= 1"``, ``"> 0"``, ``"[0, 1)"``, ``"(0, 1]"`` ... or ``"any"`` (any finite number) -> a test."""
    if spec == "any":
        return lambda v: True
    if m := _BOUND.fullmatch(spec.strip()):
        op, bound = m[1], float(m[2])
        return {">=": lambda v: v >= bound, ">": lambda v: v > bound,
                "<=": lambda v: v <= bound, "<": lambda v: v < bound}[op]
    if m := _INTERVAL.fullmatch(spec.strip()):
        lo, hi = float(m[2]), float(m[3])
        low_ok = (lambda v: v >= lo) if m[1] == "[" else (lambda v: v > lo)
        high_ok = (lambda v: v <= hi) if m[4] == "]" else (lambda v: v < hi)
        return lambda v: low_ok(v) and high_ok(v)
    raise ValueError(f"bad range {spec!r}: expected e.g. '>= 1', '> 0', '[0, 1)' or 'any'")


def check_ranges(cfg: Any, **ranges: str | tuple[str, ...]) -> None:
    """Raise :class:`FieldError` for the first field of dataclass ``cfg`` (in field order) whose value is
    outside its range: ``check_ranges(self, lr="> 0", update_freq=">= 1", dropout="[0, 1)")``. A range
    is ``">= a"``, ``"> a"``, ``"<= a"``, ``"< a"``, an interval ``"[a, b)"`` (brackets include the
    bound) or ``"any"``; every value must also be a finite number. A tuple-valued field gets one range
    for every item, or a tuple of ranges, one per item."""
    names = [f.name for f in dataclasses.fields(cfg)]
    unknown = sorted(set(ranges) - set(names))
    if unknown:
        raise TypeError(f"{type(cfg).__name__} has no field(s) {', '.join(unknown)}")
    for name in names:
        if name not in ranges:
            continue
        value, spec = getattr(cfg, name), ranges[name]
        if isinstance(value, (tuple, list)):
            specs = spec if isinstance(spec, tuple) else (spec,) * len(value)
            items = [(f"{name}[{i}]", v, s) for i, (v, s) in enumerate(zip(value, specs))]
        else:
            items = [(name, value, spec)]
        for key, v, s in items:
            _check_number(cfg, key, v, s)


def _check_number(cfg: Any, key: str, value: Any, spec: str) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise field_error(cfg, key, f"expected a number, got {value!r}")
    if not math.isfinite(value):
        raise field_error(cfg, key, f"{value} is not allowed: must be a finite number"
                                    + ("" if spec == "any" else f" {_allowed(spec)}"))
    if not _range_test(spec)(value):
        raise field_error(cfg, key, f"{value!r} is out of range: must be {_allowed(spec)}")


def _allowed(spec: str) -> str:
    return f"in {spec}" if spec[0] in "[(" else spec


class _Names:
    """Where a dotted key's value came from: ``--set`` (or command-line options) if it or a section
    above it was overridden, else the file (or ``config``): ``conf.yaml.optim.lr``, ``--set optim.lr``."""

    def __init__(self, where: str, overridden: Iterable[str] = (),
                 override_label: Callable[[str], str] = lambda key: f"--set {key}"):
        self.where, self.overridden, self.override_label = where, set(overridden), override_label

    def is_overridden(self, key: str) -> bool:
        parts = key.split("[")[0].split(".")
        return any(".".join(parts[:i]) in self.overridden for i in range(1, len(parts) + 1))

    def __call__(self, key: str) -> str:
        if key and self.is_overridden(key):
            return self.override_label(key)
        return f"{self.where}.{key}" if key else self.where


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _convert(value: Any, tp: Any, key: str, names: _Names) -> Any:
    """Check/convert one YAML value against a dataclass field type."""
    where = names(key)
    origin = typing.get_origin(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for a in args:
            if a is type(None):
                continue
            try:
                return _convert(value, a, key, names)
            except ConfigError as e:
                errors.append(str(e))
        raise ConfigError(errors[0] if errors else f"{where}: bad value {value!r}")
    if origin is typing.Literal:
        if value not in typing.get_args(tp):
            raise ConfigError(f"{where}: {value!r} is not one of {', '.join(map(repr, typing.get_args(tp)))}")
        return value
    if dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        return _build(tp, value, key, names)
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        args = typing.get_args(tp)
        if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(v, args[0], f"{key}[{i}]", names) for i, v in enumerate(value))
        if origin is tuple and args:
            if len(args) != len(value):
                raise ConfigError(f"{where}: expected {len(args)} items, got {len(value)}")
            return tuple(_convert(v, a, f"{key}[{i}]", names) for i, (v, a) in enumerate(zip(value, args)))
        conv = [_convert(v, args[0], f"{key}[{i}]", names) if args else v for i, v in enumerate(value)]
        return tuple(conv) if origin is tuple else conv
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        return dict(value)
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true/false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
        return value
    return value


def from_dict(cls: type[T], data: dict, where: str = "config", *, overridden: Iterable[str] = (),
              override_label: Callable[[str], str] = lambda key: f"--set {key}") -> T:
    """Build dataclass ``cls`` from a (nested) dict; unknown keys and bad values are errors.

    An error names the value as ``<where>.<dotted key>``, or as ``override_label(key)`` when the key
    (or a section above it) is in ``overridden``: the keys given with ``--set`` rather than in the file.
    """
    return _build(cls, data, "", _Names(where, overridden, override_label))


def _build(cls: type[T], data: dict, prefix: str, names: _Names) -> T:
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        valid = f"valid keys: {', '.join(fields)}"
        set_keys = [k for k in unknown if names.is_overridden(_join(prefix, k))]
        if set_keys:
            raise ConfigError(f"{names(_join(prefix, set_keys[0]))}: unknown key; {valid}")
        raise ConfigError(f"{names(prefix)}: unknown key(s) {', '.join(unknown)}; {valid}")
    kwargs = {k: _convert(v, hints[k], _join(prefix, k), names) for k, v in data.items()}
    try:
        return cls(**kwargs)
    except FieldError as e:
        raise ConfigError(f"{names(_join(prefix, e.key))}: {e.problem}") from None
    except ValueError as e:  # a check of __post_init__ that names no field
        raise ConfigError(f"{names(prefix)}: {e}") from None


def to_dict(cfg: Any) -> dict:
    def plain(v):
        if isinstance(v, tuple):
            return [plain(x) for x in v]
        if isinstance(v, list):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        return v

    return plain(dataclasses.asdict(cfg))


def parse_overrides(overrides: typing.Iterable[str]) -> dict:
    """``["optim.lr=1e-4", "model=demo"]`` -> nested dict; values parsed as YAML scalars."""
    out: dict = {}
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set {item!r}: expected key=value (e.g. --set optim.lr=1e-4)")
        value = yaml.safe_load(raw) if raw != "" else ""
        if isinstance(value, str) and _looks_like_float(value):
            value = float(value)  # YAML 1.1 reads "1e-4" as a string
        node = out
        parts = key.split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set {item!r}: {p} is set both as a value and as a section")
        node[parts[-1]] = value
    return out


def _looks_like_float(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return any(c in s.lower() for c in "e.") and s.strip().lower() not in ("nan", "inf", "-inf")


def merge(base: dict, update: dict) -> dict:
    out = dict(base)
    for k, v in update.items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def load_config(cls: type[T], path: str | Path | None = None, overrides: typing.Iterable[str] = (),
                presets: dict[str, typing.Callable[[str], Any]] | None = None,
                defaults: typing.Iterable[str] = ()) -> T:
    """Defaults of ``cls`` <- ``defaults`` (``key=value`` items, e.g. a task's own settings) <- YAML file ``path``
    <- ``--set`` overrides.

    ``presets`` maps a section name (dotted for a nested one: ``model.decoder``) to a loader of named
    configs: ``model: demo`` (in the file or as ``--set model=demo``) is replaced by the named config,
    and keys given next to it (``--set model.encoder_layers=2``) still override it.
    """
    presets = presets or {}

    def expand(d: dict, where_: str) -> dict:
        for key, loader in presets.items():
            name = _at(d, key)
            if isinstance(name, str):
                try:
                    d = _replaced(d, key.split("."), to_dict(loader(name)))
                except ConfigError as e:
                    raise ConfigError(f"{where_}: {key}: {e}") from e
        return d

    data = merge(to_dict(cls()), parse_overrides(defaults))
    where = "config"
    overridden: list[str] = []
    if path is not None:
        path = Path(path)
        where = str(path)
        if not path.is_file():
            raise ConfigError(f"{path}: config file not found")
        try:
            loaded = yaml.safe_load(read_utf8(path, ConfigError)) or {}
        except yaml.YAMLError as e:
            raise ConfigError(f"{path}: invalid YAML: {e}") from e
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path}: expected a mapping at the top level")
        data = merge(data, expand(loaded, where))
    overrides = list(overrides)
    if overrides:
        # a preset (--set model=demo) is expanded first, in whatever order its keys (--set model.dropout=0) come
        is_preset = [o.partition("=")[0] in presets and isinstance(_at(parse_overrides([o]), o.partition("=")[0]), str)
                     for o in overrides]
        named = parse_overrides([o for o, p in zip(overrides, is_preset) if p])
        parsed = parse_overrides([o for o, p in zip(overrides, is_preset) if not p])
        data = merge(merge(data, expand(named, "--set")), parsed)
        overridden = _dotted_keys(parsed)
    return from_dict(cls, data, where, overridden=overridden)


def _at(d: Any, dotted: str) -> Any:
    """The value at a dotted key of a nested dict (``"model.decoder"``), None where it is absent."""
    for part in dotted.split("."):
        if not isinstance(d, dict) or part not in d:
            return None
        d = d[part]
    return d


def _replaced(d: dict, path: list[str], value: Any) -> dict:
    """A copy of ``d`` with ``value`` at ``path``."""
    head, *rest = path
    return {**d, head: _replaced(d[head], rest, value) if rest else value}


def _dotted_keys(d: dict, prefix: str = "") -> list[str]:
    """The leaves of a nested dict as dotted keys: ``{"optim": {"lr": 1}}`` -> ``["optim.lr"]``."""
    out = []
    for k, v in d.items():
        key = _join(prefix, k)
        out += _dotted_keys(v, key) if isinstance(v, dict) and v else [key]
    return out


def save_config(cfg: Any, path: str | Path) -> Path:
    """Write the resolved config as YAML (atomically)."""
    import os

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(yaml.safe_dump(to_dict(cfg), sort_keys=False), encoding="utf-8")
    os.replace(tmp, path)
    return path
