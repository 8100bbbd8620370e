"""Home: what the explainer is, the map of its pages, and the notation card."""

from __future__ import annotations

import streamlit as st

from app.pages_index import available_pages
from app.ui import next_page_link

st.title("Policy gradients, by hand")
st.markdown(
    "Policy-gradient methods learn a policy $\\pi_\\theta$ directly: nudge the parameters θ in the "
    "direction that makes good actions more likely. This explainer takes you from a "
    "one-parameter policy you can compute on paper to neural networks trained on CartPole. "
    "Every number on every page is live: move a slider and watch θ, $\\pi_\\theta$, returns, "
    "advantages and gradients change."
)
st.caption("Assumes you know the basic RL loop: states, actions, rewards, episodes, discounting.")

st.subheader("The pages, in order")
lesson_pages = [page for page in available_pages() if not page.default]
for number, page in enumerate(lesson_pages, start=1):
    st.page_link(str(page.path), label=f"{number}. {page.title}", icon=page.icon)
    st.caption(page.teaches)

st.subheader("Notation")
NOTATION = [
    (r"\theta", "the policy's parameters: what learning changes"),
    (r"\pi_\theta(a \mid s)", "the policy: probability of action a in state s"),
    (r"\tau = (s_0, a_0, r_1, s_1, a_1, r_2, \dots)", "a trajectory (episode)"),
    (r"G_t = \sum_{k \ge 0} \gamma^k r_{t+k+1}", "the return from time t"),
    (r"\gamma \in [0, 1]", "the discount: how much a reward one step later is worth"),
    (r"V^\pi(s) = \mathbb{E}_\pi[G_t \mid s_t = s]", "state value: expected return from s"),
    (r"Q^\pi(s, a) = \mathbb{E}_\pi[G_t \mid s_t = s, a_t = a]", "action value: take a first, then follow π"),
    (r"A^\pi(s, a) = Q^\pi(s, a) - V^\pi(s)", "advantage: how much better a is than π's average"),
    (r"\alpha", "the learning rate (step size)"),
    (r"J(\theta) = \mathbb{E}_{\tau \sim \pi_\theta}[G_0]", "the objective: expected return from the start"),
]
# One row of two cards at a time: on a phone the columns stack row by row, so the cards keep
# their reading order (θ, π, τ, G, …) instead of showing every left card before the right ones.
for row_start in range(0, len(NOTATION), 2):
    for column, (symbol, meaning) in zip(st.columns(2), NOTATION[row_start : row_start + 2]):
        with column:
            st.latex(symbol)
            st.caption(meaning)

st.subheader("The one update every page builds on")
st.latex(r"\theta \leftarrow \theta + \alpha \, \nabla_\theta \log \pi_\theta(a \mid s)\, A^\pi(s, a)")
st.caption(
    "Make the action you took more likely if it turned out better than average (A > 0), "
    "less likely if worse. Start with the Policies page."
)

next_page_link("home")
