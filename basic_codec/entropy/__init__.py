"""Entropy models (factorized prior on z, Gaussian conditional on y) and the ANS coder."""
from .factorized import FactorizedPrior
from .gaussian import GaussianConditional, gaussian_likelihood

__all__ = ["FactorizedPrior", "GaussianConditional", "gaussian_likelihood"]
