"""Procrastinate wiring: every app's ``jobs.py`` is discovered by the Django contrib app."""

from procrastinate import App


def on_app_ready(app: App) -> App:
    return app
