"""The one reporter: summary line, JSON for CI, failures with their stderr tail, parts indented,
piped output never wrapped."""

from __future__ import annotations

import json
import subprocess
import sys

from rich.console import Console

from deployer import report
from deployer.engine import Result
from deployer.steps.base import WriteFile

SITE = "/etc/nginx/sites-available/app.conf"
RESULTS = [
    Result("facts", "ok", 0.3, detail="one round trip"),
    Result("nginx", "changed", 0.5, changes=[WriteFile(SITE)],
           parts=[Result("packages (bg)", "changed", 9.0, detail="ran in the background")]),
    Result("firewall", "skipped", 0.0, detail="skipped: container"),
    Result("certificate", "failed", 2.0, detail="certbot failed (exit 1)\nrate limited"),
]  # fmt: skip


def test_summary_counts() -> None:
    assert report.summary(RESULTS) == "1 changed, 1 unchanged, 1 failed"
    assert report.summary(RESULTS[:2]) == "1 changed, 1 unchanged"


def test_json_report_has_typed_changes_and_parts() -> None:
    data = json.loads(report.to_json(RESULTS, 2.8, ok=False, exit_code=4))
    assert (data["changed"], data["unchanged"], data["failed"], data["exit_code"]) == (1, 1, 1, 4)
    nginx = data["steps"][1]
    assert nginx["changes"] == [f"update {SITE}"]
    assert nginx["typed_changes"] == [
        {"kind": "file", "path": SITE, "how": "update", "summary": f"update {SITE}"}
    ]
    assert nginx["parts"][0]["name"] == "packages (bg)"


def test_printed_list_names_the_failed_step_and_its_stderr() -> None:
    console = Console(record=True, width=120)
    for result in RESULTS:
        report.print_result(console, result)
    report.print_result(console, RESULTS[1].parts[0], depth=1)
    report.print_summary(console, RESULTS, 2.8, startup=0.4)
    text = console.export_text()
    assert "failed certificate" in " ".join(text.split())
    assert "rate limited" in text
    assert "  packages (bg)" in text
    assert "1 changed, 1 unchanged, 1 failed in 2.80s (start-up 0.40s)" in text


def test_piped_output_does_not_wrap_at_80_columns() -> None:
    long = "word " * 40
    code = f"from deployer import report; report.console().print('{long}')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={"TERM": "dumb", "COLUMNS": "80"}).stdout  # fmt: skip
    assert len(out.splitlines()) == 1 and long.strip() in out


def test_process_age_includes_start_up() -> None:
    code = "import time; time.sleep(0.3); from deployer import report; "
    code += "print(report.process_seconds())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)  # fmt: skip
    assert float(out.stdout) >= 0.3
