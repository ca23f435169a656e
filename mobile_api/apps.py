from django.apps import AppConfig


class MobileApiConfig(AppConfig):
    name = "mobile_api"
    verbose_name = "Field verification"

    def ready(self) -> None:
        # The register cannot import this app (imports point down); it calls these hooks.
        from mobile_api import selectors
        from mobile_api.services import tasks as task_services
        from registry import hooks

        hooks.register("offender_released", task_services.on_offender_released)
        hooks.register("address_changed", task_services.on_address_changed)
        hooks.register("offender_transferred", task_services.on_offender_transferred)
        hooks.register("reporting_policy_changed", task_services.on_reporting_policy_changed)
        hooks.register("beat_offender_ids", selectors.beat_offender_ids)
        hooks.register("timeline_entries", selectors.visit_timeline_entries)
