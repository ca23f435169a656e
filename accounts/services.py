"""Signing in, the second factor, device tokens and lockouts: every write of ``accounts``.

Sign-in rules, in the order they are applied (``auth_login_check``):

1. A client address with ``NIGRANI_IP_FAILURES`` refused sign-ins within
   ``NIGRANI_LOCKOUT_WINDOW_MINUTES`` is throttled (429 with ``Retry-After``), whatever account
   it tries.
2. A locked account answers ``account_locked`` before its password is looked at, so the answer
   never says whether the password was right. Unknown usernames are locked the same way (by
   their failed attempts), so locking does not tell which usernames exist either.
3. A wrong password, an unknown username, an inactive officer and a wrong second factor all
   answer the same ``invalid_credentials``.
4. ``NIGRANI_LOCKOUT_FAILURES`` of those within the window lock the account for one window.
5. An officer without a confirmed authenticator gets ``mfa_required`` (this one necessarily
   comes after the password was found right) and must enrol first.

Every attempt is a ``LoginAttempt`` row, written and committed before the refusal is raised,
so a failed attempt is counted even though the request fails. A username that matches no
officer is often a password typed into the wrong box, and the audit trail is immutable: such a
username is kept only as a keyed hash (``unknown_username_key``), enough to count its failures
and lock it, and the audit event names no account (``UNKNOWN_USERNAME``).
"""

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from math import ceil
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import Field, Q
from django.utils import timezone

from accounts import hooks, totp
from accounts.models import Agency, DeviceToken, LoginAttempt, Officer, RecoveryCode, TOTPDevice
from accounts.roles import ROLE_TABLE, Role, Scope
from accounts.selectors import TotpEnrolment, totp_enrolment_for
from audit.models import AuditAction
from audit.services import audit_record
from common.crypto import settings_blind_index
from common.exceptions import ApplicationError, Conflict, Forbidden, NotFound, RateLimited

logger = logging.getLogger(__name__)

OFFICER = "officer"
# last_used_at is for "when was this phone last seen", not an access log: a minute is enough,
# and it spares one UPDATE per request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class Channel(StrEnum):
    WEB = "web"
    ADMIN = "admin"
    MOBILE = "mobile"
    ENROL = "enrol"


class LoginFailure(StrEnum):
    UNKNOWN_USER = "unknown_user"
    BAD_PASSWORD = "bad_password"  # noqa: S105 - a reason name, not a secret
    BAD_SECOND_FACTOR = "bad_second_factor"
    INACTIVE = "inactive"
    LOCKED = "locked"
    THROTTLED = "throttled"
    MFA_REQUIRED = "mfa_required"


class SecondFactor(StrEnum):
    NONE = ""
    TOTP = "totp"
    RECOVERY_CODE = "recovery_code"


# Guesses at a secret: these lock the account.
_LOCKING_FAILURES = frozenset(
    {
        LoginFailure.UNKNOWN_USER,
        LoginFailure.BAD_PASSWORD,
        LoginFailure.BAD_SECOND_FACTOR,
        LoginFailure.INACTIVE,
    }
)
# Refusals counted against a client address: guesses, and knocking on a locked account. Not
# the throttled attempts themselves (Retry-After would never come true) nor mfa_required
# (the password was right).
_THROTTLING_FAILURES = _LOCKING_FAILURES | {LoginFailure.LOCKED}


class InvalidCredentials(ApplicationError):
    status_code = 400
    code = "invalid_credentials"

    def __init__(self) -> None:
        super().__init__("Wrong username, password or code.")


class AccountLocked(ApplicationError):
    status_code = 403
    code = "account_locked"

    def __init__(self) -> None:
        super().__init__(
            "Too many failed sign-ins: this account is locked for a while. "
            "A system administrator can unlock it."
        )


class MfaRequired(ApplicationError):
    """The password was right but the officer has no confirmed authenticator yet."""

    status_code = 403
    code = "mfa_required"

    def __init__(self, *, officer_id: int) -> None:
        super().__init__(
            "Two-factor sign-in is required: enrol an authenticator app first "
            "(POST /api/v1/auth/totp/enrol/ or sign in on the web)."
        )
        # Not in ``extra``: that would go into the response body.
        self.officer_id = officer_id


class TokenRejected(ApplicationError):
    """A bearer token that does not authenticate; the authentication class answers 401."""

    status_code = 401
    code = "authentication_failed"


@dataclass(frozen=True)
class LoginResult:
    officer: Officer
    second_factor: SecondFactor


@dataclass(frozen=True)
class IssuedToken:
    """The raw token exists only here, once: the database keeps its SHA-256."""

    token: str
    device_token: DeviceToken


def _window() -> timedelta:
    return timedelta(minutes=settings.NIGRANI_LOCKOUT_WINDOW_MINUTES)


def token_hash(raw_token: str) -> str:
    return hashlib.sha256(raw_token.encode("utf-8")).hexdigest()


# The audit trail's account name for a sign-in with a username that matches no officer.
UNKNOWN_USERNAME = "<unknown>"


def unknown_username_key(username: str) -> str:
    """What ``LoginAttempt.username`` keeps for a username that matches no officer: a keyed
    HMAC of it, lowercased. Failures still count and lock; the typed text is never stored."""
    return "hmac:" + settings_blind_index(username.lower(), purpose="login_username")


# --- sign-in ---------------------------------------------------------------------------------


def _address_retry_after(*, client_ip: str | None, now: datetime) -> int:
    """Seconds until ``client_ip`` drops below the failure limit; 0 when it is not throttled."""
    if not client_ip:
        return 0
    limit = settings.NIGRANI_IP_FAILURES
    failures = list(
        LoginAttempt.objects.filter(
            client_ip=client_ip,
            succeeded=False,
            reason__in=_THROTTLING_FAILURES,
            attempted_at__gt=now - _window(),
        )
        .order_by("attempted_at")
        .values_list("attempted_at", flat=True)
    )
    if len(failures) < limit:
        return 0
    # Below the limit again once this many of the oldest have left the window.
    frees_at = failures[len(failures) - limit] + _window()
    return max(1, ceil((frees_at - now).total_seconds()))


def _lock_from_failures(*, username: str, since: datetime | None, now: datetime) -> datetime | None:
    """Until when ``username`` is locked by its own failures: the lockout-th failure within one
    window locks for one window from that failure. ``since`` forgets older failures."""
    limit = settings.NIGRANI_LOCKOUT_FAILURES
    window = _window()
    # Both ends of a lock that still holds lie within two windows of now.
    floor = now - 2 * window
    if since is not None and since > floor:
        floor = since
    recent = list(
        LoginAttempt.objects.filter(
            username=username,
            succeeded=False,
            reason__in=_LOCKING_FAILURES,
            attempted_at__gt=floor,
        )
        .order_by("-attempted_at")
        .values_list("attempted_at", flat=True)[:limit]
    )
    if len(recent) < limit or recent[0] - recent[-1] >= window:
        return None
    locked_until = recent[0] + window
    return locked_until if locked_until > now else None


def _is_locked(*, username: str, officer: Officer | None, now: datetime) -> bool:
    if officer is not None:
        return officer.locked_until is not None and officer.locked_until > now
    key = unknown_username_key(username)
    return _lock_from_failures(username=key, since=None, now=now) is not None


def _refuse(
    *,
    username: str,
    officer: Officer | None,
    client_ip: str | None,
    channel: Channel,
    reason: LoginFailure,
    now: datetime,
    known: bool | None = None,
) -> bool:
    """Record a refused attempt, lock the account when this failure is one too many, and audit.

    Runs in its own transaction so the record survives the refusal. True when the account is
    locked now (by this failure or an earlier one). ``known`` says whether ``username`` names
    an officer (by default: whether ``officer`` was found); an unknown one is never stored.
    """
    if known is None:
        known = officer is not None
    audit_username = username if known else UNKNOWN_USERNAME
    username = username if known else unknown_username_key(username)
    with transaction.atomic():
        LoginAttempt.objects.create(
            username=username,
            officer=officer,
            client_ip=client_ip,
            channel=channel,
            succeeded=False,
            reason=reason,
        )
        locked = reason == LoginFailure.LOCKED
        newly_locked_until = None
        if reason in _LOCKING_FAILURES:
            since = officer.failures_reset_at if officer is not None else None
            lock_until = _lock_from_failures(username=username, since=since, now=now)
            locked = lock_until is not None
            # Conditional: of two concurrent last straws, one locks and audits the lockout.
            if (
                officer is not None
                and lock_until is not None
                and Officer.objects.filter(
                    Q(locked_until__isnull=True) | Q(locked_until__lte=now), pk=officer.pk
                ).update(locked_until=lock_until)
                == 1
            ):
                newly_locked_until = lock_until
        audit_record(
            actor=None,
            username=audit_username,
            action=AuditAction.LOGIN_FAILED,
            object_type=OFFICER,
            object_id=officer.pk if officer is not None else "",
            outcome=reason,
            details={"channel": channel, "reason": reason},
        )
        if officer is not None and newly_locked_until is not None:
            audit_record(
                actor=None,
                username=audit_username,
                action=AuditAction.LOCKOUT,
                object_type=OFFICER,
                object_id=officer.pk,
                details={
                    "channel": channel,
                    "locked_until": newly_locked_until.isoformat(),
                    "failures": settings.NIGRANI_LOCKOUT_FAILURES,
                },
            )
    logger.info("sign-in refused: channel=%s reason=%s", channel, reason)
    return locked


def _second_factor_check(*, officer: Officer, device: TOTPDevice, code: str) -> SecondFactor:
    code = code.strip()
    if totp.looks_like_totp(code):
        return SecondFactor.TOTP if totp_verify(device=device, code=code) else SecondFactor.NONE
    if recovery_code_use(officer=officer, code=code):
        return SecondFactor.RECOVERY_CODE
    return SecondFactor.NONE


def _authenticate(
    *,
    username: str,
    password: str,
    otp: str,
    client_ip: str | None,
    channel: Channel,
    first_factor_only: bool,
) -> LoginResult:
    now = timezone.now()
    retry_after = _address_retry_after(client_ip=client_ip, now=now)
    if retry_after:
        _refuse(
            username=username,
            officer=None,
            client_ip=client_ip,
            channel=channel,
            reason=LoginFailure.THROTTLED,
            now=now,
            known=Officer.objects.filter(username=username).exists(),
        )
        raise RateLimited(
            "Too many failed sign-ins from this address; try again later.",
            retry_after=retry_after,
        )

    # One attempt per officer at a time: under the row lock each attempt sees the failures
    # recorded before it, so a burst of parallel guesses cannot all slip in under the lockout.
    # The refusal is raised after the commit, so its record stays.
    with transaction.atomic():
        officer = (
            Officer.objects.select_for_update(of=("self",))
            .filter(username=username)
            .select_related("totp")
            .first()
        )
        outcome = _decide(
            username=username,
            password=password,
            otp=otp,
            client_ip=client_ip,
            channel=channel,
            first_factor_only=first_factor_only,
            officer=officer,
            now=timezone.now(),
        )
    if isinstance(outcome, ApplicationError):
        raise outcome
    return outcome


def _decide(
    *,
    username: str,
    password: str,
    otp: str,
    client_ip: str | None,
    channel: Channel,
    first_factor_only: bool,
    officer: Officer | None,
    now: datetime,
) -> LoginResult | ApplicationError:
    """Check the attempt, record it, and return the result or the refusal to raise."""
    reason: LoginFailure
    if _is_locked(username=username, officer=officer, now=now):
        reason = LoginFailure.LOCKED
    elif officer is None:
        # Hash anyway, as Django's ModelBackend does: the time taken must not say that the
        # username does not exist.
        Officer().set_password(password)
        reason = LoginFailure.UNKNOWN_USER
    elif not officer.check_password(password):
        reason = LoginFailure.BAD_PASSWORD
    elif not officer.is_active:
        reason = LoginFailure.INACTIVE
    else:
        device = getattr(officer, "totp", None)
        if device is not None and device.confirmed_at is not None:
            second_factor = _second_factor_check(officer=officer, device=device, code=otp)
            if second_factor != SecondFactor.NONE:
                return _accept(
                    officer=officer,
                    client_ip=client_ip,
                    channel=channel,
                    second_factor=second_factor,
                )
            reason = LoginFailure.BAD_SECOND_FACTOR
        elif first_factor_only:
            return _accept(
                officer=officer,
                client_ip=client_ip,
                channel=channel,
                second_factor=SecondFactor.NONE,
            )
        else:
            reason = LoginFailure.MFA_REQUIRED

    locked = _refuse(
        username=username,
        officer=officer,
        client_ip=client_ip,
        channel=channel,
        reason=reason,
        now=now,
    )
    if reason == LoginFailure.MFA_REQUIRED and officer is not None:
        return MfaRequired(officer_id=officer.pk)
    if locked:
        return AccountLocked()
    return InvalidCredentials()


def _accept(
    *, officer: Officer, client_ip: str | None, channel: Channel, second_factor: SecondFactor
) -> LoginResult:
    now = timezone.now()
    with transaction.atomic():
        LoginAttempt.objects.create(
            username=officer.username,
            officer=officer,
            client_ip=client_ip,
            channel=channel,
            succeeded=True,
            reason="" if second_factor else "password_only",
        )
        # A success forgets earlier failures (they no longer count towards a lockout).
        Officer.objects.filter(pk=officer.pk).update(failures_reset_at=now, last_login=now)
        officer.failures_reset_at = officer.last_login = now
        audit_record(
            actor=officer,
            action=AuditAction.LOGIN,
            object_type=OFFICER,
            object_id=officer.pk,
            details={"channel": channel, "second_factor": second_factor or "none"},
        )
    return LoginResult(officer=officer, second_factor=second_factor)


def auth_login_check(
    *, username: str, password: str, otp: str, client_ip: str | None, channel: Channel
) -> LoginResult:
    """Password and second factor (a TOTP code or a recovery code); see the module docstring.

    Must not run inside an outer transaction: the record of a refused attempt has to commit.
    """
    return _authenticate(
        username=username,
        password=password,
        otp=otp,
        client_ip=client_ip,
        channel=channel,
        first_factor_only=False,
    )


def auth_enrolment_check(
    *, username: str, password: str, otp: str, client_ip: str | None
) -> Officer:
    """Sign-in for enrolling an authenticator: the password alone while the officer has no
    confirmed authenticator, otherwise the second factor too (so this is never a way around
    it). Counted, locked and throttled like every sign-in."""
    return _authenticate(
        username=username,
        password=password,
        otp=otp,
        client_ip=client_ip,
        channel=Channel.ENROL,
        first_factor_only=True,
    ).officer


def auth_logout(
    *,
    officer: Officer,
    device_token: DeviceToken | None,
    channel: Channel,
    session_key: str = "",
) -> None:
    """End a session or revoke the token the request came with. ``session_key`` names the web
    session being signed out (the caller flushes it), so its open alert sockets close at once
    rather than at their next re-check."""
    with transaction.atomic():
        details: dict[str, Any] = {"channel": channel}
        if device_token is None:
            hooks.sign_ins_ended_on_commit(officer_id=officer.pk, session_keys=[session_key])
        else:
            details["token_id"] = device_token.pk
            details["device_id"] = device_token.device_id
            _tokens_revoke(
                actor=officer,
                officer=officer,
                token_ids=[device_token.pk],
                device_id=device_token.device_id,
                reason="logout",
            )
        audit_record(
            actor=officer,
            action=AuditAction.LOGOUT,
            object_type=OFFICER,
            object_id=officer.pk,
            details=details,
        )


def web_session_expire(*, officer: Officer, idle_seconds: int, session_key: str = "") -> None:
    """Audit the end of a web session that was idle too long (the middleware logs it out)
    and close the sockets opened from it."""
    hooks.sign_ins_ended_on_commit(officer_id=officer.pk, session_keys=[session_key])
    audit_record(
        actor=officer,
        action=AuditAction.LOGOUT,
        object_type=OFFICER,
        object_id=officer.pk,
        details={"channel": Channel.WEB, "reason": "idle_timeout", "idle_seconds": idle_seconds},
    )


def officer_unlock(*, actor: Officer, officer: Officer) -> Officer:
    """A system_admin lifts a lockout; earlier failures stop counting."""
    if not actor.has_permission("officer.unlock"):
        raise Forbidden("Only a system administrator can unlock an account.")
    now = timezone.now()
    with transaction.atomic():
        # From the row, not the caller's copy, which may predate the lockout.
        was_locked_until = (
            Officer.objects.select_for_update()
            .filter(pk=officer.pk)
            .values_list("locked_until", flat=True)
            .first()
        )
        Officer.objects.filter(pk=officer.pk).update(locked_until=None, failures_reset_at=now)
        officer.locked_until, officer.failures_reset_at = None, now
        audit_record(
            actor=actor,
            action=AuditAction.UNLOCK,
            object_type=OFFICER,
            object_id=officer.pk,
            details={
                "was_locked": was_locked_until is not None and was_locked_until > now,
            },
        )
    return officer


# --- officers --------------------------------------------------------------------------------

JURISDICTION_FIELDS = ("province", "district", "station", "beat")
# What an officer may never change on their own row: who they are allowed to be.
SELF_LOCKED_FIELDS = ("role", "agency", *JURISDICTION_FIELDS, "is_staff", "is_active")
# Everything ``officer_update`` changes. Never ``is_superuser`` (createsuperuser only) nor the
# password or lockout fields, which have their own paths.
OFFICER_EDITABLE_FIELDS = ("username", "full_name", "rank", "badge_number", *SELF_LOCKED_FIELDS)
# The fields ``ROLE_TABLE`` constrains together.
ASSIGNMENT_FIELDS = ("role", "agency", *JURISDICTION_FIELDS)
_SCOPE_FIELD = {Scope.DISTRICT: "district", Scope.STATION: "station", Scope.BEAT: "beat"}


def officer_assignment_errors(
    *,
    role: str,
    agency: Agency | None,
    district: object | None,
    station: object | None,
    beat: object | None,
) -> dict[str, list[str]]:
    """Why this role, agency and jurisdiction do not go together (``ROLE_TABLE``); empty
    when they do. Field name → messages, for forms and for ``ApplicationError.fields``."""
    try:
        scope, agency_kinds, _ = ROLE_TABLE[Role(role)]
    except ValueError:
        return {"role": ["Unknown role."]}
    errors: dict[str, list[str]] = {}
    if agency is None:
        errors["agency"] = ["Every officer belongs to an agency."]
    elif agency.kind not in agency_kinds:
        allowed = ", ".join(sorted(agency_kinds))
        errors["agency"] = [f"A {role} must belong to an agency of kind: {allowed}."]
    field = _SCOPE_FIELD.get(scope)
    if (
        field is not None
        and {"district": district, "station": station, "beat": beat}[field] is None
    ):
        errors[field] = [f"A {role} needs a {field}."]
    return errors


def _officer_assignment_check(officer: Officer) -> None:
    errors = officer_assignment_errors(
        role=officer.role,
        agency=officer.agency,
        district=officer.district,
        station=officer.station,
        beat=officer.beat,
    )
    if errors:
        raise ApplicationError(
            "This role does not fit the officer's agency or jurisdiction.",
            code="invalid_role_assignment",
            fields=errors,
        )


def _may_manage_officers(actor: Officer) -> bool:
    return bool(actor.is_active and (actor.is_superuser or actor.has_permission("officer.manage")))


def officer_create(*, actor: Officer | None, officer: Officer, via: str = "admin") -> Officer:
    """Save a new officer and audit it. The admin creates one without a usable password (it is
    set outside the admin); ``create_officer`` sets it first. The role must fit the agency and
    jurisdiction; ``is_superuser`` is never set here.

    ``actor`` None is the system: the ``create_officer`` command, whose authority is shell
    access to the server (audited with no actor, ``via`` naming the command)."""
    if actor is not None and not _may_manage_officers(actor):
        raise Forbidden("Only a system administrator can create officers.")
    if officer.pk is not None:
        raise ValueError("officer_create is for new officers")
    officer.is_superuser = False
    _officer_assignment_check(officer)
    with transaction.atomic():
        officer.save()
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            object_type=OFFICER,
            object_id=officer.pk,
            details={"role": officer.role, "via": via},
        )
    return officer


def officer_update(*, actor: Officer, officer: Officer, changes: dict[str, Any]) -> Officer:
    """Change an officer's fields: the one path for a role, agency, jurisdiction, staff or
    active change. The result must fit ``ROLE_TABLE``; nobody changes those fields on their own
    row; ``is_superuser`` is not changeable at all. Audited as ``update`` with the names of the
    changed fields only (never their values). Returns the officer as saved.
    """
    unknown = set(changes) - set(OFFICER_EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"officer_update cannot change: {', '.join(sorted(unknown))}")
    if not _may_manage_officers(actor):
        raise Forbidden("Only a system administrator can change officers.")
    if actor.pk == officer.pk and set(changes) & set(SELF_LOCKED_FIELDS):
        raise Forbidden(
            "You cannot change your own role, agency, jurisdiction, staff or active status."
        )
    with transaction.atomic():
        current = Officer.objects.select_for_update().get(pk=officer.pk)
        changed = sorted(
            name
            for name, value in changes.items()
            if getattr(current, _attname(name)) != _raw_value(name, value)
        )
        if not changed:
            return current
        for name in changed:
            setattr(current, name, changes[name])
            setattr(officer, name, changes[name])
        if set(changed) & set(ASSIGNMENT_FIELDS):
            _officer_assignment_check(current)
        current.save(update_fields=changed)
        if set(changed) & {*ASSIGNMENT_FIELDS, "is_active"}:
            # What the officer may watch changed: its open alert sockets re-check now.
            hooks.sign_ins_ended_on_commit(officer_id=current.pk, access_changed=True)
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            object_type=OFFICER,
            object_id=current.pk,
            details={"fields": changed},
        )
    return current


def _attname(name: str) -> str:
    field = Officer._meta.get_field(name)
    # "district" → "district_id"; every name here is a concrete field, reverse relations have none.
    return field.attname if isinstance(field, Field) else name


def _raw_value(name: str, value: Any) -> Any:
    """The column value of ``value`` for field ``name`` (a related object's primary key)."""
    if Officer._meta.get_field(name).is_relation:
        return getattr(value, "pk", value)
    return value


# --- second factor ---------------------------------------------------------------------------


def totp_verify(*, device: TOTPDevice, code: str) -> bool:
    """True when ``code`` is the device's code for now ±1 step and that step was not used yet.

    The step is claimed with a conditional UPDATE, so of two concurrent uses of one code only
    one passes, and a code older than the last one used never passes again.
    """
    step = totp.matching_step(device.secret, code, timestamp=timezone.now().timestamp())
    if step is None:
        return False
    claimed = (
        TOTPDevice.objects.filter(
            Q(last_used_step__isnull=True) | Q(last_used_step__lt=step), pk=device.pk
        ).update(last_used_step=step)
        == 1
    )
    if claimed:
        device.last_used_step = step
    return claimed


def recovery_code_use(*, officer: Officer, code: str) -> bool:
    """Spend one unused recovery code; each works once."""
    normalized = totp.normalize_recovery_code(code)
    if not normalized:
        return False
    for recovery in RecoveryCode.objects.filter(officer=officer, used_at__isnull=True):
        if check_password(normalized, recovery.code_hash):
            return (
                RecoveryCode.objects.filter(pk=recovery.pk, used_at__isnull=True).update(
                    used_at=timezone.now()
                )
                == 1
            )
    return False


def totp_enrol_start(*, officer: Officer) -> TotpEnrolment:
    """A new secret for the officer's authenticator app, unconfirmed until a code is shown.

    Starting again replaces an unconfirmed secret; a confirmed one is replaced only after a
    system_admin's ``totp_reset``.
    """
    with transaction.atomic():
        # Serialises two enrolments of one officer (TOTPDevice is one-to-one).
        Officer.objects.select_for_update().filter(pk=officer.pk).first()
        device = TOTPDevice.objects.filter(officer=officer).first()
        if device is not None and device.confirmed_at is not None:
            raise Conflict(
                "An authenticator is already enrolled; a system administrator can reset it.",
                code="mfa_already_enrolled",
            )
        secret = totp.new_secret()
        if device is None:
            TOTPDevice.objects.create(officer=officer, secret=secret)
        else:
            device.secret, device.last_used_step = secret, None
            device.save(update_fields=["secret", "last_used_step", "updated_at"])
        audit_record(
            actor=officer,
            action=AuditAction.MFA_ENROL,
            object_type=OFFICER,
            object_id=officer.pk,
            details={"stage": "started"},
        )
    return totp_enrolment_for(officer=officer, secret=secret)


def totp_enrol_confirm(*, officer: Officer, otp: str) -> list[str]:
    """Confirm the authenticator with one of its codes; returns ten fresh recovery codes.

    The codes are returned only here, once; the database keeps their password hashes.
    """
    with transaction.atomic():
        Officer.objects.select_for_update().filter(pk=officer.pk).first()
        device = TOTPDevice.objects.filter(officer=officer).first()
        if device is None:
            raise ApplicationError(
                "Start the enrolment first (POST /api/v1/auth/totp/enrol/).",
                code="mfa_not_started",
            )
        if device.confirmed_at is not None:
            raise Conflict("The authenticator is already confirmed.", code="mfa_already_enrolled")
        if not totp_verify(device=device, code=otp):
            raise ApplicationError(
                "That code is not right; enter the current code from the app.",
                code="invalid_otp",
                fields={"otp": ["Wrong or already used code."]},
            )
        device.confirmed_at = timezone.now()
        device.save(update_fields=["confirmed_at", "updated_at"])
        codes = totp.new_recovery_codes()
        RecoveryCode.objects.filter(officer=officer).delete()
        RecoveryCode.objects.bulk_create(
            RecoveryCode(officer=officer, code_hash=make_password(totp.normalize_recovery_code(c)))
            for c in codes
        )
        audit_record(
            actor=officer,
            action=AuditAction.MFA_ENROL,
            object_type=OFFICER,
            object_id=officer.pk,
            details={"stage": "confirmed", "recovery_codes": len(codes)},
        )
    return codes


def totp_reset(*, actor: Officer, officer: Officer) -> None:
    """A system_admin removes an officer's authenticator and recovery codes (a lost phone);
    the officer enrols again at the next sign-in."""
    if not actor.has_permission("officer.manage"):
        raise Forbidden("Only a system administrator can reset two-factor sign-in.")
    with transaction.atomic():
        TOTPDevice.objects.filter(officer=officer).delete()
        RecoveryCode.objects.filter(officer=officer).delete()
        audit_record(
            actor=actor,
            action=AuditAction.MFA_ENROL,
            object_type=OFFICER,
            object_id=officer.pk,
            details={"stage": "reset"},
        )


# --- device tokens ---------------------------------------------------------------------------


def device_token_issue(*, officer: Officer, device_id: str, device_name: str) -> IssuedToken:
    """A bearer token for one phone, valid for one shift (``NIGRANI_MOBILE_TOKEN_HOURS``).

    Earlier live tokens of the same device are revoked: one phone, one live token.
    """
    now = timezone.now()
    raw_token = secrets.token_urlsafe(32)
    with transaction.atomic():
        # Serialises two sign-ins of one officer: the second sees (and revokes) the first's
        # token, so two concurrent sign-ins on one phone still leave one live token.
        Officer.objects.select_for_update().filter(pk=officer.pk).first()
        superseded = list(
            DeviceToken.objects.filter(
                officer=officer, device_id=device_id, revoked_at__isnull=True, expires_at__gt=now
            ).values_list("id", flat=True)
        )
        if superseded:
            DeviceToken.objects.filter(pk__in=superseded, revoked_at__isnull=True).update(
                revoked_at=now, revoked_by=officer
            )
            hooks.sign_ins_ended_on_commit(officer_id=officer.pk, token_ids=superseded)
        device_token = DeviceToken.objects.create(
            officer=officer,
            device_id=device_id,
            device_name=device_name,
            token_hash=token_hash(raw_token),
            expires_at=now + timedelta(hours=settings.NIGRANI_MOBILE_TOKEN_HOURS),
        )
        audit_record(
            actor=officer,
            action=AuditAction.TOKEN_ISSUED,
            object_type=OFFICER,
            object_id=officer.pk,
            details={
                "token_id": device_token.pk,
                "device_id": device_id,
                "expires_at": device_token.expires_at.isoformat(),
                "superseded_token_ids": superseded,
            },
        )
    return IssuedToken(token=raw_token, device_token=device_token)


def device_login(
    *,
    username: str,
    password: str,
    otp: str,
    device_id: str,
    device_name: str,
    client_ip: str | None,
) -> IssuedToken:
    """Sign in on a phone (password and second factor) and enrol it with a bearer token."""
    result = auth_login_check(
        username=username, password=password, otp=otp, client_ip=client_ip, channel=Channel.MOBILE
    )
    return device_token_issue(officer=result.officer, device_id=device_id, device_name=device_name)


def device_token_authenticate(*, raw_token: str, device_id: str) -> DeviceToken:
    """The live token for ``raw_token``, with its officer; ``TokenRejected`` otherwise.

    ``device_id`` is the request's X-Device-ID and must be the token's device: a token is bound
    to the phone it was issued to, so a copied token without the header is refused too.
    """
    now = timezone.now()
    device_token = (
        DeviceToken.objects.select_related("officer", "officer__agency")
        .filter(token_hash=token_hash(raw_token))
        .first()
    )
    if device_token is None or not device_token.officer.is_active:
        raise TokenRejected("Invalid token.")
    if device_token.revoked_at is not None:
        raise TokenRejected("This token was revoked; sign in again.", code="token_revoked")
    if device_token.expires_at <= now:
        raise TokenRejected("This token has expired; sign in again.", code="token_expired")
    if not device_id:
        raise TokenRejected("Send the X-Device-ID of this phone.", code="device_required")
    if device_id != device_token.device_id:
        raise TokenRejected("This token belongs to another device.", code="device_mismatch")
    stale = now - LAST_USED_RESOLUTION
    if device_token.last_used_at is None or device_token.last_used_at < stale:
        DeviceToken.objects.filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=stale), pk=device_token.pk
        ).update(last_used_at=now)
        device_token.last_used_at = now
    return device_token


def _tokens_revoke(
    *, actor: Officer, officer: Officer, token_ids: list[int], device_id: str, reason: str
) -> int:
    revoked = DeviceToken.objects.filter(pk__in=token_ids, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_by=actor
    )
    if revoked:
        hooks.sign_ins_ended_on_commit(officer_id=officer.pk, token_ids=token_ids)
        audit_record(
            actor=actor,
            action=AuditAction.TOKEN_REVOKED,
            object_type=OFFICER,
            object_id=officer.pk,
            details={"device_id": device_id, "token_ids": token_ids, "reason": reason},
        )
    return revoked


def device_revoke(*, actor: Officer, officer: Officer, device_id: str) -> int:
    """Revoke every token of one of ``officer``'s devices (a lost phone, in one call).

    The officer may revoke their own devices, a system_admin anyone's; to anyone else, and for
    a device the officer never enrolled, the device is not there (404). Returns how many live
    tokens were revoked (0 when it was already revoked: revoking twice is harmless).
    """
    if actor.pk != officer.pk and not actor.has_permission("device.revoke_any"):
        raise NotFound("No such device.")
    with transaction.atomic():
        tokens = DeviceToken.objects.filter(officer=officer, device_id=device_id)
        if not tokens.exists():
            raise NotFound("No such device.")
        live_ids = list(tokens.filter(revoked_at__isnull=True).values_list("id", flat=True))
        return _tokens_revoke(
            actor=actor,
            officer=officer,
            token_ids=live_ids,
            device_id=device_id,
            reason="revoked_by_owner" if actor.pk == officer.pk else "revoked_by_admin",
        )


def device_push_token_set(*, device_token: DeviceToken, fcm_token: str) -> DeviceToken:
    """Register the phone's FCM registration token on the device token it signed in with (a
    new token replaces the old one and revives a token FCM had reported dead). Audited without
    the token itself."""
    fcm_token = fcm_token.strip()
    if not fcm_token or len(fcm_token) > 4096 or any(c.isspace() for c in fcm_token):
        raise ApplicationError(
            "A registration token is required.", fields={"fcm_token": ["invalid"]}
        )
    if not device_token.is_active_at(timezone.now()):
        raise TokenRejected("This token was revoked; sign in again.", code="token_revoked")
    now = timezone.now()
    with transaction.atomic():
        DeviceToken.objects.filter(pk=device_token.pk).update(
            fcm_token=fcm_token, fcm_registered_at=now, fcm_dead_at=None
        )
        audit_record(
            actor=device_token.officer,
            action=AuditAction.UPDATE,
            object_type=OFFICER,
            object_id=device_token.officer_id,
            details={"token_id": device_token.pk, "fcm_token_registered": True},
        )
    device_token.fcm_token, device_token.fcm_registered_at = fcm_token, now
    device_token.fcm_dead_at = None
    return device_token


# --- retention -------------------------------------------------------------------------------


def login_attempt_prune(*, now: datetime | None = None) -> int:
    """Delete sign-in attempts older than ``NIGRANI_LOGIN_ATTEMPT_RETENTION_DAYS``; returns how
    many rows went.

    Lockout looks back two lockout windows (``_lock_from_failures``), so a retention shorter
    than that would unlock accounts early: it is refused loudly rather than clamped.
    """
    retention = timedelta(days=settings.NIGRANI_LOGIN_ATTEMPT_RETENTION_DAYS)
    if retention < 2 * _window():
        raise ImproperlyConfigured(
            "NIGRANI_LOGIN_ATTEMPT_RETENTION_DAYS must cover two lockout windows "
            "(2 x NIGRANI_LOCKOUT_WINDOW_MINUTES)"
        )
    cutoff = (now or timezone.now()) - retention
    deleted, _ = LoginAttempt.objects.filter(attempted_at__lt=cutoff).delete()
    return deleted
