"""The report of `crmctl test`: text, JUnit XML and JSON, all from the same results."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from crmctl.crmtest import ERROR, FAIL, PASS, CaseResult, TestReport
from crmctl.render.style import paint

__all__ = ["test_report_text", "test_report_junit", "test_report_json", "test_summary"]

_LABEL = {PASS: ("PASS ", "green"), FAIL: ("FAIL ", "red"), ERROR: ("ERROR", "red")}


def test_summary(report: TestReport) -> str:
    """`24 cases: 23 passed, 1 failed, 0 errors`."""
    total = len(report.results)
    errors = report.count(ERROR)
    return (
        f"{total} case{'s' * (total != 1)}: {report.count(PASS)} passed, "
        f"{report.count(FAIL)} failed, {errors} error{'s' * (errors != 1)}"
    )


def _diff(result: CaseResult, colour: bool) -> list[str]:
    lines = []
    for i, text in enumerate(result.expected):
        lines.append(
            paint(f"      {'- expected:' if i == 0 else '           '} {text}", "red", colour)
        )
    for i, text in enumerate(result.actual):
        lines.append(
            paint(f"      {'+ actual:  ' if i == 0 else '           '} {text}", "green", colour)
        )
    return lines


def test_report_text(report: TestReport, where: str, colour: bool = False) -> str:
    """One line per case; failures with expected vs actual, errors with their reason."""
    lines = [f"Testing environment '{report.environment}' with the cases in {where}", ""]
    for result in report.results:
        label, tint = _LABEL[result.status]
        lines.append(
            f"{paint(label, tint, colour, bold=True)} {result.case.location}  {result.case.name}"
        )
        if result.status == FAIL:
            lines += _diff(result, colour)
        elif result.status == ERROR:
            lines.append(paint(f"      {result.message}", "red", colour))
    lines += ["", paint(test_summary(report), "green" if report.ok else "red", colour, bold=True)]
    return "\n".join(lines)


def _failure_text(result: CaseResult) -> str:
    return "\n".join(
        [f"expected: {t}" for t in result.expected] + [f"actual:   {t}" for t in result.actual]
    )


def test_report_junit(report: TestReport) -> str:
    """JUnit XML: a test suite per case file, a test case per case."""
    suites: dict[str, list[CaseResult]] = {}
    for result in report.results:
        suites.setdefault(result.case.location.file, []).append(result)
    root = ET.Element(
        "testsuites",
        name=f"crmctl test ({report.environment})",
        tests=str(len(report.results)),
        failures=str(report.count(FAIL)),
        errors=str(report.count(ERROR)),
    )
    for file, results in suites.items():
        suite = ET.SubElement(
            root,
            "testsuite",
            name=file,
            tests=str(len(results)),
            failures=str(sum(r.status == FAIL for r in results)),
            errors=str(sum(r.status == ERROR for r in results)),
        )
        for result in results:
            case = ET.SubElement(
                suite,
                "testcase",
                name=result.case.name,
                classname=file,
                file=file,
                line=str(result.case.location.line),
            )
            if result.status == FAIL:
                first = result.actual[0] if result.actual else ""
                failure = ET.SubElement(case, "failure", message=f"got {first}")
                failure.text = _failure_text(result)
            elif result.status == ERROR:
                ET.SubElement(case, "error", message=result.message)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")


def test_report_json(report: TestReport) -> str:
    """Every case with its status, expected and actual outcome."""
    return json.dumps(
        {
            "environment": report.environment,
            "summary": {
                "total": len(report.results),
                "passed": report.count(PASS),
                "failed": report.count(FAIL),
                "errors": report.count(ERROR),
            },
            "cases": [
                {
                    "name": r.case.name,
                    "kind": r.case.kind,
                    "file": r.case.location.file,
                    "line": r.case.location.line,
                    "status": r.status,
                    "expected": r.expected,
                    "actual": r.actual,
                    **({"error": r.message} if r.status == ERROR else {}),
                }
                for r in report.results
            ],
        },
        indent=2,
        ensure_ascii=False,
    )
