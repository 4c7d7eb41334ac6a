"""The wall-time estimate: its arithmetic, and a timed warm-up of a real config through the CLI."""
import pytest
import yaml
from click.testing import CliRunner

from asrkit.cli import cli
from asrkit.train.budget import Timing, num_saves, num_validations, updates_for_budget, wall_time

from .conftest import MICRO_MODEL

TIMING = Timing(seconds_per_update=2.0, audio_seconds_per_update=20.0, validation_seconds=30.0, save_seconds=1.0,
                timed_updates=20, device="cpu", precision="bf16", cpu="test")


def test_validations_and_saves_of_a_run():
    assert num_validations(1000, 400) == 3  # 400, 800 and the end
    assert num_validations(800, 400) == 2  # the end is 800
    assert num_saves(1000, 200) == 5  # 200 ... 1000
    assert num_saves(1000, 300) == 4  # 300, 600, 900 and the end
    assert num_saves(1000, 300, save_updates=(100, 600, 2000)) == 5  # 100 is extra; 600 one already; 2000 never


def test_wall_time_adds_updates_validations_and_saves():
    # 1000 x 2 s + 3 validations x 30 s + 5 saves x 1 s
    assert wall_time(1000, TIMING, valid_every=400, save_every=200) == pytest.approx(2095.0)


@pytest.mark.parametrize("budget", [60.0, 2095.0, 2096.0, 3600.0, 10_000.0])
def test_updates_for_budget_is_the_most_that_fits(budget):
    kwargs = dict(valid_every=400, save_every=200, save_updates=(100, 300))
    n = updates_for_budget(budget, TIMING, **kwargs)
    assert wall_time(n, TIMING, **kwargs) <= budget < wall_time(n + 1, TIMING, **kwargs)


def test_a_budget_too_small_for_one_update_gives_none():
    assert updates_for_budget(10.0, TIMING, valid_every=400, save_every=200) == 0


def test_estimate_times_the_config_and_writes_the_updates_that_fit(micro_config, tmp_path):
    out = tmp_path / "estimate.yaml"
    res = CliRunner().invoke(cli, ["pretrain", "--config", str(micro_config), "--exp-dir", str(tmp_path / "exp"),
                                   "--estimate", "3", "--budget-minutes", "5", "--estimate-out", str(out)])
    assert res.exit_code == 0, res.output
    est = yaml.safe_load(out.read_text())
    assert est["timed_updates"] == 3 and est["seconds_per_update"] > 0 and est["validation_seconds"] > 0
    assert est["max_updates"] == 6 and est["budget_minutes"] == 5.0
    timing = Timing(est["seconds_per_update"], est["audio_seconds_per_update"], est["validation_seconds"],
                    est["save_seconds"], 3, "cpu", "fp32", "x")
    kwargs = dict(valid_every=3, save_every=2)  # micro_config's
    assert est["updates_for_budget"] == updates_for_budget(300.0, timing, **kwargs)
    assert est["estimated_seconds"] == pytest.approx(wall_time(6, timing, **kwargs))
    assert "updates in 5 min" in res.output and not (tmp_path / "exp").exists()  # nothing trained there


def test_budget_options_need_estimate(micro_config, tmp_path):
    res = CliRunner().invoke(cli, ["pretrain", "--config", str(micro_config), "--exp-dir", str(tmp_path / "exp"),
                                   "--budget-minutes", "5"])
    assert res.exit_code == 1 and "go with --estimate N" in res.output


def test_finetune_estimate_times_a_fine_tuning_run(tone_data, tmp_path):
    """asrkit finetune --estimate: as pretrain's, validation included (greedy WER); the file says what the
    arithmetic used."""
    train, valid = tone_data
    arch = tmp_path / "micro.yaml"
    arch.write_text(yaml.safe_dump(MICRO_MODEL))
    conf = tmp_path / "ft.yaml"
    conf.write_text(yaml.safe_dump({
        "model": {"init_checkpoint": "", "arch": str(arch), "freeze_finetune_updates": 100, "mask_channel_length": 4,
                  "mask_prob": 0.3, "mask_length": 3},
        "data": {"train_manifest": str(train), "valid_manifest": str(valid)},
        "optim": {"lr": 1e-3, "max_updates": 8},
        "trainer": {"max_tokens": 40000, "log_every": 1, "valid_every": 4, "save_every": 4, "tensorboard": False}}))
    out = tmp_path / "estimate.yaml"
    res = CliRunner().invoke(cli, ["finetune", "--config", str(conf), "--exp-dir", str(tmp_path / "exp"), "--init", "",
                                   "--estimate", "2", "--estimate-out", str(out)])
    assert res.exit_code == 0, res.output
    est = yaml.safe_load(out.read_text())
    assert est["timed_updates"] == 2 and est["seconds_per_update"] > 0 and est["validation_seconds"] > 0
    assert (est["max_updates"], est["valid_every"], est["save_every"], est["max_tokens"]) == (8, 4, 4, 40000)
    assert "fine-tuning time on cpu" in res.output and not (tmp_path / "exp").exists()
