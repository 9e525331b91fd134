"""The settings shared by the CLI and the service, read from ``IGTOKEN_*`` variables.

Precedence: the process environment, then the ``.env`` file, then the defaults below.
An empty value counts as unset at its level, so ``IGTOKEN_PORT=`` in a ``.env`` file
falls through to the default instead of failing. Only the CLI and the service call
:func:`load_settings`; libraries take explicit arguments.

==============================  ===========================================================
Variable                        Meaning (default)
==============================  ===========================================================
``IGTOKEN_DATABASE_URL``        SQLAlchemy URL (SQLite file ``igtoken.db`` in the user data dir)
``IGTOKEN_KEYS``                encryption keys, a secret (none: the key file is used)
``IGTOKEN_KEY_FILE``            key file path (``keys.json`` in the user config dir, apart from the DB)
``IGTOKEN_META_BASE_URL``       emulator base URL; when set every Meta host goes through it
``IGTOKEN_SANDBOX``             boolean: use the sandbox / emulator world (false)
``IGTOKEN_PUBLIC_URL``          the service's public base URL, https unless ``IGTOKEN_DEV`` (none)
``IGTOKEN_HOST``                address the service binds (``127.0.0.1``)
``IGTOKEN_PORT``                port the service binds (``8000``)
``IGTOKEN_ADMIN_PASSWORD``      dashboard password, a secret (none)
``IGTOKEN_DEV``                 boolean: development mode, allows a plain-http public URL (false)
``IGTOKEN_WORKER``              boolean: run the refresh worker inside the service (true)
``IGTOKEN_LOG_LEVEL``           DEBUG, INFO, WARNING, ERROR or CRITICAL (``INFO``)
``IGTOKEN_LOG_FORMAT``          ``json`` or ``text`` (``text``)
``IGTOKEN_GRAPH_VERSION``       Graph API version, ``vNN.N`` (``v25.0``)
``IGTOKEN_WEBHOOK_URLS``        comma-separated http(s) URLs that get igtoken's signed events (none)
``IGTOKEN_WEBHOOK_SECRET``      the key events are signed with, a secret (required with URLs)
``IGTOKEN_META_WEBHOOK_VERIFY_TOKEN``  a secret: the verify token of Meta's webhook subscription
                                (none: the handshake is refused; sandbox mode has a default)
``IGTOKEN_DATABASE_BUSY_TIMEOUT``  seconds to wait for a SQLite file another process has locked
                                (30 for commands and the worker, 3 for the service's requests)
``IGTOKEN_TRUSTED_PROXIES``     comma-separated addresses or networks of reverse proxies whose
                                ``X-Forwarded-For``/``-Proto`` the service believes (none)
``IGTOKEN_PROXY_MAX_BODY``      largest request body the Graph proxy forwards: bytes, or with a
                                KiB/MiB suffix (``8MiB``); larger ones are refused with 413
``IGTOKEN_SESSION_SECRET``      signs dashboard cookies, a secret of 32+ characters; every replica
                                needs the same one (none: a file beside a SQLite database; with
                                PostgreSQL one per process, which signs everyone out at restart)
``IGTOKEN_METRICS_TOKEN``       a secret: ``/metrics`` then answers only ``Authorization: Bearer <it>``
                                (none: public, as on an internal network)
``IGTOKEN_API_DOCS``            boolean: serve the OpenAPI schema and the interactive docs (true;
                                the interactive page itself only in sandbox or dev mode)
``IGTOKEN_WORKER_MAX_OUTAGE``   seconds a worker rides out an unreachable database before it
                                exits (300)
``IGTOKEN_RATE_LIMIT_*``        per-client limits of the route groups ``SIGNIN`` (``10:5``), ``PUBLIC``
                                (``60:20``), ``API`` (``600:60``) and ``WEBHOOKS`` (``600:100``):
                                requests per minute, optionally ``:burst``
``IGTOKEN_PERMISSION_AUDIT_DAYS``  days between scheduled permission audits, 0 turns them off (7)
``IGTOKEN_ANOMALY_FACTOR``      a key's or account's reads in the last window above this many times
                                its baseline raise ``security.anomaly`` (10)
``IGTOKEN_ANOMALY_MIN_READS``   fewer reads than this in a window never count as a burst (50)
``IGTOKEN_ANOMALY_REFUSED_BURST``  refused API keys in one window that raise ``security.anomaly`` (20)
``IGTOKEN_ANOMALY_WINDOW``      the anomaly window in seconds (300)
==============================  ===========================================================

Booleans accept ``1/true/yes/on`` and ``0/false/no/off`` in any case.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, Literal, TypeAlias
from urllib.parse import urlsplit, urlunsplit

from igtoken.config.dotenv import read_dotenv
from igtoken.core.exceptions import ConfigurationError
from igtoken.core.secret import Secret

__all__ = ["PREFIX", "LogFormat", "Settings", "is_proxy_address", "known_variables", "load_settings"]

PREFIX: Final = "IGTOKEN_"
APP_NAME: Final = "igtoken"
DEFAULT_GRAPH_VERSION: Final = "v25.0"

LogFormat: TypeAlias = Literal["json", "text"]

#: Variables that belong to igtoken but not to :class:`Settings` (tests, CI, the passphrase of
#: ``igtoken export``/``import``, read by those commands alone): never "unknown".
_OTHER_KNOWN: Final = frozenset({"IGTOKEN_TEST_DATABASE_URL", "IGTOKEN_EXPORT_PASSPHRASE"})
_TRUE: Final = frozenset({"1", "true", "yes", "on"})
_FALSE: Final = frozenset({"0", "false", "no", "off"})
_LOG_LEVELS: Final = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_GRAPH_VERSION = re.compile(r"v\d{1,3}\.\d{1,2}")
#: The Graph proxy's body limit unless ``IGTOKEN_PROXY_MAX_BODY`` says otherwise (Meta's own uploads
#: go by URL, so a proxied body is a form or a small JSON document).
DEFAULT_PROXY_MAX_BODY: Final = 8 * 1024 * 1024
_MIN_PROXY_MAX_BODY: Final = 1024
#: How long (seconds) a worker keeps retrying an unreachable database before it exits.
DEFAULT_WORKER_MAX_OUTAGE: Final = 300.0
_MIN_SESSION_SECRET: Final = 32
_RATE = re.compile(r"(\d{1,6}(?:\.\d{1,3})?)\s*(?::\s*(\d{1,6}))?")
_BYTE_SIZE = re.compile(r"(\d{1,12})\s*(b|k|kb|kib|m|mb|mib|g|gb|gib)?", re.IGNORECASE)
_BYTE_UNITS: Final = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def default_database_url() -> str:
    """The embedded default: a SQLite file in the user's data directory."""
    from igtoken.config.paths import default_database_path

    return f"sqlite:///{default_database_path()}"


def default_key_file() -> Path:
    """The default key file, in the user's config directory so it never sits next to the database."""
    from igtoken.config.paths import default_key_file_path

    return default_key_file_path()


@dataclass(frozen=True, slots=True, repr=False)
class Settings:
    """Everything the CLI and the service read from the environment, validated.

    Build it with :func:`load_settings`; constructing it directly is fine in tests
    and gives the defaults. ``repr`` masks secrets and a database password.
    """

    database_url: str = field(default_factory=default_database_url)
    keys: Secret | None = None
    key_file: Path = field(default_factory=default_key_file)
    meta_base_url: str | None = None
    sandbox: bool = False
    public_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    admin_password: Secret | None = None
    dev: bool = False
    worker: bool = True
    log_level: str = "INFO"
    log_format: LogFormat = "text"
    graph_version: str = DEFAULT_GRAPH_VERSION
    webhook_urls: tuple[str, ...] = ()
    webhook_secret: Secret | None = None
    meta_webhook_verify_token: Secret | None = None
    proxy_max_body: int = DEFAULT_PROXY_MAX_BODY
    #: ``None``: each front door's own default (see the table above).
    database_busy_timeout: float | None = None
    trusted_proxies: tuple[str, ...] = ()
    session_secret: Secret | None = None
    metrics_token: Secret | None = None
    api_docs: bool = True
    worker_max_outage: float = DEFAULT_WORKER_MAX_OUTAGE
    #: ``(per minute, burst)`` per route group; ``None``: the service's default.
    rate_limit_signin: tuple[float, int] | None = None
    rate_limit_public: tuple[float, int] | None = None
    rate_limit_api: tuple[float, int] | None = None
    rate_limit_webhooks: tuple[float, int] | None = None
    permission_audit_days: float = 7.0
    anomaly_factor: float = 10.0
    anomaly_min_reads: float = 50.0
    anomaly_refused_burst: float = 20.0
    anomaly_window: float = 300.0
    #: Human-readable warnings found while loading (unknown ``IGTOKEN_*`` names); the caller shows them.
    warnings: tuple[str, ...] = field(default=(), compare=False)
    #: Where each setting came from, by variable name: ``environment``, ``.env`` or ``default``.
    sources: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), compare=False)

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={value!r}" for name, value in self._display_values())
        return f"Settings({shown})"

    def _display_values(self) -> list[tuple[str, object]]:
        out: list[tuple[str, object]] = []
        for spec in _SPECS:
            value = getattr(self, spec.field)
            if spec.field == "database_url":
                value = redact_url(value)
            out.append((spec.field, value))
        return out

    def describe(self) -> list[tuple[str, str, str]]:
        """Rows of ``(variable, value as shown to humans, source)``, secrets masked."""
        rows = []
        for spec in _SPECS:
            value = getattr(self, spec.field)
            if isinstance(value, Secret):
                shown = "(set, hidden)"
            elif value is None:
                shown = "(not set)"
            elif isinstance(value, bool):
                shown = "true" if value else "false"
            elif spec.field == "database_url":
                shown = redact_url(value)
            elif spec.field.startswith("rate_limit_"):
                shown = f"{value[0]:g}/min, burst {value[1]}"
            elif isinstance(value, tuple):
                shown = ", ".join(value) or "(none)"
            else:
                shown = str(value)
            source = self.sources.get(spec.variable, "default")
            if spec.field == "key_file" and self.keys is not None:
                # IGTOKEN_KEYS wins: the key file is not read at all, whatever its path.
                shown, source = f"(not used: IGTOKEN_KEYS is set) {shown}", "unused"
            rows.append((spec.variable, shown, source))
        return rows


def redact_url(url: str) -> str:
    """``url`` with any password replaced by ``***`` (database URLs carry them)."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return "(unparseable URL)"
    if not password:
        return url
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user = userinfo.partition(":")[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{hostport}"))


# --- parsers: (variable name, raw text) -> value; every error names the variable and the form ---


def _bool(name: str, raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ConfigurationError(
        f"{name} must be a boolean, got {raw!r}", fix=f"set {name} to one of 1/true/yes/on or 0/false/no/off"
    )


def _port(name: str, raw: str) -> int:
    try:
        port = int(raw.strip())
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise ConfigurationError(
            f"{name} must be a port number, got {raw!r}", fix=f"set {name} to an integer from 0 to 65535"
        )
    return port


def _host(name: str, raw: str) -> str:
    host = raw.strip()
    if "://" in host or "/" in host or any(c.isspace() for c in host):
        raise ConfigurationError(
            f"{name} must be a host name or IP address, got {raw!r}",
            fix=f"set {name} to an address such as 127.0.0.1 or 0.0.0.0, not a URL",
        )
    return host


def _http_url(name: str, raw: str) -> str:
    form = f"set {name} to an absolute http(s) URL such as https://igtoken.example.com"
    url = raw.strip()
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- property access validates the port
    except ValueError:
        raise ConfigurationError(f"{name} is not a valid URL", fix=form) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(f"{name} must be an absolute http(s) URL, got {redact_url(url)!r}", fix=form)
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ConfigurationError(
            f"{name} must be a plain base URL without credentials, query or fragment", fix=form
        )
    return url.rstrip("/")


def _http_urls(name: str, raw: str) -> tuple[str, ...]:
    return tuple(_http_url(name, part.strip()) for part in raw.split(",") if part.strip())


def _database_url(name: str, raw: str) -> str:
    url = raw.strip()
    scheme, sep, rest = url.partition("://")
    form = f"set {name} to sqlite:///path/to/igtoken.db or postgresql+psycopg://user@host/db"
    if not sep:
        raise ConfigurationError(f"{name} must be a database URL, got {redact_url(url)!r}", fix=form)
    scheme = scheme.lower()
    # Bare postgres URLs would pick psycopg2, which is not installed: use the driver we ship.
    if scheme in ("postgres", "postgresql"):
        return f"postgresql+psycopg://{rest}"
    if scheme == "sqlite" or scheme.startswith(("sqlite+", "postgresql+")):
        return url
    raise ConfigurationError(
        f"{name} must be a SQLite or PostgreSQL URL, got scheme {scheme!r}",
        fix=form,
    )


def _secret(name: str, raw: str) -> Secret:
    return Secret(raw.strip())


def _webhook_secret(name: str, raw: str) -> Secret:
    from igtoken.core.webhook_secret import split_signing_secrets

    secret = Secret(raw.strip())
    split_signing_secrets(secret, where=name)
    return secret


def _path(name: str, raw: str) -> Path:
    return Path(raw.strip()).expanduser()


def _log_level(name: str, raw: str) -> str:
    level = raw.strip().upper()
    if level == "WARN":
        level = "WARNING"
    if level not in _LOG_LEVELS:
        raise ConfigurationError(
            f"{name} must be a log level, got {raw!r}", fix=f"set {name} to one of {', '.join(_LOG_LEVELS)}"
        )
    return level


def _log_format(name: str, raw: str) -> str:
    value = raw.strip().lower()
    if value not in ("json", "text"):
        raise ConfigurationError(
            f"{name} must be json or text, got {raw!r}", fix=f"set {name} to json or text"
        )
    return value


def _graph_version(name: str, raw: str) -> str:
    value = raw.strip()
    if not value.startswith("v"):
        value = "v" + value
    if not _GRAPH_VERSION.fullmatch(value):
        raise ConfigurationError(
            f"{name} must be a Graph API version like {DEFAULT_GRAPH_VERSION}, got {raw!r}",
            fix=f"set {name} to vNN.N, e.g. {DEFAULT_GRAPH_VERSION}",
        )
    return value


def _byte_size(name: str, raw: str) -> int:
    form = f"set {name} to a number of bytes, or with a KiB/MiB suffix, e.g. 8MiB"
    match = _BYTE_SIZE.fullmatch(raw.strip())
    if match is None:
        raise ConfigurationError(f"{name} must be a size in bytes, got {raw!r}", fix=form)
    size = int(match.group(1)) * _BYTE_UNITS[(match.group(2) or "")[:1].lower()]
    if size < _MIN_PROXY_MAX_BODY:
        raise ConfigurationError(
            f"{name} must be at least {_MIN_PROXY_MAX_BODY} bytes, got {raw!r}", fix=form
        )
    return size


def _seconds(name: str, raw: str) -> float:
    try:
        value = float(raw.strip())
    except ValueError:
        value = -1.0
    if not 0 <= value <= 3600:
        raise ConfigurationError(
            f"{name} must be a number of seconds from 0 to 3600, got {raw!r}", fix=f"set {name} to e.g. 5"
        )
    return value


def _outage(name: str, raw: str) -> float:
    try:
        value = float(raw.strip())
    except ValueError:
        value = -1.0
    if not 1 <= value <= 7 * 86400:
        raise ConfigurationError(
            f"{name} must be a number of seconds from 1 to 604800, got {raw!r}",
            fix=f"set {name} to how long workers may wait for the database, e.g. 300",
        )
    return value


def _non_negative(name: str, raw: str) -> float:
    try:
        value = float(raw.strip())
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):
        raise ConfigurationError(
            f"{name} must be a number, 0 or more, got {raw!r}", fix=f"set {name} to e.g. 7"
        )
    return value


def _session_secret(name: str, raw: str) -> Secret:
    value = raw.strip()
    if len(value) < _MIN_SESSION_SECRET:
        raise ConfigurationError(
            f"{name} is shorter than {_MIN_SESSION_SECRET} characters",
            fix=f"set {name} to 32 or more random characters, e.g. from `openssl rand -base64 36`",
        )
    return Secret(value)


def _rate(name: str, raw: str) -> tuple[float, int]:
    match = _RATE.fullmatch(raw.strip())
    per_minute = float(match.group(1)) if match else 0.0
    if match is None or per_minute <= 0:
        raise ConfigurationError(
            f"{name} must be requests per minute, optionally with :burst, got {raw!r}",
            fix=f"set {name} to e.g. 60 or 60:20",
        )
    burst = int(match.group(2)) if match.group(2) else max(1, round(per_minute / 3))
    if burst < 1:
        raise ConfigurationError(
            f"{name} needs a burst of at least 1, got {raw!r}", fix=f"set {name} to e.g. 60:20"
        )
    return per_minute, burst


def is_proxy_address(entry: str) -> bool:
    """A trusted-proxy entry: an IP address, a network (``10.0.1.0/24``) or ``*`` (any)."""
    if entry == "*":
        return True
    try:
        ipaddress.ip_network(entry, strict=False)
    except ValueError:
        return False
    return True


def _networks(name: str, raw: str) -> tuple[str, ...]:
    out = []
    for part in (p.strip() for p in raw.split(",")):
        if not part:
            continue
        if not is_proxy_address(part):
            raise ConfigurationError(
                f"{name} must list IP addresses or networks, got {part!r}",
                fix=f"set {name} to the reverse proxies' addresses, e.g. 10.0.0.5,10.0.1.0/24",
            )
        out.append(part)
    return tuple(out)


@dataclass(frozen=True, slots=True)
class _Spec:
    field: str
    parse: Callable[[str, str], Any]

    @property
    def variable(self) -> str:
        return PREFIX + self.field.upper()


_SPECS: Final = (
    _Spec("database_url", _database_url),
    _Spec("keys", _secret),
    _Spec("key_file", _path),
    _Spec("meta_base_url", _http_url),
    _Spec("sandbox", _bool),
    _Spec("public_url", _http_url),
    _Spec("host", _host),
    _Spec("port", _port),
    _Spec("admin_password", _secret),
    _Spec("dev", _bool),
    _Spec("worker", _bool),
    _Spec("log_level", _log_level),
    _Spec("log_format", _log_format),
    _Spec("graph_version", _graph_version),
    _Spec("webhook_urls", _http_urls),
    _Spec("webhook_secret", _webhook_secret),
    _Spec("meta_webhook_verify_token", _secret),
    _Spec("proxy_max_body", _byte_size),
    _Spec("database_busy_timeout", _seconds),
    _Spec("trusted_proxies", _networks),
    _Spec("session_secret", _session_secret),
    _Spec("metrics_token", _secret),
    _Spec("api_docs", _bool),
    _Spec("worker_max_outage", _outage),
    _Spec("rate_limit_signin", _rate),
    _Spec("rate_limit_public", _rate),
    _Spec("rate_limit_api", _rate),
    _Spec("rate_limit_webhooks", _rate),
    _Spec("permission_audit_days", _non_negative),
    _Spec("anomaly_factor", _non_negative),
    _Spec("anomaly_min_reads", _non_negative),
    _Spec("anomaly_refused_burst", _non_negative),
    _Spec("anomaly_window", _non_negative),
)
assert {s.field for s in _SPECS} == {f.name for f in fields(Settings)} - {"warnings", "sources"}


def known_variables() -> frozenset[str]:
    """Every ``IGTOKEN_*`` name igtoken understands."""
    return frozenset(spec.variable for spec in _SPECS) | _OTHER_KNOWN


def load_settings(environ: Mapping[str, str], dotenv_path: Path | None = None) -> Settings:
    """Read and validate the settings: ``environ`` first, then ``dotenv_path``, then the defaults.

    Args:
        environ: the process environment (pass ``os.environ``), or any mapping in tests.
        dotenv_path: a ``.env`` file to read, or ``None`` for none. Only ``IGTOKEN_*``
            names in it are used; others are left to whatever else reads the file.

    Returns:
        The settings; unknown ``IGTOKEN_*`` names are reported in ``Settings.warnings``.

    Raises:
        ConfigurationError: a value is malformed (the message names the variable and the
            expected form, never a secret's value), or the ``.env`` file is unreadable.
    """
    dotenv = read_dotenv(dotenv_path) if dotenv_path is not None else {}
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for spec in _SPECS:
        for source, layer in (("environment", environ), (".env", dotenv)):
            raw = layer.get(spec.variable)
            if raw is not None and raw.strip():
                values[spec.field] = spec.parse(spec.variable, raw)
                sources[spec.variable] = source
                break
        else:
            sources[spec.variable] = "default"

    public_url = values.get("public_url")
    if public_url and not public_url.startswith("https://") and not values.get("dev", False):
        raise ConfigurationError(
            f"IGTOKEN_PUBLIC_URL must use https, got {public_url!r}",
            fix="serve igtoken over https, or set IGTOKEN_DEV=1 for local development",
        )
    if values.get("webhook_urls") and values.get("webhook_secret") is None:
        raise ConfigurationError(
            "IGTOKEN_WEBHOOK_URLS is set but IGTOKEN_WEBHOOK_SECRET is not: events would go unsigned",
            fix="set IGTOKEN_WEBHOOK_SECRET to a long random string your receivers verify with",
        )

    warnings = _unknown_variable_warnings(environ, dotenv)
    return Settings(**values, warnings=tuple(warnings), sources=MappingProxyType(sources))


def _unknown_variable_warnings(environ: Mapping[str, str], dotenv: Mapping[str, str]) -> list[str]:
    known = known_variables()
    found: dict[str, str] = {}
    for source, layer in (("environment", environ), (".env", dotenv)):
        for name in layer:
            if name.upper().startswith(PREFIX) and name not in known:
                found.setdefault(name, source)
    warnings: list[str] = []
    if not found:
        return warnings
    import difflib  # only needed when something is misspelt; keep CLI start-up lean

    for name, source in sorted(found.items()):
        # Compare without the shared prefix, which would make every name look close.
        suffixes = {k.removeprefix(PREFIX): k for k in known}
        close = difflib.get_close_matches(
            name.upper().removeprefix(PREFIX), sorted(suffixes), n=3, cutoff=0.6
        )
        matches = [suffixes[m] for m in close]
        hint = f"did you mean {' or '.join(matches)}?" if matches else "it is ignored"
        warnings.append(f"unknown variable {name} (from the {source}); {hint}")
    return warnings
