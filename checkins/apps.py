from django.apps import AppConfig


class CheckinsConfig(AppConfig):
    name = "checkins"
    verbose_name = "Check-ins"

    def ready(self) -> None:
        # The register cannot import checkins (imports point down); it calls these hooks.
        # The due dates are the register's (registry.services.dues); this app tells it which
        # ones a policy or tier change must leave alone (missed periods). An open check-in
        # outlives no custody or transfer (its code lasts minutes; confirming needs an active
        # offender), so release and transfer need no handler.
        from checkins import selectors
        from checkins.services import counter, notice_confirmation, schedule
        from registry import hooks

        hooks.register("checkin_dues_held", schedule.checkin_dues_held)
        hooks.register("timeline_entries", selectors.checkin_timeline_entries)
        hooks.register("counter_lookup_burst", counter.on_counter_lookup_burst)
        hooks.register(
            "notice_confirmation_requested",
            notice_confirmation.on_notice_confirmation_requested,
        )
