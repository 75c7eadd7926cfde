"""Products of L Gaussian N x N matrices (docs/rmt.md): the Fuss-Catalan moments and edge
(:mod:`~asymexp.bn.rmt.fuss_catalan`), sampled spectra (:mod:`~asymexp.bn.rmt.gaussian_products`) and the check of
one against the other (:mod:`~asymexp.bn.rmt.products_check`)."""
