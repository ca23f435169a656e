from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self) -> None:
        # Registers the bearer scheme with drf-spectacular (an extension registers on import).
        from accounts import schema  # noqa: F401
