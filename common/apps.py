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


class CommonConfig(AppConfig):
    name = "common"

    def ready(self) -> None:
        from rest_framework import fields, relations

        modules = {"fields": fields, "relations": relations}
        for (module, class_name, key), message in _NO_ECHO.items():
            field_class = getattr(modules[module], class_name)
            # A copy per class: the dict is otherwise shared with the parent class.
            field_class.default_error_messages = {
                **field_class.default_error_messages,
                key: message,
            }
