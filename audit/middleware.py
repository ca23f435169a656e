"""Refused access to offender data is audited, in one place for every endpoint.

Every 403 and 404 answered by a view of an offender-data app becomes an audit event (the
attempted action, ``outcome`` denied or not_found, the object type and the id from the URL,
never a body or query value: those can hold a CNIC or a name). Keyed on the resolved view, so
no view has to remember it; a view that records its own refusals richer (the counter's CNIC
lookup) says so with ``audits_own_refusals = True``. Unknown URLs (no view) are not offender
data and are not recorded; anonymous callers get 401s, and failed sign-ins are audited
where they happen.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from audit.services import audit_refusal_record

# The URL namespaces (app_name) whose views serve offender data.
OFFENDER_DATA_NAMESPACES = frozenset(
    {"registry", "compliance", "mobile_api", "checkins", "geofence", "disclosures"}
)
REFUSED = {403: "denied", 404: "not_found"}


class RefusedAccessAuditMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        outcome = REFUSED.get(response.status_code)
        match = getattr(request, "resolver_match", None)
        if outcome is None or match is None or match.namespace not in OFFENDER_DATA_NAMESPACES:
            return response
        actor = getattr(request, "user", None)
        if actor is None or not getattr(actor, "is_authenticated", False):
            return response
        if getattr(getattr(match.func, "view_class", None), "audits_own_refusals", False):
            return response
        object_type, object_id = "", ""
        for name, value in match.kwargs.items():
            if name.endswith("_id"):  # path converters: ints, never a protected value
                object_type, object_id = name.removesuffix("_id"), str(value)[:64]
                break
        audit_refusal_record(
            actor=actor,
            method=request.method or "",
            outcome=outcome,
            object_type=object_type or match.url_name or "",
            object_id=object_id,
            view=f"{match.namespace}:{match.url_name}",
        )
        return response
