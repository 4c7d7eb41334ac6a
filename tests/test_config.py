"""YAML + dataclass configs with --set overrides."""
from dataclasses import dataclass, field

import pytest
import yaml

from asrkit.config import ConfigError, load_config, save_config


@dataclass(frozen=True)
class Optim:
    lr: float = 5e-4
    betas: tuple[float, float] = (0.9, 0.98)


@dataclass(frozen=True)
class Run:
    name: str = "base"
    max_updates: int = 100
    precision: str = "fp32"
    bf16_ok: bool = False
    optim: Optim = field(default_factory=Optim)
    note: str | None = None


def test_defaults_yaml_and_overrides_compose(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("max_updates: 50\noptim:\n  lr: 0.001\n")
    cfg = load_config(Run, p, ["optim.lr=1e-4", "name=demo", "bf16_ok=true", "optim.betas=[0.9, 0.999]"])
    assert cfg == Run(name="demo", max_updates=50, bf16_ok=True, optim=Optim(lr=1e-4, betas=(0.9, 0.999)))


def test_unknown_keys_name_the_file_and_the_valid_keys(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("optim:\n  learning_rate: 0.1\n")
    with pytest.raises(ConfigError, match=r"c.yaml.optim: unknown key\(s\) learning_rate; valid keys: lr, betas"):
        load_config(Run, p)
    with pytest.raises(ConfigError, match="unknown key"):
        load_config(Run, None, ["max_update=3"])


def test_wrong_types_are_errors():
    with pytest.raises(ConfigError, match="max_updates: expected an integer"):
        load_config(Run, None, ["max_updates=ten"])
    with pytest.raises(ConfigError, match="expected key=value"):
        load_config(Run, None, ["max_updates"])


def test_saved_config_round_trips(tmp_path):
    cfg = load_config(Run, None, ["note=hello", "optim.lr=2e-3"])
    path = save_config(cfg, tmp_path / "exp" / "config.yaml")
    assert yaml.safe_load(path.read_text())["optim"]["lr"] == 2e-3
    assert load_config(Run, path) == cfg
