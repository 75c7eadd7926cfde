"""Result caches key on everything that determines the result: the problem (data, activation, alpha, laws), gamma,
the time, and the code version (docs/architecture.md, "One home for each fact")."""
from fractions import Fraction

import numpy as np

from asymexp import provenance
from asymexp.inputs.problems import load_problem, problem_from_mapping
from asymexp.sim import simulate
from asymexp.spec import NetworkSpec
from asymexp.validation import shallow_validation

X = np.array([[0.1, -0.3, 1.0], [0.8, 0.4, 1.0], [-0.6, 0.7, 1.0]])
Y = np.array([0.5, -0.2, 0.3])


def _problem(**changes):
    table = {"activation": "tanh", "alpha": 1.0, "init": {"c": "uniform(-1,1)", "w": "normal(0,1)"},
             "data": {"x": X.tolist(), "y": Y.tolist()}}
    table.update(changes)
    return problem_from_mapping(table)


def test_problem_key_sees_activation_alpha_and_laws():
    base = provenance.problem_key(_problem())
    assert provenance.problem_key(_problem()) == base
    for changed in (_problem(activation="sigmoid"), _problem(alpha=2.0),
                    _problem(init={"c": "uniform(-2,2)", "w": "normal(0,1)"}),
                    _problem(init={"c": "uniform(-1,1)", "w": "normal(0,2)"})):
        assert provenance.problem_key(changed) != base


def test_cached_theory_keeps_each_callers_gamma():
    p = load_problem("tanh4.toml")
    _, th_a, _ = shallow_validation.theory_for(p, Fraction(3, 4), 1.0, quad_order=8)
    _, th_b, _ = shallow_validation.theory_for(p, Fraction(3, 5), 1.0, quad_order=8)
    assert (th_a.gamma, th_b.gamma) == (Fraction(3, 4), Fraction(3, 5))
    assert shallow_validation.theory_for(p, Fraction(3, 4), 1.0, quad_order=8)[1] is th_a


def test_chunk_cache_misses_after_a_code_change(tmp_path, monkeypatch):
    spec = NetworkSpec.from_strings("3/4", "8", activation="tanh", input_dim=3)
    first = simulate(spec, X, Y, X, [0.5], 4, dynamics="gd", chunk=4, out_dir=tmp_path)
    files = sorted(tmp_path.glob("chunk-*.npz"))
    assert len(files) == 1
    simulate(spec, X, Y, X, [0.5], 4, dynamics="gd", chunk=4, out_dir=tmp_path)
    assert sorted(tmp_path.glob("chunk-*.npz")) == files           # same code: reused
    monkeypatch.setattr(provenance, "code_version", lambda: "edited-code")
    again = simulate(spec, X, Y, X, [0.5], 4, dynamics="gd", chunk=4, out_dir=tmp_path)
    assert len(list(tmp_path.glob("chunk-*.npz"))) == 2                # another code version: recomputed
    assert np.array_equal(first.outputs, again.outputs)


def test_code_version_follows_the_sources():
    v = provenance.code_version()
    assert len(v) == 16 and int(v, 16) >= 0
