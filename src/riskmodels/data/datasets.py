"""Datasets: the synthetic prison-incidents generator and file loaders.

Available as ``riskmodels.datasets``.
"""

from riskmodels.data._read import read_frame
from riskmodels.data._synthetic import make_prison_incidents

__all__ = ["make_prison_incidents", "read_frame"]
