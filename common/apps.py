import datetime as dt

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

# DRF's messages that quote the rejected input ("\"{input}\" is not a valid choice."): what was
# refused may be a CNIC or a name typed in the wrong field, and a value the renderer cannot
# encode turned the 400 into a 500. Errors name the field and the rule, never the value.
_NO_ECHO = {
    ("fields", "ChoiceField", "invalid_choice"): _("Not one of the allowed values."),
    ("fields", "MultipleChoiceField", "invalid_choice"): _("Not one of the allowed values."),
    ("fields", "FilePathField", "invalid_choice"): _("Not one of the allowed paths."),
    ("relations", "PrimaryKeyRelatedField", "does_not_exist"): _("No such object."),
    ("relations", "SlugRelatedField", "does_not_exist"): _("No such object."),
}


def _refuse_booleans(float_field: type) -> None:
    """JSON ``true``/``false`` are not numbers, but DRF's FloatField takes ``float(True)``:
    an offender's ``lat``/``lon`` stored as 1.0/0.0 left the record with no station or beat,
    unsupervised. Every float input of the API refuses them (the one place for the rule)."""
    accept = float_field.to_internal_value

    def to_internal_value(self, data):  # noqa: ANN001, ANN202 - DRF's signature
        if isinstance(data, bool):
            self.fail("invalid")
        return accept(self, data)

    float_field.to_internal_value = to_internal_value


# Pakistan Standard Time as a fixed offset. Asia/Karachi before 1907 is local mean time
# (+04:28:12), which is not valid RFC 3339; every datetime the API writes is at +05:00 (the
# instant is the same; storage stays UTC).
PKT = dt.timezone(dt.timedelta(hours=5), "PKT")


def _fixed_offset(date_time_field: type) -> None:
    date_time_field.default_timezone = lambda self: PKT  # USE_TZ is always on here


class CommonConfig(AppConfig):
    name = "common"

    def ready(self) -> None:
        from rest_framework import fields, relations

        _refuse_booleans(fields.FloatField)
        _fixed_offset(fields.DateTimeField)

        modules = {"fields": fields, "relations": relations}
        for (module, class_name, key), message in _NO_ECHO.items():
            field_class = getattr(modules[module], class_name)
            # A copy per class: the dict is otherwise shared with the parent class.
            field_class.default_error_messages = {
                **field_class.default_error_messages,
                key: message,
            }
