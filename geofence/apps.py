from django.apps import AppConfig


class GeofenceConfig(AppConfig):
    name = "geofence"
    verbose_name = "Geofences"

    def ready(self) -> None:
        # The register cannot import geofence (imports point down); it calls these hooks when
        # a travel notice is acknowledged, cancelled or closed on return.
        from geofence import schema  # noqa: F401 - registers the credential scheme
        from geofence.services import travel
        from registry import hooks

        hooks.register("travel_acknowledged", travel.travel_window_open)
        hooks.register("travel_cancelled", travel.travel_window_cancel)
        hooks.register("travel_returned", travel.travel_window_close)
