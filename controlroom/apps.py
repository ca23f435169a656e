from django.apps import AppConfig


class ControlroomConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "controlroom"
    verbose_name = "Control room"
