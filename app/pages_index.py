"""The map of the explainer: every page in the order a learner walks it.

Home and the navigation both read this list; a page whose file does not exist yet is left
out, so nothing ever links to a placeholder.

The page files live in app/views/, not app/pages/: Streamlit treats a pages/ folder beside
the entry script as an old-style multipage app during the first run of a session, so a
shared link such as /gradient-step?theta1=0.5 opened a spurious "Page not found" dialog
and left the sidebar listing file names instead of this navigation.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

PAGES_DIR = Path(__file__).resolve().parent / "views"


@dataclass(frozen=True)
class PageInfo:
    file: str
    title: str
    icon: str
    url_path: str
    teaches: str
    default: bool = False

    @property
    def path(self) -> Path:
        return PAGES_DIR / self.file


PAGES = [
    PageInfo(
        "home.py", "Home", ":material/home:", "home", "What this explainer is and the notation it uses.", default=True
    ),
    PageInfo(
        "policies.py",
        "Policies",
        ":material/tune:",
        "policies",
        "Sigmoid and softmax policies: how θ becomes $\\pi_\\theta$, and the gradients ∇π and ∇log π.",
    ),
    PageInfo(
        "gradient_step.py",
        "Gradient step",
        ":material/footprint:",
        "gradient-step",
        "One policy-gradient update on a 3-state grid, every number shown, the exact J(θ), "
        "and the log-derivative trick: sampled gradients are right on average.",
    ),
    PageInfo(
        "baselines.py",
        "Baselines & variance",
        ":material/stacked_line_chart:",
        "baselines",
        "Why subtracting a baseline keeps the gradient unbiased and shrinks its variance, "
        "and which baseline is really optimal.",
    ),
    PageInfo(
        "cartpole_training.py",
        "CartPole training",
        ":material/sports_esports:",
        "cartpole",
        "REINFORCE, REINFORCE with baseline and actor-critic trained live on CartPole.",
    ),
    PageInfo(
        "gridworld.py",
        "GridWorld",
        ":material/grid_on:",
        "gridworld",
        "REINFORCE, PPO and GRPO on a 5×5 grid where J(θ) and ∇J are exact: the trajectory's "
        "probability, PPO's clip and GRPO's group advantages, every number checked.",
    ),
]


def available_pages() -> list[PageInfo]:
    """The pages whose files exist, in learning order."""
    return [page for page in PAGES if page.path.exists()]
