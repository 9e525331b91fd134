"""Wiring shared by the CLI, the refresh worker and the service: settings in, working parts out.

This is the one place that turns :class:`~igtoken.config.settings.Settings` into an open vault, the
endpoints to talk to (Meta, a configured emulator, or the sandbox emulator) and a client
configuration per registered app. Libraries below it take explicit arguments; only this layer
knows about the embedded defaults and sandbox mode.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from igtoken.config import paths as _paths
from igtoken.config.settings import Settings
from igtoken.core.exceptions import ConfigurationError, NotFoundError
from igtoken.core.models import FlowKind
from igtoken.core.secret import Secret
from igtoken.sandbox import SANDBOX_APP, SANDBOX_FB_APP, SandboxEmulator

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from igtoken.core.config import ClientConfig
    from igtoken.core.endpoints import Endpoints
    from igtoken.vault import AppRecord, EmbeddedPaths, OpenedVault, Vault

__all__ = ["SANDBOX_APP", "SANDBOX_FB_APP", "Runtime", "SandboxEmulator"]


def allow_redirect_uris(emulator_app: Starlette, redirect_uris: Sequence[str]) -> None:
    """Register ``redirect_uris`` with every demo app of an in-process emulator."""
    from igtoken.emulator import demo

    world = emulator_app.state.world
    for app_id in (demo.DEMO_IG_APP_ID, demo.DEMO_FB_APP_ID):
        with contextlib.suppress(Exception):  # a world without that demo app has nothing to widen
            world.update_app(app_id, add_redirect_uris=list(redirect_uris))


def sqlite_file(url: str) -> Path | None:
    """The file of a ``sqlite:///…`` URL; ``None`` for other databases."""
    scheme, sep, rest = url.partition(":///")
    if not sep or not scheme.lower().startswith("sqlite"):
        return None
    return Path(rest.partition("?")[0]).expanduser()


class Runtime:
    """The parts a command or the service needs, built lazily from settings."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._opened: OpenedVault | None = None

    @property
    def sandbox(self) -> bool:
        """Whether this run talks to the sandbox emulator instead of Meta."""
        return self.settings.sandbox

    def now(self) -> datetime:
        """The current time, tz-aware UTC; in the sandbox, sandbox time (the emulator's moved clock)."""
        from datetime import UTC

        if self.sandbox and not self.settings.meta_base_url:
            from igtoken.sandbox import sandbox_now

            return sandbox_now()
        return datetime.now(UTC)

    def _database_is_default(self) -> bool:
        return self.settings.sources.get("IGTOKEN_DATABASE_URL", "default") == "default"

    @property
    def uses_embedded_database(self) -> bool:
        """Whether the vault is the embedded SQLite default (migrated on first use) rather than a URL."""
        return self._database_is_default()

    def embedded_paths(self) -> EmbeddedPaths | None:
        """Where the embedded default keeps its database and key file; ``None`` when a database URL is set."""
        from igtoken.vault import EmbeddedPaths

        if not self._database_is_default():
            return None
        if self.sandbox:
            return EmbeddedPaths(_paths.sandbox_database_path(), _paths.sandbox_key_file_path())
        return EmbeddedPaths(_paths.default_database_path(), self.settings.key_file)

    def session_secret(self) -> Secret | None:
        """What signs dashboard cookies: ``IGTOKEN_SESSION_SECRET``, else the embedded default's file.

        A SQLite database URL keeps it in ``<file>.session-secret`` beside the file. ``None`` with a
        PostgreSQL URL and no setting: the service then makes one per process.
        """
        if self.settings.session_secret is not None:
            return self.settings.session_secret
        from igtoken.app.session_secret import SESSION_SECRET_FILE, load_or_create_secret

        paths = self.embedded_paths()
        if paths is not None:
            return load_or_create_secret(paths.database.parent / SESSION_SECRET_FILE)
        database = sqlite_file(self.settings.database_url)
        if database is not None:
            # Every process of a SQLite vault runs on this machine: a file beside it is shared.
            return load_or_create_secret(database.with_name(f"{database.name}.{SESSION_SECRET_FILE}"))
        return None

    def open_vault(self) -> OpenedVault:
        """Open the configured vault (once); the embedded default is created and migrated on first use."""
        if self._opened is None:
            from igtoken.vault import open_vault

            keys = self.settings.keys.reveal() if self.settings.keys is not None else None
            paths = self.embedded_paths()
            if paths is not None:
                paths.database.parent.mkdir(parents=True, exist_ok=True)
                self._opened = open_vault(
                    None, keys=keys, embedded=paths, busy_timeout=self.settings.database_busy_timeout
                )
            else:
                self._opened = open_vault(
                    self.settings.database_url,
                    keys=keys,
                    key_file=None if keys else self.settings.key_file,
                    busy_timeout=self.settings.database_busy_timeout,
                )
        return self._opened

    def close(self) -> None:
        """Close the vault's connections if it was opened; safe to call twice."""
        opened, self._opened = self._opened, None
        if opened is not None:
            opened.vault.close()

    @property
    def vault(self) -> Vault:
        """The open vault."""
        return self.open_vault().vault

    def endpoints(self, sandbox_url: str | None = None) -> Endpoints:
        """Meta's hosts, a configured emulator (``IGTOKEN_META_BASE_URL``), or the running sandbox."""
        from igtoken.core.endpoints import Endpoints

        version = self.settings.graph_version
        if self.settings.meta_base_url:
            return Endpoints.emulator(self.settings.meta_base_url, graph_version=version)
        if self.sandbox:
            if sandbox_url is None:
                raise ConfigurationError(
                    "sandbox mode needs the sandbox emulator running",
                    fix="start it with SandboxEmulator().serve() or set IGTOKEN_META_BASE_URL",
                )
            return Endpoints.emulator(sandbox_url, graph_version=version)
        return Endpoints(graph_version=version)

    def client_config(
        self, app: AppRecord, *, endpoints: Endpoints, redirect_uri: str | None = None
    ) -> ClientConfig:
        """The client configuration for one registered app (its first redirect URI by default)."""
        from igtoken.core.config import AppCredentials, ClientConfig

        if redirect_uri is None:
            if not app.redirect_uris:
                raise ConfigurationError(
                    f"app {app.name!r} has no redirect URI",
                    fix=f"register one: igtoken apps add {app.name} --redirect-uri URL",
                )
            redirect_uri = app.redirect_uris[0]
        elif redirect_uri not in app.redirect_uris and not self._sandbox_demo_app(app):
            # The sandbox's demo apps take the URI this process leased with the emulator for its run
            # (a service's callback, a login's loopback receiver): the vault keeps only their own.
            raise ConfigurationError(
                f"redirect URI {redirect_uri!r} is not registered for app {app.name!r}",
                fix="Meta compares redirect URIs byte for byte: register this exact URI with the app",
            )
        if app.flow_kind is FlowKind.FACEBOOK_LOGIN:
            client_id, secret = app.meta_app_id or app.instagram_app_id, app.meta_app_secret or app.app_secret
        else:
            client_id, secret = app.instagram_app_id, app.app_secret
        return ClientConfig(AppCredentials(client_id, secret, redirect_uri), endpoints=endpoints)

    def _sandbox_demo_app(self, app: AppRecord) -> bool:
        return self.sandbox and app.name in (SANDBOX_APP, SANDBOX_FB_APP)

    def ensure_sandbox_apps(self, *, now: datetime, redirect_uris: Sequence[str] = ()) -> list[AppRecord]:
        """Register the emulator's demo apps in the vault (once), with the given redirect URIs too.

        The records keep the demo apps' own redirect URIs (and ``redirect_uris``), nothing else.
        """
        from igtoken.emulator import demo

        vault = self.vault
        wanted = (
            (SANDBOX_APP, FlowKind.INSTAGRAM_LOGIN, demo.DEMO_IG_APP_ID, demo.DEMO_IG_APP_SECRET, None, None),
            (
                SANDBOX_FB_APP,
                FlowKind.FACEBOOK_LOGIN,
                demo.DEMO_FB_APP_ID,
                demo.DEMO_FB_APP_SECRET,
                demo.DEMO_FB_APP_ID,
                demo.DEMO_FB_APP_SECRET,
            ),
        )
        apps: list[AppRecord] = []
        for name, kind, app_id, secret, meta_id, meta_secret in wanted:
            uris = list(dict.fromkeys([*redirect_uris, *demo.DEMO_REDIRECT_URIS]))
            try:
                record = vault.get_app(name)
            except NotFoundError:
                record = vault.add_app(
                    name,
                    instagram_app_id=app_id,
                    app_secret=Secret(secret),
                    redirect_uris=uris,
                    now=now,
                    flow_kind=kind,
                    meta_app_id=meta_id,
                    meta_app_secret=Secret(meta_secret) if meta_secret else None,
                )
            else:
                if set(record.redirect_uris) - set(uris):
                    # Older versions stored every sandbox service's callback here for good, which
                    # made doctor fail once that service was gone; those URIs are leased per run now.
                    record = vault.update_app(record.id, now=now, redirect_uris=uris)
            apps.append(record)
        return apps
