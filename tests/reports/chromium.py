"""Render an HTML report in headless Chromium (Debian's `chromium` package) and read it back.

Without chromium the tests skip with a message, except in CI (`CI=true`), where
they fail: CI installs it (.ci/run).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest

_BROWSERS = ("chromium", "chromium-browser")


def chromium() -> str:
    """The browser's path, or skip (fail in CI) when it is not installed."""
    for name in _BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    message = "chromium is not installed (apt-get install -y chromium): HTML reports not rendered"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@dataclass
class Dom:
    """What the browser built: the page's text, its elements and their attributes."""

    text: str = ""
    tags: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    console: list[str] = field(default_factory=list)  # console messages (CSP refusals, errors)
    svg_titles: list[str] = field(default_factory=list)  # the charts' tooltips
    css: str = ""  # the text of the <style> elements

    def count(self, tag: str) -> int:
        return sum(1 for t, _ in self.tags if t == tag)

    def titles(self) -> list[str]:
        return [a["title"] for _, a in self.tags if "title" in a]


class _Reader(HTMLParser):
    def __init__(self, dom: Dom) -> None:
        super().__init__(convert_charrefs=True)
        self.dom = dom
        self.parts: list[str] = []
        self.skip = 0
        self.svg = 0
        self.title: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.dom.tags.append((tag, {k: v or "" for k, v in attrs}))
        if tag in ("style", "title", "svg"):
            self.skip += 1
        if tag == "svg":
            self.svg += 1
        if tag == "title" and self.svg:
            self.title = []
        if tag in ("p", "li", "tr", "div", "h1", "h2", "h3", "summary", "br", "section"):
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "title", "svg"):
            self.skip -= 1
        if tag == "svg":
            self.svg -= 1
        if tag == "title" and self.title is not None:
            self.dom.svg_titles.append("".join(self.title))
            self.title = None
        if tag in ("td", "th"):
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if self.dom.tags and self.dom.tags[-1][0] == "style":
            self.dom.css += data
        if self.title is not None:
            self.title.append(data)
        if not self.skip:
            self.parts.append(data)


def render(html_file: Path) -> Dom:
    """Load the file in headless Chromium; the DOM it built, as text and tags, and its console."""
    browser = chromium()
    with tempfile.TemporaryDirectory(prefix="crmctl-chromium-") as profile:
        done = subprocess.run(
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                f"--user-data-dir={profile}",
                "--enable-logging=stderr",
                "--v=0",
                "--dump-dom",
                html_file.resolve().as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert done.returncode == 0, done.stderr[-2000:]
    dom = Dom(console=[line for line in done.stderr.splitlines() if ":CONSOLE" in line])
    reader = _Reader(dom)
    reader.feed(done.stdout)
    lines = (" ".join(line.split()) for line in "".join(reader.parts).splitlines())
    dom.text = "\n".join(line for line in lines if line)
    return dom


def screenshot(html_file: Path, png: Path, width: int = 1100, height: int = 900) -> None:
    """A PNG of the page's first screen."""
    browser = chromium()
    with tempfile.TemporaryDirectory(prefix="crmctl-chromium-") as profile:
        done = subprocess.run(
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                f"--user-data-dir={profile}",
                f"--screenshot={png}",
                f"--window-size={width},{height}",
                html_file.resolve().as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert done.returncode == 0 and png.is_file(), done.stderr[-2000:]
