"""The seed article's single policy-gradient update on the 3-state grid of :mod:`pgcore.grid1d`,
worked by hand: one trajectory from S1, one action there, every intermediate number.

With p = π(Right|S1) = σ(θ), the episode is Right (S1 →R S2 →R S3, G₀ = γ) or Left (it ends,
G₀ = 0), and the update uses a guessed value V̂ of S1 as the baseline::

    A = G₀ − V̂,    ∇π(a|S1) = ±σ(θ)(1 − σ(θ)),    ∇log π(a|S1) = ∇π / π,    θ ← θ + α ∇log π · A

``worked_steps`` repeats it, each update starting where the previous one ended (the Gradient
step page's table). The exact J(θ) and ∂J/∂θ the update aims at are ``grid1d``'s.

Example:
    >>> step = worked_step(0.0)
    >>> step.policy_gradient, round(step.theta_new, 12)
    (0.2, 0.02)
"""

from __future__ import annotations

from dataclasses import dataclass

from pgcore._checks import LOGIT_LIMIT, choice, discount, logit, non_negative_float, positive_int, reward_shift
from pgcore.grid1d import ACTIONS, GOAL_REWARD
from pgcore.policies import sigmoid

__all__ = ["WorkedStep", "worked_step", "worked_steps"]


@dataclass(frozen=True)
class WorkedStep:
    """One policy-gradient update from a single trajectory starting in S1.

    Right: (S1, Right, 0, S2, Right, 1, S3) so G₀ = γ.  Left: the episode ends, G₀ = 0.
    """

    theta: float
    action: str
    gamma: float
    v_estimate: float
    alpha: float
    pi_right: float
    pi_left: float
    pi_action: float  #: π(a|S1)
    ret: float  #: G₀
    advantage: float  #: G₀ − V̂(S1)
    grad_pi: float  #: ∂π(a|S1)/∂θ
    grad_log_pi: float  #: ∂log π(a|S1)/∂θ = ∇π / π
    policy_gradient: float  #: ∇log π · A
    theta_new: float  #: θ + α · policy_gradient
    pi_right_new: float  #: σ(θ_new)


def worked_step(
    theta: float,
    action: str = "right",
    gamma: float = 0.9,
    v_estimate: float = 0.5,
    alpha: float = 0.1,
) -> WorkedStep:
    """The seed article's update for the action taken in S1.

    At the defaults Right gives π = 0.5, G₀ = 0.9, A = 0.4, ∇π = 0.25, ∇log π = 0.5,
    gradient 0.2, θ → 0.02; Left gives 0.5, 0, −0.5, −0.25, −0.5, 0.25, θ → 0.025.
    """
    theta = logit("theta", theta)
    action = choice("action", action, ACTIONS)
    gamma = discount(gamma)
    v_estimate = reward_shift("v_estimate", v_estimate)
    alpha = non_negative_float("alpha", alpha)

    pi_right = float(sigmoid(theta))
    pi_left = float(sigmoid(-theta))
    slope = pi_right * pi_left  # σ(θ)(1 − σ(θ))
    if action == "right":
        pi_action, ret, grad_pi, grad_log_pi = pi_right, gamma * GOAL_REWARD, slope, pi_left
    else:
        pi_action, ret, grad_pi, grad_log_pi = pi_left, 0.0, -slope, -pi_right
    advantage = ret - v_estimate
    policy_gradient = grad_log_pi * advantage
    theta_new = theta + alpha * policy_gradient
    return WorkedStep(
        theta=theta,
        action=action,
        gamma=gamma,
        v_estimate=v_estimate,
        alpha=alpha,
        pi_right=pi_right,
        pi_left=pi_left,
        pi_action=pi_action,
        ret=ret,
        advantage=advantage,
        grad_pi=grad_pi,
        grad_log_pi=grad_log_pi,
        policy_gradient=policy_gradient,
        theta_new=theta_new,
        pi_right_new=float(sigmoid(theta_new)),
    )


def worked_steps(
    theta: float,
    n_steps: int,
    action: str = "right",
    gamma: float = 0.9,
    v_estimate: float = 0.5,
    alpha: float = 0.1,
) -> list[WorkedStep]:
    """``n_steps`` worked updates in a row, each starting where the previous one ended.

    Every step takes the same action with the same γ, V̂ and α, so with Right and the
    defaults θ climbs by 0.1 · (1 − σ(θ)) · 0.4 per step: 0 → 0.02 → 0.0398 → …

    >>> [round(s.theta_new, 4) for s in worked_steps(0.0, 2)]
    [0.02, 0.0398]
    """
    n_steps = positive_int("n_steps", n_steps, maximum=100_000)
    steps = [worked_step(theta, action, gamma, v_estimate, alpha)]
    for step in range(1, n_steps):
        theta_next = steps[-1].theta_new
        if abs(theta_next) > LOGIT_LIMIT:
            # the arguments were each fine; together they throw θ out of range
            raise ValueError(
                f"alpha={alpha!r} with v_estimate={v_estimate!r} moves theta past ±{LOGIT_LIMIT:g} "
                f"after {step} steps; use a smaller α or a V̂ nearer the returns"
            )
        steps.append(worked_step(theta_next, action, gamma, v_estimate, alpha))
    return steps
