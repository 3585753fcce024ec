"""Datasets: the synthetic prison-incidents generator and file loaders.

Available as ``riskmodels.datasets``.
"""

from riskmodels.data._read import read_frame

__all__ = ["read_frame"]
