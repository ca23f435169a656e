from django.apps import AppConfig


class PushConfig(AppConfig):
    name = "push"

    def ready(self) -> None:
        from accounts import hooks as accounts_hooks
        from audit import hooks as audit_hooks
        from push.alert_stream import ws_sign_in_ended
        from push.services import notify_npb_of_denial_burst

        audit_hooks.register("denial_burst", notify_npb_of_denial_burst)
        accounts_hooks.register("sign_in_ended", ws_sign_in_ended)
