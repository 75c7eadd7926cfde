"""``asymexp warmup`` (asymexp.cli.warmup): its steps compile disjoint kernels, in parallel processes with --jobs.

Runs on the test session's kernel cache; a cold cache compiles here (minutes), a warm one loads in seconds.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

from asymexp.cli import warmup
from asymexp.mnist import epoch_kernel


def test_a_stub_replaces_one_mnist_kernel_and_is_undone():
    kept = epoch_kernel.evaluate
    with warmup._stubbed("evaluate", lambda *args: None):
        assert epoch_kernel.evaluate is not kept
    assert epoch_kernel.evaluate is kept


def test_every_step_has_a_cost_for_its_scheduling():
    labels = {label for steps in warmup.WORKLOADS.values() for label, _ in steps}
    assert labels == set(warmup.COST)


def test_the_demo_workload_is_what_the_demo_runs():
    labels = [label for label, _ in warmup.WORKLOADS["demo"]]
    assert labels == ["shallow validation (flow)", "deep validation at t = 0", "MNIST epoch (float32)",
                      "MNIST evaluation (float32)"]


def test_two_processes_cover_both_workloads_and_a_shared_step_runs_once():
    proc = subprocess.run([sys.executable, "-m", "asymexp", "warmup", "--workload", "validate,mnist,demo",
                           "--jobs", "2", "--json"], capture_output=True, text=True, timeout=1800,
                          env=dict(os.environ))
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["jobs"] == 2 and set(doc["workloads"]) == {"validate", "mnist", "demo"}
    done = [line for line in proc.stderr.splitlines() if line.startswith("asymexp warmup: [")]
    assert len(done) == 4, proc.stderr     # validation, MNIST epoch, MNIST evaluation once each; the deep start
