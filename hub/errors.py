"""The hub's error tree. Services raise these; `hub.main` renders them once, as
``application/problem+json`` under ``/api`` and as pages elsewhere."""

from __future__ import annotations

from dataclasses import dataclass

from hub.i18n import lazy


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class HubError(Exception):
    status = 500
    slug = "internal-error"
    title = lazy("Internal error")

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = errors or []
        self.headers = headers or {}


class InvalidInput(HubError):
    status = 422
    slug = "invalid-input"
    title = lazy("Invalid input")


class BadRequest(HubError):
    status = 400
    slug = "bad-request"
    title = lazy("Bad request")


class NotAuthenticated(HubError):
    status = 401
    slug = "not-authenticated"
    title = lazy("Sign-in required")


class Forbidden(HubError):
    status = 403
    slug = "forbidden"
    title = lazy("Forbidden")


class CsrfFailed(Forbidden):
    slug = "csrf-failed"
    title = lazy("The form has expired")


class AgreementRequired(Forbidden):
    """A partner's organisation has not accepted the current data-processing agreement."""

    slug = "agreement-required"
    title = lazy("Accept the data-processing agreement first")


class NotFound(HubError):
    status = 404
    slug = "not-found"
    title = lazy("Not found")


class Conflict(HubError):
    status = 409
    slug = "conflict"
    title = lazy("Conflict")


class PayloadTooLarge(HubError):
    status = 413
    slug = "payload-too-large"
    title = lazy("Payload too large")


class InsufficientStorage(HubError):
    status = 507
    slug = "insufficient-storage"
    title = lazy("Not enough storage")


class TooManyRequests(HubError):
    status = 429
    slug = "too-many-requests"
    title = lazy("Too many requests")


class ServiceUnavailable(HubError):
    status = 503
    slug = "service-unavailable"
    title = lazy("Service unavailable")
