"""pgcore's CartPole update written the usual torch way (autograd, ``torch.optim.Adam``), on
torch copies of a run's networks. The tests check that pgcore's hand-written numpy update
moves the networks exactly as this one does (float64); ``benchmarks/bench_cartpole.py
--torch`` times the two (float32, as a torch trainer would run).

The network is ``act(x W1ᵀ + b1) W2ᵀ + b2`` with the parameters as leaf tensors
``[W1, b1, W2, b2]``: built here with ``torch.nn.functional``, apart from pgcore's code.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from pgcore.cartpole.core import MLP, Batch, weights


def torch_params(network: MLP, dtype: torch.dtype = torch.float64) -> list[torch.Tensor]:
    """Copies of a pgcore network's W1, b1, W2, b2 as leaf tensors that require grad."""
    views = (network.w1, network.b1, network.w2, network.b2)
    return [torch.tensor(np.array(v), dtype=dtype, requires_grad=True) for v in views]


def torch_logits(params: list[torch.Tensor], activation: str, obs: Any) -> torch.Tensor:
    """The network's outputs ``(B, outputs)`` for observations ``(B, 4)``, by torch."""
    w1, b1, w2, b2 = params
    x = torch.as_tensor(np.asarray(obs), dtype=w1.dtype)
    hidden = torch.nn.functional.linear(x, w1, b1)
    hidden = torch.relu(hidden) if activation == "relu" else torch.tanh(hidden)
    return torch.nn.functional.linear(hidden, w2, b2)


def torch_update(
    run: Any, batch: Batch, dtype: torch.dtype = torch.float64
) -> tuple[Callable[[], None], list[torch.Tensor], list[torch.Tensor] | None]:
    """``(update, policy, value)``: ``update()`` does one update of ``run``'s algorithm (a
    :class:`pgcore.cartpole.training.TrainingRun`) on ``batch`` with torch, on copies of its
    networks taken now (``policy``, ``value``: their parameters, updated in place).

    Ψ_t comes from :func:`pgcore.cartpole.core.weights` (the torch value network's V(s)); the
    first pass is the plain policy-gradient loss, later ones PPO's clipped surrogate; V_φ is
    fitted by mean squared error in the same backward pass; one Adam per network."""
    cfg = run.config
    policy = torch_params(run.policy, dtype)
    value = torch_params(run.value, dtype) if run.value is not None else None
    optimizers = [torch.optim.Adam(policy, lr=cfg.policy_lr)]
    if value is not None:
        optimizers.append(torch.optim.Adam(value, lr=cfg.value_lr))
    valid = batch.valid.reshape(-1)
    all_obs = batch.obs.reshape(-1, 4)
    obs = all_obs[: valid.size][valid]
    actions = torch.from_numpy(batch.actions.reshape(-1)[valid])
    rows = torch.arange(len(actions))

    def update() -> None:
        values = None
        if value is not None:
            with torch.no_grad():
                values = (
                    torch_logits(value, cfg.activation, all_obs)[:, 0].reshape(batch.obs.shape[:2]).double().numpy()
                )
        psi, targets = weights(cfg, batch, values)
        w = torch.from_numpy(psi.reshape(-1)[valid]).to(dtype)
        t = torch.from_numpy(targets.reshape(-1)[valid]).to(dtype)
        old = None
        for _ in range(cfg.update_epochs):
            log_pi = torch.log_softmax(torch_logits(policy, cfg.activation, obs), dim=-1)[rows, actions]
            if old is None:
                old = log_pi.detach()
                loss = -(w * log_pi).mean()
            else:
                ratio = torch.exp(log_pi - old)
                loss = -torch.min(ratio * w, ratio.clamp(1 - cfg.clip_range, 1 + cfg.clip_range) * w).mean()
            if value is not None:
                loss = loss + ((torch_logits(value, cfg.activation, obs)[:, 0] - t) ** 2).mean()
            for optimizer in optimizers:
                optimizer.zero_grad()
            loss.backward()
            for optimizer in optimizers:
                optimizer.step()

    return update, policy, value
