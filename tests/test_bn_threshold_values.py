"""The learning-rate rules of asymexp/bn/lrscan/thresholds.py at their boundaries (docs/batchnorm.md,
"Learning-rate thresholds"): "strictly below" means that an equal value is not a fall."""
from asymexp.bn.lrscan.thresholds import ends_below_start, falls_monotonically


def test_equal_values_are_not_a_fall():
    assert ends_below_start((3.0, 4.0, 3.0)) is False and ends_below_start((3.0, 3.0)) is False
    assert falls_monotonically((2.0, 2.0)) is False and falls_monotonically((2.0, 1.0)) is True
    assert ends_below_start((3.0, 1.0)) is True
