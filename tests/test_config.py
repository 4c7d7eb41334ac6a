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


# ---------------------------------------------------------------------------------------------------
# Ranges: every numeric field of every config asrkit pretrain / finetune / decode / prepare synth reads
import dataclasses  # noqa: E402
import math  # noqa: E402
import typing  # noqa: E402
from pathlib import Path  # noqa: E402

from asrkit.config import FieldError, check_ranges, from_dict  # noqa: E402
from asrkit.data.synth.av_corpus import AVSynthConfig  # noqa: E402
from asrkit.data.synth.corpus import SynthConfig  # noqa: E402
from asrkit.decode.run import DecodeOptions, load_decode_options  # noqa: E402
from asrkit.models.av import AVConfig  # noqa: E402
from asrkit.models.factory import load_model_config  # noqa: E402
from asrkit.models.wav2vec2 import CONFIG_DIR, Wav2Vec2Config, load_wav2vec2_config  # noqa: E402
from asrkit.train.av_pretrain import AVPretrainConfig  # noqa: E402
from asrkit.train.finetune import FinetuneConfig, load_finetune_config  # noqa: E402
from asrkit.train.midtrain import MidtrainConfig, load_midtrain_config  # noqa: E402
from asrkit.train.pretrain import PretrainConfig, load_pretrain_config  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _config_classes() -> list[type]:
    """The config dataclasses reachable from the commands' top-level configs."""
    seen: list[type] = []
    todo = [PretrainConfig, AVPretrainConfig, FinetuneConfig, MidtrainConfig, DecodeOptions, SynthConfig, AVSynthConfig]
    while todo:
        cls = todo.pop()
        if cls in seen:
            continue
        seen.append(cls)
        todo += [tp for tp in typing.get_type_hints(cls).values() if dataclasses.is_dataclass(tp)]
    return [cls for cls in seen if _numeric_fields(cls)]  # the top-level configs hold sections only


def _numeric_fields(cls) -> list[str]:
    default = cls()
    def numeric(v):  # a number, or a tuple of numbers (not of names, like data.augment.noise_types)
        if isinstance(v, tuple):
            return all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v)
        return isinstance(v, (int, float)) and not isinstance(v, bool)

    return [f.name for f in dataclasses.fields(cls) if numeric(getattr(default, f.name))]


def _absurd(value):
    """A value no numeric field allows: NaN for a number, -10**9 for a count, item-wise for a tuple."""
    if isinstance(value, tuple):
        return tuple(_absurd(v) for v in value) if value else (math.nan,)
    return math.nan if isinstance(value, float) else -10**9


@pytest.mark.parametrize("cls", _config_classes(), ids=lambda c: c.__name__)
def test_every_numeric_field_of_every_config_is_range_checked(cls):
    default = cls()
    for name in _numeric_fields(cls):
        with pytest.raises(FieldError, match=rf"^{cls.__name__}\.{name}(\[0\])?: .*(out of range|finite)"):
            dataclasses.replace(default, **{name: _absurd(getattr(default, name))})


@pytest.mark.parametrize("override, message", [
    ("optim.update_freq=0", "optim.update_freq: 0 is out of range: must be >= 1"),  # hung forever
    ("trainer.save_every=0", "trainer.save_every: 0 is out of range: must be >= 1"),  # ZeroDivisionError
    ("trainer.valid_every=0", "trainer.valid_every: 0 is out of range: must be >= 1"),
    ("trainer.log_every=0", "trainer.log_every: 0 is out of range: must be >= 1"),
    ("model.mask_length=0", "model.mask_length: 0 is out of range: must be >= 1"),
    ("model.dropout=2.0", "model.dropout: 2.0 is out of range: must be in [0, 1)"),  # math domain error
    ("optim.lr=0", "optim.lr: 0.0 is out of range: must be > 0"),
    ("optim.lr=-1e-4", "optim.lr: -0.0001 is out of range: must be > 0"),
    ("trainer.max_tokens=0", "trainer.max_tokens: 0 is out of range: must be >= 1"),
    ("model.mask_prob=1.5", "model.mask_prob: 1.5 is out of range: must be in [0, 1]"),
    ("model.num_negatives=0", "model.num_negatives: 0 is out of range: must be >= 1"),
    ("optim.max_updates=0", "optim.max_updates: 0 is out of range: must be >= 1"),
    ("optim.betas=[0.9, 1.0]", "optim.betas[1]: 1.0 is out of range: must be in [0, 1)"),
    ("model.latent_temp=[2.0, 0.5, 1.5]", "model.latent_temp[2]: 1.5 is out of range: must be in (0, 1]"),
    ("data.speed_perturb=[0.9, 3.0]", "data.speed_perturb[1]: 3.0 is out of range: must be in [0.5, 2]"),
    ("loss.diversity_weight=-1.0", "loss.diversity_weight: -1.0 is out of range: must be >= 0"),
])
def test_out_of_range_values_name_the_key_and_the_range(override, message):
    with pytest.raises(ConfigError) as e:
        load_pretrain_config(None, ["model=demo", override])
    assert str(e.value) == f"--set {message}"


def test_a_bad_value_is_named_where_it_was_set(tmp_path):
    path = tmp_path / "conf.yaml"
    path.write_text("model:\n  mask_prob: 0.5\n  mask_channel_prob: 1.5\noptim:\n  update_freq: 0\n")
    with pytest.raises(ConfigError, match=rf"^{path}\.model\.mask_channel_prob: 1\.5 is out of range"):
        load_finetune_config(path)
    with pytest.raises(ConfigError, match=r"^--set optim\.lr: 0\.0 is out of range"):  # the file's own are fine
        load_finetune_config(path, ["optim.lr=0", "optim.update_freq=2", "model.mask_channel_prob=0.1"])
    with pytest.raises(ConfigError, match=r"^config\.optim\.warmup_ratio: 2\.0 is out of range: must be in \[0, 1\]$"):
        from_dict(PretrainConfig, {"optim": {"warmup_ratio": 2.0}})
    with pytest.raises(ConfigError, match=r"^--beam-size: 0 is out of range: must be >= 1$"):
        load_decode_options(None, {"beam_size": 0})  # asrkit decode's flags name themselves


def test_checks_across_fields():
    with pytest.raises(FieldError, match=r"OptimConfig\.hold_ratio: warmup_ratio \+ hold_ratio is 1\.1, must be <= 1"):
        dataclasses.replace(FinetuneConfig().optim, hold_ratio=1.0)
    with pytest.raises(FieldError, match=r"encoder_embed_dim: 770 is not a multiple of encoder_attention_heads \(8\)"):
        Wav2Vec2Config(encoder_embed_dim=770)
    with pytest.raises(FieldError, match=r"latent_temp: \[0\.5, 2\.0, 0\.9\]: the final temperature 2\.0 is above"):
        Wav2Vec2Config(latent_temp=(0.5, 2.0, 0.9))
    with pytest.raises(FieldError, match=r"conv_feature_layers: \(512, 0, 5\): channels, kernel and stride must"):
        Wav2Vec2Config(conv_feature_layers="[(512, 0, 5)]")
    with pytest.raises(FieldError, match=r"min_sample_size: 600000 is above max_sample_size \(560000\)"):
        dataclasses.replace(FinetuneConfig().data, min_sample_size=600_000)
    with pytest.raises(FieldError, match=r"speed_perturb: \[0\.9, 0\.9\]: the factors must be distinct"):
        dataclasses.replace(PretrainConfig().data, speed_perturb=(0.9, 0.9))
    with pytest.raises(FieldError, match=r"device: 'gpu' is not a device"):
        dataclasses.replace(PretrainConfig().trainer, device="gpu")
    with pytest.raises(FieldError, match=r"lm_weight_range: \[3, 1\]: the minimum is above the maximum"):
        DecodeOptions(lm_weight_range=(3.0, 1.0))


def test_check_ranges_reads_bounds_and_intervals():
    @dataclass(frozen=True)
    class C:
        a: float = 0.0
        b: int = 1

    check_ranges(C(0.0, 1), a="[0, 1)", b=">= 1")
    for a, spec in [(1.0, "[0, 1)"), (0.0, "(0, 1]"), (0.0, "> 0"), (2.0, "<= 1"), (math.inf, "any")]:
        with pytest.raises(FieldError, match=r"^C\.a: "):
            check_ranges(C(a, 1), a=spec)
    with pytest.raises(TypeError, match="no field"):
        check_ranges(C(), c=">= 0")


def test_every_named_model_config_and_every_recipe_conf_loads():
    named = sorted(p.stem for p in CONFIG_DIR.glob("*.yaml"))
    assert {"demo", "base", "large", "sew_d_demo", "sew_tiny"} <= set(named)
    assert {"av_tiny", "av_audio_tiny", "av_paper"} <= set(named)
    for name in named:
        cfg = load_model_config(name)
        objective = "mae" if isinstance(cfg, AVConfig) else "w2v2"
        assert load_pretrain_config(None, [f"objective={objective}", f"model={name}"]).model == cfg
    confs = sorted((ROOT / "recipes").glob("**/conf/*.yaml"))
    assert len(confs) >= 30
    for conf in confs:
        loader = {"pretrain": load_pretrain_config, "finetune": load_finetune_config,
                  "midtrain": load_midtrain_config}.get(
            conf.stem.split("_")[0], load_decode_options)
        loader(conf)


def test_keys_set_next_to_a_preset_override_it_in_either_order():
    for overrides in (["model=demo", "model.encoder_layers=2"], ["model.encoder_layers=2", "model=demo"]):
        cfg = load_pretrain_config(None, overrides)
        assert cfg.model.encoder_layers == 2 and cfg.model.encoder_embed_dim == 256  # demo's width
