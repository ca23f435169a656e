"""Client addresses as PostgreSQL's ``inet`` accepts them."""

import ipaddress


def clean_ip(value: str | None) -> str | None:
    """The address in canonical form, or None when it is missing or malformed.

    A malformed REMOTE_ADDR must never turn a request (a sign-in, an audited read) into a 500:
    the ``inet`` columns reject it. An IPv6 zone id (``fe80::1%eth0``) is dropped.
    """
    if not value:
        return None
    try:
        address = ipaddress.ip_address(value.strip().split("%", 1)[0])
    except ValueError:
        return None
    return str(address)
