"""Dates and datetimes the API accepts: years 1900 to 2200.

Python's ``date``/``datetime`` span years 1 to 9999, but arithmetic near the ends (a deadline
some days before ``0001-01-01``, a time-zone shift of ``0001-01-01T00:00``) overflows, and
such a value is never meaningful in the register. Serializer fields of every API that takes a
date use these fields, so an out-of-range value is a 400 on the field instead of a 500.
"""

from datetime import date, datetime
from typing import Any

from rest_framework import serializers

MIN_YEAR = 1900
MAX_YEAR = 2200
OUT_OF_RANGE = f"Must be between the years {MIN_YEAR} and {MAX_YEAR}."


def validate_supported_year(value: date | datetime | None) -> None:
    """Raises a field ``ValidationError`` for a date or datetime outside years 1900..2200."""
    if value is not None and not MIN_YEAR <= value.year <= MAX_YEAR:
        raise serializers.ValidationError(OUT_OF_RANGE, code="out_of_range")


class BoundedDateField(serializers.DateField):
    """A ``DateField`` limited to years 1900..2200."""

    def to_internal_value(self, value: Any) -> date:
        parsed = super().to_internal_value(value)
        validate_supported_year(parsed)
        return parsed


class BoundedDateTimeField(serializers.DateTimeField):
    """A ``DateTimeField`` limited to years 1900..2200 (checked before the time-zone shift,
    which is where an extreme value overflows)."""

    def enforce_timezone(self, value: datetime) -> datetime:
        validate_supported_year(value)
        try:
            return super().enforce_timezone(value)
        except OverflowError as exc:  # pragma: no cover - the year check comes first
            raise serializers.ValidationError(OUT_OF_RANGE, code="out_of_range") from exc

    def to_internal_value(self, value: Any) -> datetime:
        parsed = super().to_internal_value(value)
        validate_supported_year(parsed)
        return parsed
