"""The demonstration job behind ``make demo`` / ``asymexp demo``.

Each step is a function ``step(ctx) -> str`` returning a Markdown section; the report (``report.md`` in the
output folder) is rewritten after every step, so an interrupted demo keeps what finished. Later layers add
their steps to ``STEPS``.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class DemoContext:
    out: Path
    quick: bool = False


def step_spec(ctx: DemoContext) -> str:
    from asymexp.spec import NetworkSpec

    spec = NetworkSpec.from_strings(gammas="1/2,7/10,1", widths="100,100,100", preset="paper-mnist")
    rows = "\n".join(f"| {k} | {v} |" for k, v in spec.to_dict().items())
    return "## Network specification\n\n`paper-mnist` preset, three hidden layers:\n\n| field | value |\n|---|---|\n" + rows


def step_data(ctx: DemoContext) -> str:
    from asymexp.inputs.datasets import load

    s = load("mnist").summary()
    return (f"## Data\n\n{s['dataset']} from {s['source']}: {s['train']['n']} training and {s['test']['n']} test "
            f"images of shape {s['train']['shape']}; md5 verified: {s['md5_ok']}.")


from asymexp.demo.mnist_step import step_mnist  # noqa: E402
from asymexp.demo.derive_step import step_derive  # noqa: E402
from asymexp.demo.validate_step import step_validate  # noqa: E402
from asymexp.demo.batchnorm_step import step_batchnorm  # noqa: E402

STEPS = [("spec", step_spec), ("data", step_data), ("derive", step_derive), ("validate", step_validate),
         ("mnist", step_mnist), ("batchnorm", step_batchnorm)]


def run_demo(out="demo-output", quick: bool = False) -> int:
    ctx = DemoContext(Path(out), quick)
    ctx.out.mkdir(parents=True, exist_ok=True)
    report = ctx.out / "report.md"
    sections = ["# asymexp demo report"]
    for name, step in STEPS:
        t0 = time.perf_counter()
        sys.stderr.write(f"[demo] {name} ...\n")
        sections.append(step(ctx))
        sys.stderr.write(f"[demo] {name} done in {time.perf_counter() - t0:.1f} s\n")
        tmp = report.with_suffix(".tmp")
        tmp.write_text("\n\n".join(sections) + "\n")
        tmp.replace(report)
    print("\n\n".join(sections))
    sys.stderr.write(f"[demo] report written to {report}\n")
    return 0
