import base64

import pytest

from common.crypto import CryptoError, KeyRing, blind_index

KEY_A = base64.b64encode(b"a" * 32).decode()
KEY_B = base64.b64encode(b"b" * 32).decode()


def test_encrypt_round_trips_and_records_active_key_id():
    ring = KeyRing.parse(f"new:{KEY_A},old:{KEY_B}")
    stored = ring.encrypt("35202-1234567-1")
    assert stored.startswith("v1:new:")
    assert "35202" not in stored
    assert ring.decrypt(stored) == "35202-1234567-1"


def test_same_plaintext_encrypts_differently_each_time():
    ring = KeyRing.parse(f"k:{KEY_A}")
    assert ring.encrypt("x") != ring.encrypt("x")


def test_old_key_still_decrypts_during_rotation():
    old_ring = KeyRing.parse(f"old:{KEY_B}")
    stored = old_ring.encrypt("secret")
    rotated = KeyRing.parse(f"new:{KEY_A},old:{KEY_B}")
    assert rotated.decrypt(stored) == "secret"
    assert KeyRing.key_id_of(stored) == "old"


def test_tampered_ciphertext_is_refused():
    ring = KeyRing.parse(f"k:{KEY_A}")
    prefix, kid, payload = ring.encrypt("secret").split(":", 2)
    raw = bytearray(base64.b64decode(payload))
    raw[-1] ^= 1
    with pytest.raises(CryptoError):
        ring.decrypt(f"{prefix}:{kid}:{base64.b64encode(bytes(raw)).decode()}")


def test_unknown_key_id_is_refused():
    stored = KeyRing.parse(f"gone:{KEY_B}").encrypt("secret")
    with pytest.raises(CryptoError, match="unknown key id"):
        KeyRing.parse(f"k:{KEY_A}").decrypt(stored)


@pytest.mark.parametrize(
    "spec",
    ["", "nokey", f"k:{base64.b64encode(b'short').decode()}", f":{KEY_A}"],
)
def test_bad_key_specs_fail_loudly(spec):
    with pytest.raises(CryptoError):
        KeyRing.parse(spec)


def test_blind_index_is_deterministic_keyed_and_domain_separated():
    one = blind_index("35202-1234567-1", key=b"k" * 32, purpose="cnic")
    assert one == blind_index("35202-1234567-1", key=b"k" * 32, purpose="cnic")
    assert one != blind_index("35202-1234567-1", key=b"j" * 32, purpose="cnic")
    assert one != blind_index("35202-1234567-1", key=b"k" * 32, purpose="phone")
