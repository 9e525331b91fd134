"""The public pages a connect link leads through, rendered from view models.

The routes that decide which page to show (look the link up, start the OAuth
flow, handle the callback) need the vault and the client, and are wired by the
service's owner; these functions only draw the pages, with the status code each
situation deserves. Every page is ``noindex`` and sends no referrer, because a
connect link's URL is an invitation.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from starlette.responses import Response

from igtoken.service.app_state import service_state
from igtoken.service.views import ConnectLanding, ConnectOutcome

#: Readable names for the scopes a landing page lists; unknown scopes are shown as they are.
PERMISSION_TEXT = {
    "instagram_business_basic": "See your profile information and media",
    "instagram_business_content_publish": "Publish posts for you",
    "instagram_business_manage_comments": "Read and reply to comments",
    "instagram_business_manage_messages": "Read and send direct messages",
    "instagram_business_manage_insights": "See insights about your account",
    "instagram_basic": "See your profile information and media",
    "instagram_content_publish": "Publish posts for you",
    "instagram_manage_comments": "Read and reply to comments",
    "instagram_manage_insights": "See insights about your account",
    "instagram_manage_messages": "Read and send direct messages",
    "pages_show_list": "See the Facebook Pages you manage",
    "pages_read_engagement": "Read engagement on your Facebook Pages",
    "business_management": "Manage your business assets",
}


def describe_permission(scope: str) -> str:
    """What a scope lets the app do, in words a person can judge."""
    return PERMISSION_TEXT.get(scope, scope)


def connect_landing_page(request: Request, view: ConnectLanding) -> Response:
    """The page a connect link opens: app name, what will be asked, and a Continue button."""
    permissions = [(scope, describe_permission(scope)) for scope in view.permissions]
    context = {"view": view, "permissions": permissions}
    return service_state(request).pages.render(request, "connect/landing.html", context)


@dataclass(frozen=True, slots=True)
class OutcomePage:
    """A page that says how a connect attempt ended, with the status code the situation deserves."""

    template: str
    status_code: int = 200

    def __call__(self, request: Request, view: ConnectOutcome) -> Response:
        """Draw ``connect/{template}.html`` for ``view``."""
        return service_state(request).pages.render(
            request, f"connect/{self.template}.html", {"view": view}, status_code=self.status_code
        )


#: The account is connected; the person can close the tab.
connect_success_page = OutcomePage("success")
#: The person (or Meta) declined; nothing was stored. 403 tells monitors it did not work.
connect_denied_page = OutcomePage("denied", 403)
#: A personal account cannot be connected: how to switch to Business or Creator, then retry.
personal_account_page = OutcomePage("personal_account", 400)
#: A re-authorization link finished by another account (400): nothing stored, how to retry.
wrong_account_page = OutcomePage("wrong_account", 400)
#: The link is expired, revoked or already used (410 Gone): ask whoever sent it for a new one.
stale_link_page = OutcomePage("stale_link", 410)
#: Facebook's ``error_code=200``: the app is in development mode and this person has no role (403).
development_mode_page = OutcomePage("development_mode", 403)
#: A permission the sign-in needs was declined (403): which, why, and a link to ask again.
permissions_declined_page = OutcomePage("permissions_declined", 403)
