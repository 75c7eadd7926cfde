"""`asymexp demo --quick`: every step runs, the report holds each section and figure, and the MNIST runs learn."""
import re

from asymexp.cli import main


def test_quick_demo_writes_every_section_and_the_tanh_run_learns(tmp_path):
    out = tmp_path / "demo"
    assert main(["demo", "--quick", "--out", str(out)]) == 0
    report = (out / "report.md").read_text()
    for title in ("## Network specification", "## Data", "## Validation", "## MNIST training"):
        assert title in report
    assert "md5 verified: True" in report
    assert (out / "mnist_curve.png").stat().st_size > 0
    test_n = int(re.search(r"([\d,]+) test images", report).group(1).replace(",", ""))
    rows = dict(re.findall(r"^\| (tanh[^|]*|paper set-up[^|]*) \| ([0-9.]+) \|", report, flags=re.M))
    assert len(rows) == 2
    tanh = float(next(v for k, v in rows.items() if k.startswith("tanh")))
    # chance is 1/10; its binomial SE on the test images is sqrt(0.09 / n): the tanh run must beat chance by 5 SEs
    assert tanh > 0.1 + 5 * (0.09 / test_n) ** 0.5
