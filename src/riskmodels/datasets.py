"""``riskmodels.datasets``: synthetic generators and file loaders (see ``riskmodels.data``)."""

from riskmodels.data.datasets import *  # noqa: F403
from riskmodels.data.datasets import __all__  # noqa: F401
