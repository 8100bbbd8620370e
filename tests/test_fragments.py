"""A control inside one section reruns that section only, against a real server spoken to
as a browser does (devtools.streamlit_client): the other sections' charts and formulas are
not recomputed or re-sent."""

from __future__ import annotations

import pytest

from devtools.streamlit_client import ServerProcess, Session

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server():
    with ServerProcess() as running:
        yield running


def widget(session: Session, label: str):
    found = [w for w in session.widgets.values() if w.label == label]
    assert len(found) == 1, sorted(w.label for w in session.widgets.values())
    return found[0]


def test_policies_theta_reruns_only_the_sigmoid_section(server):
    with Session(server.url, timeout=120) as session:
        page = session.open("policies")
        assert page.finished and page.errors == [] and page.charts == 1  # only the chosen section is built
        theta = widget(session, "θ")
        assert theta.fragment_id, "the θ slider is not inside a fragment"
        moved = session.set_widget(theta, 2.0)
    assert moved.finished and moved.errors == []
    assert moved.charts == 1  # the sigmoid chart
    assert widget(session, "Section").id not in moved.widgets  # the page's own controls are not re-sent
    assert moved.elements < page.elements


def test_gradient_step_cap_reruns_only_the_table(server):
    with Session(server.url, timeout=120) as session:
        page = session.open("gradient-step", "section=Log-derivative+trick")
        assert page.finished and page.errors == [] and page.charts == 1  # the convergence plot
        cap = widget(session, "Longest trajectory listed (loops k)")
        assert cap.fragment_id
        moved = session.set_widget(cap, 10)
    assert moved.finished and moved.errors == []
    assert moved.charts == 0 and 0 < moved.elements < page.elements / 3


def test_gradient_step_shows_one_section_and_play_ticks_redraw_only_the_learner(server):
    with Session(server.url, timeout=120) as session:
        assert session.open("gradient-step").charts == 1  # the worked path
    with Session(server.url, timeout=120) as session:
        assert session.open("gradient-step", "section=The+hill+J%28%CE%B8%29").charts == 2  # J(θ₁), the map
    with Session(server.url, timeout=120) as session:
        learn = session.open("gradient-step", "section=Watch+it+learn")
        assert learn.finished and learn.errors == []
        played = session.set_widget(widget(session, "Play or pause"), "Play")
        assert played.finished and played.errors == []
        assert session.auto_reruns, "Play did not start the fragment's timer"
        fragment_id, interval = next(iter(session.auto_reruns.items()))
        assert interval <= 0.25  # at least four updates a second
        tick = session.auto_rerun(fragment_id)
        assert tick.finished and tick.errors == []
        assert tick.charts == 3 and tick.elements < played.elements  # episode, climb, race only
        paused = session.set_widget(widget(session, "Play or pause"), "Pause")
        assert paused.finished and not session.auto_reruns


def test_gradient_step_hill_seed_reruns_only_the_hill(server):
    with Session(server.url, timeout=120) as session:
        page = session.open("gradient-step", "section=The+hill+J%28%CE%B8%29")
        assert page.finished and page.errors == [] and page.charts == 2
        seed = widget(session, "Episode seed")
        assert seed.fragment_id, "the hill's seed slider is not inside a fragment"
        moved = session.set_widget(seed, 7)
        resampled = session.set_widget(widget(session, "Resample"), True)
    for run in (moved, resampled):
        assert run.finished and run.errors == []
        assert run.charts == 2  # J(θ₁) with the sampled slope, the map with the sampled arrow
        assert widget(session, "θ₁ (policy in S1)").id not in run.widgets  # the page's sliders are not re-sent
        assert run.elements < page.elements


def test_gridworld_episode_seed_and_grpo_margin_rerun_their_own_part_only(server):
    with Session(server.url, timeout=120) as session:
        page = session.open("gridworld")
        assert page.finished and page.errors == [] and page.charts == 2  # π over the visits, the episode
        moved = session.set_widget(widget(session, "Episode seed"), 7)
        resampled = session.set_widget(widget(session, "Sample another"), True)
        for run in (moved, resampled):
            assert run.finished and run.errors == []
            assert run.charts == 1  # the episode's path; the policy map above is not re-sent
            assert widget(session, "Policy").id not in run.widgets
    with Session(server.url, timeout=120) as session:
        page = session.open("gridworld", "section=GRPO+groups")
        assert page.finished and page.errors == [] and page.charts == 3  # advantages, σ_c, w_c
        moved = session.set_widget(widget(session, "Policy: near-optimal margin m (0 = random)"), 2.0)
        assert moved.finished and moved.errors == []
        assert moved.charts == 2  # σ_c and w_c; the group's advantages chart is not re-sent
        assert widget(session, "Group size G").id not in moved.widgets
