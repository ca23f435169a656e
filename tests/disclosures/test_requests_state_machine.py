"""A Hypothesis state machine over the records request: random sequences of every role's
actions (file, amend, forward, return, answer, deliver, view, download) and of time passing.

The machine keeps its own model of each request (state, filer, district, answer, expiry) and
checks after every step that:

- each action succeeds exactly when the model says the actor may take it, and otherwise
  changes nothing;
- no one but the filing officer of a delivered match (before its access expires) and the
  prosecutor and the NPB on the request's path (once answered) ever reads an extract, as JSON
  or as PDF;
- the clock and the states never contradict each other: the due time is always the last
  submission plus 48 hours, the prosecutor's overdue list is exactly the submitted requests past
  it, a reminder or an escalation exists only for a request overdue when it was made.
"""

import os
from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from accounts.roles import AgencyKind
from common.exceptions import ApplicationError
from disclosures import selectors
from disclosures.models import RecordsRequest, RequestState
from disclosures.services import requests as services
from tests.conftest import make_officer
from tests.disclosures.conftest import annexure, pdf_bytes, registered_suspect

# More with NIGRANI_STATE_MACHINE_EXAMPLES=200 when changing the rules; CI runs the default.
EXAMPLES = int(os.environ.get("NIGRANI_STATE_MACHINE_EXAMPLES", "30"))
CLOCK = timedelta(hours=48)
ACCESS = timedelta(days=1)
REFUSED = (ApplicationError, ValidationError)
ACTORS = ("io", "io_colleague", "io_kasur", "dpp", "dpp_kasur", "npb", "station", "auditor")


class RecordsRequestMachine(RuleBasedStateMachine):
    people: dict = {}
    suspect_id: int = 0
    fir_copy: bytes = b""

    requests = Bundle("requests")

    def __init__(self) -> None:
        super().__init__()
        self.savepoint = transaction.savepoint()
        self.traveller = time_machine.travel("2026-03-02 09:00:00+00:00", tick=False)
        self.clock = self.traveller.start()
        self.model: dict[int, dict] = {}

    def teardown(self) -> None:
        self.traveller.stop()
        transaction.savepoint_rollback(self.savepoint)

    # --- the model's rules of who may do what ------------------------------------------------

    def _person(self, name: str):
        return self.people[name]

    def _is_prosecutor_of(self, name: str, rid: int) -> bool:
        person = self._person(name)
        return (
            person.role == "district_prosecutor"
            and person.district_id == self.model[rid]["district"]
        )

    def _may_read_extract(self, name: str, rid: int) -> bool:
        entry, person = self.model[rid], self._person(name)
        if entry["answer"] != "match":
            return False
        if person.pk == entry["filer"]:
            return entry["state"] == "delivered" and timezone.now() < entry["expires_at"]
        answered = entry["state"] in ("answered", "delivered")
        return answered and (self._is_prosecutor_of(name, rid) or name == "npb")

    def _attempt(self, allowed: bool, call) -> object | None:
        before = dict(RecordsRequest.objects.values_list("pk", "state"))
        try:
            result = call()
        except REFUSED:
            assert not allowed, "a permitted step was refused"
            assert dict(RecordsRequest.objects.values_list("pk", "state")) == before
            return None
        assert allowed, "a step the model forbids went through"
        return result

    # --- actions -----------------------------------------------------------------------------

    @initialize(target=requests)
    def first_request(self):
        return self._file("io")

    def _file(self, name: str):
        person = self._person(name)
        allowed = person.role == "investigating_officer"
        request = self._attempt(
            allowed,
            lambda: services.records_request_file(
                actor=person,
                station_code=person.station.code if person.station_id else "lahore-a",
                fir_number="77",
                fir_year=2026,
                sections=["PPC 376"],
                fir_copy=self.fir_copy,
                annexure=annexure(),
                attested=True,
            ),
        )
        if request is None:
            return RecordsRequest.objects.order_by("-id").values_list("pk", flat=True).first()
        self.model[request.pk] = {
            "state": "submitted",
            "filer": person.pk,
            "district": request.district_id,
            "answer": "",
            "expires_at": None,
        }
        return request.pk

    @precondition(lambda self: len(self.model) < 2)  # two requests, taken deep
    @rule(target=requests, name=st.sampled_from(ACTORS))
    def file(self, name):
        return self._file(name)

    def forward(self, rid, name):
        allowed = self._is_prosecutor_of(name, rid) and self.model[rid]["state"] == "submitted"
        if self._attempt(
            allowed,
            lambda: services.records_request_forward(
                actor=self._person(name), request_id=rid, suspect_named_in_fir=True
            ),
        ):
            self.model[rid]["state"] = "forwarded"

    def send_back(self, rid, name):
        allowed = self._is_prosecutor_of(name, rid) and self.model[rid]["state"] == "submitted"
        if self._attempt(
            allowed,
            lambda: services.records_request_return(
                actor=self._person(name), request_id=rid, reason="Clarify the relation."
            ),
        ):
            self.model[rid]["state"] = "returned"

    def amend_and_resubmit(self, rid, name):
        entry = self.model[rid]
        allowed = self._person(name).pk == entry["filer"] and entry["state"] == "returned"
        if self._attempt(
            allowed,
            lambda: services.records_request_resubmit(
                actor=self._person(name),
                request_id=rid,
                changes={"relation_to_case": "accused, clarified"},
                fir_copy=None,
                attested=True,
            ),
        ):
            entry["state"] = "submitted"

    def answer(self, rid, name, match):
        allowed = name == "npb" and self.model[rid]["state"] == "forwarded"
        if self._attempt(
            allowed,
            lambda: services.records_request_answer(
                actor=self._person(name),
                request_id=rid,
                offender_id=self.suspect_id if match else None,
            ),
        ):
            self.model[rid].update(state="answered", answer="match" if match else "no_match")

    def deliver(self, rid, name):
        allowed = self._is_prosecutor_of(name, rid) and self.model[rid]["state"] == "answered"
        if self._attempt(
            allowed,
            lambda: services.records_request_deliver(actor=self._person(name), request_id=rid),
        ):
            self.model[rid].update(state="delivered", expires_at=timezone.now() + ACCESS)

    def view_extract(self, rid, name):
        body = self._attempt(
            self._may_read_extract(name, rid),
            lambda: services.records_request_extract(actor=self._person(name), request_id=rid),
        )
        if body is not None:
            assert body["offender_id"] == self.suspect_id

    def download(self, rid, name):
        result = self._attempt(
            self._may_read_extract(name, rid),
            lambda: services.records_request_extract_pdf(actor=self._person(name), request_id=rid),
        )
        if result is not None:
            assert result[1].startswith(b"%PDF-")

    @rule(
        rid=requests,
        name=st.sampled_from(ACTORS),
        action=st.sampled_from(
            [
                "forward",
                "send_back",
                "amend_and_resubmit",
                "answer",
                "deliver",
                "view_extract",
                "download",
            ]
        ),
        match=st.booleans(),
    )
    def someone_tries(self, rid, name, action, match):
        """Anyone at all tries any step on any request: refused unless the model allows it."""
        if action == "answer":
            self.answer(rid, name, match)
        else:
            getattr(self, action)(rid, name)

    def _filer_name(self, rid: int) -> str:
        return next(n for n, p in self.people.items() if p.pk == self.model[rid]["filer"])

    def _prosecutor_name(self, rid: int) -> str:
        dpp = self._person("dpp")
        return "dpp" if dpp.district_id == self.model[rid]["district"] else "dpp_kasur"

    @rule(rid=requests, match=st.booleans(), send_back=st.booleans())
    def next_step_by_the_right_person(self, rid, match, send_back):
        """The SOP's next step taken by whoever it falls to, so that deep states (delivered,
        expired) are reached as often as refusals."""
        state = self.model[rid]["state"]
        if state == "submitted":
            step = self.send_back if send_back else self.forward
            step(rid, self._prosecutor_name(rid))
        elif state == "returned":
            self.amend_and_resubmit(rid, self._filer_name(rid))
        elif state == "forwarded":
            self.answer(rid, "npb", match)
        elif state == "answered":
            self.deliver(rid, self._prosecutor_name(rid))

    # The same rule twice: Hypothesis draws rules uniformly, and the SOP's path is long.
    and_the_next_step = next_step_by_the_right_person

    @rule(rid=requests, as_pdf=st.booleans())
    def the_filer_reads(self, rid, as_pdf):
        (self.download if as_pdf else self.view_extract)(rid, self._filer_name(rid))

    # Steps that cross the thresholds: the 48-hour clock, the escalation, the access expiry.
    @rule(hours=st.sampled_from([1, 6, 23, 25, 49, 73]))
    def let_time_pass(self, hours):
        self.clock.shift(timedelta(hours=hours))

    @rule()
    def run_the_clock_job(self):
        services.records_requests_clock_sweep()

    # --- invariants --------------------------------------------------------------------------

    @invariant()
    def states_match_the_model(self):
        stored = dict(RecordsRequest.objects.values_list("pk", "state"))
        assert stored == {rid: entry["state"] for rid, entry in self.model.items()}

    @invariant()
    def clock_and_states_agree(self):
        now = timezone.now()
        overdue_expected = set()
        for request in RecordsRequest.objects.all():
            assert request.due_at == request.submitted_at + CLOCK
            if request.state == RequestState.SUBMITTED and request.due_at < now:
                overdue_expected.add(request.pk)
            if request.reminded_at is not None:
                assert request.due_at <= request.reminded_at <= now
                assert request.reminded_at >= request.submitted_at
            if request.escalated_at is not None:
                assert request.reminded_at is not None
                assert request.escalated_at >= request.due_at + timedelta(hours=24)
            if request.state == RequestState.DELIVERED:
                assert request.access_expires_at == request.delivered_at + ACCESS
            if request.state in (RequestState.SUBMITTED, RequestState.RETURNED):
                assert request.forwarded_at is None
                assert request.answer == ""
            else:
                assert request.reminded_at is None or request.reminded_at <= request.forwarded_at
        listed = set()
        for name in ("dpp", "dpp_kasur"):
            listed |= set(
                selectors.records_request_list(
                    actor=self._person(name), overdue_at=now
                ).values_list("pk", flat=True)
            )
        assert listed == overdue_expected


@pytest.mark.django_db
def test_records_request_state_machine(world, settings):
    settings.NIGRANI_RECORDS_EXTRACT_ACCESS_DAYS = ACCESS.days
    lahore, kasur = world.lahore, world.kasur
    RecordsRequestMachine.people = {
        "io": make_officer(
            "sm-io",
            "investigating_officer",
            AgencyKind.POLICE,
            district=lahore,
            station=world.lahore_a,
        ),
        "io_colleague": make_officer(
            "sm-io-2",
            "investigating_officer",
            AgencyKind.POLICE,
            district=lahore,
            station=world.lahore_a,
        ),
        "io_kasur": make_officer(
            "sm-io-k",
            "investigating_officer",
            AgencyKind.POLICE,
            district=kasur,
            station=world.kasur_a,
        ),
        "dpp": make_officer(
            "sm-dpp", "district_prosecutor", AgencyKind.PROSECUTION, district=lahore
        ),
        "dpp_kasur": make_officer(
            "sm-dpp-k", "district_prosecutor", AgencyKind.PROSECUTION, district=kasur
        ),
        "npb": make_officer("sm-npb", "registry_admin", AgencyKind.NPB),
        "station": make_officer(
            "sm-so", "station_officer", AgencyKind.POLICE, district=lahore, station=world.lahore_a
        ),
        "auditor": make_officer("sm-aud", "auditor", AgencyKind.NPB),
    }
    RecordsRequestMachine.suspect_id = registered_suspect(world).pk
    RecordsRequestMachine.fir_copy = pdf_bytes()
    run_state_machine_as_test(
        RecordsRequestMachine,
        settings=hypothesis_settings(
            max_examples=25,
            stateful_step_count=30,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )
