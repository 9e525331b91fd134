"""Fidelity switches: one for every point where Meta's docs and observed behaviour disagree.

Each switch has a default (the most likely real behaviour) and the evidence for it, kept here in
:data:`SWITCHES` so the CLI, ``GET /_emulator/world`` and docs/emulator.md all tell the same story.
Source keys (S1, G12, …) refer to ``shared/reference/instagram-platform.md`` §12.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Final


@dataclass(frozen=True, slots=True)
class SwitchSpec:
    """One switch: its name, the values it takes (default first) and why that default."""

    name: str
    values: tuple[str, ...]
    evidence: str

    @property
    def default(self) -> str:
        """The default value (the first one listed)."""
        return self.values[0]


SWITCHES: Final[tuple[SwitchSpec, ...]] = (
    SwitchSpec(
        "code_exchange_shape",
        ("flat", "documented"),
        "flat {access_token, user_id, permissions} is what production integrations parse (Chatwoot, "
        'Postiz, nuxt-auth-utils: G1, G2, G3); Meta\'s guide shows {"data":[{…}]} (S1).',
    ),
    SwitchSpec(
        "permissions_format",
        ("list", "csv"),
        "observed responses carry a JSON list (G2 and a Go test); the documented sample a comma string "
        "(S1). Applies to the flat shape; the documented shape always uses a comma string.",
    ),
    SwitchSpec(
        "user_id_type",
        ("number", "string"),
        "the code exchange's user_id arrives as a JSON number larger than 2^53 in practice (§1.5, "
        "G9); the documented sample quotes it. A number catches precision bugs.",
    ),
    SwitchSpec(
        "api_host_authorize",
        ("redirect", "page_unavailable"),
        "api.instagram.com/oauth/authorize answered 302 to www.instagram.com with the query kept "
        "(G4, 2026-07); later reports show 'Sorry, this page isn't available.' (G5, G6, 2026-08).",
    ),
    SwitchSpec(
        "refresh_new_string",
        ("true", "false"),
        "Meta's refresh sample returns a different string (S3); Basic Display users saw the same "
        "string come back with new validity (G12 #747).",
    ),
    SwitchSpec(
        "refresh_under_24h",
        ("noop", "error"),
        "undocumented (UNK); a community library describes refresh of a younger token as a no-op "
        "(npm instagram-graph-fetcher-js). 'noop' returns the current token with the remaining "
        "expires_in; 'error' answers code 100.",
    ),
    SwitchSpec(
        "old_token_after_refresh",
        ("valid", "revoked"),
        "undocumented (UNK); an operator guide says the old string keeps working for a while "
        "(creatorlanehq.com). 'revoked' makes it answer 190/467.",
    ),
    SwitchSpec(
        "fb_code_token_lifetime",
        ("long", "short"),
        "several integrations see the Facebook server-side code exchange return a ~60-day token "
        "(passport-facebook#98, o2 PR #18); docs call it short-lived, ~1 h (S10).",
    ),
    SwitchSpec(
        "emit_usage_headers",
        ("true", "false"),
        "x-app-usage / x-business-use-case-usage are sent on Graph responses (S14), though Meta "
        "says only 'once enough calls have been made'.",
    ),
    SwitchSpec(
        "error_status_190",
        ("400", "401"),
        "code 190 classically comes with HTTP 400 (G16 bridgy#59); recent reports show 401 for "
        "'Cannot parse access token' (§4.2). Classify by code, never by status.",
    ),
    SwitchSpec(
        "http_basic_client_auth",
        ("facebook", "none", "all"),
        "api.instagram.com wants client_id/client_secret in the body (scribejava documents "
        "'Missing required field client_id'); Facebook is mixed (requests-oauthlib's tutorial "
        "relies on Basic; Authlib#5 shows code 101). 'facebook' accepts HTTP Basic only on "
        "graph.facebook.com.",
    ),
    SwitchSpec(
        "code_reuse_message",
        ("used", "documented"),
        "a reused Instagram code is reported as 'This authorization code has been used' (G14); the "
        "documented sample says 'Matching code was not found or was already used' (S1).",
    ),
    SwitchSpec(
        "ig_exchange_non_short",
        ("accept", "error"),
        "ig_exchange_token given a token that is already long-lived: undocumented (UNK); default "
        "mints a new long-lived token.",
    ),
)

SWITCH_NAMES: Final = frozenset(spec.name for spec in SWITCHES)
_SPECS: Final = {spec.name: spec for spec in SWITCHES}


class SwitchError(ValueError):
    """A switch name or value the emulator does not know."""


@dataclass(slots=True)
class Switches:
    """The switch values in force; every field defaults to the most likely real behaviour."""

    code_exchange_shape: str = "flat"
    permissions_format: str = "list"
    user_id_type: str = "number"
    api_host_authorize: str = "redirect"
    refresh_new_string: str = "true"
    refresh_under_24h: str = "noop"
    old_token_after_refresh: str = "valid"  # noqa: S105 - a switch value, not a secret
    fb_code_token_lifetime: str = "long"  # noqa: S105 - a switch value, not a secret
    emit_usage_headers: str = "true"
    error_status_190: str = "400"
    http_basic_client_auth: str = "facebook"
    code_reuse_message: str = "used"
    ig_exchange_non_short: str = "accept"

    def set(self, name: str, value: object) -> None:
        """Set one switch, checking the name and value; booleans and ints are accepted as text."""
        spec = _SPECS.get(name)
        if spec is None:
            raise SwitchError(f"unknown switch {name!r}; known: {', '.join(sorted(SWITCH_NAMES))}")
        text = str(value).lower() if isinstance(value, bool) else str(value)
        if text not in spec.values:
            raise SwitchError(f"switch {name!r} takes one of {', '.join(spec.values)}, not {text!r}")
        setattr(self, name, text)

    def update(self, values: Mapping[str, object]) -> None:
        """Set several switches; nothing changes unless every pair is valid."""
        trial = Switches(**self.as_dict())
        for name, value in values.items():
            trial.set(name, value)
        for name, value in trial.as_dict().items():
            setattr(self, name, value)

    @classmethod
    def parse(cls, pairs: list[str] | tuple[str, ...]) -> Switches:
        """Build switches from ``NAME=VALUE`` strings (the CLI's ``--switch``)."""
        switches = cls()
        values: dict[str, object] = {}
        for pair in pairs:
            name, sep, value = pair.partition("=")
            if not sep:
                raise SwitchError(f"--switch wants NAME=VALUE, got {pair!r}")
            values[name.strip()] = value.strip()
        switches.update(values)
        return switches

    def as_dict(self) -> dict[str, str]:
        """The current values by name."""
        return {f.name: getattr(self, f.name) for f in fields(self)}
