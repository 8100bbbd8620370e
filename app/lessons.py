"""Lesson text worded from measured numbers, so that what a page says follows what was
measured (no sentence is written for one outcome and shown for another)."""

from __future__ import annotations

from typing import Any

import numpy as np

#: Medians this many times apart count as a clear difference with a handful of seeds.
CLEAR_RATIO = 1.5


def baseline_lesson(curves: list[Any]) -> str:
    """What the reference runs say about baselines, worded from their numbers: each variant
    changes one thing from plain REINFORCE (fast preset, same seeds)."""

    def stats(algo: str, preset: str, normalized: bool) -> tuple[int, int, float] | None:
        for ref in curves:
            if (ref.algo, ref.preset, bool(ref.normalized)) == (algo, preset, normalized) and ref.steps_to_solve:
                solved = [v for v in ref.steps_to_solve if v is not None]
                return len(solved), len(ref.steps_to_solve), float(np.median(solved)) if solved else float("inf")
        return None

    plain = stats("reinforce", "fast", False)
    if plain is None:
        return ""
    variants = [
        ("the articles' episode-mean baseline", stats("reinforce_baseline", "fast", False)),
        ("a learned V(s) baseline", stats("reinforce_value", "fast", False)),
        ("normalized Ψₜ (a batch-mean baseline and a rescaled step)", stats("reinforce", "fast", True)),
    ]
    plain_note = " (the median of the seeds that solved)" if 0 < plain[0] < plain[1] else ""
    lines = [
        f"**One change at a time** (fast preset, the same {plain[1]} seeds): plain REINFORCE, with no "
        f"baseline and no normalization, solved {plain[0]} of {plain[1]}"
        + (f", median {plain[2]:,.0f} steps{plain_note}." if plain[0] else ".")
    ]
    for label, found in variants:
        if found is None:
            continue
        solved, seeds, median = found
        if solved >= plain[0] and median * CLEAR_RATIO <= plain[2]:
            verdict = f"clearly fewer steps than plain REINFORCE ({plain[2] / median:.1f}× fewer)"
        elif solved >= plain[0] and median < plain[2]:
            verdict = "a little fewer steps than plain REINFORCE, within what seeds alone can change"
        else:
            verdict = "not faster than plain REINFORCE here"
        amount = f"median {median:,.0f} steps" if solved else "no solve"
        lines.append(f"- with {label}: solved {solved} of {seeds}, {amount}: {verdict}.")
    articles = stats("reinforce", "articles", True)
    if articles is not None:
        budget = next((r.max_env_steps for r in curves if r.preset == "articles" and r.max_env_steps), None)
        outcome = (
            f"solved {articles[0]} of {articles[1]} seeds"
            + (f" within {budget:,} steps" if budget else "")
            + (f", median {articles[2]:,.0f}." if articles[0] else " here.")
        )
        lines.append(f"- the articles' own settings (one episode per update, γ 0.9, Adam 3e-4): {outcome}")
    lines.append(
        f"Seeds vary a lot (see the band): with a handful of them, a median less than "
        f"{CLEAR_RATIO:g}× apart is not a reliable ranking."
    )
    return "\n".join(lines)


#: The map draws a sampled-gradient arrow at most this many times the exact arrow's length.
SAMPLED_ARROW_CAP = 3.0


def sampled_arrow_note(exact: tuple[float, float], sampled: tuple[float, float]) -> str:
    """How the grey (one episode) arrow relates to the black (exact) one on the map."""
    exact_length, sampled_length = float(np.hypot(*exact)), float(np.hypot(*sampled))
    if sampled_length == 0.0:
        return "This episode's estimate is 0: no grey arrow."
    if exact_length == 0.0:
        return "The exact gradient is 0 here: no black arrow."
    ratio = sampled_length / exact_length
    if ratio > SAMPLED_ARROW_CAP:
        return (
            f"This estimate is {ratio:.1f}× as long as the exact gradient; it is drawn shortened to "
            f"{SAMPLED_ARROW_CAP:g}× so it stays on the map."
        )
    return f"Both are drawn on the same scale (the grey one is {ratio:.2f}× the black)."


def cap_note(missing_probability: float, cap: int, cap_max: int) -> str:
    """What the trajectory table leaves out, in words that hold for these numbers."""
    percent = 100.0 * missing_probability
    if percent < 1e-4:
        return "Only trajectories left out make the gap, and here they carry less than 10⁻⁶ of the probability."
    if cap < cap_max:
        return (
            f"Only trajectories left out make the gap: {percent:.4g} % of the probability is in trajectories "
            f"with more than {cap} loops. Raise the cap to shrink it."
        )
    return (
        f"Even at the longest listing, {percent:.4g} % of the probability is in trajectories with more than "
        f"{cap} loops (this policy loops a lot), so a gap remains; the exact value comes from the "
        "closed form, not from this table."
    )


def estimator_bias_note(estimator: str, mean: float, exact: float, gamma: float) -> str:
    """Whether the played learner's estimate averages to ∂J/∂θ₁ here, from the exact numbers
    (pgcore.grid_learning.expected_estimate and the closed-form gradient)."""
    from app.format import num  # local: app.format has no dependency on lessons, keep it that way

    if estimator != "no_discount":
        return (
            f"This estimate averages to ∂J/∂θ₁ exactly (here {num(exact, 4)}); any one episode's "
            "estimate is noisy, which is all that separates the two learners' steps."
        )
    if abs(mean - exact) <= 1e-9 * max(1.0, abs(exact)):
        why = "γ = 1, so there is no γᵗ to drop" if gamma == 1.0 else "here the two coincide"
        return f"Dropping γᵗ changes nothing at these settings ({why}): it averages to ∂J/∂θ₁ = {num(exact, 4)}."
    return (
        f"With γᵗ dropped this estimate averages to {num(mean, 4)}, not ∂J/∂θ₁ = {num(exact, 4)}: it is "
        "biased, so even averaged over many episodes it follows a different slope."
    )


def baseline_bias_note(measured: Any) -> str:
    """The articles' episode-mean baseline, with its bias as measured (data/reference_curves.json,
    pgcore.cartpole.baseline_bias.measure_baseline_bias). Empty if the measurement is missing or malformed."""
    if not isinstance(measured, dict):
        return ""
    try:
        episodes = int(measured["episodes"])
        bias, noise, gradient, angle = (
            float(measured[k]) for k in ("bias_norm", "noise_norm", "gradient_norm", "angle_degrees")
        )
    except (KeyError, TypeError, ValueError):
        return ""
    if not all(np.isfinite([bias, noise, gradient, angle])) or gradient <= 0 or episodes <= 0:
        return ""
    if bias > 4 * noise:
        direction = (
            f"it points almost along the gradient (the average step turns by only {angle:.0f}°), so in "
            "effect it rescales the step rather than misdirects it"
            if angle < 10
            else f"it turns the average step by {angle:.0f}°"
        )
        verdict = (
            f"about {100 * bias / gradient:.0f} % of the size of the whole estimate without a baseline "
            f"({gradient:.3g}), far above the noise level ({noise:.3g}): a real bias, though {direction}"
        )
    else:
        verdict = (
            f"within noise (noise level {noise:.3g}, against {gradient:.3g} for the whole estimate): no "
            "bias shows at this policy"
        )
    return (
        "The articles' baseline is not free of bias: b̄ averages the returns of the *same* episode, so it "
        "depends on the very actions it multiplies, and E[Σₜ b̄ ∇log π] need not be 0. Measured at the fast "
        f"preset's untrained policy over {episodes:,} episodes, that term has size {bias:.3g}: {verdict}."
    )


def learning_note(curves: dict[str, tuple[Any, Any]], labels: dict[str, str]) -> str:
    """How steady each baseline's learners were, and whether any baseline made a visible
    difference at these settings (worded from the spreads, not assumed).

    ``curves``: baseline name → (mean over learners, std over learners) of J after each update.
    A baseline counts as clearly steadier when its learners' spread, averaged over the updates,
    is at least CLEAR_RATIO times smaller than without a baseline."""
    spread = {name: float(np.mean(np.asarray(std, dtype=float))) for name, (_, std) in curves.items()}
    if "none" not in spread or len(spread) < 2:
        return ""
    listing = ", ".join(f"{spread[name]:.3f} with {labels.get(name, name)}" for name in spread if name != "none")
    text = (
        f"Averaged over the updates, the learners' spread in J is {spread['none']:.3f} without a baseline, {listing}."
    )
    steadier = [
        labels.get(name, name)
        for name in spread
        if name != "none" and spread["none"] >= CLEAR_RATIO * max(spread[name], 1e-12)
    ]
    if steadier:
        return text + f" Clearly steadier here: {', '.join(steadier)}."
    return text + (
        " Here the curves nearly coincide: the returns are small and no baseline changes much "
        "(try c = 1, which makes every return larger)."
    )


def solve_story(window_at: int | None, check_mean: float | None, solved_at: int | None, episodes: int) -> str:
    """One run's solve, in the order it happened: the training window, then the checks.

    A check runs whenever the window says solved (at most one per 20 episodes), so checks that
    fell short may come between ``window_at`` and ``solved_at``: the story names the first
    check to *pass*, not the one right after the window."""
    if window_at is None:
        return "the 20-episode training mean never reached 475: not solved."
    story = f"the 20-episode training mean reached 475 at {window_at:,} env steps"
    if solved_at is not None and check_mean is not None:
        return story + (
            f"; the first check on {episodes} fresh episodes to pass averaged {check_mean:.0f}: solved at {solved_at:,} steps."
        )
    if check_mean is not None:
        return story + f", but the latest check on {episodes} fresh episodes averaged {check_mean:.0f}: not solved."
    return story + "; no check ran before the run ended (an uploaded run does not carry one): not solved."


def progress_text(
    current: int, total: int, env_steps: int, budget: int, episodes: int, steps_per_second: float, wall_seconds: float
) -> str:
    """The live progress line. Says "starting" until the first update (not "0 / 50,000"), and
    explains a count past the budget: an update always finishes the episodes it started."""
    run = f"Run {current + 1} of {total}"
    if env_steps == 0:
        return f"{run} · starting the training process…"
    steps = (
        f"{env_steps:,} / {budget:,} env steps"
        if env_steps <= budget
        else f"{env_steps:,} env steps (budget {budget:,}: the last update finishes the episodes it started)"
    )
    return f"{run} · {steps} · {episodes:,} episodes · {steps_per_second:,.0f} steps/s · {wall_seconds:.0f} s"


# --- predict-then-check tasks: (the right option now, the evidence), or (None, what to move) ----


def _direction(before: float, after: float, up: str, down: str, still: str) -> str:
    return up if after > before else down if after < before else still


def score_task(theta: float, score_right: float) -> tuple[str | None, str]:
    """Policies, sigmoid: does ∇log π(Right) = 1 − σ(θ) grow or shrink as θ grows past 3?"""
    from app.format import num, sig

    if theta < 3.0:
        return None, f"Now drag θ to 3 or more (it is {num(theta, 2)})."
    return "shrinks", (
        f"at θ = {num(theta, 2)}, ∇log π(Right) = 1 − σ(θ) = {sig(score_right, 3)}, down from 0.5 "
        "at θ = 0. A policy already sure of Right barely changes when Right pays off."
    )


def shift_task(shift: float, largest_change: float) -> tuple[str | None, str]:
    """Policies, softmax: does adding c to every preference move π?"""
    from app.format import num, sig

    if abs(shift) < 0.5:
        return None, "Now move the *Add a constant c* slider away from 0."
    change = "exactly 0" if largest_change == 0.0 else f"{sig(largest_change, 2)}, floating-point rounding"
    return "they stay", f"with c = {num(shift, 1)} the largest change in any π(a) is {change}."


def temperature_task(
    temperature: float, best_label: str | None, p_now: float, p_at_one: float
) -> tuple[str | None, str]:
    """Policies, softmax: lowering T below 0.5, does the largest-preference action gain?
    ``best_label`` is None when every preference is equal (π is uniform at every T)."""
    from app.format import num

    if temperature > 0.5:
        return None, f"Now lower T to 0.5 or less (it is {num(temperature, 2)})."
    if best_label is None:
        return "no change", "every preference is equal here, so π is uniform at every T. Make one larger and try again."
    return "more likely", (
        f"π({best_label}) = {num(p_now, 3)} at T = {num(temperature, 2)} against "
        f"{num(p_at_one, 3)} at T = 1: a low temperature sharpens π towards the largest preference."
    )


def left_task(
    action: str, theta: float, theta_new: float, advantage: float, grad_log_pi: float, gradient: float
) -> tuple[str | None, str]:
    """Gradient step: with the action Left, which way does π(Right|S1) go?"""
    from app.format import num

    if action != "Left":
        return None, "Now switch *Action in S1* to Left."
    answer = _direction(theta, theta_new, "raises it", "lowers it", "leaves it")
    if advantage < 0:
        why = "A Left that did worse than V̂ is made less likely, which makes Right more likely."
    elif advantage > 0:
        why = "With V̂ below 0, even Left did better than expected: it is made more likely, Right less."
    else:
        why = "With V̂ = 0 the advantage is 0 and nothing moves."
    if theta_new == theta and advantage != 0:
        why += " Here the step size or the saturated policy keeps θ₁ where it is."
    return answer, (
        f"Â = 0 − V̂ = {num(advantage, 4)} and ∇log π(Left) = −σ(θ₁) = {num(grad_log_pi, 4)}, so "
        f"ĝ = {num(gradient, 4)} and θ₁ goes {num(theta, 4)} → {num(theta_new, 4)}. {why}"
    )


def guess_task(
    action: str, v_hat: float, ret: float, advantage: float, theta: float, theta_new: float, v_true: float
) -> tuple[str | None, str]:
    """Gradient step: with V̂ ≥ 0.9 and the action Right, which way does θ₁ move?"""
    from app.format import num

    if action != "Right" or v_hat < 0.9:
        return None, "Now set V̂(S1) to 0.9 or more and *Action in S1* to Right."
    answer = _direction(theta, theta_new, "up", "down", "nowhere")
    worse = " Reaching the goal counts as worse than expected." if advantage < 0 else ""
    return answer, (
        f"G₀ = {num(ret, 4)} and V̂ = {num(v_hat, 2)}, so Â = {num(advantage, 4)} and θ₁ goes "
        f"{num(theta, 4)} → {num(theta_new, 4)}.{worse} The true V^π(S1) is {num(v_true, 4)}."
    )


def spread_task(var_value: float, var_optimal: float, v: float, b_star: float) -> tuple[str | None, str]:
    """Baselines: which of V(S1) and b* gives the smaller exact variance? (b* minimizes it, so
    V(S1) can at best tie, when the two constants coincide.)"""
    from app.format import num, sig

    if abs(b_star - v) <= 1e-9 * max(1.0, abs(v)) or var_value == var_optimal:
        return "a tie", (
            f"here b\\* = {num(b_star, 4)} and V(S1) = {num(v, 4)} coincide, so both give "
            f"variance {sig(var_optimal, 4)}."
        )
    return "b*", (
        f"b\\* = {num(b_star, 4)} gives variance {sig(var_optimal, 4)}, V(S1) = {num(v, 4)} gives "
        f"{sig(var_value, 4)}: b\\* is the constant that minimizes it, by construction."
    )


def offset_task(offset: float, var_none: float, var_none_at_zero: float) -> tuple[str | None, str]:
    """Baselines: with c ≥ 1.5 and no baseline, does the variance grow or shrink against c = 0?"""
    from app.format import num, sig

    if offset < 1.5:
        return None, f"Now push the reward offset c to 1.5 or more (it is {num(offset, 1)})."
    answer = "grows" if var_none > var_none_at_zero else "shrinks"
    return answer, (
        f"without a baseline the exact variance is {sig(var_none, 4)} at c = {num(offset, 1)} against "
        f"{sig(var_none_at_zero, 4)} at c = 0: every return carries c times the episode's length."
    )


def bandit_task(preferences: Any, b_star: float, expected_reward: float) -> tuple[str | None, str]:
    """Bandit: with equal preferences, is b* = E[R]?"""
    from app.format import num

    prefs = np.asarray(preferences, dtype=float)
    if np.ptp(prefs) != 0.0:
        return None, "Now set every preference h to the same value."
    same = abs(b_star - expected_reward) <= 1e-9 * max(1.0, abs(expected_reward))
    return ("equal" if same else "different"), (
        f"b\\* = {num(b_star, 4)} and E[R] = {num(expected_reward, 4)}: with equal preferences π is uniform, "
        "every arm's |ψ|² is the same, and the score-weighted mean is the plain mean."
    )


def value_baseline_task(curves: list[Any]) -> tuple[str | None, str]:
    """CartPole: with the fast preset, does a learned V(s) baseline solve in fewer env steps than
    plain REINFORCE? Answered from the shipped reference runs (this code, same seeds)."""

    def median(algo: str) -> tuple[float, int, int] | None:
        for ref in curves:
            if (ref.algo, ref.preset, bool(ref.normalized)) == (algo, "fast", False) and ref.steps_to_solve:
                solved = [v for v in ref.steps_to_solve if v is not None]
                if solved:
                    return float(np.median(solved)), len(solved), len(ref.steps_to_solve)
        return None

    plain, value = median("reinforce"), median("reinforce_value")
    if plain is None or value is None:
        return None, "The reference runs that answer this are not on this server; train both to find out."
    if value[0] * CLEAR_RATIO <= plain[0]:
        answer = "with V(s)"
    elif plain[0] * CLEAR_RATIO <= value[0]:
        answer = "plain"
    else:
        answer = "about the same"
    return answer, (
        f"in the reference runs shipped with this app (fast preset, this training code), plain REINFORCE "
        f"solved {plain[1]} of {plain[2]} seeds with a median of {plain[0]:,.0f} env steps, with a learned "
        f"V(s) {value[1]} of {value[2]} with {value[0]:,.0f}. Medians less than {CLEAR_RATIO:g}× apart count "
        "as about the same: with a handful of seeds, luck moves them that much. Train both with "
        "*All four algorithms* to see your own seeds."
    )


def ppo_clip_task(r: float, eps: float, objective: float, unclipped: float) -> tuple[str | None, str]:
    """GridWorld: with A < 0 and r below 1 − ε, does PPO's objective still push r down?"""
    from app.format import num

    if not r < 1.0 - eps:
        return None, f"Now move r below 1 − ε = {num(1.0 - eps, 2)} (it is {num(r, 2)})."
    return "no, its slope is 0", (
        f"at r = {num(r, 2)} with A = −1, r·A = {num(unclipped, 3)} but clip(r)·A = (1 − ε)·A = "
        f"{num(objective, 3)} is smaller, so the min is that constant: its slope in r is 0. The action "
        f"is already more than ε = {num(eps, 2)} less likely than before, and PPO stops pushing it down."
    )


def grpo_weight_task(margin: float, scale_by_std: bool, near_goal: float, far: float) -> tuple[str | None, str]:
    """GridWorld: at the random policy, does dividing by σ_c up-weight the start cells next to
    the goal or those far from it? ``near_goal`` and ``far`` are the weights w_c there."""
    from app.format import num, sig

    if margin != 0.0 or not scale_by_std:
        return None, "Now set the margin m to 0 (the random policy) with *divide by std* on."
    answer = "next to the goal" if near_goal > far else "far from the goal"
    return answer, (
        f"the weight w_c = κ/σ_c is {sig(near_goal, 3)} next to the goal and {sig(far, 3)} at the start "
        f"(0, 0). Under the random policy a walker next to the goal either steps in at once or wanders off "
        f"for up to 50 steps, so the return from there varies the {'least' if near_goal > far else 'most'}"
        f": the division by σ_c weights those cells {num(max(near_goal, far) / min(near_goal, far), 2)}× "
        f"{'more' if near_goal > far else 'less'} than the start."
    )
