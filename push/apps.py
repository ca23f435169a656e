from django.apps import AppConfig


class PushConfig(AppConfig):
    name = "push"

    def ready(self) -> None:
        from audit import hooks as audit_hooks
        from push.services import notify_npb_of_denial_burst

        audit_hooks.register("denial_burst", notify_npb_of_denial_burst)
