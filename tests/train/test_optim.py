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


def test_adamw_on_the_cpu_is_not_fused_and_bumps_the_parameters_versions():
    """build_optimizer on the CPU: torch's per-tensor AdamW, not the fused kernel. The fused one updates the
    parameters in place without bumping their version counters, and oneDNN's cached bf16 convolution weights
    (keyed by them) then went stale under autocast: the demo's live model scored a dev loss of 202 where a copy
    of its weights scored 119. Same update as the reference; a state saved by a fused optimizer (an older CPU
    run, or a GPU run) resumes unfused and goes on as the reference does."""
    import io

    import torch

    from asrkit.train.optim import build_optimizer, load_optimizer_state

    torch.manual_seed(0)
    cfg = OptimConfig(lr=1e-2, weight_decay=0.01)
    start = [torch.randn(4, 3), torch.randn(3)]
    ours = [torch.nn.Parameter(t.clone()) for t in start]
    ref_params = [torch.nn.Parameter(t.clone()) for t in start]
    opt = build_optimizer([{"params": ours[:1]}, {"params": ours[1:], "weight_decay": 0.0}], cfg)
    ref = torch.optim.AdamW([{"params": ref_params[:1]}, {"params": ref_params[1:], "weight_decay": 0.0}],
                            lr=cfg.lr, betas=cfg.betas, eps=cfg.eps, weight_decay=cfg.weight_decay, foreach=False)
    assert not any(g["fused"] for g in opt.param_groups)
    versions = [p._version for p in ours]
    for _ in range(5):
        grads = [torch.randn_like(t) for t in start]
        for params, o in ((ours, opt), (ref_params, ref)):
            for p, g in zip(params, grads):
                p.grad = g.clone()
            o.step()
    assert all(p._version > v for p, v in zip(ours, versions))  # what the weight caches key on moved
    for a, b in zip(ours, ref_params):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    assert not torch.equal(ours[0], start[0])
    # a fused state (saved by an older CPU run) resumes unfused: the next step as the reference's own
    fused_params = [torch.nn.Parameter(p.detach().clone()) for p in ref_params]
    fused = torch.optim.AdamW([{"params": fused_params[:1]}, {"params": fused_params[1:], "weight_decay": 0.0}],
                              lr=cfg.lr, betas=cfg.betas, eps=cfg.eps, weight_decay=cfg.weight_decay, fused=True)
    fused.load_state_dict(ref.state_dict())
    resumed_params = [torch.nn.Parameter(p.detach().clone()) for p in ref_params]
    resumed = build_optimizer([{"params": resumed_params[:1]}, {"params": resumed_params[1:], "weight_decay": 0.0}],
                              cfg)
    saved = io.BytesIO()  # through a file, as a checkpoint: a state dict in memory shares its tensors
    torch.save(fused.state_dict(), saved)
    saved.seek(0)
    load_optimizer_state(resumed, torch.load(saved))
    assert not any(g["fused"] for g in resumed.param_groups)
    for params, o in ((resumed_params, resumed), (ref_params, ref)):
        for p in params:
            p.grad = torch.ones_like(p)
        o.step()
    for a, b in zip(resumed_params, ref_params):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
