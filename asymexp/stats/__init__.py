"""Statistics shared by every study, below all of them: fits with confidence intervals (:mod:`asymexp.stats.fits`)
and Monte Carlo estimators with standard errors (:mod:`asymexp.stats.estimators`), docs/validation.md; ordered
trend tests with a multiplicity correction (:mod:`asymexp.stats.trend`), docs/mnist.md."""
