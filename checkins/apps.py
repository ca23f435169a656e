from django.apps import AppConfig


class CheckinsConfig(AppConfig):
    name = "checkins"
    verbose_name = "Check-ins"

    def ready(self) -> None:
        # The register cannot import checkins (imports point down); it calls these hooks.
        # The release needs no handler: the register sets the first due date by the same rule
        # this app applies afterwards (services.schedule), and an open check-in outlives no
        # custody or transfer (its code lasts minutes; confirming needs an active offender).
        from checkins import selectors
        from checkins.services import counter, notice_confirmation, schedule
        from registry import hooks

        hooks.register("reporting_policy_changed", schedule.reporting_policy_changed)
        hooks.register("timeline_entries", selectors.checkin_timeline_entries)
        hooks.register("counter_lookup_burst", counter.on_counter_lookup_burst)
        hooks.register(
            "notice_confirmation_requested",
            notice_confirmation.on_notice_confirmation_requested,
        )
