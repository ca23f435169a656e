"""Cursor pagination for every list: stable under inserts, cheap on large tables.

A cursor is opaque to clients but not tamper-proof: it is base64 of ``o=…&r=…&p=…``, and the
position ``p`` goes straight into a ``WHERE ordering_field < p``. A forged or corrupted cursor
is bad input, so it is a 400 on the ``cursor`` field like any other bad query parameter:
undecodable cursors (DRF's own 404) and positions the ordering field cannot hold (text for an
id, a malformed timestamp, a NUL byte PostgreSQL refuses) alike, checked before any query runs.
"""

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import Cursor
from rest_framework.pagination import CursorPagination as _CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response

INVALID_CURSOR = "Invalid cursor."


def _ordering_field(queryset: models.QuerySet, name: str) -> models.Field | None:
    """The model field, or the annotation's output field, a list is ordered by."""
    annotation = queryset.query.annotations.get(name)
    if annotation is not None:
        return annotation.output_field
    try:
        return queryset.model._meta.get_field(name)
    except FieldDoesNotExist:
        return None


def _position_is_valid(field: models.Field | None, position: str) -> bool:
    if "\x00" in position:  # PostgreSQL refuses NUL in any text parameter
        return False
    if field is None:
        return True
    try:
        field.get_prep_value(field.to_python(position))
    except (DjangoValidationError, ValueError, TypeError, OverflowError):
        return False
    return True


class CursorPagination(_CursorPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = "-id"
    invalid_cursor_message = INVALID_CURSOR

    def get_page_size(self, request: Request) -> int:
        """Strict: a ``page_size`` that is not a whole number from 1 to ``max_page_size`` is a
        400 on ``page_size`` (DRF would quietly use the default for ``null`` or ``1e-294``)."""
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= self.max_page_size:
            raise ValidationError(
                {self.page_size_query_param: [f"A whole number from 1 to {self.max_page_size}."]}
            )
        return int(raw)

    def decode_cursor(self, request: Request) -> Cursor | None:
        try:
            return super().decode_cursor(request)
        except NotFound as exc:
            raise ValidationError({self.cursor_query_param: [INVALID_CURSOR]}) from exc

    def paginate_queryset(
        self, queryset: models.QuerySet, request: Request, view: Any = None
    ) -> list | None:
        cursor = self.decode_cursor(request)
        if cursor is not None and cursor.position is not None:
            ordering = self.get_ordering(request, queryset, view)
            first = ordering[0] if isinstance(ordering, list | tuple) else ordering
            field = _ordering_field(queryset, first.lstrip("-"))
            if not _position_is_valid(field, cursor.position):
                raise ValidationError({self.cursor_query_param: [INVALID_CURSOR]})
        return super().paginate_queryset(queryset, request, view)


@dataclass(frozen=True)
class Page:
    """One page of a list: its rows, and the response wrapping their serialised form in the
    page envelope (``next``, ``previous``, ``results``)."""

    rows: list[Any]
    paginator: _CursorPagination

    def response(self, data: Any) -> Response:
        return self.paginator.get_paginated_response(data)


def paginate(
    queryset: models.QuerySet,
    *,
    request: Request,
    view: Any,
    paginator: _CursorPagination | None = None,
) -> Page:
    """The one way a view pages a list: the view's ``pagination_class`` (or ``paginator``,
    when it depends on the request) applied to the queryset. The caller reads ``rows`` (to
    serialise them, to audit how many were shown) and answers with ``response(data)``."""
    paginator = paginator or view.pagination_class()
    rows = paginator.paginate_queryset(queryset, request, view=view)
    return Page(rows=list(rows or []), paginator=paginator)
