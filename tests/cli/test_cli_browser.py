"""Opening the authorize URL, or printing it (src/igtoken/cli/_browser.py)."""

from __future__ import annotations

import webbrowser

import pytest

from igtoken.cli._browser import present_url

URL = "https://www.instagram.com/oauth/authorize?client_id=1&state=s"


class Recorder:
    """A browser stand-in at the OS boundary: remembers what it was asked to open."""

    def __init__(self, result: bool | Exception = True) -> None:
        self.opened: list[str] = []
        self.result = result

    def __call__(self, url: str) -> bool:
        self.opened.append(url)
        if isinstance(self.result, Exception):
            raise self.result
        return self.result


def test_interactive_opens_the_browser_and_still_prints_the_url():
    """In an interactive session the browser opens, and the URL is printed as a fallback."""
    opener, lines = Recorder(), list[str]()
    assert present_url(URL, interactive=True, opener=opener, echo=lines.append) is True
    assert opener.opened == [URL]
    assert f"  {URL}" in lines


@pytest.mark.parametrize(("no_browser", "interactive"), [(True, True), (False, False), (True, False)])
def test_no_browser_or_non_interactive_only_prints(no_browser, interactive):
    """--no-browser, or no person at the terminal, prints the URL and never launches a browser."""
    opener, lines = Recorder(), list[str]()
    assert (
        present_url(URL, no_browser=no_browser, interactive=interactive, opener=opener, echo=lines.append)
        is False
    )
    assert opener.opened == []
    assert ["Open this URL in a browser to log in:", f"  {URL}"] == lines


@pytest.mark.parametrize("result", [False, webbrowser.Error("no runnable browser"), OSError("exec failed")])
def test_browser_failure_falls_back_to_printing(result):
    """A browser that cannot open (False or an exception) is reported and the URL is printed."""
    lines: list[str] = []
    assert present_url(URL, interactive=True, opener=Recorder(result), echo=lines.append) is False
    assert lines[0].startswith("Could not open a browser")
    assert f"  {URL}" == lines[1]


def test_default_echo_writes_to_stderr(capsys):
    """Without an injected printer, the lines go to stderr so --json stdout stays clean."""
    present_url(URL, no_browser=True)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert URL in captured.err
