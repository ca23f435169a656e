"""common.text: the one rule for identity text (pure)."""

import pytest

from common.text import CONTROL, INVISIBLE, NO_LETTER, TextRefused, clean_text


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("\u200b", INVISIBLE),
        ("\ufeffAli", INVISIBLE),
        ("Ali\u202e", INVISIBLE),
        ("Ali\u2066Khan", INVISIBLE),
        ("Ali\x1b[0m", CONTROL),
        ("Ali\nKhan", CONTROL),
        ("Ali\u2028Khan", INVISIBLE),
        ("---", NO_LETTER),
    ],
)
def test_names_refuse_what_a_reader_cannot_see(value, message):
    with pytest.raises(TextRefused) as refused:
        clean_text(value, name=True)
    assert str(refused.value) == message


@pytest.mark.parametrize(
    "name", ["محمد عمران", "غلام رسول", "نو\u200cید", "Muhammad Imran", "Zoë", "O'Brien-Khan"]
)
def test_real_names_pass_unchanged(name):
    assert clean_text(f"  {name} ", name=True) == name


def test_text_is_normalised_to_nfc():
    assert clean_text("A\u0301") == "\u00c1"


def test_a_description_may_hold_line_breaks_but_not_escapes():
    assert (
        clean_text("tall\r\nscar on the left hand", multiline=True) == "tall\nscar on the left hand"
    )
    with pytest.raises(TextRefused):
        clean_text("tall\x1b[2J", multiline=True)
