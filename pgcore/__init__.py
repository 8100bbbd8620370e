"""pgcore: the math and the learning behind the policy-gradient explainer.

numpy only at import time; torch is imported solely by the training modules
(``pgcore.cartpole.core``, ``.training`` and ``.baseline_bias``), so pages that do not train
stay light.
"""

__version__ = "0.1.0"
