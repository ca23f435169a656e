"""Identity text, one rule for every path in (API, importer, notices). Pure: no Django.

Names, aliases, address text and conviction fields end up on screens, in printed lists and in
searches. A zero-width space, a lone BOM or a right-to-left override (U+202E) makes a name
look like another, or like nothing, and an escape sequence or a line break forges lines in
a terminal or a CSV. So text is normalised to NFC, control and invisible format characters
are refused (not silently stripped: the clerk sees what was wrong), and a name must hold a
visible letter. The zero-width (non-)joiners U+200C/U+200D stay allowed: they are part of
Urdu and other Arabic-script spelling.
"""

import unicodedata

# Refused general categories: controls, format characters, surrogates, private use, and the
# line/paragraph separators (a line break in disguise).
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Zl", "Zp"})
_ALLOWED_FORMAT = frozenset({"\u200c", "\u200d"})  # ZWNJ, ZWJ (Urdu spelling)

CONTROL = "Control characters (line breaks, tabs, escapes) are not allowed here."
INVISIBLE = "Invisible formatting characters (zero-width, direction overrides) are not allowed."
NO_LETTER = "A name needs at least one letter."


class TextRefused(ValueError):
    """The text breaks the rule; ``str(exc)`` is the message for the field (never the text)."""


def clean_text(value: str, *, name: bool = False, multiline: bool = False) -> str:
    """``value`` normalised to NFC and stripped, or ``TextRefused``.

    ``name``: it must contain a letter (of any script). ``multiline``: line breaks (``\\n``,
    ``\\r\\n`` normalised to ``\\n``) are allowed, as in a physical description."""
    text = unicodedata.normalize("NFC", value)
    if multiline:
        text = text.replace("\r\n", "\n")
    text = text.strip()
    for character in text:
        if multiline and character == "\n":
            continue
        category = unicodedata.category(character)
        if category in _REFUSED_CATEGORIES and character not in _ALLOWED_FORMAT:
            raise TextRefused(CONTROL if category == "Cc" else INVISIBLE)
    if name and text and not any(unicodedata.category(c).startswith("L") for c in text):
        raise TextRefused(NO_LETTER)
    return text
