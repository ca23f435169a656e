"""Check-in window and reminder arithmetic. Pure: no Django.

The due date itself is the register's (``registry.services.dues``). The window opens
``window_days`` before it; reminders go out in bands, each days-before value once per due date.
"""

from datetime import date, timedelta
from enum import StrEnum


class DueState(StrEnum):
    UPCOMING = "upcoming"  # before the window
    IN_WINDOW = "in_window"  # the window is open, the due date not reached
    DUE = "due"  # today is the due date
    OVERDUE = "overdue"  # the due date has passed


def due_state(*, due_on: date, today: date, window_days: int) -> DueState:
    if due_on < today:
        return DueState.OVERDUE
    if due_on == today:
        return DueState.DUE
    if due_on - timedelta(days=window_days) <= today:
        return DueState.IN_WINDOW
    return DueState.UPCOMING


def reminder_bands(days_before: list[int]) -> list[tuple[int, int, int]]:
    """``[7, 1]`` → ``[(7, 2, 7), (1, 0, 1)]``: for each reminder, the range of days left
    (inclusive) in which it is the one to send. A job that missed a day still sends the
    reminder of the band it runs in, and each due date gets at most one reminder per band."""
    values = sorted({d for d in days_before if d >= 0}, reverse=True)
    bands = []
    for position, value in enumerate(values):
        lower = values[position + 1] + 1 if position + 1 < len(values) else 0
        bands.append((value, lower, value))
    return bands
