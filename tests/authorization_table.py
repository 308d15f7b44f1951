"""Who may do what: every route of the hub × role × own/other organisation → expected outcome.

tests/test_authorization_matrix.py visits every route of the app as every role and compares
what happens with this table; a route of the app missing here fails the test (so a new route
must say who may use it), and so does a row naming a route the app does not have.

A row is ``"METHOD /path": "anonymous member coordinator officer admin"``: five outcomes, one
per role. Partner users (member, coordinator) belong to the "own" organisation. For a route
whose path names an organisation's thing (organisation, contact, user, token, campaign, item,
variant, submission, report, link), every role is checked twice — with the own
organisation's object and with the other organisation's — and an outcome ``a/b`` gives both
(``a`` for own, ``b`` for other); a single word holds for both. For tokens, "own" is the
caller's own API token and "other" another user's. A path that names an object inside
another (a campaign's item, variant or report; a tracked link's file) is checked a third
time, "mixed": the outer object the own organisation's, the inner one the other's. That cell
is not in the table: it must be 404 for everyone the own cell lets in (the inner object is not
in the outer one), and the own cell's login or 403 otherwise.

The outcomes:

- ``ok``      allowed. A GET: a 2xx, or a redirect that is not to the sign-in or agreement
              page. A POST/PUT/PATCH/DELETE is sent with a valid CSRF token (pages) or bearer
              token (API) and an empty or minimal body, so for these ``ok`` also covers
              400/409/413/415/422: the request got past authorisation and only then was its
              body (or the object's state) refused.
- ``login``   sign-in required: 401 under /api, a redirect to /login?next=… for pages.
- ``403``     forbidden: the caller is known and may not do this.
- ``404``     hidden: the hub does not admit that the object exists for this caller (another
              organisation's things), or the page is not for this kind of user.

``BODIES`` gives the minimal valid body of the routes whose refusal comes after the body is
read: with an empty body they would answer 422 before saying who may do it.
"""

from __future__ import annotations

from typing import Any

from tests.route_world import ROLES

TABLE: dict[str, str] = {
    # --- open to everyone: operations, documentation, static files ---------------------------
    "GET /healthz": "ok ok ok ok ok",
    "GET /readyz": "ok ok ok ok ok",
    "GET /metrics": "ok ok ok ok ok",  # this machine (loopback) only, or HUB_METRICS_TOKEN
    "GET /openapi.json": "ok ok ok ok ok",
    "GET /docs": "ok ok ok ok ok",
    "GET /docs/oauth2-redirect": "ok ok ok ok ok",
    "GET /static/{path}": "ok ok ok ok ok",
    "GET /favicon.ico": "ok ok ok ok ok",
    "GET /robots.txt": "ok ok ok ok ok",
    # --- the citizen: no account, no cookie --------------------------------------------------
    "GET /s/{code}": "ok ok ok ok ok",
    "GET /c/{code}": "ok ok ok ok ok",
    "GET /c/{code}/{language}": "ok ok ok ok ok",
    "GET /c/{code}/share": "ok ok ok ok ok",
    "POST /c/{code}/share": "ok ok ok ok ok",
    "GET /c/{code}/files/{variant_id}/{rendition}": "ok ok ok ok ok",
    "GET /d/{token}": "ok ok ok ok ok",  # a shared download link: the signed token decides
    # --- signing in: the link's token decides ------------------------------------------------
    "GET /login": "ok ok ok ok ok",
    "POST /login": "ok ok ok ok ok",
    "POST /logout": "ok ok ok ok ok",
    "POST /language": "ok ok ok ok ok",
    "POST /login/link": "ok ok ok ok ok",
    "GET /login/link/{token}": "ok ok ok ok ok",
    "POST /login/link/{token}": "ok ok ok ok ok",
    "GET /setup/{token}": "ok ok ok ok ok",
    "POST /setup/{token}": "ok ok ok ok ok",
    "GET /invitation/{token}": "ok ok ok ok ok",
    "POST /invitation/{token}": "ok ok ok ok ok",
    # --- every signed-in user -----------------------------------------------------------------
    "GET /": "login ok ok ok ok",
    "GET /account/tokens": "login ok ok ok ok",
    "POST /account/tokens": "login ok ok ok ok",
    "GET /account/tokens/{token_id}/revoke": "login ok/404 ok/404 ok/404 ok/404",
    "POST /account/tokens/{token_id}/revoke": "login ok/404 ok/404 ok/404 ok/404",
    "GET /api/v1/me": "login ok ok ok ok",
    "GET /api/v1/tokens": "login ok ok ok ok",
    "POST /api/v1/tokens": "login ok ok ok ok",
    "DELETE /api/v1/tokens/{token_id}": "login ok/404 ok/404 ok/404 ok/404",
    # --- users (admins); partners see their own organisation's people -------------------------
    "GET /users": "login 403 403 403 ok",
    "POST /users": "login 403 403 403 ok",
    "GET /users/{user_id}/disable": "login 403 403 403 ok",
    "POST /users/{user_id}/disable": "login 403 403 403 ok",
    "POST /users/{user_id}/enable": "login 403 403 403 ok",
    "GET /api/v1/users": "login ok ok ok ok",
    "POST /api/v1/users": "login 403 403 403 ok",
    "GET /api/v1/users/{user_id}": "login 404 ok/404 ok ok",
    "PATCH /api/v1/users/{user_id}": "login 404 403/404 403 ok",
    # --- partner organisations and their contact persons --------------------------------------
    "GET /partners": "login 403 403 ok ok",
    "GET /partners/new": "login 403 403 ok ok",
    "POST /partners/new": "login 403 403 ok ok",
    "GET /partners/{organisation_id}": "login 403/404 403/404 ok ok",
    "GET /partners/{organisation_id}/edit": "login 403/404 403/404 ok ok",
    "POST /partners/{organisation_id}/edit": "login 403/404 403/404 ok ok",
    "GET /partners/{organisation_id}/offboard": "login 403/404 403/404 ok ok",
    "POST /partners/{organisation_id}/offboard": "login 403/404 403/404 ok ok",
    "POST /partners/{organisation_id}/contacts": "login 403/404 403/404 ok ok",
    "GET /partners/{organisation_id}/impact": "login 403 403 ok ok",
    "GET /contacts/{contact_id}/remove": "login 404 ok/404 ok ok",
    "POST /contacts/{contact_id}/remove": "login 404 ok/404 ok ok",
    "GET /contacts/{contact_id}/erase": "login 404 403/404 403 ok",
    "POST /contacts/{contact_id}/erase": "login 404 403/404 403 ok",
    "POST /contacts/{contact_id}/invitation": "login 404 ok/404 ok ok",
    "GET /organisations/{organisation_id}/webhook/{action}": "login 403/404 ok/404 ok ok",
    "POST /organisations/{organisation_id}/webhook": "login 403/404 ok/404 ok ok",
    # The partner's own organisation: staff have none.
    "GET /organisation": "login ok ok 404 404",
    "GET /organisation/edit": "login 403 ok 404 404",
    "POST /organisation/edit": "login 403 ok 404 404",
    "POST /organisation/members": "login 403 ok 404 404",
    # Any contact person may accept it for the organisation (as when accepting an invitation).
    "GET /organisation/agreement": "login ok ok 404 404",
    "POST /organisation/agreement": "login ok ok 404 404",
    "GET /api/v1/organisations": "login ok ok ok ok",
    "POST /api/v1/organisations": "login 403 403 ok ok",
    "GET /api/v1/organisations/{organisation_id}": "login ok/404 ok/404 ok ok",
    "PATCH /api/v1/organisations/{organisation_id}": "login 403/404 ok/404 ok ok",
    "POST /api/v1/organisations/{organisation_id}/offboard": "login 403/404 403/404 ok ok",
    "GET /api/v1/organisations/{organisation_id}/contacts": "login ok/404 ok/404 ok ok",
    "POST /api/v1/organisations/{organisation_id}/contacts": "login 403/404 ok/404 ok ok",
    "GET /api/v1/organisations/{organisation_id}/webhook": "login 403/404 ok/404 ok ok",
    "PUT /api/v1/organisations/{organisation_id}/webhook": "login 403/404 ok/404 ok ok",
    "POST /api/v1/organisations/{organisation_id}/webhook/rotate-secret": (
        "login 403/404 ok/404 ok ok"
    ),
    "DELETE /api/v1/organisations/{organisation_id}/webhook": "login 403/404 ok/404 ok ok",
    "GET /api/v1/contacts/{contact_id}": "login 404 ok/404 ok ok",
    "PATCH /api/v1/contacts/{contact_id}": "login 404 ok/404 ok ok",
    "DELETE /api/v1/contacts/{contact_id}": "login 404 ok/404 ok ok",
    "POST /api/v1/contacts/{contact_id}/invitation": "login 404 ok/404 ok ok",
    "GET /api/v1/contacts/{contact_id}/export": "login 404 403/404 403 ok",
    "POST /api/v1/contacts/{contact_id}/erase": "login 404 403/404 403 ok",
    # --- areas, audiences, imports and exports (staff) ----------------------------------------
    "GET /areas": "login 403 403 ok ok",
    "POST /areas": "login 403 403 ok ok",
    "GET /areas/{area_id}": "login 403 403 ok ok",
    "POST /areas/{area_id}": "login 403 403 ok ok",
    "POST /areas/{area_id}/uptake": "login 403 403 ok ok",
    "GET /api/v1/areas": "login ok ok ok ok",
    "POST /api/v1/areas": "login 403 403 ok ok",
    "GET /api/v1/areas/{area_id}": "login ok ok ok ok",
    "PATCH /api/v1/areas/{area_id}": "login 403 403 ok ok",
    "GET /api/v1/areas/{area_id}/uptake": "login ok ok ok ok",
    "PUT /api/v1/areas/{area_id}/uptake": "login 403 403 ok ok",
    "GET /audiences": "login 403 403 ok ok",
    "POST /audiences": "login 403 403 ok ok",
    "GET /audiences/{audience_id}/delete": "login 403 403 ok ok",
    "POST /audiences/{audience_id}/delete": "login 403 403 ok ok",
    "POST /api/v1/audiences/resolve": "login 403 403 ok ok",
    "GET /api/v1/audiences": "login 403 403 ok ok",
    "POST /api/v1/audiences": "login 403 403 ok ok",
    "GET /api/v1/audiences/{audience_id}": "login 403 403 ok ok",
    "GET /api/v1/audiences/{audience_id}/resolve": "login 403 403 ok ok",
    "PUT /api/v1/audiences/{audience_id}": "login 403 403 ok ok",
    "DELETE /api/v1/audiences/{audience_id}": "login 403 403 ok ok",
    "GET /imports": "login 403 403 ok ok",
    "POST /imports/{fmt}": "login 403 403 ok ok",
    "POST /imports/{fmt}/commit": "login 403 403 ok ok",
    "POST /api/v1/imports/partners": "login 403 403 ok ok",
    "POST /api/v1/imports/areas": "login 403 403 ok ok",
    "GET /api/v1/exports/partners.csv": "login 403 403 ok ok",
    "GET /api/v1/exports/areas.csv": "login 403 403 ok ok",
    # --- campaigns: officers compose; partners see what was published to them ----------------
    "GET /campaigns": "login 403 403 ok ok",
    "GET /campaigns/new": "login 403 403 ok ok",
    "POST /campaigns/new": "login 403 403 ok ok",
    "GET /campaigns/{campaign_id}": "login 403 403 ok ok",
    "GET /campaigns/{campaign_id}/edit": "login 403 403 ok ok",
    "POST /campaigns/{campaign_id}/edit": "login 403 403 ok ok",
    "GET /campaigns/{campaign_id}/status/{action}": "login 403 403 ok ok",
    "POST /campaigns/{campaign_id}/status": "login 403 403 ok ok",
    "GET /campaigns/{campaign_id}/preview": "login 403 403 ok ok",
    "GET /campaigns/{campaign_id}/summary": "login 403 403 ok ok",
    "POST /campaigns/{campaign_id}/items": "login 403 403 ok ok",
    "GET /campaigns/{campaign_id}/items/{item_id}/edit": "login 403 403 ok ok",
    "POST /campaigns/{campaign_id}/items/{item_id}/edit": "login 403 403 ok ok",
    "GET /campaigns/{campaign_id}/items/{item_id}/delete": "login 403 403 ok ok",
    "POST /campaigns/{campaign_id}/items/{item_id}/delete": "login 403 403 ok ok",
    "POST /campaigns/{campaign_id}/items/{item_id}/variants": "login 403 403 ok ok",
    "GET /campaigns/{campaign_id}/items/{item_id}/variants/{language}": "login 403 403 ok ok",
    "GET /campaigns/{campaign_id}/items/{item_id}/variants/{language}/delete": (
        "login 403 403 ok ok"
    ),
    "POST /campaigns/{campaign_id}/items/{item_id}/variants/{language}/delete": (
        "login 403 403 ok ok"
    ),
    "POST /campaigns/{campaign_id}/items/{item_id}/files": "login 403 403 ok ok",
    "GET /api/v1/campaigns": "login ok ok ok ok",
    "POST /api/v1/campaigns": "login 403 403 ok ok",
    "GET /api/v1/campaigns/{campaign_id}": "login ok/404 ok/404 ok ok",
    "PATCH /api/v1/campaigns/{campaign_id}": "login 403/404 403/404 ok ok",
    "POST /api/v1/campaigns/{campaign_id}/schedule": "login 403/404 403/404 ok ok",
    "POST /api/v1/campaigns/{campaign_id}/unschedule": "login 403/404 403/404 ok ok",
    "POST /api/v1/campaigns/{campaign_id}/publish": "login 403/404 403/404 ok ok",
    "POST /api/v1/campaigns/{campaign_id}/close": "login 403/404 403/404 ok ok",
    "POST /api/v1/campaigns/{campaign_id}/archive": "login 403/404 403/404 ok ok",
    "GET /api/v1/campaigns/{campaign_id}/coverage": "login 403/404 403/404 ok ok",
    "GET /api/v1/campaigns/{campaign_id}/items": "login ok/404 ok/404 ok ok",
    "POST /api/v1/campaigns/{campaign_id}/items": "login 403/404 403/404 ok ok",
    "GET /api/v1/items/{item_id}": "login ok/404 ok/404 ok ok",
    "PATCH /api/v1/items/{item_id}": "login 403/404 403/404 ok ok",
    "DELETE /api/v1/items/{item_id}": "login 403/404 403/404 ok ok",
    "PUT /api/v1/items/{item_id}/variants/{language}": "login 403/404 403/404 ok ok",
    "DELETE /api/v1/items/{item_id}/variants/{language}": "login 403/404 403/404 ok ok",
    # --- materials and downloads --------------------------------------------------------------
    "POST /api/v1/materials": "login 403 403 ok ok",
    "GET /api/v1/materials/{material_id}": "login 403 403 ok ok",
    "GET /api/v1/materials/{material_id}/download": "login 403 403 ok ok",
    "HEAD /api/v1/materials/{material_id}/download": "login 403 403 ok ok",
    "GET /api/v1/variants/{variant_id}/download": "login ok/404 ok/404 ok ok",
    "HEAD /api/v1/variants/{variant_id}/download": "login ok/404 ok/404 ok ok",
    "POST /api/v1/variants/{variant_id}/share": "login ok/404 ok/404 ok ok",
    # --- the partner's portal: the kit, sharing, forwarding, tracked links --------------------
    "GET /portal/campaigns": "login ok ok ok ok",
    "GET /portal/campaigns/{campaign_id}": "login ok/404 ok/404 ok ok",
    "POST /portal/campaigns/{campaign_id}/variants/{variant_id}/share": (
        "login ok/404 ok/404 403 403"
    ),
    "GET /portal/campaigns/{campaign_id}/items/{item_id}": "login ok/404 ok/404 ok ok",
    "GET /portal/campaigns/{campaign_id}/variants/{variant_id}/forward": (
        "login ok/404 ok/404 403 403"
    ),
    "POST /portal/campaigns/{campaign_id}/variants/{variant_id}/links": (
        "login ok/404 ok/404 403 403"
    ),
    "POST /portal/campaigns/{campaign_id}/variants/{variant_id}/print": (
        "login ok/404 ok/404 403 403"
    ),
    "GET /portal/links/{link_id}/print": "login ok/404 ok/404 ok ok",
    "GET /portal/links/{link_id}/qr.{fmt}": "login ok/404 ok/404 ok ok",
    "GET /portal/impact": "login ok ok 404 404",
    "POST /api/v1/campaigns/{campaign_id}/links": "login ok/404 ok/404 403 403",
    "GET /api/v1/campaigns/{campaign_id}/links": "login ok/404 ok/404 ok ok",
    "GET /api/v1/links/{link_id}": "login ok/404 ok/404 ok ok",
    "GET /api/v1/links/{link_id}/qr.{fmt}": "login ok/404 ok/404 ok ok",
    # --- partners' own films and the officers' review -----------------------------------------
    "GET /portal/campaigns/{campaign_id}/items/{item_id}/films/new": "login ok/404 ok/404 403 403",
    "POST /portal/campaigns/{campaign_id}/items/{item_id}/films": "login ok/404 ok/404 403 403",
    "GET /reviews": "login 403 403 ok ok",
    "GET /reviews/{submission_id}": "login 403 403 ok ok",
    "POST /reviews/{submission_id}/approve": "login 403 403 ok ok",
    "POST /reviews/{submission_id}/reject": "login 403 403 ok ok",
    "POST /api/v1/submissions": "login ok ok 403 403",
    "GET /api/v1/submissions": "login ok ok ok ok",
    "GET /api/v1/submissions/{submission_id}": "login ok/404 ok/404 ok ok",
    "POST /api/v1/submissions/{submission_id}/approve": "login 403 403 ok ok",
    "POST /api/v1/submissions/{submission_id}/reject": "login 403 403 ok ok",
    # --- sending (officers) -------------------------------------------------------------------
    "GET /campaigns/{campaign_id}/sending": "login 403 403 ok ok",
    "GET /campaigns/{campaign_id}/sending/cancel": "login 403 403 ok ok",
    "POST /campaigns/{campaign_id}/sending/{action}": "login 403 403 ok ok",
    "GET /api/v1/campaigns/{campaign_id}/sending": "login 403/404 403/404 ok ok",
    "POST /api/v1/campaigns/{campaign_id}/sending/pause": "login 403/404 403/404 ok ok",
    "POST /api/v1/campaigns/{campaign_id}/sending/resume": "login 403/404 403/404 ok ok",
    "POST /api/v1/campaigns/{campaign_id}/sending/retry-failed": "login 403/404 403/404 ok ok",
    "POST /api/v1/campaigns/{campaign_id}/sending/cancel": "login 403/404 403/404 ok ok",
    "GET /api/v1/campaigns/{campaign_id}/deliveries": "login 403/404 403/404 ok ok",
    "GET /api/v1/campaigns/{campaign_id}/deliveries.csv": "login 403/404 403/404 ok ok",
    # --- forward reports: partners report and correct; officers read and flag -----------------
    "GET /portal/campaigns/{campaign_id}/reports": "login ok/404 ok/404 ok ok",
    "GET /portal/campaigns/{campaign_id}/reports/new": "login ok/404 ok/404 403 403",
    "POST /portal/campaigns/{campaign_id}/reports/new": "login ok/404 ok/404 403 403",
    "GET /portal/reports/{report_id}/edit": "login ok/404 ok/404 403 403",
    "POST /portal/reports/{report_id}/edit": "login ok/404 ok/404 403 403",
    "GET /portal/reports/{report_id}/evidence": "login ok/404 ok/404 ok ok",
    "GET /campaigns/{campaign_id}/reports": "login 403 403 ok ok",
    "GET /campaigns/{campaign_id}/reports/{report_id}": "login 403 403 ok ok",
    "POST /campaigns/{campaign_id}/reports/{report_id}/flag": "login 403 403 ok ok",
    "POST /campaigns/{campaign_id}/reports/{report_id}/unflag": "login 403 403 ok ok",
    "POST /api/v1/campaigns/{campaign_id}/reports": "login ok/404 ok/404 403 403",
    "GET /api/v1/campaigns/{campaign_id}/reports": "login ok/404 ok/404 ok ok",
    "GET /api/v1/reports/{report_id}": "login ok/404 ok/404 ok ok",
    "PATCH /api/v1/reports/{report_id}": "login ok/404 ok/404 403 403",
    "DELETE /api/v1/reports/{report_id}": "login ok/404 ok/404 403 403",
    "PUT /api/v1/reports/{report_id}/evidence": "login ok/404 ok/404 403 403",
    "DELETE /api/v1/reports/{report_id}/evidence": "login ok/404 ok/404 403 403",
    "GET /api/v1/reports/{report_id}/evidence": "login ok/404 ok/404 ok ok",
    "POST /api/v1/reports/{report_id}/flag": "login 403/404 403/404 ok ok",
    "DELETE /api/v1/reports/{report_id}/flag": "login 403/404 403/404 ok ok",
    # --- reach (staff) ------------------------------------------------------------------------
    "GET /reports": "login 403 403 ok ok",
    "GET /reports/equity": "login 403 403 ok ok",
    "GET /api/v1/reach": "login 403 403 ok ok",
    "GET /api/v1/reach/funnel": "login 403 403 ok ok",
    "GET /api/v1/reach/equity": "login 403 403 ok ok",
    # --- the audit log (admins) ---------------------------------------------------------------
    "GET /audit": "login 403 403 403 ok",
    "GET /api/v1/audit": "login 403 403 403 ok",
}


# Minimal valid bodies, for routes that read the body before they refuse a role, or whose
# form carries a token of its own. "{name}" is filled like a path parameter (a whole "{x_id}"
# becomes a number; "{today}", "{new_email}", "{share_token}", "{import_token}" as named).
BODIES: dict[str, Any] = {
    "POST /api/v1/organisations/{organisation_id}/contacts": {"email": "{new_email}"},
    "POST /api/v1/campaigns/{campaign_id}/links": {
        "item_id": "{item_id}",
        "language": "da",
        "channel": "whatsapp",
    },
    "POST /api/v1/campaigns/{campaign_id}/reports": {
        "kind": "forward",
        "item_id": "{item_id}",
        "language": "da",
        "channel": "whatsapp",
        "occurred_on": "{today}",
        "audience_estimate": 10,
    },
    "POST /c/{code}/share": {"token": "{share_token}"},
    "POST /imports/{fmt}/commit": {"token": "{import_token}"},
}

# Query strings a route needs to answer at all (filled like BODIES).
QUERIES: dict[str, str] = {
    "GET /api/v1/reach/funnel": "campaign_id={campaign_id}",
}


def expected(key: str, role_index: int, scope: str) -> str:
    """The expected outcome of one cell."""
    cell = TABLE[key].split()[role_index]
    own, _, other = cell.partition("/")
    return other if scope == "other" and other else own


def allowed_roles(key: str, scope: str = "own") -> list[str]:
    """The roles the table lets through ``key`` (for the own organisation's objects)."""
    return [role for i, role in enumerate(ROLES) if expected(key, i, scope) == "ok"]
