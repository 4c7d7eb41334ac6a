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


def test_adamw_is_fused_and_updates_as_torch_s_reference_adamw():
    """build_optimizer: torch's fused AdamW on CPU (one kernel instead of a loop over the tensors), the same
    update as the per-tensor AdamW; a state saved by the unfused one loads and goes on."""
    import io

    import torch

    from asrkit.train.optim import build_optimizer

    torch.manual_seed(0)
    cfg = OptimConfig(lr=1e-2, weight_decay=0.01)
    start = [torch.randn(4, 3), torch.randn(3)]
    fused_params = [torch.nn.Parameter(t.clone()) for t in start]
    ref_params = [torch.nn.Parameter(t.clone()) for t in start]
    fused = build_optimizer([{"params": fused_params[:1]}, {"params": fused_params[1:], "weight_decay": 0.0}], cfg)
    ref = torch.optim.AdamW([{"params": ref_params[:1]}, {"params": ref_params[1:], "weight_decay": 0.0}],
                            lr=cfg.lr, betas=cfg.betas, eps=cfg.eps, weight_decay=cfg.weight_decay, foreach=False)
    assert all(g["fused"] for g in fused.param_groups)
    for _ in range(5):
        grads = [torch.randn_like(t) for t in start]
        for params, opt in ((fused_params, fused), (ref_params, ref)):
            for p, g in zip(params, grads):
                p.grad = g.clone()
            opt.step()
    for a, b in zip(fused_params, ref_params):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    assert not torch.equal(fused_params[0], start[0])
    # an unfused state goes on: the next step as the unfused optimizer's own
    resumed_params = [torch.nn.Parameter(p.detach().clone()) for p in ref_params]
    resumed = build_optimizer([{"params": resumed_params[:1]}, {"params": resumed_params[1:], "weight_decay": 0.0}],
                              cfg)
    saved = io.BytesIO()  # through a file, as a checkpoint: a state dict in memory shares its tensors
    torch.save(ref.state_dict(), saved)
    saved.seek(0)
    resumed.load_state_dict(torch.load(saved))
    for params, opt in ((resumed_params, resumed), (ref_params, ref)):
        for p in params:
            p.grad = torch.ones_like(p)
        opt.step()
    for a, b in zip(resumed_params, ref_params):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
