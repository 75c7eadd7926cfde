"""asymexp process: the fluctuation of a one-hidden-layer network as a process over evaluation points and times --
its covariance against simulation (a matrix test) and the width exponents of its third and fourth cumulants
(docs/validation.md, "The fluctuation process"; contract in docs/interfaces.md)."""
from __future__ import annotations

from asymexp import budget
from asymexp.cli._common import add_json_argument, integer
from asymexp.cli._write import WRITES_AT_END

HELP = ("the fluctuation as a Gaussian process over points and times: its covariance Phi_t S Phi_s^T (at each "
        "width's eps) against simulation, and the width exponents of its third and fourth cumulants "
        "(docs/validation.md)")

INTERRUPTED = WRITES_AT_END  # Ctrl-C (asymexp.cli.main)


def add_arguments(parser):
    parser.add_argument("--problem", required=True, help="TOML problem file (or a built-in name: tanh4.toml)")
    parser.add_argument("--gamma", required=True, help="gamma in [1/2, 1) (0.75 or 3/4)")
    parser.add_argument("--times", default="0.5,1", help="increasing times t >= 0 (t = k/N), comma-separated")
    parser.add_argument("--widths", default="64,128,256", help="increasing widths N, at least two")
    parser.add_argument("--replicas", type=integer(16), default=4096, help="independent networks per width")
    parser.add_argument("--seed", type=integer(0), default=0, help="seed of the initial draws")
    parser.add_argument("--chunk", type=integer(1), default=1024, help="replicas per parallel batch")
    parser.add_argument("--flow-dt", default=None, help="RK4 step of the flow (default: chosen from the kernel, "
                                                        "docs/validation.md \"Flow step\")")
    parser.add_argument("--no-progress", action="store_true", help="no progress lines on stderr")
    parser.add_argument("--out", default=None, help="folder for process.json and summary.md")
    budget.add_long_run_argument(parser)
    add_json_argument(parser)


def run(args):
    from asymexp.api.process_study import process
    from asymexp.cli._common import emit_json
    from asymexp.validation.process_report import lines

    result = process(args.problem, args.gamma, times=args.times, widths=args.widths, replicas=args.replicas,
                     seed=args.seed, chunk=args.chunk, flow_dt=args.flow_dt, out=args.out,
                     yes_long_run=args.yes_long_run, progress=not args.no_progress)
    if args.json:
        emit_json(result.to_dict())
        return 0
    print("\n".join(lines(result.document)))
    for path in result.files:
        print(f"file: {path}")
    return 0
