"""The HTML a person (or Chromium) sees: the consent page and Meta's error pages."""

from __future__ import annotations

from html import escape

from starlette.responses import HTMLResponse

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;background:#fafafa;margin:0;color:#262626}
main{max-width:420px;margin:48px auto;background:#fff;border:1px solid #dbdbdb;border-radius:8px;padding:28px}
@media (max-width:480px){main{margin:0;border-width:0 0 1px;border-radius:0;padding:20px}}
h1{font-size:20px;margin:0 0 4px} .host{color:#595959;font-size:13px;margin:0 0 20px}
ul{padding-left:20px} li{margin:4px 0;font-family:ui-monospace,monospace;font-size:13px}
label{display:block;margin:16px 0 6px;font-weight:600} label.perm{display:inline;margin:0;font-weight:400}
li input{width:18px;height:18px;vertical-align:middle;accent-color:#0064d1}
select{width:100%;padding:8px;font-size:15px;color:#262626;background:#fff;border:1px solid #767676;
border-radius:6px}
.buttons{display:flex;gap:12px;margin-top:24px} button{flex:1;padding:10px;font-size:15px;border-radius:6px;
border:1px solid #767676;background:#fff;color:#262626;cursor:pointer}
#allow{background:#0064d1;color:#fff;border-color:#0064d1;font-weight:600}
:focus-visible{outline:3px solid #1a3f94;outline-offset:2px}
.error{background:#fdecea;border:1px solid #b3261e;color:#8c1d18;padding:10px;border-radius:6px;margin:12px 0}
.note{color:#595959;font-size:13px;margin-top:20px}
@media (forced-colors:active){#allow{border:2px solid ButtonText}}
"""


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    html = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{escape(title, quote=False)}</title>"
        f"<meta name='viewport' content='width=device-width,initial-scale=1'><style>{_STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>"
    )
    return HTMLResponse(html, status_code=status)


def message_page(title: str, message: str, status: int = 400) -> HTMLResponse:
    """A plain error page, the way Meta's dialogs report a bad request."""
    return _page(
        title,
        f"<h1>{escape(title, quote=False)}</h1><p class='error'>{escape(message, quote=False)}</p>",
        status,
    )


def consent_page(
    *,
    product: str,
    app_name: str,
    host: str,
    accounts: list[tuple[str, str]],
    selected: str | None,
    scopes: list[str],
    error: str | None = None,
    optional: bool = False,
) -> HTMLResponse:
    """The consent dialog: app name, account picker, requested permissions, Allow and Cancel.

    The form posts back to the same URL (query intact) with ``emulator_account`` and
    ``emulator_decision``, the same names the non-browser shortcut takes. With ``optional``
    (Facebook Login without a configuration) each permission is a ticked checkbox the person may
    untick; the form then sends ``emulator_offered`` and one ``emulator_grant`` per kept permission.
    """
    brand = "Instagram" if product == "instagram" else "Facebook"
    options = "".join(
        f"<option value='{escape(value)}'{' selected' if value == selected else ''}>{escape(label)}</option>"
        for value, label in accounts
    )
    if optional:
        perms = "".join(
            f"<li><input type='checkbox' name='emulator_grant' value='{escape(scope)}' "
            f"id='perm-{escape(scope)}' checked> <label class='perm' for='perm-{escape(scope)}'>"
            f"{escape(scope)}</label></li>"
            for scope in scopes
        )
        perms_note = " Untick any you do not want to grant."
        offered = f"<input type='hidden' name='emulator_offered' value='{escape(','.join(scopes))}'>"
    else:
        perms = "".join(f"<li>{escape(scope)}</li>" for scope in scopes)
        perms_note = offered = ""
    problem = f"<p class='error' id='error' role='alert'>{escape(error)}</p>" if error else ""
    invalid = " aria-invalid='true' aria-describedby='error'" if error else ""
    body = f"""
<h1 id='title'>{escape(app_name)} wants to access your {brand} account</h1>
<p class='host'>{escape(host)} · Meta emulator (igtoken)</p>
{problem}
<form method='post' action='' id='consent'>
  <label for='account'>Continue as</label>
  <select name='emulator_account' id='account'{invalid}>{options}</select>
  <p id='permissions-title'>{escape(app_name)} is requesting these permissions:{perms_note}</p>
  <ul id='permissions' aria-labelledby='permissions-title'>{perms}</ul>{offered}
  <div class='buttons'>
    <button type='submit' name='emulator_decision' value='deny' id='cancel'>Cancel</button>
    <button type='submit' name='emulator_decision' value='approve' id='allow'>Allow</button>
  </div>
</form>
<p class='note'>No password is asked: this is a local emulator of {brand} Login.</p>
"""
    return _page(f"{brand} · {app_name}", body)
