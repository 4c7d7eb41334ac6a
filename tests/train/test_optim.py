"""LR schedules: warm-up then linear decay (pre-training), tri-stage (fine-tuning), runs stopped early."""
import pytest

from asrkit.config import ConfigError, load_config
from asrkit.train.optim import OptimConfig, lr_multiplier


def test_linear_schedule_warms_up_then_decays_to_zero_at_max_updates():
    cfg = OptimConfig(max_updates=100, warmup_ratio=0.1)
    assert lr_multiplier(0, cfg) == pytest.approx(0.1) and lr_multiplier(9, cfg) == 1.0
    assert lr_multiplier(10, cfg) == 1.0 and lr_multiplier(55, cfg) == pytest.approx(0.5)
    assert lr_multiplier(100, cfg) == 0.0


def test_a_run_stopped_early_follows_the_longer_schedule():
    """SEW-D §4.1: 100k updates of W2V2-base's 400k schedule (32k warm-up, then linear decay toward 400k)."""
    cfg = OptimConfig(max_updates=100_000, total_updates=400_000, warmup_ratio=0.08)
    assert lr_multiplier(15_999, cfg) == pytest.approx(0.5)
    assert lr_multiplier(32_000, cfg) == 1.0
    assert lr_multiplier(99_999, cfg) == pytest.approx((400_000 - 99_999) / 368_000)  # still 82 % of the peak
    full = OptimConfig(max_updates=400_000, warmup_ratio=0.08)
    assert all(lr_multiplier(s, cfg) == lr_multiplier(s, full) for s in (0, 31_999, 50_000, 99_999))


def test_tri_stage_spans_total_updates_too():
    cfg = OptimConfig(max_updates=50, total_updates=100, schedule="tri_stage", warmup_ratio=0.1, hold_ratio=0.4,
                      final_lr_scale=0.05)
    assert lr_multiplier(49, cfg) == 1.0  # still in the hold phase of the 100-update schedule


def test_a_schedule_shorter_than_the_run_is_a_config_error():
    with pytest.raises(ConfigError, match=r"--set total_updates: 10 is shorter than max_updates \(20\)"):
        load_config(OptimConfig, None, ["max_updates=20", "total_updates=10"])
