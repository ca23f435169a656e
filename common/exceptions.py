"""Application errors and the one handler that turns every error into the same 4xx body.

Body shape (every 4xx)::

    {"code": "validation_error", "message": "…", "fields": {"cnic": ["…"]}, "request_id": "…"}

``fields`` names nested fields by their flat path (``address.lat``): ``common.inputs``.
"""

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from common.inputs import error_fields
from common.request_context import current_request_id


class ApplicationError(Exception):
    """A rule said no. Services raise it; the handler maps it to ``status_code``."""

    status_code = status.HTTP_400_BAD_REQUEST
    code = "invalid"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status_code: int | None = None,
        fields: dict[str, list[str]] | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if status_code:
            self.status_code = status_code
        self.fields = fields or {}
        self.extra = extra or {}
        self.headers = headers or {}


class NotFound(ApplicationError):
    """Missing, or outside the caller's jurisdiction: the two are indistinguishable on purpose."""

    status_code = status.HTTP_404_NOT_FOUND
    code = "not_found"

    def __init__(self, message: str = "Not found.", **kwargs: Any) -> None:
        super().__init__(message, **kwargs)


class Conflict(ApplicationError):
    status_code = status.HTTP_409_CONFLICT
    code = "conflict"


class Forbidden(ApplicationError):
    status_code = status.HTTP_403_FORBIDDEN
    code = "permission_denied"


class RateLimited(ApplicationError):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int, **kwargs: Any) -> None:
        kwargs.setdefault("extra", {})["retry_after"] = retry_after
        kwargs.setdefault("headers", {})["Retry-After"] = str(retry_after)
        super().__init__(message, **kwargs)


def _flatten(detail: Any) -> list[str]:
    if isinstance(detail, list):
        out: list[str] = []
        for item in detail:
            out.extend(_flatten(item))
        return out
    if isinstance(detail, dict):
        return [f"{k}: {m}" for k, v in detail.items() for m in _flatten(v)]
    return [str(detail)]


def _body(code: str, message: str, fields: dict | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message, "fields": fields or {}}
    body.update(extra)
    body["request_id"] = current_request_id()
    return body


def _django_validation_fields(exc: DjangoValidationError) -> tuple[str, dict[str, list[str]]]:
    if hasattr(exc, "error_dict"):
        fields = {k: [str(m) for e in v for m in e.messages] for k, v in exc.error_dict.items()}
        non_field = fields.pop("__all__", [])
        message = non_field[0] if non_field else "Invalid input."
        return message, fields
    return "; ".join(exc.messages), {}


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    """Map every known error to the single error body; unknown errors stay 500 (and are logged)."""
    if isinstance(exc, ApplicationError):
        return Response(
            _body(exc.code, exc.message, exc.fields, **exc.extra),
            status=exc.status_code,
            headers=exc.headers,
        )
    if isinstance(exc, RequestDataTooBig | TooManyFieldsSent | TooManyFilesSent):
        return Response(
            _body("request_too_large", "The request body is larger than this server accepts."),
            status=400,
        )
    if isinstance(exc, DjangoValidationError):
        message, fields = _django_validation_fields(exc)
        return Response(_body("validation_error", message, fields), status=400)
    if isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf_exceptions.PermissionDenied()

    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, drf_exceptions.ValidationError):
        fields = error_fields(exc.detail)
        non_field = exc.detail.get("non_field_errors") if isinstance(exc.detail, dict) else None
        if non_field:
            message = str(non_field[0])
        elif fields:
            message = "Invalid input."
        else:
            message = "; ".join(_flatten(exc.detail)) or "Invalid input."
        response.data = _body("validation_error", message, fields)
        return response
    if isinstance(exc, drf_exceptions.APIException):
        code = exc.get_codes() if isinstance(exc.get_codes(), str) else exc.default_code
        extra: dict[str, Any] = {}
        if isinstance(exc, drf_exceptions.Throttled) and exc.wait is not None:
            extra["retry_after"] = int(exc.wait)
        response.data = _body(code, "; ".join(_flatten(exc.detail)), **extra)
    return response


def bad_request_view(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """``handler400``: what Django refuses before a view runs (a body over
    ``DATA_UPLOAD_MAX_MEMORY_SIZE`` read by a middleware, a disallowed host) gets the one
    error body in JSON too, not Django's HTML page."""
    if isinstance(exception, RequestDataTooBig | TooManyFieldsSent | TooManyFilesSent):
        body = _body("request_too_large", "The request body is larger than this server accepts.")
    else:
        body = _body("bad_request", "Bad request.")
    return JsonResponse(body, status=400)


def not_found_view(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """``handler404``: under ``/api/`` a path that names no endpoint (``/offenders/-1/``) gets
    the one error body in JSON; elsewhere (admin, web pages) Django's own page."""
    if request.path.startswith("/api/"):
        return JsonResponse(_body("not_found", "Not found."), status=404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def error_json(
    *, status: int, code: str, message: str, fields: dict[str, list[str]] | None = None
) -> JsonResponse:
    """The one error body from a plain Django view that answers JSON (not through DRF)."""
    return JsonResponse(_body(code, message, fields), status=status)
