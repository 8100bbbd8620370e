"""CartPole-v1 with policy gradients: REINFORCE, its baselines and actor-critic.

One module per idea; import a name from the module that owns it:

* :mod:`~pgcore.cartpole.config` — the leaf: algorithms, ``TrainConfig``, presets, sizes and
  the "solved" rule;
* :mod:`~pgcore.cartpole.policy` — the policy network as numpy arrays: probabilities,
  safetensors files, one episode for an animation;
* :mod:`~pgcore.cartpole.core` — the network and its backward pass, Ψ_t per algorithm, the
  losses with their gradients, Adam;
* :mod:`~pgcore.cartpole.training` — the loop: collect, update, report, check for a solve;
* :mod:`~pgcore.cartpole.records` — what a run reports: per update, and at the end;
* :mod:`~pgcore.cartpole.baseline_bias` — measuring the episode-mean baseline's bias;
* :mod:`~pgcore.cartpole.runs` — a run as plain data, and its JSON/CSV files;
* :mod:`~pgcore.cartpole.curves` — bands over seeds, summaries, the reference curves;
* ``python -m pgcore.cartpole`` — the command line (:mod:`~pgcore.cartpole.__main__`).

All numpy; nothing here imports torch (the tests use it to check ``core``'s gradients).
``config``, ``policy``, ``records``, ``runs`` and ``curves`` do not import Gymnasium either.
"""
