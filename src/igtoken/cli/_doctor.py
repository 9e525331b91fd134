"""The checks behind ``igtoken doctor``: each one names what is wrong and how to fix it.

App checks ask Meta (or the emulator) with harmless requests: the authorize URL (is the app id
an Instagram app id, is the redirect URI registered), a code exchange with a made-up code (is
the secret accepted: Meta checks the secret before the code). Account checks read ``/me`` with
the stored token and compare what was granted with what the app asks for.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit

if TYPE_CHECKING:
    import httpx

    from igtoken.core.endpoints import Endpoints
    from igtoken.core.exceptions import IGTokenError
    from igtoken.refresh.usecase import Result
    from igtoken.vault import AccountRecord, AppRecord

from igtoken.cli._check import (
    EXPIRY_WARN_DAYS,
    USAGE_WARN,
    AccountProbe,
    Check,
    _dead_check,
    _error_text,
    _permissions_check,
    _variants,
)

__all__ = ["Check", "account_checks", "app_checks"]

_WHERE_IG_ID: Final = (
    "use the Instagram app id from the App Dashboard > Instagram > API setup with Instagram login "
    "(not the Facebook app id from App settings > Basic), "
    "then: igtoken apps remove NAME && igtoken apps add …"
)
_FIX_REJECTED_KEY: Final = (
    "copy the Instagram app secret from the App Dashboard > Instagram > API setup with Instagram login "
    "(not the Meta app secret from App settings > Basic), then: igtoken apps set-secret NAME"
)
_BASIC_DISPLAY_MIGRATION: Final = (
    "Basic Display was shut down on 2024-12-04: move to Instagram Login "
    "(instagram_business_* scopes, www.instagram.com/oauth/authorize, a Business or Creator account)"
)


def _authorize(http: httpx.Client, endpoints: Endpoints, app_id: str, redirect_uri: str) -> httpx.Response:
    params = {
        "client_id": app_id,
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "scope": "instagram_business_basic",
        "state": "igtoken-doctor",
    }
    return http.get(endpoints.authorize, params=params, follow_redirects=False)


def _static_redirect_checks(app: AppRecord, *, emulator: bool) -> list[Check]:
    checks: list[Check] = []
    if not app.redirect_uris:
        return [
            Check(
                "redirect URI",
                app.name,
                False,
                "no redirect URI is registered with igtoken",
                f"add the one from the App Dashboard: igtoken apps remove {app.name} && igtoken apps add …",
            )
        ]
    for uri in app.redirect_uris:
        parts = urlsplit(uri)
        if parts.fragment or parts.query:
            checks.append(
                Check("redirect URI", uri, False, "has a query or fragment", "register it without ?… or #…")
            )
        elif parts.scheme != "https" and not emulator:
            checks.append(
                Check(
                    "redirect URI",
                    uri,
                    False,
                    "Meta accepts only https redirect URIs",
                    "register an https URI; for the CLI https://localhost:PORT/callback works "
                    "(igtoken login serves it with a certificate made on the fly)",
                )
            )
    return checks


def _scope_checks(app: AppRecord) -> list[Check]:
    from igtoken.core.exceptions import ScopeError
    from igtoken.core.models import FlowKind
    from igtoken.instagram.scopes import DEFAULT_SCOPES, REFUSED_SCOPES, check_scope

    bad: list[Check] = []
    if app.flow_kind is FlowKind.FACEBOOK_LOGIN:
        from igtoken.cli._doctor_facebook import facebook_scope_checks

        return facebook_scope_checks(app)
    scopes = app.default_scopes or DEFAULT_SCOPES
    for scope in scopes:
        try:
            check_scope(scope)
        except ScopeError as exc:
            refused = REFUSED_SCOPES.get(scope.lower())
            fix = exc.fix
            if refused is not None and "Basic Display" in refused.reason:
                fix = f"{fix}. {_BASIC_DISPLAY_MIGRATION}"
            bad.append(Check("scope", scope, False, exc.message, fix))
    return bad or [Check("scopes", app.name, True, ", ".join(scopes))]


def static_app_checks(app: AppRecord, *, emulator: bool) -> list[Check]:
    """The checks of an app that need no answer from Meta: redirect URI shapes and scope names."""
    return _static_redirect_checks(app, emulator=emulator) + _scope_checks(app)


def app_checks(app: AppRecord, http: httpx.Client, endpoints: Endpoints, *, emulator: bool) -> list[Check]:
    """Checks of one registered app: redirect URIs, scope names, app id and secret."""
    from igtoken.core.models import FlowKind

    checks = static_app_checks(app, emulator=emulator)
    if app.flow_kind is FlowKind.FACEBOOK_LOGIN:
        from igtoken.cli._doctor_facebook import facebook_app_checks

        return checks + facebook_app_checks(app, http, endpoints)
    if not app.redirect_uris:
        return checks
    answer = _authorize(http, endpoints, app.instagram_app_id, app.redirect_uris[0])
    text = _error_text(answer) if answer.status_code >= 400 else ""
    if "Invalid platform app" in text:
        checks.append(
            Check(
                "app id",
                app.instagram_app_id,
                False,
                f'Meta does not know {app.instagram_app_id} as an Instagram app id ("Invalid platform app")',
                _WHERE_IG_ID,
            )
        )
        return checks
    checks.append(Check("app id", app.instagram_app_id, True, "Meta knows it as an Instagram app id"))
    for uri in app.redirect_uris:
        answer = _authorize(http, endpoints, app.instagram_app_id, uri)
        text = _error_text(answer) if answer.status_code >= 400 else ""
        if "redirect_uri" not in text:
            checks.append(Check("redirect URI", uri, True, "registered with Meta"))
            continue
        accepted = [
            v for v in _variants(uri) if _authorize(http, endpoints, app.instagram_app_id, v).is_success
        ]
        fix = (
            f"Meta has {accepted[0]!r} registered: URIs must match byte for byte (trailing slash, www, "
            "scheme); register the same string in both places"
            if accepted
            else "add this exact URI under Instagram > API setup with Instagram login > "
            "Business login settings"
        )
        checks.append(
            Check("redirect URI", uri, False, 'Meta does not accept it ("Invalid redirect_uri")', fix)
        )
    exchange = http.post(
        endpoints.code_exchange,
        data={
            "client_id": app.instagram_app_id,
            "client_secret": app.app_secret.reveal(),
            "grant_type": "authorization_code",
            "redirect_uri": app.redirect_uris[0],
            "code": "igtoken-doctor-not-a-code",
        },
    )
    text = _error_text(exchange)
    if "verification code" in text or "client secret" in text.lower():
        checks.append(Check("app secret", app.name, False, "Meta rejects the app secret", _FIX_REJECTED_KEY))
    else:
        checks.append(Check("app secret", app.name, True, "Meta accepts it"))
    return checks


def account_checks(
    probe: AccountProbe, app: AppRecord, account: AccountRecord, *, relogin: str
) -> list[Check]:
    """Checks of one connected account: token, type, permissions, expiry, usage, Page link.

    ``probe.check_page`` checks a Facebook Login account's page token now, with the refresh use
    case; ``probe.token_dead`` marks the account when Meta calls its token dead in a call made here.
    """
    from igtoken.core.exceptions import TokenExpiredError
    from igtoken.core.models import AccountType, FlowKind
    from igtoken.core.usage import parse_usage
    from igtoken.instagram.parse import error_from_response
    from igtoken.instagram.scopes import DEFAULT_SCOPES

    who = f"@{account.username}" if account.username else account.id
    checks: list[Check] = []
    if account.status.value != "active":
        reason = f" ({account.status_reason})" if account.status_reason else ""
        return [
            Check("token", who, False, f"the account is {account.status.value}{reason}", f"run `{relogin}`")
        ]
    if app.flow_kind is FlowKind.FACEBOOK_LOGIN:
        from igtoken.cli._doctor_facebook import facebook_account_checks

        return facebook_account_checks(probe, app, account, relogin=relogin)
    stored = probe.vault.current_token(account.id)
    token = stored.token
    if token.is_expired(probe.now):
        expired = TokenExpiredError(f"expired on {token.expires_at:%Y-%m-%d}")
        marked = probe.token_dead(account, stored.token_id, expired)
        return [_dead_check("token", who, expired.message, marked, relogin)]
    answer = probe.http.get(
        probe.endpoints.instagram_graph("me"),
        params={"fields": "user_id,username,account_type"},
        headers={"Authorization": f"Bearer {token.value.reveal()}"},
    )
    if not answer.is_success:
        error = error_from_response(answer, secrets=[token.value.reveal()])
        marked = probe.token_dead(account, stored.token_id, error) if error is not None else None
        checks.append(_refused_token_check(answer, error, marked, who, relogin))
        return checks
    checks.append(Check("token", who, True, "Meta accepts it"))
    body = answer.json()
    kind = body.get("account_type")
    if kind == AccountType.PERSONAL.value:
        checks.append(
            Check(
                "account type",
                who,
                False,
                "a personal account: the Instagram API serves only Business and Creator accounts",
                "in the Instagram app: Settings > Account type and tools > "
                f"Switch to professional account (Business or Creator), then `{relogin}`",
            )
        )
    else:
        checks.append(Check("account type", who, True, str(kind)))
    checks.append(
        _permissions_check(
            set(app.default_scopes or DEFAULT_SCOPES), set(account.scopes or token.scopes), who, relogin
        )
    )
    last = stored.last_refreshed_at
    last_text = f"last refresh {last:%Y-%m-%d}" if last else "never refreshed"
    if token.expires_at is not None:
        left = token.expires_at - probe.now
        days = left / timedelta(days=1)
        if days < EXPIRY_WARN_DAYS:
            checks.append(
                Check(
                    "expiry",
                    who,
                    False,
                    f"expires in {days:.1f} days ({last_text}"
                    + (f"; last error: {stored.last_error}" if stored.last_error else "")
                    + ")",
                    f"`igtoken token {account.username or account.id}` refreshes it now; "
                    "keep `igtoken worker` running",
                )
            )
        else:
            checks.append(Check("expiry", who, True, f"{days:.0f} days left, {last_text}"))
    usage = parse_usage(answer.headers)
    top = usage.max_percent if usage is not None else None
    if top is not None and top >= USAGE_WARN:
        checks.append(
            Check(
                "Meta usage",
                who,
                False,
                f"at {top:.0f}% of Meta's rate limit",
                "spread calls out or cache results; Meta throttles at 100%",
            )
        )
    else:
        checks.append(Check("Meta usage", who, True, "no figures sent" if top is None else f"{top:.0f}%"))
    return checks


def _refused_token_check(
    answer: httpx.Response, error: IGTokenError | None, marked: Result | None, who: str, relogin: str
) -> Check:
    """What a refused ``/me`` means: a throttle (wait) or a transient fault is not a dead token; a dead
    one (Meta's 190) has marked the account (``marked``) and says so."""
    from igtoken.core.exceptions import APIError, ThrottledError

    if isinstance(error, ThrottledError):
        wait = f"; Meta says to wait {error.retry_after:.0f} s" if error.retry_after else ""
        return Check(
            "Meta usage",
            who,
            False,
            f"Meta is throttling calls for this account ({error.message}){wait}",
            "wait and run doctor again; spread calls out or cache results (the token itself was not judged)",
        )
    if error is not None and error.retryable:
        return Check(
            "token",
            who,
            False,
            f"Meta could not answer now ({error.message})",
            "run doctor again in a minute; nothing says the token is bad",
        )
    label = ""
    if isinstance(error, APIError) and error.code is not None:
        label = f" (code {error.code}" + (f"/{error.error_subcode}" if error.error_subcode else "") + ")"
    return _dead_check("token", who, f"Meta refuses the token: {_error_text(answer)}{label}", marked, relogin)


def unreachable(subject: str, exc: Exception) -> Check:
    """The check that stands for the ones Meta could not be reached for."""
    return Check(
        "Meta reachable",
        subject,
        False,
        f"cannot reach Meta ({type(exc).__name__}: {exc})",
        "check the network, a proxy, or IGTOKEN_META_BASE_URL; the checks that need no Meta still ran",
    )
