"""One JSON encoding (asymexp.json_out, docs/interfaces.md): the command line's --json line and the verbs'
to_json give the same text for the same document, strict JSON (no NaN), NumPy values as numbers."""
import json
from fractions import Fraction
from pathlib import Path

import numpy as np

from asymexp.api.results import DerivationResult
from asymexp.cli._common import emit_json
from asymexp.json_out import dumps, jsonable
from asymexp.spec import NetworkSpec

DOC = {"nan": float("nan"), "inf": float("inf"), "minus_inf": -np.inf, "np_float": np.float64(0.25),
       "np_nan": np.float32("nan"), "np_int": np.int64(7), "np_bool": np.bool_(True), "gamma": Fraction(7, 10),
       "whole": Fraction(2, 1), "array": np.array([[1.0, np.nan], [np.inf, 2.5]]), "path": Path("a/b"),
       "tuple": (1, Fraction(1, 2)), 3: "int key", None: "none key"}
EXPECTED = ('{"nan": null, "inf": null, "minus_inf": null, "np_float": 0.25, "np_nan": null, "np_int": 7, '
            '"np_bool": true, "gamma": "7/10", "whole": "2", "array": [[1.0, null], [null, 2.5]], "path": "a/b", '
            '"tuple": [1, "1/2"], "3": "int key", "null": "none key"}')


def test_the_encoder_writes_strict_json_by_hand_computed_text():
    assert dumps(DOC) == EXPECTED
    assert json.loads(EXPECTED) == jsonable(DOC)


def test_cli_and_verb_paths_give_the_same_text(capsys):
    spec = NetworkSpec.from_strings("7/10", "8")
    result = DerivationResult(spec=spec, order=1, document=DOC)
    emit_json({"spec": spec, "order": 1, "document": DOC})
    cli_text = capsys.readouterr().out
    assert cli_text == result.to_json() + "\n"
    assert '"document": ' + EXPECTED in cli_text
    emit_json(DOC)
    assert capsys.readouterr().out == EXPECTED + "\n"
