"""pgcore: the math and the learning behind the policy-gradient explainer.

numpy only: the CartPole networks are trained with hand-written gradients
(``pgcore.cartpole.core``), which the tests check against finite differences and
``torch.autograd``; torch itself is a test dependency, never imported here.
"""

__version__ = "0.1.0"
