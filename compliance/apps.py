from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    name = "compliance"

    def ready(self) -> None:
        # The register cannot import compliance (imports point down); it calls these hooks.
        # Importing the services also registers the procrastinate tasks in compliance.jobs.
        from compliance import selectors, services
        from registry import hooks

        hooks.register("notice_late", services.late_notice_violation_raise)
        hooks.register("timeline_entries", selectors.violation_timeline_entries)
