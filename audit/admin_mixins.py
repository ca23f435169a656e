"""Audited reads in the Django admin, for the admin modules of ``audit`` and the apps above it.

Kept out of ``common/admin.py`` because it records audit events, and ``common`` sits below
``audit`` (``ARCHITECTURE.md``): this way every import still points down.
"""

from typing import Any

from django.contrib.admin import SimpleListFilter
from django.contrib.admin.views.main import ALL_VAR, ORDER_VAR, PAGE_VAR, SEARCH_VAR
from django.db.models.constants import LOOKUP_SEP
from django.http import HttpRequest, HttpResponse

from audit.services import audit_read


def _was_shown(request: HttpRequest, response: HttpResponse) -> bool:
    # Refusals raise before a response exists, and unknown objects or lookups redirect; so a
    # GET answered 200 is a page of records that the user has seen.
    return request.method == "GET" and response.status_code == 200


# Paging and ordering: their values are numbers chosen by the admin's own links.
_PAGING_PARAMS = frozenset({PAGE_VAR, ORDER_VAR, ALL_VAR})


class AuditedReadAdminMixin:
    """Records a ``read`` of ``audit_object_type`` when the list or a change page is shown.

    The list can be filtered only through the admin's own ``list_filter`` (and
    ``date_hierarchy``): any other lookup in the query string (``?cnic=…``,
    ``?full_name__icontains=…``) is refused by ``lookup_allowed``, which Django answers with
    400 (``DisallowedModelAdminLookup``) before anything is shown or recorded. The audit event
    keeps the values of those filter lookups and of the paging/ordering parameters only; of
    any other parameter only its name. Of the free-text search box only whether it was used is
    kept, never what was typed (a name, a CNIC).
    """

    audit_object_type: str
    audit_purpose: str = ""

    def changelist_view(
        self, request: HttpRequest, extra_context: dict | None = None
    ) -> HttpResponse:
        # A mixin for ModelAdmin: the method is on the admin class that follows it in the MRO,
        # which the checker, seeing only ``object`` above the mixin, cannot know (here and
        # in the three ignores below).
        response = super().changelist_view(request, extra_context)  # type: ignore[misc]
        if _was_shown(request, response):
            self._audit_read(
                request,
                details=self._audit_list_details(request),
            )
        return response

    def _filter_paths(self, request: HttpRequest) -> set[str]:
        """The field paths (or parameter names) of the admin's own list filters."""
        paths: set[str] = set()
        for item in self.get_list_filter(request):  # type: ignore[attr-defined]
            if isinstance(item, type) and issubclass(item, SimpleListFilter):
                paths.add(item.parameter_name)
            elif isinstance(item, (list, tuple)):
                paths.add(item[0])
            elif isinstance(item, str):
                paths.add(item)
        date_hierarchy = getattr(self, "date_hierarchy", None)
        if date_hierarchy:
            paths.add(date_hierarchy)
        return paths

    def _is_filter_lookup(self, request: HttpRequest, lookup: str) -> bool:
        return any(
            lookup == path or lookup.startswith(path + LOOKUP_SEP)
            for path in self._filter_paths(request)
        )

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        # Only the list filters' own lookups: a lookup on any other column (a name, the CNIC
        # column, a related record) would let the query string search protected data, and put
        # what was searched for into URLs and logs.
        if request is None or not self._is_filter_lookup(request, lookup):
            return False
        return super().lookup_allowed(lookup, value, request)  # type: ignore[misc]

    def _audit_list_details(self, request: HttpRequest) -> dict[str, Any]:
        filters: dict[str, str] = {}
        other: set[str] = set()
        for key, value in request.GET.items():
            if key == SEARCH_VAR:
                continue
            if key in _PAGING_PARAMS or self._is_filter_lookup(request, key):
                filters[key] = value
            else:
                other.add(key)
        details: dict[str, Any] = {
            "filters": filters,
            "searched": bool(request.GET.get(SEARCH_VAR)),
        }
        if other:
            details["other_params"] = sorted(other)
        return details

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> HttpResponse:
        response = super().change_view(request, object_id, form_url, extra_context)  # type: ignore[misc]
        if _was_shown(request, response):
            self._audit_read(request, object_id=object_id)
        return response

    def _audit_read(
        self, request: HttpRequest, *, object_id: str = "", details: dict[str, Any] | None = None
    ) -> None:
        audit_read(
            actor=request.user,
            object_type=self.audit_object_type,
            object_id=object_id,
            purpose=self.audit_purpose,
            details={"via": "admin", **(details or {})},
        )
