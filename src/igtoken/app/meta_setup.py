"""Setting up a Meta app: the URLs to register, the App Dashboard steps, and the checks before saving.

Used by ``igtoken setup``, the dashboard's "Add a Meta app" page, the service's start-up banner and
``igtoken doctor``, so each says the same thing:

- :func:`meta_urls`: the three URLs Meta needs for an app, derived from the public URL (the OAuth
  redirect URI, the deauthorize callback URL and the data-deletion request URL).
- :func:`guide`: for Instagram Login and for Facebook Login for Business, the App Dashboard steps
  in order, each with what to click and the exact values to paste.
- :func:`check_values`: what Meta would refuse later, refused now with the fix: an app id that is
  not digits, a plain-http redirect URI outside loopback, the Basic Display scopes, the other
  product's scope names.
- :func:`check_live`: the app id and secret (and each redirect URI) checked with harmless calls:
  an authorize URL that is never followed and a code exchange with a made-up code (Instagram
  Login: Meta checks the secret before the code), or an app token (Facebook Login).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

from igtoken.core.checks import Check
from igtoken.core.exceptions import ScopeError
from igtoken.core.models import FlowKind

if TYPE_CHECKING:
    import httpx

    from igtoken.core.endpoints import Endpoints
    from igtoken.core.secret import Secret

__all__ = [
    "CALLBACK_PATH",
    "DATA_DELETION_PATH",
    "DEAUTHORIZE_PATH",
    "Check",
    "MetaUrls",
    "Step",
    "check_live",
    "check_values",
    "guide",
    "meta_error_text",
    "meta_urls",
]

#: Where the service receives the OAuth redirect (same as ``igtoken.service.wiring.CALLBACK_PATH``).
CALLBACK_PATH: Final = "/oauth/callback"
#: Meta's deauthorize callback (``igtoken.service.routes.meta_callbacks``).
DEAUTHORIZE_PATH: Final = "/meta/deauthorize"
#: Meta's data-deletion request callback.
DATA_DELETION_PATH: Final = "/meta/data-deletion"

_LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "localhost", "::1"})
_DASHBOARD: Final = "https://developers.facebook.com/apps"


@dataclass(frozen=True, slots=True)
class MetaUrls:
    """The three URLs to register with Meta for an app served at one public URL."""

    redirect_uri: str
    deauthorize_url: str
    data_deletion_url: str

    def as_json(self) -> dict[str, str]:
        """The documented JSON shape."""
        return {
            "redirect_uri": self.redirect_uri,
            "deauthorize_url": self.deauthorize_url,
            "data_deletion_url": self.data_deletion_url,
        }

    def lines(self, indent: str = "  ") -> list[str]:
        """One line per URL, labelled as the App Dashboard labels the field."""
        return [
            f"{indent}OAuth redirect URI:         {self.redirect_uri}",
            f"{indent}Deauthorize callback URL:   {self.deauthorize_url}",
            f"{indent}Data deletion request URL:  {self.data_deletion_url}",
        ]


def meta_urls(public_url: str) -> MetaUrls:
    """The redirect URI, deauthorize URL and data-deletion URL of a service reached at ``public_url``."""
    base = public_url.rstrip("/")
    return MetaUrls(base + CALLBACK_PATH, base + DEAUTHORIZE_PATH, base + DATA_DELETION_PATH)


@dataclass(frozen=True, slots=True)
class Step:
    """One step in the App Dashboard: a title, what to click, and the values to paste (label, value)."""

    title: str
    click: str
    paste: tuple[tuple[str, str], ...] = ()

    def as_json(self) -> dict[str, Any]:
        """The documented JSON shape."""
        return {
            "title": self.title,
            "click": self.click,
            "paste": [{"field": f, "value": v} for f, v in self.paste],
        }


def guide(flow: FlowKind, urls: MetaUrls, *, scopes: Sequence[str] = ()) -> list[Step]:
    """The App Dashboard steps for ``flow``, with ``urls`` as the values to paste."""
    if flow is FlowKind.FACEBOOK_LOGIN:
        from igtoken.facebook.scopes import DEFAULT_FACEBOOK_SCOPES

        wanted = ", ".join(scopes or DEFAULT_FACEBOOK_SCOPES)
        return [
            Step(
                "Create the app",
                f"Open {_DASHBOARD} > Create app; choose the use case 'Other', then the app type "
                "'Business', and give it a name.",
            ),
            Step(
                "Add Facebook Login for Business",
                "On the app's page: Add product > Facebook Login for Business > Set up; then "
                "Facebook Login for Business > Settings. Turn on 'Client OAuth login', 'Web OAuth login' "
                "and 'Enforce HTTPS'.",
                (
                    ("Valid OAuth Redirect URIs", urls.redirect_uri),
                    ("Deauthorize callback URL", urls.deauthorize_url),
                ),
            ),
            Step(
                "Register the data-deletion callback",
                "App settings > Basic > Data deletion: choose 'Data deletion callback URL'.",
                (("Data deletion callback URL", urls.data_deletion_url),),
            ),
            Step(
                "Ask for the permissions",
                "App Review > Permissions and features: request Advanced Access for each permission "
                "(Standard Access is enough for accounts with a role on the app).",
                (("Permissions", wanted),),
            ),
            Step(
                "Copy the app id and secret",
                "App settings > Basic: copy 'App ID' and, after 'Show', 'App secret' (the Meta app's; "
                "Facebook Login has no separate Instagram app id).",
            ),
        ]
    from igtoken.instagram.scopes import DEFAULT_SCOPES

    wanted = ", ".join(scopes or DEFAULT_SCOPES)
    return [
        Step(
            "Create the app",
            f"Open {_DASHBOARD} > Create app; choose the use case 'Manage messaging & content on "
            "Instagram' (or 'Other', then the app type 'Business'), and give it a name.",
        ),
        Step(
            "Add Instagram Login",
            "On the app's page: Instagram > API setup with Instagram login. (Not 'Instagram Basic "
            "Display': Meta shut it down on 2024-12-04.)",
        ),
        Step(
            "Register the three URLs",
            "Same page, step 'Set up Instagram business login' > Business login settings. Paste each "
            "value exactly: Meta compares redirect URIs byte for byte (trailing slash, www, scheme).",
            (
                ("OAuth redirect URIs", urls.redirect_uri),
                ("Deauthorize callback URL", urls.deauthorize_url),
                ("Data deletion request URL", urls.data_deletion_url),
            ),
        ),
        Step(
            "Choose the permissions",
            "Same page: 'Add required messaging permissions' is optional; igtoken asks for these "
            "at login (each needs Advanced Access through App Review for accounts without a role).",
            (("Permissions", wanted),),
        ),
        Step(
            "Copy the Instagram app id and secret",
            "Top of Instagram > API setup with Instagram login: copy 'Instagram app ID' and, after "
            "'Show', 'Instagram app secret'. Not the ones in App settings > Basic: those are the "
            "Meta app's, and Instagram Login refuses them ('Invalid platform app').",
        ),
    ]


def check_redirect_uri(uri: str, *, dev: bool = False) -> Check:
    """One redirect URI against Meta's rules: absolute http(s), no fragment, https outside loopback."""
    parts = urlsplit(uri.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return Check(
            "redirect_uri",
            uri,
            False,
            "is not an absolute http(s) URL",
            "give it exactly as registered with Meta, e.g. https://example.com/oauth/callback",
        )
    if parts.fragment:
        return Check(
            "redirect_uri", uri, False, "has a #fragment, which Meta does not allow", "drop the part from '#'"
        )
    if parts.scheme == "http" and parts.hostname not in _LOOPBACK_HOSTS and not dev:
        return Check(
            "redirect_uri",
            uri,
            False,
            "is plain http: Meta accepts only https redirect URIs (loopback addresses aside)",
            f"use https://{uri.strip()[len('http://') :]} (set IGTOKEN_PUBLIC_URL=https://… to derive it), "
            "or a loopback URI such as http://127.0.0.1:8000/oauth/callback",
        )
    return Check("redirect_uri", uri, True, "Meta's rules allow it")


def check_values(
    flow: FlowKind,
    app_id: str,
    redirect_uris: Iterable[str],
    scopes: Iterable[str] = (),
    *,
    dev: bool = False,
) -> list[Check]:
    """What Meta would refuse later, found now: one finding per value checked (failures carry a fix)."""
    findings: list[Check] = []
    where = (
        "App settings > Basic > App ID"
        if flow is FlowKind.FACEBOOK_LOGIN
        else "Instagram > API setup with Instagram login > Instagram app ID"
    )
    if not app_id.strip().isdigit():
        findings.append(
            Check("app_id", app_id, False, "is not an app id (digits only)", f"copy it from {where}")
        )
    else:
        findings.append(Check("app_id", app_id, True, "digits"))
    uris = [u for u in redirect_uris if u.strip()]
    if not uris:
        findings.append(
            Check("redirect_uri", "", False, "none given", "set IGTOKEN_PUBLIC_URL or give --redirect-uri")
        )
    findings += [check_redirect_uri(u, dev=dev) for u in uris]
    findings += _scope_findings(flow, scopes)
    return findings


def _scope_findings(flow: FlowKind, scopes: Iterable[str]) -> list[Check]:
    from igtoken.facebook.scopes import check_facebook_scope
    from igtoken.instagram.scopes import REFUSED_SCOPES, check_scope, split_scopes

    out: list[Check] = []
    for name in split_scopes(tuple(scopes)):
        try:
            if flow is FlowKind.FACEBOOK_LOGIN:
                check_facebook_scope(name)
            else:
                check_scope(name)
        except ScopeError as exc:
            fix = exc.fix
            refused = REFUSED_SCOPES.get(name.lower())
            if flow is FlowKind.INSTAGRAM_LOGIN and refused is not None and "Basic Display" in refused.reason:
                fix = f"{fix}; Basic Display is gone: Instagram Login asks for instagram_business_* scopes"
            out.append(Check("scope", name, False, exc.message, fix))
        else:
            out.append(Check("scope", name, True, "Meta knows it for this product"))
    return out


def meta_error_text(response: httpx.Response, *, limit: int = 500) -> str:
    """The message of Meta's error answer (either product's shape), or the first ``limit`` characters
    of a body that is not JSON."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:limit]
    if isinstance(body, dict):
        if isinstance(body.get("error_message"), str):
            return str(body["error_message"])
        error = body.get("error")
        if isinstance(error, dict):
            return str(error.get("message", ""))
    return ""


@dataclass
class _Live:
    findings: list[Check] = field(default_factory=list)

    def add(self, *args: Any) -> None:
        self.findings.append(Check(*args))


async def check_live(
    flow: FlowKind,
    app_id: str,
    secret: Secret,
    redirect_uris: Sequence[str],
    http: httpx.AsyncClient,
    endpoints: Endpoints,
) -> list[Check]:
    """Ask Meta (or the emulator) whether it knows the app id, accepts the secret and each redirect URI.

    Nothing is created and no one is asked to log in: the authorize URL is fetched without
    following it, and the code exchange uses a made-up code (Meta checks the secret first).
    """
    if flow is FlowKind.FACEBOOK_LOGIN:
        return await _facebook_live(app_id, secret, redirect_uris, http, endpoints)
    live = _Live()
    params = {
        "client_id": app_id,
        "response_type": "code",
        "scope": "instagram_business_basic",
        "state": "setup",
    }
    first = await http.get(endpoints.authorize, params={**params, "redirect_uri": redirect_uris[0]})
    if first.status_code >= 400 and "Invalid platform app" in meta_error_text(first):
        live.add(
            "app_id",
            app_id,
            False,
            f'Meta does not know {app_id} as an Instagram app id ("Invalid platform app")',
            "copy the Instagram app ID from Instagram > API setup with Instagram login "
            "(not the App ID from App settings > Basic)",
        )
        return live.findings
    live.add("app_id", app_id, True, "Meta knows it as an Instagram app id")
    for uri in redirect_uris:
        answer = (
            first
            if uri == redirect_uris[0]
            else await http.get(endpoints.authorize, params={**params, "redirect_uri": uri})
        )
        if answer.status_code >= 400 and "redirect_uri" in meta_error_text(answer):
            live.add(
                "redirect_uri",
                uri,
                False,
                'Meta does not accept it ("Invalid redirect_uri")',
                "paste this exact value under Instagram > API setup with Instagram login > Business login "
                "settings > OAuth redirect URIs, save, and try again",
            )
        else:
            live.add("redirect_uri", uri, True, "registered with Meta")
    exchange = await http.post(
        endpoints.code_exchange,
        data={
            "client_id": app_id,
            "client_secret": secret.reveal(),
            "grant_type": "authorization_code",
            "redirect_uri": redirect_uris[0],
            "code": "igtoken-setup-not-a-code",
        },
    )
    text = meta_error_text(exchange)
    if "verification code" in text or "client secret" in text.lower():
        live.add(
            "app_secret",
            "(hidden)",
            False,
            "Meta rejects the app secret",
            "copy the Instagram app secret from Instagram > API setup with Instagram login (click 'Show'; "
            "not the App secret from App settings > Basic)",
        )
    else:
        live.add("app_secret", "(hidden)", True, "Meta accepts it")
    return live.findings


async def _facebook_live(
    app_id: str, secret: Secret, redirect_uris: Sequence[str], http: httpx.AsyncClient, endpoints: Endpoints
) -> list[Check]:
    live = _Live()
    answer = await http.get(
        endpoints.facebook_graph("oauth/access_token"),
        params={"client_id": app_id, "client_secret": secret.reveal(), "grant_type": "client_credentials"},
    )
    if not answer.is_success:
        text = meta_error_text(answer)
        if "secret" in text.lower():
            live.add(
                "app_secret",
                "(hidden)",
                False,
                f"Meta rejects the app secret ({text})",
                "copy the App secret from App settings > Basic (click 'Show')",
            )
        else:
            live.add(
                "app_id",
                app_id,
                False,
                f"Meta does not know this app id ({text})",
                "copy the App ID from App settings > Basic (the Meta app id, not the Instagram app id)",
            )
        return live.findings
    live.add("app_id", app_id, True, "Meta knows it")
    live.add("app_secret", "(hidden)", True, "Meta issues an app token with it")
    for uri in redirect_uris:
        dialog = await http.get(
            endpoints.facebook_dialog,
            params={"client_id": app_id, "redirect_uri": uri, "response_type": "code"},
        )
        if dialog.status_code >= 400 and "redirect_uri" in dialog.text:
            live.add(
                "redirect_uri",
                uri,
                False,
                'Meta blocks it ("URL blocked: Invalid redirect_uri")',
                "paste this exact value under Facebook Login for Business > Settings > Valid OAuth "
                "Redirect URIs, save, and try again",
            )
        else:
            live.add("redirect_uri", uri, True, "registered with Meta")
    return live.findings
