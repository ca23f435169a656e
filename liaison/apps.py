from django.apps import AppConfig


class LiaisonConfig(AppConfig):
    """The register talking to the people it concerns (issue 16): the offender's receipts for
    notices, hand-overs between districts and stations, travel passed on, the end of
    registration. It sits beside checkins (it imports registry and push, never checkins)."""

    name = "liaison"
    verbose_name = "Liaison"

    def ready(self) -> None:
        # The register cannot import this app (imports point down); it calls these hooks.
        from liaison import services
        from registry import hooks

        hooks.register("notice_filed", services.on_notice_filed)
        hooks.register("supervision_moved", services.on_supervision_moved)
        hooks.register("offender_released", services.on_offender_released)
        hooks.register("travel_acknowledged", services.on_travel_acknowledged)
        hooks.register("travel_cancelled", services.on_travel_cancelled)
