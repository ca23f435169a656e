"""``manage.py sms_outbox``: what the console backend sent, without sensitive texts."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from push import services
from tests.push.conftest import NUMBER, OTHER_NUMBER


def _run(*args: str) -> str:
    out = StringIO()
    call_command("sms_outbox", *args, stdout=out)
    return out.getvalue()


def test_shows_the_last_messages_to_a_number_with_otps_wiped(db, capsys):
    otp = services.sms_enqueue(to=NUMBER, text="Code 482913", purpose="checkin_otp", sensitive=True)
    reminder = services.sms_enqueue(
        to=NUMBER, text="چیک اِن کی یاد دہانی", purpose="checkin_reminder"
    )
    services.sms_enqueue(to=OTHER_NUMBER, text="Someone else", purpose="test")
    services.sms_deliver(message_id=otp.pk)
    services.sms_deliver(message_id=reminder.pk)
    assert "482913" in capsys.readouterr().out  # the console backend printed the code

    lines = _run("--to", NUMBER, "--last", "5").splitlines()

    assert len(lines) == 2
    assert lines[0].startswith(f"#{reminder.pk} ")
    assert "checkin_reminder sent (ucs2, 1 segment(s)): چیک اِن کی یاد دہانی" in lines[0]
    assert lines[1].endswith("checkin_otp sent (gsm7, 1 segment(s)): [wiped: sensitive]")
    assert "482913" not in "".join(lines)
    assert "Someone else" not in "".join(lines)


def test_last_limits_the_count(db):
    for n in range(3):
        services.sms_enqueue(to=NUMBER, text=f"Message {n}", purpose="test")
    lines = _run("--to", NUMBER, "--last", "2").splitlines()
    assert [line.split(": ")[-1] for line in lines] == ["Message 2", "Message 1"]


def test_no_messages(db):
    assert _run("--to", NUMBER) == f"No messages to {NUMBER}.\n"


def test_refuses_outside_development(db, settings):
    settings.DEV_MODE = False
    with pytest.raises(CommandError, match="development only"):
        _run("--to", NUMBER)


def test_refuses_a_number_not_in_e164(db):
    with pytest.raises(CommandError, match="E.164"):
        _run("--to", "03001234567")
