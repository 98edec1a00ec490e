"""The step report: summary line, JSON for CI, failures shown with their stderr tail."""

from __future__ import annotations

import json

from rich.console import Console

from deployer import report
from deployer.steps.base import StepResult

RESULTS = [
    StepResult("facts", "ok", 0.3, detail="one round trip"),
    StepResult("nginx", "changed", 0.5, changes=["update /etc/nginx/sites-available/app.conf"]),
    StepResult("firewall", "skipped", 0.0, detail="skipped: container"),
    StepResult("certificate", "failed", 2.0, detail="certbot failed (exit 1)\nrate limited"),
]


def test_summary_counts() -> None:
    assert report.summary(RESULTS) == "1 changed, 1 unchanged, 1 failed"
    assert report.summary(RESULTS[:2]) == "1 changed, 1 unchanged"


def test_json_report() -> None:
    data = json.loads(report.to_json(RESULTS, 2.8, ok=False, exit_code=4))
    assert (data["changed"], data["unchanged"], data["failed"], data["exit_code"]) == (1, 1, 1, 4)
    assert data["steps"][1]["changes"] == ["update /etc/nginx/sites-available/app.conf"]


def test_printed_list_names_the_failed_step_and_its_stderr() -> None:
    console = Console(record=True, width=120)
    for result in RESULTS:
        report.print_result(console, result)
    report.print_summary(console, RESULTS, 2.8)
    text = console.export_text()
    assert "failed certificate" in " ".join(text.split())
    assert "rate limited" in text
    assert "1 changed, 1 unchanged, 1 failed in 2.80s" in text
