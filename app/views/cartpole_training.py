"""Page 4 — CartPole training: REINFORCE, its baselines and actor-critic, trained live in
a worker process, compared, animated, downloaded and uploaded."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import uuid
from pathlib import Path

import numpy as np
import streamlit as st

from app.charts.cartpole import (
    ALGO_LABELS,
    cartpole_animation,
    cartpole_frames,
    learning_curves,
    reference_chart,
    reference_label,
    seed_bands,
    variance_curves,
)
from app.format import num, plain
from app.lessons import baseline_bias_note, baseline_lesson, progress_text, solve_story, value_baseline_task
from app.state import Param, bind, mirror, show_notices
from app.theme import COLORS, PLOTLY_CONFIG
from app.training_jobs import REPLAY_MILESTONES, SNAPSHOT_SECONDS, FinishedRun, LivePolicy, RunRequest, shared_registry
from app.ui import next_page_link, predict_task
from pgcore.cartpole.config import ALGOS, EVAL_EPISODES, SOLVE_THRESHOLD, SOLVE_WINDOW, preset_config, read_presets
from pgcore.cartpole.curves import parse_reference_curves, seed_band, summarize_by_algo
from pgcore.cartpole.policy import PolicySnapshot, policy_from_bytes, policy_to_bytes, rollout_episode
from pgcore.cartpole.runs import run_from_json, run_to_csv, run_to_json

ROOT = Path(__file__).resolve().parents[2]
REFERENCE_FILE = ROOT / "data" / "reference_curves.json"
MAX_STORED_RUNS = 30
MAX_POLICY_BYTES = 2_000_000
MAX_UPLOADED_POLICIES = 5
POLL_SECONDS = 0.5
LIVE_FRAMES = 100  # the live episode: at most 100 frames of 30 ms, so it plays in about the time
LIVE_FRAME_MS = 30  # between two snapshots (SNAPSHOT_SECONDS)

PRESETS = ("fast", "articles")
MODES = ("One run", "Several seeds", "All four algorithms")
BUDGETS = {
    "2k": 2_000,
    "5k": 5_000,
    "10k": 10_000,
    "25k": 25_000,
    "50k": 50_000,
    "100k": 100_000,
    "150k": 150_000,
    "200k": 200_000,
    "300k": 300_000,
    "500k": 500_000,
}
SHORT = {
    "reinforce": "REINFORCE",
    "reinforce_baseline": "REINFORCE+b",
    "reinforce_value": "REINFORCE+V",
    "actor_critic": "Actor-critic",
}
UNTRAINED = "Untrained network (uniform random weights)"


PRESET_TABLE = read_presets()  # from pgcore.cartpole.config: torch-free, never drifts from training


def with_presets(base: tuple[float, ...], field: str, whole: bool = False) -> tuple[str, ...]:
    """Slider positions: ``base`` plus every value a preset uses, so presets land exactly."""
    values = set(base) | {float(t[a][field]) for t in PRESET_TABLE.values() for a in t}
    return tuple(str(int(v)) if whole else f"{v:g}" for v in sorted(values))


GAMMAS = with_presets((0.8, 0.9, 0.95, 0.97, 0.99, 0.995, 0.999), "gamma")
RATES = with_presets((1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2), "policy_lr")
VALUE_RATES = with_presets((1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2), "value_lr")
HIDDEN = with_presets((8, 16, 32, 64, 128, 256), "hidden_size", whole=True)
ENVS = with_presets((1, 2, 4, 8, 16, 32), "num_envs", whole=True)
ROLLOUTS = with_presets((4, 8, 16, 32, 64, 128), "rollout_steps", whole=True)
ENTROPIES = with_presets((0.0, 0.001, 0.003, 0.01, 0.03), "entropy_coef")

registry = shared_registry()
limits = registry.limits
budget_options = tuple(k for k, v in BUDGETS.items() if v <= limits.max_steps) or ("2k",)
DEFAULT_BUDGET = "150k"


def closest(options: tuple[str, ...], value: float) -> str:
    """The option whose number equals (or is nearest) ``value``: presets → slider positions."""
    return min(options, key=lambda o: abs(float(o) - float(value)))


def preset_widget_values(preset: str, algo: str) -> dict[str, object]:
    p = PRESET_TABLE[preset][algo]
    return {
        "cp_gamma": closest(GAMMAS, p["gamma"]),
        "cp_policy_lr": closest(RATES, p["policy_lr"]),
        "cp_value_lr": closest(VALUE_RATES, p["value_lr"]),
        "cp_hidden": closest(HIDDEN, p["hidden_size"]),
        "cp_envs": closest(ENVS, p["num_envs"]),
        "cp_rollout": closest(ROLLOUTS, p["rollout_steps"]),
        "cp_entropy": f"{float(p['entropy_coef']):g}",
        "cp_normalize": bool(p["normalize_returns"]),
    }


def apply_preset() -> None:
    """Callback: a new algorithm or preset loads that preset's hyperparameters."""
    for key, value in preset_widget_values(st.session_state["cp_preset"], st.session_state["cp_algo"]).items():
        st.session_state[key] = value


# --- widget state and links --------------------------------------------------------------

MAIN_PARAMS = {
    "cp_algo": Param("algo", "reinforce_value", options=ALGOS),
    "cp_preset": Param("preset", "fast", options=PRESETS),
}
notices = bind(MAIN_PARAMS)
defaults = preset_widget_values(st.session_state["cp_preset"], st.session_state["cp_algo"])
PARAMS = {
    **MAIN_PARAMS,
    "cp_seed": Param("seed", 0, 0, 9999),
    "cp_mode": Param("mode", MODES[0], options=MODES),
    "cp_n_seeds": Param("seeds", 3, 2, 5),
    # 150k: the default algorithm (reinforce_value) needs 46k-89k steps over seeds 0-9 (README)
    "cp_budget": Param(
        "budget", DEFAULT_BUDGET if DEFAULT_BUDGET in budget_options else budget_options[-1], options=budget_options
    ),
    "cp_gamma": Param("gamma", defaults["cp_gamma"], options=GAMMAS),
    "cp_policy_lr": Param("lr", defaults["cp_policy_lr"], options=RATES),
    "cp_value_lr": Param("vlr", defaults["cp_value_lr"], options=VALUE_RATES),
    "cp_hidden": Param("hidden", defaults["cp_hidden"], options=HIDDEN),
    "cp_envs": Param("envs", defaults["cp_envs"], options=ENVS),
    "cp_rollout": Param("rollout", defaults["cp_rollout"], options=ROLLOUTS),
    "cp_entropy": Param("entropy", defaults["cp_entropy"], options=ENTROPIES),
    "cp_normalize": Param("norm", defaults["cp_normalize"]),
    "cp_gradvar": Param("gradvar", False),
    "cp_raw_returns": Param("raw", True),
    "cp_anim_seed": Param("ep", 1, 0, 999),
}
notices += bind(PARAMS)
state = st.session_state
state.setdefault("cp_runs", {})  # name → {"data": RunData, "policy": PolicySnapshot | None, "key": str}
state.setdefault("cp_policies", {})  # uploaded policies: name → PolicySnapshot
state.setdefault("cp_ticket", uuid.uuid4().hex)
state.setdefault("cp_counter", 0)
state.setdefault("cp_upload_note", None)


def overrides() -> dict[str, object]:
    """The hyperparameters on screen, as TrainConfig fields."""
    return dict(
        gamma=float(state["cp_gamma"]),
        policy_lr=float(state["cp_policy_lr"]),
        value_lr=float(state["cp_value_lr"]),
        hidden_size=int(state["cp_hidden"]),
        num_envs=int(state["cp_envs"]),
        rollout_steps=int(state["cp_rollout"]),
        entropy_coef=float(state["cp_entropy"]),
        normalize_returns=bool(state["cp_normalize"]),
        max_env_steps=BUDGETS[state["cp_budget"]],
        measure_grad_variance=bool(state["cp_gradvar"]),
    )


def next_name(algo: str, seed: int) -> str:
    state["cp_counter"] += 1
    return f"#{state['cp_counter']} {SHORT[algo]} · seed {seed}"


def build_requests() -> list[RunRequest]:
    preset, algo, seed, mode = state["cp_preset"], state["cp_algo"], int(state["cp_seed"]), state["cp_mode"]
    shared = overrides()
    if mode == "Several seeds":
        seeds = [seed + i for i in range(int(state["cp_n_seeds"]))]
        group = f"{SHORT[algo]} · {preset} · seeds {seeds[0]}–{seeds[-1]} · #{state['cp_counter'] + 1}"
        return [RunRequest(preset, algo, s, shared, next_name(algo, s), group) for s in seeds]
    if mode == "All four algorithms":
        # each algorithm with its own preset settings; only the budget and seed are shared
        group = f"all algorithms · {preset} · seed {seed} · #{state['cp_counter'] + 1}"
        common = dict(max_env_steps=shared["max_env_steps"], measure_grad_variance=shared["measure_grad_variance"])
        return [RunRequest(preset, a, seed, common, next_name(a, seed), group) for a in ALGOS]
    return [RunRequest(preset, algo, seed, shared, next_name(algo, seed), "")]


def start_training() -> None:
    """Train button: start now if a slot is free, else join the line."""
    if state.get("cp_job") is not None and state["cp_job"].active:
        return
    requests = build_requests()
    state["cp_stored_from_job"] = 0
    job = registry.submit(state["cp_ticket"], requests)
    state["cp_job"] = job
    state["cp_pending"] = None if job is not None else requests


def stop_training() -> None:
    job = state.get("cp_job")
    if job is not None:
        job.cancel()


def leave_queue() -> None:
    registry.withdraw(state["cp_ticket"])
    state["cp_pending"] = None


def replay_moments(
    data, policy: PolicySnapshot, key: str, milestones: tuple[LivePolicy, ...]
) -> list[tuple[str, PolicySnapshot, str]]:
    """(label, policy, cache key) for each policy a run kept on its way, oldest first, ending
    with the final one: what *Watch it balance* can replay."""
    updates = len(data.update_steps)
    moments = []
    for m in milestones:
        if m.update >= updates:  # the last update's policy is the final one, listed last
            continue
        mean = "no episode finished yet" if not np.isfinite(m.avg_return) else f"training mean {m.avg_return:.0f}"
        moments.append((f"update {m.update:,} · {mean}", m.policy, m.key))
    moments.append((f"the end · update {updates:,}", policy, key))
    return moments


def store_run(data, policy: PolicySnapshot | None, milestones: tuple[LivePolicy, ...] = ()) -> None:
    """Keep a run in the session (oldest dropped past MAX_STORED_RUNS) and show it."""
    runs = state["cp_runs"]
    key = hashlib.sha1(policy_to_bytes(policy)).hexdigest() if policy is not None else ""
    moments = replay_moments(data, policy, key, milestones) if policy is not None else []
    runs[data.name] = {"data": data, "policy": policy, "key": key, "moments": moments}
    while len(runs) > MAX_STORED_RUNS:
        runs.pop(next(iter(runs)))
    state.setdefault("cp_show_new", []).append(data.name)  # merged into the multiselect before it is drawn


def ingest_upload(kind: str) -> None:
    """Uploader callback: validate the file strictly; add it, or explain and change nothing."""
    upload = state.get(f"cp_upload_{kind}")
    if upload is None:
        return
    raw = upload.getvalue()
    try:
        if kind == "run":
            uploaded = run_from_json(raw)
            runs = state["cp_runs"]
            name = uploaded.name if uploaded.name not in runs else f"{uploaded.name} (uploaded {len(runs) + 1})"
            store_run(dataclasses.replace(uploaded, name=name), None)
            state["cp_upload_note"] = ("ok", f"Added the uploaded run “{plain(name)}” to the comparison.")
        else:
            if len(raw) > MAX_POLICY_BYTES:
                raise ValueError(
                    f"the file is {len(raw) / 1e6:.1f} MB; policies up to {MAX_POLICY_BYTES / 1e6:.0f} MB are accepted"
                )
            loaded = policy_from_bytes(raw)
            # the file's own "algo" note is shown only when it names one of ours
            algo = loaded.algo if loaded.algo in ALGOS else "algorithm not stated"
            state["cp_upload_counter"] = state.get("cp_upload_counter", 0) + 1
            name = f"uploaded policy {state['cp_upload_counter']} ({algo}, {loaded.hidden_size} units)"
            policies = state["cp_policies"]
            policies[name] = loaded
            while len(policies) > MAX_UPLOADED_POLICIES:  # a session keeps only its newest few
                policies.pop(next(iter(policies)))
            state["cp_anim_run"] = name
            state["cp_upload_note"] = ("ok", f"Loaded “{name}”: see it under *Watch it balance*.")
    except ValueError as err:
        state["cp_upload_note"] = ("bad", f"That {kind} file was not used — {err}. Nothing else changed.")


def collect(finished: list[FinishedRun]) -> None:
    """Move a job's newly finished runs into the session."""
    done = state.get("cp_stored_from_job", 0)
    for run in finished[done:]:
        policy = PolicySnapshot(
            {k: np.asarray(v, dtype=np.float32) for k, v in run.policy_weights.items()},
            run.hidden_size,
            run.activation,
            run.data.algo,
        )
        store_run(run.data, policy, run.milestones)
    state["cp_stored_from_job"] = max(done, len(finished))


# --- page ---------------------------------------------------------------------------------

st.title("CartPole training")
st.markdown(
    "Now the real thing: a small neural-network policy learns to balance a pole on a cart "
    "(Gymnasium's **CartPole-v1**: +1 per step the pole stays up, at most 500 steps). "
    "Train REINFORCE, REINFORCE with a baseline, or actor-critic right here, watch the "
    "learning curve grow, and compare them — measured live, not quoted."
)
show_notices(notices)
st.latex(
    rf"\text{{solved}} \iff \frac{{1}}{{{EVAL_EPISODES}}}\sum_{{i=1}}^{{{EVAL_EPISODES}}} R_i^{{\text{{fresh}}}}"
    rf"\;\ge\; {SOLVE_THRESHOLD:.0f}"
)
st.caption(
    f"**Solved** means what Gymnasium's CartPole-v1 threshold means: the policy averages at least "
    f"{SOLVE_THRESHOLD:.0f} (out of 500) over {EVAL_EPISODES} episodes. Once the mean of the last "
    f"{SOLVE_WINDOW} training episodes reaches {SOLVE_THRESHOLD:.0f}, the current policy plays "
    f"{EVAL_EPISODES} fresh episodes, choosing actions as it does in training; *steps to solve* is the "
    "training env-step count at the first such check that passes. The training window alone can read "
    f"{SOLVE_THRESHOLD:.0f} while the policy is already getting worse; the check catches that."
)
with st.expander("What to try", icon=":material/lightbulb:", expanded=True):
    st.markdown(
        f"- Press **Train** with the defaults (REINFORCE + value baseline, *fast* preset, "
        f"{PARAMS['cp_budget'].default} step budget): it usually solves within that budget, in a few seconds.\n"
        "- Choose **All four algorithms** and train: the table below ranks them by steps to solve, "
        "and the variance chart shows what a baseline does to the weights Ψₜ.\n"
        "- Switch to the **articles** preset (γ 0.9, 128 ReLU units, Adam 3e-4, normalized Ψ, one "
        "episode per update) and compare it with the reference table below.\n"
        "- Tick **Normalize Ψₜ** for plain REINFORCE: that adds a batch-mean baseline and rescales "
        "the step, two changes at once.\n"
        "- Train **several seeds**: one run is an anecdote; the band shows how much luck is involved.\n"
        "- Watch the trained policy balance, then the untrained one fall within a few dozen steps; "
        "slide **Moment of training** back to replay how the policy learned."
    )

# --- controls -----------------------------------------------------------------------------

left, right = st.columns([1, 1], gap="large")
with left:
    st.selectbox(
        "Algorithm",
        ALGOS,
        key="cp_algo",
        on_change=apply_preset,
        help="reinforce: Ψₜ = Gₜ, no baseline. reinforce_baseline: Gₜ − the mean of the same "
        "episode's G (the articles' choice). reinforce_value: Gₜ − V(sₜ). actor_critic: GAE "
        "advantage from a learned V.",
    )
    fast, articles = PRESET_TABLE["fast"]["reinforce"], PRESET_TABLE["articles"]["reinforce"]
    st.radio(
        "Preset",
        PRESETS,
        key="cp_preset",
        horizontal=True,
        on_change=apply_preset,
        help=f"fast: tuned for this app (REINFORCE: γ {fast['gamma']:g}, {fast['num_envs']} episodes per "
        f"update, Adam {fast['policy_lr']:g}). articles: the articles' γ {articles['gamma']:g}, "
        f"{articles['hidden_size']} hidden units, Adam {articles['policy_lr']:g}, "
        f"{articles['num_envs']} episode per update.",
    )
    st.radio("Mode", MODES, key="cp_mode", horizontal=True)
    seed_col, budget_col = st.columns(2)
    with seed_col:
        st.number_input("Seed", min_value=0, max_value=9999, step=1, key="cp_seed")
    with budget_col:
        st.select_slider(
            "Step budget per run",
            options=budget_options,
            key="cp_budget",
            help=f"At most {limits.max_steps:,} env steps and {limits.max_seconds:.0f} s per run on this server.",
        )
    if state["cp_mode"] == "Several seeds":
        st.slider("Number of seeds (seed, seed + 1, …)", 2, 5, key="cp_n_seeds")
with right:
    algo = state["cp_algo"]
    with st.expander("Hyperparameters", expanded=True, icon=":material/tune:"):
        h1, h2 = st.columns(2)
        with h1:
            st.select_slider("Discount γ", options=GAMMAS, key="cp_gamma")
            st.select_slider("Policy learning rate", options=RATES, key="cp_policy_lr")
            st.select_slider("Hidden units", options=HIDDEN, key="cp_hidden")
            st.select_slider("Entropy bonus β", options=ENTROPIES, key="cp_entropy")
        with h2:
            st.select_slider(
                "Parallel envs" if algo == "actor_critic" else "Episodes per update", options=ENVS, key="cp_envs"
            )
            st.select_slider(
                "Value learning rate",
                options=VALUE_RATES,
                key="cp_value_lr",
                disabled=algo in ("reinforce", "reinforce_baseline"),
                help="Only reinforce_value and actor_critic learn V(s).",
            )
            st.select_slider(
                "Rollout steps per env",
                options=ROLLOUTS,
                key="cp_rollout",
                disabled=algo != "actor_critic",
                help="actor_critic only.",
            )
            st.checkbox(
                "Normalize Ψₜ per batch",
                key="cp_normalize",
                help="Ψₜ → (Ψₜ − batch mean) / batch std. Subtracting the batch mean is itself a "
                "baseline, and dividing by the std rescales the step: two changes at once. "
                "Off in the fast preset, so that 'reinforce' has no baseline at all.",
            )
            st.checkbox(
                "Also measure gradient variance",
                key="cp_gradvar",
                help="The per-step policy-gradient variance (slower training).",
            )
        if state["cp_mode"] == "All four algorithms":
            st.caption("All four algorithms each use their own preset settings; only seed and budget apply.")

gamma = float(state["cp_gamma"])
horizon = "\\infty" if gamma >= 1 else num(1 / (1 - gamma), 0)
lam = preset_config(state["cp_preset"], "actor_critic").gae_lambda
psi = {
    "reinforce": r"\Psi_t = G_t",
    "reinforce_baseline": r"\Psi_t = G_t - \tfrac{1}{T}\textstyle\sum_{t'} G_{t'}",
    "reinforce_value": r"\Psi_t = G_t - V_\phi(s_t)",
    "actor_critic": rf"\Psi_t = \hat A^{{\mathrm{{GAE}}({num(gamma, 3)},\,{num(lam, 2)})}}_t",
}[algo]
normalized = bool(state["cp_normalize"])
st.latex(
    # one short line each, so the formula fits a phone screen
    rf"\begin{{aligned}}\nabla_\theta J &\approx \frac{{1}}{{B}}\sum_t \Psi_t\, \nabla_\theta \log \pi_\theta(a_t \mid s_t)\\"
    rf"&\text{{with }} {psi}\\ G_t &= \sum_{{k \ge 0}} {num(gamma, 3)}^k\, r_{{t+k+1}}\\"
    rf"&(\text{{horizon}} \approx {horizon}\text{{ steps}})\end{{aligned}}"
)
notes = [
    "Every step's term is weighted by Ψₜ alone, without the factor γᵗ that the exact gradient of the "
    "discounted return has: the usual choice (and the articles'), biased as the *Baselines* page shows, "
    "and it favours good behaviour late in an episode as much as early."
]
passes = preset_config(state["cp_preset"], algo)
if passes.update_epochs > 1:
    notes.append(
        f"This preset uses each batch for {passes.update_epochs} passes of Adam: the first is the step above; "
        "the later ones maximize PPO's clipped surrogate min(r·Ψ, clip(r, "
        f"{num(1 - passes.clip_range, 2)}, {num(1 + passes.clip_range, 2)})·Ψ), r = π_θ(a|s) / π_old(a|s), "
        "so the policy cannot move far from the one that collected the batch."
    )
if normalized:
    notes.append(
        "Ψₜ is normalized per batch: Ψₜ → (Ψₜ − batch mean) / batch std, which adds a batch-mean "
        "baseline and rescales the step."
    )
    if algo in ("reinforce", "reinforce_baseline") and int(state["cp_envs"]) == 1:
        notes.append(
            "With one episode per update the batch mean *is* that episode's mean return, so here "
            "*reinforce* and *reinforce_baseline* are the same algorithm."
        )
st.caption(" ".join(notes))

# --- training -----------------------------------------------------------------------------

job = state.get("cp_job")
busy = job is not None and job.active
train_col, info_col = st.columns([1, 3])
with train_col:
    st.button(
        "Train",
        type="primary",
        icon=":material/play_arrow:",
        key="cp_train",
        on_click=start_training,
        disabled=busy or bool(state.get("cp_pending")) or registry.disabled_reason is not None,
    )
with info_col:
    if registry.disabled_reason is not None:
        st.warning(registry.disabled_reason, icon=":material/block:")
    st.caption(
        f"Training runs in a separate process on the server. This server trains at most "
        f"{limits.max_trainings} run{'s' if limits.max_trainings != 1 else ''} at once (for everyone), "
        f"each capped at {limits.max_steps:,} env steps and {limits.max_seconds:.0f} s."
    )


@st.cache_data(show_spinner=False)
def reference_curves(mtime: float):
    return parse_reference_curves(REFERENCE_FILE.read_bytes())


@st.cache_data(show_spinner=False)
def reference_extra(mtime: float, field: str):
    """One more field of the reference file (a measurement beside the curves), or None."""
    try:
        document = json.loads(REFERENCE_FILE.read_bytes())
    except (OSError, ValueError, RecursionError):
        return None
    return document.get(field) if isinstance(document, dict) else None


references, reference_notes = [], []
if REFERENCE_FILE.exists():
    references, reference_notes = reference_curves(REFERENCE_FILE.stat().st_mtime)

with st.container(border=True):
    st.markdown("**Predict, then check**")
    predict_task(
        1,
        "With the *fast* preset, which needs fewer env steps to solve CartPole: plain REINFORCE or "
        "REINFORCE with a learned V(s) baseline?",
        ("plain", "with V(s)", "about the same"),
        "cp_guess_value",
        lambda: value_baseline_task(references),
    )


@st.cache_data(show_spinner=False, max_entries=32)
def episode_frames(policy_key: str, _policy: PolicySnapshot | None, seed: int, hidden_size: int, max_frames: int = 200):
    """One episode of the policy (cached by the policy's content hash and the seed)."""
    episode = rollout_episode(_policy, seed=seed, max_steps=500, hidden_size=hidden_size)
    return (
        cartpole_frames(episode.states, episode.actions, max_frames=max_frames),
        episode.total_reward,
        episode.terminated,
    )


def live_cart(snapshot: LivePolicy | None, algo: str) -> None:
    """The newest policy the running training has sent, playing one episode (start state:
    the *Watch it balance* seed). A new snapshot arrives every few seconds; in between the
    figure is the same, so a playing animation is not interrupted by the polling."""
    if snapshot is None:
        st.caption(
            "After the first update, the newest policy appears here, balancing the pole; it is "
            f"refreshed about every {SNAPSHOT_SECONDS:.0f} s while the training runs."
        )
        return
    seed = int(state.get("cp_live_seed", 0))
    policy = snapshot.policy
    shown = state.get("cp_live_figure")
    if shown is None or shown[0] != (snapshot.key, seed, snapshot.update):
        # a new snapshot or start state: one rollout, cached by the weights' content hash (never by a
        # name); between snapshots every poll reuses the figure, so it only costs its serialization
        frames, total, fell = episode_frames(snapshot.key, policy, seed, policy.hidden_size, LIVE_FRAMES)
        figure = cartpole_animation(
            frames,
            title=f"Live: the policy after update {snapshot.update:,}",
            color=COLORS.get(algo, COLORS["right"]),
            frame_ms=LIVE_FRAME_MS,
        )
        shown = state["cp_live_figure"] = ((snapshot.key, seed, snapshot.update), figure, total, fell)
    _, figure, total, fell = shown
    st.plotly_chart(figure, config=PLOTLY_CONFIG, key="cp_anim_live")
    end = "then the pole fell or the cart left the track" if fell else "the 500-step limit"
    st.caption(
        f"The policy as it was after update {snapshot.update:,} ({snapshot.env_steps:,} env steps), "
        f"the newest one the training has sent; a newer one replaces it about every "
        f"{SNAPSHOT_SECONDS:.0f} s. Press ▶ Play to watch it. From start state {seed} it kept the pole "
        f"up for {total:.0f} steps, {end}: episode return {total:.0f}."
    )


def live_panel() -> None:
    """Progress of this session's job, refreshed a few times a second while it runs."""
    pending = state.get("cp_pending")
    if pending:
        started = registry.submit(state["cp_ticket"], pending)
        if started is None:
            place = registry.position(state["cp_ticket"]) or 1
            st.warning(
                f"The server is already training {registry.running()} run(s), its limit at once. "
                f"Yours is queued (place {place} in line) and starts automatically when a slot frees up.",
                icon=":material/hourglass_top:",
            )
            st.button("Leave the queue", key="cp_leave", on_click=leave_queue)
            return
        state["cp_job"], state["cp_pending"] = started, None
    job = state.get("cp_job")
    if job is None:
        return
    view = job.view()
    collect(view.finished)
    if view.active:
        fraction = min(1.0, view.env_steps / max(view.budget_steps, 1))
        stopping = " · stopping…" if job.cancel_requested else ""
        st.progress(
            fraction,
            text=progress_text(
                view.current,
                view.total,
                view.env_steps,
                view.budget_steps,
                view.episodes,
                view.steps_per_second,
                view.wall_seconds,
            )
            + stopping,
        )
        st.button(
            "Stop",
            icon=":material/stop:",
            key="cp_stop",
            on_click=stop_training,
            help="Ends the run after its current update and keeps what it learned.",
        )
        live = [view.live] if view.live is not None else []
        request = job.requests[view.current]
        same = [r for r in references if r.algo == request.algo and r.preset == request.preset]
        curve_col, cart_col = st.columns([3, 2], gap="medium")
        with curve_col:
            st.plotly_chart(
                learning_curves(live, title="Learning curve (live)", height=360, references=same),
                config=PLOTLY_CONFIG,
                key="cp_live_chart",
            )
        with cart_col:
            live_cart(view.snapshot, request.algo)
        return
    # the job ended: its runs are stored; one full rerun redraws the comparisons
    state["cp_job"] = None
    state.pop("cp_live_figure", None)
    state["cp_job_note"] = (view.status, view.errors, [f.data.name for f in view.finished])
    st.rerun()


# The start-state slider lives outside the fragment: its value is copied for the fragment's own reruns.
state["cp_live_seed"] = int(state["cp_anim_seed"])
st.fragment(live_panel, run_every=POLL_SECONDS if (busy or state.get("cp_pending")) else None)()

note = state.get("cp_job_note")
if note:
    status, errors, names = note
    if errors:
        st.warning("Training reported a problem: " + "; ".join(errors[:3]), icon=":material/warning:")
    if names:
        verb = "stopped early; kept" if status == "cancelled" else "finished:"
        st.success(f"Training {verb} {', '.join(names)}.", icon=":material/check_circle:")
    elif status == "cancelled":
        st.info("Stopped before the first update finished: nothing to keep.", icon=":material/stop_circle:")


runs = {name: entry for name, entry in state["cp_runs"].items()}

# --- what good looks like -------------------------------------------------------------------

with st.expander("What good looks like: reference curves", expanded=not runs, icon=":material/insights:"):
    if references:
        st.plotly_chart(
            reference_chart(references, title="Reference learning curves (precomputed)"),
            config=PLOTLY_CONFIG,
            key="cp_reference_chart",
        )
        notes = sorted({ref.note for ref in references if ref.note})
        st.caption(
            "Precomputed with this app's training code"
            + (f" ({'; '.join(notes)})" if notes else "")
            + ". Your runs will differ: one seed is noisy, and float rounding differs between "
            "machines, so even the same seed can solve at another step count on this server. The "
            "live curve shows the matching reference in a pale line."
        )
        rows = ["| reference | seeds solved | median steps to solve |", "|---|---|---|"]
        for ref in references:
            if ref.steps_to_solve:
                solved = [v for v in ref.steps_to_solve if v is not None]
                median = f"{np.median(solved):,.0f}" if solved else "—"
                budget = f" within {ref.max_env_steps:,}" if ref.max_env_steps else ""
                rows.append(
                    f"| {reference_label(ref)} | {len(solved)} of {len(ref.steps_to_solve)}{budget} | {median} |"
                )
        if len(rows) > 2:
            st.markdown("\n".join(rows))
        lesson = baseline_lesson(references)
        if lesson:
            st.markdown(lesson)
        bias_note = baseline_bias_note(reference_extra(REFERENCE_FILE.stat().st_mtime, "episode_mean_baseline_bias"))
        if bias_note:
            st.markdown(bias_note)
    else:
        st.info(
            "Reference curves are not available on this server yet (data/reference_curves.json is "
            "missing or unreadable). Train a run to draw your own.",
            icon=":material/info:",
        )
    for message in reference_notes:
        st.caption(message)

# --- comparison -------------------------------------------------------------------------------

if runs:
    st.header("Your runs")
    names = list(runs)
    newly = state.pop("cp_show_new", [])
    state["cp_show"] = [n for n in state.get("cp_show", []) + newly if n in runs][-8:]
    shown_names = st.multiselect("Runs to show", names, key="cp_show")
    shown = [runs[n]["data"] for n in shown_names]
    st.checkbox("Show every episode's return (faint), not only the 20-episode mean", key="cp_raw_returns")
    overlay = st.checkbox("Overlay the reference curves", key="cp_overlay_ref", disabled=not references)
    st.plotly_chart(
        learning_curves(
            shown,
            title="Learning curves: episode return over env steps",
            show_returns=bool(state["cp_raw_returns"]),
            references=references if overlay else None,
        ),
        config=PLOTLY_CONFIG,
        key="cp_curves_chart",
    )

    groups: dict[str, list] = {}
    for data in shown:
        if data.group:
            groups.setdefault(data.group, []).append(data)
    bands = []
    for group, members in groups.items():
        by_algo: dict[str, list] = {}
        for data in members:
            by_algo.setdefault(data.algo, []).append(data)
        for group_algo, same in by_algo.items():
            band = seed_band(same)
            if band is not None:
                bands.append((f"{SHORT[group_algo]} · {group}", group_algo, band))
    if bands:
        st.plotly_chart(
            seed_bands(bands, title="Several seeds: mean ± 1 standard deviation of the 20-episode mean"),
            config=PLOTLY_CONFIG,
            key="cp_band_chart",
        )
        st.caption("A run that stopped early (solved) keeps its last 20-episode mean for the rest of the band.")

    st.subheader("Steps to solve, and the variance of Ψₜ")
    if shown:
        st.markdown(
            "\n".join(
                f"- {plain(data.name)}: {solve_story(data.window_solved_at, data.eval_mean_return, data.steps_to_solve, EVAL_EPISODES)}"
                for data in shown
            )
        )
    summaries = summarize_by_algo(shown)
    if summaries:
        any_grad = any(s.median_grad_variance is not None for s in summaries)
        header = ["algorithm", "runs", "solved", "median steps to solve", "fastest – slowest", "median Var(Ψₜ)"]
        if any_grad:
            header.append("median gradient variance")
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for s in summaries:
            cells = [
                ALGO_LABELS[s.algo],
                str(s.runs),
                f"{s.solved} of {s.runs}",
                f"{s.median_steps_to_solve:,.0f}" if s.median_steps_to_solve is not None else "—",
                f"{s.min_steps_to_solve:,} – {s.max_steps_to_solve:,}" if s.min_steps_to_solve is not None else "—",
                f"{s.median_weight_variance:.3g}" if s.median_weight_variance is not None else "—",
            ]
            if any_grad:
                cells.append(f"{s.median_grad_variance:.3g}" if s.median_grad_variance is not None else "—")
            lines.append("| " + " | ".join(cells) + " |")
        st.markdown("\n".join(lines))
    st.caption(
        "Var(Ψₜ) is measured over each update's batch, before any normalization. It shows how spread the "
        "weights are, not the gradient's variance itself; tick *Also measure gradient variance* to see that too. "
        "The source article (seed 004) reports ≈120k steps to reach 500 for plain REINFORCE and ≈86k with a "
        "baseline, and a Q-value variance of 600+ without a baseline against under 200 with one; it does not "
        "give the settings behind those numbers, and they are not reproduced here."
    )
    var_col, grad_col = st.columns(2, gap="large")
    with var_col:
        st.plotly_chart(
            variance_curves(shown, which="weight", title="Variance of the weights Ψₜ per update"),
            config=PLOTLY_CONFIG,
            key="cp_variance_chart",
        )
    with grad_col:
        if any(d.grad_variance is not None for d in shown):
            st.plotly_chart(
                variance_curves(shown, which="grad", title="Per-step policy-gradient variance per update"),
                config=PLOTLY_CONFIG,
                key="cp_grad_variance_chart",
            )
        else:
            st.caption("No gradient-variance measurements among the shown runs.")

# --- watching it balance --------------------------------------------------------------------


st.header("Watch it balance")
choices = [n for n, e in runs.items() if e["policy"] is not None] + list(state["cp_policies"])
anim_seed = int(st.slider("Start state (episode seed)", 0, 999, key="cp_anim_seed"))
trained_col, untrained_col = st.columns(2, gap="large")
with trained_col:
    if choices:
        if state.get("cp_anim_run") not in choices:
            state["cp_anim_run"] = choices[-1]
        choice = st.selectbox("Policy", choices, key="cp_anim_run")
        entry = runs.get(choice)
        policy = entry["policy"] if entry is not None else state["cp_policies"][choice]
        # cached by the weights themselves, never by a name two visitors could share
        key = entry["key"] if entry is not None else hashlib.sha1(policy_to_bytes(policy)).hexdigest()
        moments = entry.get("moments", []) if entry is not None else []
        title = f"Trained: {choice}"
        if len(moments) > 1:
            labels = [label for label, _, _ in moments]
            if state.get("cp_anim_moment") not in labels:
                state["cp_anim_moment"] = labels[-1]
            moment = st.select_slider(
                "Moment of training",
                labels,
                key="cp_anim_moment",
                help="Replay how it learned: the policy as it was after update 1, after the first update "
                f"at which the mean return of the last {SOLVE_WINDOW} training episodes reached each of "
                f"{', '.join(f'{m:.0f}' for m in REPLAY_MILESTONES)} (those this run reached before its "
                "last update), and at the end.",
            )
            if moment != labels[-1]:
                _, policy, key = moments[labels.index(moment)]
                title = f"{choice}: after {moment.split(' · ')[0]}"
        frames, total, fell = episode_frames(key, policy, anim_seed, policy.hidden_size)
        st.plotly_chart(
            cartpole_animation(
                frames,
                title=title,
                color=COLORS[policy.algo] if policy.algo in COLORS else COLORS["right"],
            ),
            config=PLOTLY_CONFIG,
            key="cp_anim_trained",
        )
        st.caption(
            f"This episode lasted {total:.0f} steps"
            + (" (the pole fell or the cart left the track)." if fell else " (the 500-step limit).")
        )
    else:
        st.info("Train a run (or upload a policy below) to watch the trained policy here.", icon=":material/smart_toy:")
with untrained_col:
    hidden = int(state["cp_hidden"])
    frames, total, fell = episode_frames(f"random:{hidden}", None, anim_seed, hidden)
    st.plotly_chart(
        cartpole_animation(frames, title=UNTRAINED, color=COLORS["estimate"]),
        config=PLOTLY_CONFIG,
        key="cp_anim_untrained",
    )
    st.caption(
        f"A network of the same size ({hidden} hidden units) with uniform random weights, as torch "
        f"creates them by default; not this run's own starting weights (the fast preset starts from an "
        f"orthogonal init that is even closer to 50/50). Pushing left or right almost at random, it "
        f"keeps the pole up for {total:.0f} steps in this episode."
    )

# --- files ---------------------------------------------------------------------------------

st.header("Download and upload")
down_col, up_col = st.columns(2, gap="large")
with down_col:
    if runs:
        if state.get("cp_dl_run") not in runs:
            state["cp_dl_run"] = list(runs)[-1]
        chosen = st.selectbox("Run to download", list(runs), key="cp_dl_run")
        entry = runs[chosen]
        stem = "".join(c if c.isalnum() else "_" for c in chosen).strip("_")
        data = entry["data"]
        st.download_button(
            "Run (JSON)",
            data=lambda run=data: run_to_json(run),
            file_name=f"cartpole_{stem}.json",
            mime="application/json",
            key="cp_dl_json",
            icon=":material/download:",
        )
        st.download_button(
            "Episodes (CSV)",
            data=lambda run=data: run_to_csv(run),
            file_name=f"cartpole_{stem}.csv",
            mime="text/csv",
            key="cp_dl_csv",
            icon=":material/download:",
        )
        if entry["policy"] is not None:
            policy = entry["policy"]
            st.download_button(
                "Trained policy (.safetensors)",
                data=lambda p=policy: policy_to_bytes(p),
                file_name=f"cartpole_{stem}.safetensors",
                mime="application/octet-stream",
                key="cp_dl_policy",
                icon=":material/download:",
            )
    else:
        st.caption(
            "Runs you train can be downloaded here as JSON (everything), CSV (one row per episode) "
            "and the trained policy as a .safetensors file."
        )
with up_col:
    st.file_uploader(
        "Upload a run (JSON from this page) to compare",
        type=["json"],
        key="cp_upload_run",
        on_change=ingest_upload,
        args=("run",),
    )
    st.file_uploader(
        "Upload a policy (.safetensors) to watch it",
        type=["safetensors"],
        key="cp_upload_policy",
        on_change=ingest_upload,
        args=("policy",),
    )
    upload_note = state.get("cp_upload_note")
    if upload_note:
        (st.success if upload_note[0] == "ok" else st.warning)(upload_note[1])

mirror(PARAMS)
next_page_link("cartpole")
