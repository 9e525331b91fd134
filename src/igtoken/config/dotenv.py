"""A small ``.env`` reader: ``KEY=value`` lines, comments and quotes, nothing clever.

Supported, one assignment per line:

- blank lines and lines starting with ``#`` are skipped;
- an optional ``export`` prefix (so the file can also be ``source``-d by a shell);
- unquoted values, with a `` #`` starting a trailing comment and surrounding spaces trimmed;
- single-quoted values, taken literally;
- double-quoted values, with ``\\n``, ``\\t``, ``\\"`` and ``\\\\`` escapes.

No variable expansion and no multi-line values: a value that needs them belongs in
the environment. Anything else is an error naming the file and the line, because a
silently skipped line is a setting that quietly does not apply.
"""

from __future__ import annotations

import re
from pathlib import Path

from igtoken.core.exceptions import ConfigurationError

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\", "r": "\r"}


def read_dotenv(path: Path) -> dict[str, str]:
    """Read ``path`` and return its assignments in file order (a later line wins).

    Raises:
        ConfigurationError: the file cannot be read, or a line is not a valid assignment.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigurationError(
            f"the .env file {str(path)!r} does not exist", fix="create it, or pass another --env-file"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(
            f"cannot read the .env file {str(path)!r}: {exc}", fix="make it a readable UTF-8 text file"
        ) from exc
    return parse_dotenv(text, source=str(path))


def parse_dotenv(text: str, *, source: str = ".env") -> dict[str, str]:
    """Parse ``.env`` text; ``source`` names the file in error messages.

    Raises:
        ConfigurationError: a line is not ``NAME=value`` or a quote is not closed.
    """
    values: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(("export ", "export\t")):
            line = line[len("export") :].lstrip()
        name, sep, rest = line.partition("=")
        name = name.strip()
        if not sep or not _NAME.fullmatch(name):
            # The line may hold a secret; say where it is, never what it says.
            raise ConfigurationError(
                f"{source}, line {number}: expected NAME=value",
                fix="fix or remove that line; names are letters, digits and underscores",
            )
        values[name] = _parse_value(rest.strip(), where=f"{source}, line {number}")
    return values


def _parse_value(rest: str, *, where: str) -> str:
    if not rest:
        return ""
    quote = rest[0]
    if quote == "'":
        end = rest.find("'", 1)
        if end < 0:
            raise ConfigurationError(f"{where}: the single quote is not closed", fix="close it on that line")
        _expect_only_comment(rest[end + 1 :], where=where)
        return rest[1:end]
    if quote == '"':
        out: list[str] = []
        i = 1
        while i < len(rest):
            char = rest[i]
            if char == "\\" and i + 1 < len(rest):
                nxt = rest[i + 1]
                out.append(_ESCAPES.get(nxt, "\\" + nxt))
                i += 2
                continue
            if char == '"':
                _expect_only_comment(rest[i + 1 :], where=where)
                return "".join(out)
            out.append(char)
            i += 1
        raise ConfigurationError(f"{where}: the double quote is not closed", fix="close it on that line")
    # Unquoted: a '#' starts a comment only after whitespace, so URLs with fragments survive.
    match = re.search(r"\s#", rest)
    return (rest[: match.start()] if match else rest).strip()


def _expect_only_comment(tail: str, *, where: str) -> None:
    tail = tail.strip()
    if tail and not tail.startswith("#"):
        raise ConfigurationError(
            f"{where}: unexpected text after the closing quote",
            fix="put a comment after ' #', or quote it all",
        )
