"""The bounded JSON rules on batch-shaped bodies: the walk that skips scalars and the look at
strings skipped when no surrogate can be there must still refuse what they refused."""

import pytest
from rest_framework.exceptions import ParseError

from common.parsers import MAX_JSON_DEPTH, SURROGATES, TOO_DEEP, json_loads_bounded

PING = '{"device": "T1", "device_seq": 1, "lat": 31.5, "lon": 74.3, "accuracy_m": 10}'


def _batch(*extra: str) -> str:
    return "[" + ", ".join([PING] * 50 + list(extra)) + "]"


@pytest.mark.parametrize(
    "item",
    [
        '{"device": "\\ud800"}',  # a value
        '{"\\udfff": 1}',  # a key
        '{"a": [["x", "\\uD83D"]]}',  # upper case, nested in lists
    ],
)
def test_an_escaped_lone_surrogate_anywhere_in_a_batch_is_refused(item):
    with pytest.raises(ParseError) as refused:
        json_loads_bounded(_batch(item))
    assert refused.value.detail == SURROGATES


def test_a_raw_lone_surrogate_in_text_without_escapes_is_refused():
    with pytest.raises(ParseError) as refused:
        json_loads_bounded(_batch('{"device": "\ud800"}'))
    assert refused.value.detail == SURROGATES


def test_raw_surrogate_bytes_are_refused():
    body = _batch('{"device": "x"}').encode().replace(b'"x"', b'"\xed\xa0\x80"')
    with pytest.raises(ParseError) as refused:
        json_loads_bounded(body)
    assert refused.value.detail == SURROGATES


def test_a_surrogate_pair_and_other_escapes_are_accepted():
    batch = json_loads_bounded(_batch('{"device": "\\ud83d\\ude00 \\u00e9 خ"}'))
    assert batch[-1]["device"] == "\U0001f600 é خ"
    assert len(batch) == 51


def test_depth_is_counted_through_dicts_and_lists():
    nested = "1"
    for level in range(MAX_JSON_DEPTH):
        nested = f'{{"a": {nested}}}' if level % 2 else f"[{nested}]"
    assert json_loads_bounded(nested) is not None  # exactly the limit
    with pytest.raises(ParseError) as refused:
        json_loads_bounded(f"[{nested}]")
    assert refused.value.detail == TOO_DEEP


@pytest.mark.parametrize(
    ("body", "value"), [("null", None), ("1", 1), ("true", True), ('"x"', "x")]
)
def test_a_scalar_body_parses_to_itself(body, value):
    assert json_loads_bounded(body) == value
