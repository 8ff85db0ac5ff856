"""The report as users see it: rendered by headless Chromium; rebuilt from the journal
(also when the run never wrote a verdict); one page for a suite."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from tests.integration.runs import experiment, run_args
from tests.integration.stackfixture import Stack, harness

LATENCY = "- {type: latency, target: one-catalog, latency_ms: 150, duration: 6s}"


def chromium_dom(page: Path, tmp: Path) -> str:
    """The DOM Chromium builds from the page (it must render it, not just read it)."""
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    assert binary, "chromium is not installed: scripts/install-system.sh installs it"
    done = subprocess.run(
        [
            binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            f"--user-data-dir={tmp}",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_report_renders_rebuilds_and_sums_up_a_suite(stack: Stack, tmp_path: Path) -> None:
    first = experiment(
        tmp_path,
        "report-a",
        "one-catalog: {service: catalog, count: 1}",
        LATENCY,
        blast="max_targets: 1\n  max_duration: 30s",
    )
    second = experiment(
        tmp_path,
        "report-b",
        "one-catalog: {service: catalog, count: 1}",
        LATENCY,
        blast="max_targets: 1\n  max_duration: 30s",
    )
    suite = tmp_path / "suite"
    suite.mkdir()
    for f in (first, second):
        shutil.copy(f, suite / f.name)
    args = run_args(stack, suite, tmp_path)
    done = harness(*args, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    [page] = (tmp_path / "runs").glob("suite-*.html")
    suite_html = page.read_text()
    assert "every experiment as designed" in suite_html
    assert suite_html.count("report.html") == 2

    out = sorted((tmp_path / "runs").glob("*report-a"))[-1]
    dom = chromium_dom(out / "report.html", tmp_path / "chrome")
    assert ">held<" in dom and "Hypothesis." in dom
    assert "users: latency of every request" in dom
    assert "seconds since the run started" in dom  # the plots' axis, rendered as SVG text
    assert dom.count("<svg") >= 4
    assert "Reproduce it" in dom and "--seed" in dom and "latency_ms: 150" in dom
    assert "no data" not in dom.split("What users saw", 1)[1].split("</table>", 1)[0]
    # the slowest requests of the fault window, their trace ids, and where the time went:
    # 150 ms added on one catalog link reads as that link
    assert "Slowest and failed requests, with their traces" in dom
    assert re.search(r"\+1[3-9]\d ms in gateway_catalog-[12]", dom), dom.split("Slowest", 1)[1][
        :3000
    ]
    assert re.search(r"<code>[0-9a-f]{32}</code>", dom)

    # rebuilt from the journal alone
    original = (out / "report.html").read_text()
    (out / "report.html").unlink()
    rebuilt = harness("report", str(out), "--stack", str(stack.stack_file))
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    again = (out / "report.html").read_text()
    assert ">held<" in again and again.count("<svg") >= original.count("<svg") - 2

    # a journal cut short, as a killed harness leaves it: no verdict, never a guessed one
    cut = tmp_path / "cut"
    shutil.copytree(out, cut)
    lines = (cut / "journal.jsonl").read_text().splitlines()
    keep = next(i for i, line in enumerate(lines) if '"fault.applied"' in line)
    (cut / "journal.jsonl").write_text("\n".join(lines[: keep + 1]) + "\n")
    crashed = harness("report", str(cut), "--stack", str(stack.stack_file))
    assert crashed.returncode == 0, crashed.stdout + crashed.stderr
    text = (cut / "report.html").read_text()
    assert "no verdict" in text and "the run did not finish" in text


def test_report_of_a_directory_that_is_not_a_run_is_one_line(tmp_path: Path) -> None:
    done = harness("report", str(tmp_path))
    assert done.returncode == 3
    assert "no journal.jsonl: not a run directory" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
