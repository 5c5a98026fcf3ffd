"""Passkeys (WebAuthn) as an optional second factor besides TOTP: adding, listing and removing
them, signing in with one, and everything that must be refused.

The authenticator is a software one (:class:`SoftAuthenticator`): an EC P-256 key made with
``cryptography``, an attestation of format ``none`` and assertions signed the way a real
authenticator signs them, so py_webauthn verifies them for real.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from flask import Flask
from sqlalchemy import select
from webauthn.helpers import encode_cbor

from portal.extensions import db
from portal.models import AuditEvent, StaffSession, utcnow
from portal.models.staff import StaffPasskey, StaffPasskeyChallenge
from portal.staff.passkeys import relying_party

from .conftest import Browser, Staff, fresh_code, make_staff, member

BASE_URL = "http://localhost:5000"
RP_ID = "localhost"
ACCOUNT = "/beheer/account"
SECOND_FACTOR = "/beheer/tweestaps"
REGISTER_OPTIONS = "/beheer/account/passkeys/opties"
REGISTER = "/beheer/account/passkeys"
SIGN_IN_OPTIONS = "/beheer/tweestaps/passkey/opties"
SIGN_IN = "/beheer/tweestaps/passkey"
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')

UP, UV, AT = 0x01, 0x04, 0x40


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


class SoftAuthenticator:
    """One passkey held in software: makes attestations (``none``) and signs assertions."""

    def __init__(self, origin: str = BASE_URL, rp_id: str = RP_ID) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(32)
        self.counter = 0
        self.origin = origin
        self.rp_id = rp_id

    def _cose_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return encode_cbor(
            {
                1: 2,  # kty: EC2
                3: -7,  # alg: ES256
                -1: 1,  # crv: P-256
                -2: numbers.x.to_bytes(32, "big"),
                -3: numbers.y.to_bytes(32, "big"),
            }
        )

    def _auth_data(self, flags: int, counter: int, attested: bool = False) -> bytes:
        data = hashlib.sha256(self.rp_id.encode()).digest() + bytes([flags])
        data += counter.to_bytes(4, "big")
        if attested:
            data += bytes(16)  # AAGUID: all zero, as for attestation "none"
            data += len(self.credential_id).to_bytes(2, "big") + self.credential_id
            data += self._cose_key()
        return data

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        return json.dumps(
            {"type": kind, "challenge": challenge, "origin": origin or self.origin},
            separators=(",", ":"),
        ).encode()

    def create(self, options: dict[str, Any], origin: str | None = None) -> dict[str, Any]:
        """The answer of ``navigator.credentials.create()`` to ``options``."""
        client_data = self._client_data("webauthn.create", options["challenge"], origin)
        attestation = encode_cbor(
            {
                "fmt": "none",
                "attStmt": {},
                "authData": self._auth_data(UP | UV | AT, self.counter, attested=True),
            }
        )
        cred = b64url(self.credential_id)
        return {
            "id": cred,
            "rawId": cred,
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "response": {
                "clientDataJSON": b64url(client_data),
                "attestationObject": b64url(attestation),
                "transports": ["internal", "hybrid"],
            },
        }

    def get(
        self, options: dict[str, Any], origin: str | None = None, counter: int | None = None
    ) -> dict[str, Any]:
        """The answer of ``navigator.credentials.get()``; the counter goes up by one unless
        ``counter`` is given."""
        if counter is None:
            self.counter += 1
            counter = self.counter
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        auth_data = self._auth_data(UP | UV, counter)
        signature = self.key.sign(
            auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256())
        )
        cred = b64url(self.credential_id)
        return {
            "id": cred,
            "rawId": cred,
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(client_data),
                "authenticatorData": b64url(auth_data),
                "signature": b64url(signature),
                "userHandle": None,
            },
        }


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    """localhost: WebAuthn needs a domain name (or localhost), not 127.0.0.1."""
    return {
        "base_url": BASE_URL,
        "login_rate_per_ip": "1000 per minute",
        "login_rate_per_address": "1000 per minute",
        "code_rate_per_ip": "1000 per minute",
        "code_rate_per_address": "1000 per minute",
    }


def post_json(b: Browser, path: str, body: dict[str, Any], page: str = ACCOUNT) -> Any:
    """POST JSON as the passkey script does: the CSRF token (of ``page``) in a header."""
    return b.client.post(path, json=body, headers={"X-CSRFToken": b.token(page)})


def add_passkey(
    b: Browser, staff: Staff, soft: SoftAuthenticator, name: str = "Werklaptop", steps: int = 1
) -> Any:
    """Both steps of adding a passkey (with a fresh code ``steps`` ahead); returns step 2."""
    options = post_json(b, REGISTER_OPTIONS, {"name": name, "code": staff.code(steps=steps)})
    assert options.status_code == 200, options.get_data(as_text=True)
    return post_json(b, REGISTER, soft.create(options.get_json()))


def sign_in_options(b: Browser) -> dict[str, Any]:
    r = post_json(b, SIGN_IN_OPTIONS, {}, page=SECOND_FACTOR)
    assert r.status_code == 200, r.get_data(as_text=True)
    options: dict[str, Any] = r.get_json()
    return options


def passkey_sign_in(b: Browser, answer: dict[str, Any]) -> Any:
    return post_json(b, SIGN_IN, answer, page=SECOND_FACTOR)


def store_passkey(app: Flask, staff_id: int, soft: SoftAuthenticator, name: str) -> None:
    """Give a staff member a passkey directly (adding one over HTTP needs a fresh TOTP code)."""
    with app.app_context():
        db.session.add(
            StaffPasskey(
                staff_id=staff_id,
                credential_id=soft.credential_id,
                public_key=soft._cose_key(),
                sign_count=soft.counter,
                transports=["internal"],
                name=name,
                created_at=utcnow(),
            )
        )
        db.session.commit()


def passkeys(app: Flask, staff_id: int | None = None) -> list[StaffPasskey]:
    with app.app_context():
        query = select(StaffPasskey).order_by(StaffPasskey.id)
        if staff_id is not None:
            query = query.where(StaffPasskey.staff_id == staff_id)
        rows = list(db.session.scalars(query))
        for row in rows:
            db.session.expunge(row)
        return rows


def events(app: Flask, action: str) -> list[AuditEvent]:
    with app.app_context():
        rows = list(
            db.session.scalars(
                select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
            )
        )
        for row in rows:
            db.session.expunge(row)
        return rows


@pytest.fixture
def with_passkey(app: Flask, officer: Staff) -> SoftAuthenticator:
    """The officer has a passkey called "Werklaptop"."""
    soft = SoftAuthenticator()
    store_passkey(app, officer.id, soft, "Werklaptop")
    return soft


# --- adding a passkey --------------------------------------------------------------------------


def test_registration_options_need_a_fresh_code(app: Flask, officer: Staff) -> None:
    b = Browser(app)
    b.sign_in(officer)
    for odd in ({"name": 1, "code": "123456"}, {"name": ["a"], "code": "123456"}):
        assert post_json(b, REGISTER_OPTIONS, odd).status_code == 400
    token = b.token(ACCOUNT)
    as_list = b.client.post(REGISTER_OPTIONS, json=["x"], headers={"X-CSRFToken": token})
    assert as_list.status_code == 400
    missing = post_json(b, REGISTER_OPTIONS, {"name": "Laptop", "code": ""})
    assert missing.status_code == 400
    assert missing.get_json()["field"] == "code"
    no_name = post_json(b, REGISTER_OPTIONS, {"name": " ", "code": officer.code(steps=1)})
    assert no_name.status_code == 400
    assert no_name.get_json() == {
        "error": "Vul een naam in voor de toegangssleutel",
        "field": "name",
    }
    # The code used to sign in works once: re-authentication needs a new one, and a wrong one
    # counts as a failed attempt.
    reused = post_json(b, REGISTER_OPTIONS, {"name": "Laptop", "code": officer.code()})
    assert reused.status_code == 400
    assert reused.get_json()["field"] == "code"
    assert member(app, officer.id).failed_attempts == 1

    ok = post_json(b, REGISTER_OPTIONS, {"name": "Laptop", "code": officer.code(steps=1)})
    assert ok.status_code == 200
    options = ok.get_json()
    assert options["rp"]["id"] == RP_ID
    assert options["attestation"] == "none"
    assert options["excludeCredentials"] == []
    assert options["authenticatorSelection"]["residentKey"] == "preferred"
    # The user handle is a keyed hash, never the e-mail address.
    assert officer.email.encode() not in unb64url(options["user"]["id"])
    assert len(unb64url(options["user"]["id"])) == 32
    assert len(unb64url(options["challenge"])) >= 32
    with app.app_context():
        challenge = db.session.scalars(select(StaffPasskeyChallenge)).one()
        assert challenge.challenge == unb64url(options["challenge"])
        assert challenge.purpose == "register"
        assert challenge.passkey_name == "Laptop"


def test_registration_needs_a_complete_sign_in(app: Flask, officer: Staff) -> None:
    anonymous = Browser(app)
    r = anonymous.client.post(REGISTER_OPTIONS, json={"name": "x", "code": "123456"})
    assert r.status_code == 400  # no CSRF token: no session either
    pending = Browser(app, "10.9.1.1")
    pending.password(officer)
    r = post_json(pending, REGISTER_OPTIONS, {"name": "x", "code": officer.code()}, SECOND_FACTOR)
    assert r.status_code == 303
    assert r.headers["Location"].endswith(SECOND_FACTOR)


def test_adding_a_passkey_stores_it_and_lists_it(app: Flask, officer: Staff) -> None:
    start = utcnow()
    b = Browser(app)
    b.sign_in(officer)
    soft = SoftAuthenticator()
    done = add_passkey(b, officer, soft, name="Werklaptop")
    assert done.status_code == 200
    assert done.get_json() == {"redirect": "/beheer/account#passkeys"}
    [row] = passkeys(app, officer.id)
    assert row.credential_id == soft.credential_id
    assert row.name == "Werklaptop"
    assert row.sign_count == 0
    assert row.transports == ["internal", "hybrid"]
    assert row.created_at is not None and row.last_used_at is None
    [added] = events(app, "staff.passkey_added")
    assert added.actor_id == str(officer.id)
    assert added.details["passkey_id"] == row.id
    assert "Werklaptop" not in json.dumps(added.details)  # ids, not what people typed

    page = b.get(ACCOUNT).get_data(as_text=True)
    assert "Toegangssleutel ‘Werklaptop’ is toegevoegd." in page
    assert '<th scope="row">Werklaptop</th>' in page
    assert "Nooit" in page  # last used

    # A second passkey: the first one is excluded, so the same authenticator is not added twice.
    with time_machine.travel(start + timedelta(seconds=60), tick=False):
        options = post_json(b, REGISTER_OPTIONS, {"name": "Telefoon", "code": officer.code()})
        excluded = options.get_json()["excludeCredentials"]
        assert [unb64url(c["id"]) for c in excluded] == [soft.credential_id]
        again = post_json(b, REGISTER, soft.create(options.get_json()))
    assert again.status_code == 400
    assert again.get_json()["error"] == "Deze toegangssleutel is al toegevoegd."
    assert len(passkeys(app)) == 1


def test_registration_challenge_is_single_use_and_expires(app: Flask, officer: Staff) -> None:
    # The clock stands still: the codes used below are each one 30-second step
    # apart, whatever second of a step the test starts in.
    start = utcnow()
    b = Browser(app)
    with time_machine.travel(start, tick=False):
        b.sign_in(officer)
        soft = SoftAuthenticator()
        options = post_json(b, REGISTER_OPTIONS, {"name": "A", "code": officer.code(steps=1)})
        answer = soft.create(options.get_json())
        assert post_json(b, REGISTER, answer).status_code == 200
        # The same answer again: the challenge is gone.
        replay = post_json(b, REGISTER, {**answer})
        assert replay.status_code == 400
        assert "duurde te lang" in replay.get_json()["error"]

    # A failed answer uses the challenge up too.
    other = SoftAuthenticator()
    with time_machine.travel(start + timedelta(seconds=60), tick=False):
        options = post_json(b, REGISTER_OPTIONS, {"name": "B", "code": officer.code()})
        bad = other.create(options.get_json(), origin="http://localhost:5001")
        assert post_json(b, REGISTER, bad).status_code == 400
        good = other.create(options.get_json())
        assert post_json(b, REGISTER, good).status_code == 400
    assert len(passkeys(app)) == 1

    # An answer after the challenge expired.
    with time_machine.travel(start + timedelta(seconds=120), tick=False):
        options = post_json(b, REGISTER_OPTIONS, {"name": "C", "code": officer.code()})
        assert options.status_code == 200
    with time_machine.travel(start + timedelta(minutes=7, seconds=1), tick=False):
        late = post_json(b, REGISTER, other.create(options.get_json()))
        assert late.status_code == 400
    assert len(passkeys(app)) == 1


@pytest.mark.parametrize(
    ("origin", "rp_id"),
    [
        ("https://phishing.example", RP_ID),
        ("http://localhost:5001", RP_ID),
        (BASE_URL, "phishing.example"),
    ],
)
def test_registration_from_another_origin_or_rp_is_refused(
    app: Flask, officer: Staff, origin: str, rp_id: str
) -> None:
    b = Browser(app)
    b.sign_in(officer)
    soft = SoftAuthenticator(origin=origin, rp_id=rp_id)
    r = add_passkey(b, officer, soft)
    assert r.status_code == 400
    assert "kon niet worden gecontroleerd" in r.get_json()["error"]
    assert passkeys(app) == []


def test_garbage_answers_are_refused_without_an_error(app: Flask, officer: Staff) -> None:
    start = utcnow()
    b = Browser(app)
    b.sign_in(officer)
    bodies = [{}, {"id": "x", "rawId": "!!", "response": {}, "type": "public-key"}, {"id": 1}]
    for i, body in enumerate(bodies, start=1):
        with time_machine.travel(start + timedelta(seconds=60 * i), tick=False):
            options = post_json(b, REGISTER_OPTIONS, {"name": "A", "code": officer.code()})
            assert options.status_code == 200
            assert post_json(b, REGISTER, body).status_code == 400
    r = b.client.post(
        REGISTER, data="not json", headers={"X-CSRFToken": b.token(ACCOUNT)}
    )  # no challenge either
    assert r.status_code == 400


def test_remove_a_passkey(
    app: Flask, officer: Staff, agent: Staff, with_passkey: SoftAuthenticator
) -> None:
    [row] = passkeys(app, officer.id)
    agent_browser = Browser(app, "10.9.2.1")
    agent_browser.sign_in(agent)
    # Someone else's passkey is not found; removing needs the CSRF-protected POST.
    path = f"/beheer/account/passkeys/{row.id}/verwijderen"
    assert agent_browser.post(path, page=ACCOUNT).status_code == 404
    b = Browser(app)
    b.sign_in(officer)
    assert b.get(path).status_code == 405
    assert b.client.post(path).status_code == 400
    assert len(passkeys(app)) == 1

    r = b.post(path, page=ACCOUNT)
    assert r.status_code == 303
    assert r.headers["Location"].endswith("/beheer/account#passkeys")
    assert passkeys(app) == []
    assert "Toegangssleutel ‘Werklaptop’ is verwijderd." in b.get(ACCOUNT).get_data(as_text=True)
    [removed] = events(app, "staff.passkey_removed")
    assert removed.actor_id == str(officer.id)
    assert removed.details == {"passkey_id": row.id}
    # Gone: the second factor page no longer offers it.
    c = Browser(app, "10.9.2.2")
    c.password(officer)
    assert "data-passkey" not in c.get(SECOND_FACTOR).get_data(as_text=True)


# --- signing in with a passkey -------------------------------------------------------------------


def test_passkey_sign_in_passes_the_second_factor_gate(
    app: Flask, officer: Staff, with_passkey: SoftAuthenticator
) -> None:
    b = Browser(app)
    assert b.password(officer).status_code == 303
    page = b.get(SECOND_FACTOR).get_data(as_text=True)
    # Offered only when JavaScript runs: hidden until the script shows it; TOTP stays there.
    assert re.search(r'<div class="passkey-part" data-passkey="sign-in" hidden', page)
    assert '<script src="/beheer/static/passkeys.js" defer></script>' in page
    assert 'name="code"' in page and 'name="recovery_code"' in page
    assert b.get("/beheer/").status_code == 303  # not yet

    options = sign_in_options(b)
    assert options["rpId"] == RP_ID
    assert [unb64url(c["id"]) for c in options["allowCredentials"]] == [with_passkey.credential_id]
    done = passkey_sign_in(b, with_passkey.get(options))
    assert done.status_code == 200, done.get_data(as_text=True)
    assert done.get_json() == {"redirect": "/beheer/"}
    assert b.get("/beheer/").status_code == 200
    assert b.get(ACCOUNT).status_code == 200

    [row] = passkeys(app, officer.id)
    assert row.sign_count == 1
    assert row.last_used_at is not None
    with app.app_context():
        open_sessions = db.session.scalars(
            select(StaffSession).where(StaffSession.ended_at.is_(None))
        ).all()
        assert {s.second_factor_method for s in open_sessions if s.second_factor_at} >= {"passkey"}
    login = events(app, "staff.login")[-1]
    assert login.details == {"method": "passkey", "passkey_id": row.id}
    assert member(app, officer.id).failed_attempts == 0


def test_totp_keeps_working_beside_a_passkey(
    app: Flask, officer: Staff, with_passkey: SoftAuthenticator
) -> None:
    b = Browser(app, "10.9.3.1")
    assert b.sign_in(officer).status_code == 303
    assert b.get("/beheer/").status_code == 200


def test_sign_in_challenge_is_single_use(
    app: Flask, officer: Staff, with_passkey: SoftAuthenticator
) -> None:
    one = Browser(app, "10.9.4.1")
    one.password(officer)
    answer = with_passkey.get(sign_in_options(one))
    assert passkey_sign_in(one, answer).status_code == 200

    # Replayed in another browser, after that browser asked for its own challenge.
    two = Browser(app, "10.9.4.2")
    two.password(officer)
    sign_in_options(two)
    assert passkey_sign_in(two, answer).status_code == 400
    # A refused answer used that challenge up: a right answer to it is refused as well.
    options = sign_in_options(two)
    bad = with_passkey.get(options, origin="https://x.example")
    assert passkey_sign_in(two, bad).status_code == 400
    assert passkey_sign_in(two, with_passkey.get(options)).status_code == 400
    # Without asking for a challenge at all.
    assert passkey_sign_in(two, with_passkey.get(options)).status_code == 400
    assert member(app, officer.id).failed_attempts == 4
    assert two.get("/beheer/").status_code == 303


def test_sign_in_challenge_expires(
    app: Flask, officer: Staff, with_passkey: SoftAuthenticator
) -> None:
    start = utcnow()
    b = Browser(app)
    with time_machine.travel(start, tick=False):
        b.password(officer)
        options = sign_in_options(b)
    with time_machine.travel(start + timedelta(minutes=5, seconds=1), tick=False):
        assert passkey_sign_in(b, with_passkey.get(options)).status_code == 400


def test_sign_in_from_another_origin_is_refused(
    app: Flask, officer: Staff, with_passkey: SoftAuthenticator
) -> None:
    b = Browser(app)
    b.password(officer)
    r = passkey_sign_in(b, with_passkey.get(sign_in_options(b), origin="https://phishing.example"))
    assert r.status_code == 400
    assert "Inloggen met uw toegangssleutel is niet gelukt" in r.get_json()["error"]
    with_passkey.rp_id = "phishing.example"
    assert passkey_sign_in(b, with_passkey.get(sign_in_options(b))).status_code == 400
    assert b.get("/beheer/").status_code == 303
    assert [e.details["step"] for e in events(app, "staff.login_failed")] == [
        "passkey",
        "passkey",
    ]


def test_a_sign_count_that_does_not_go_up_is_refused(
    app: Flask, officer: Staff, with_passkey: SoftAuthenticator
) -> None:
    b = Browser(app)
    b.password(officer)
    assert passkey_sign_in(b, with_passkey.get(sign_in_options(b), counter=5)).status_code == 200
    assert passkeys(app)[0].sign_count == 5
    for counter in (5, 3):  # the same, then lower: a cloned authenticator
        c = Browser(app, f"10.9.5.{counter}")
        c.password(officer)
        refused = passkey_sign_in(c, with_passkey.get(sign_in_options(c), counter=counter))
        assert refused.status_code == 400
        assert c.get("/beheer/").status_code == 303
    assert passkeys(app)[0].sign_count == 5
    d = Browser(app, "10.9.5.9")
    d.password(officer)
    assert passkey_sign_in(d, with_passkey.get(sign_in_options(d), counter=6)).status_code == 200


def test_an_authenticator_without_a_counter_keeps_working(app: Flask, officer: Staff) -> None:
    soft = SoftAuthenticator()
    b = Browser(app)
    b.sign_in(officer)
    add_passkey(b, officer, soft)
    for i in range(2):
        c = Browser(app, f"10.9.6.{i}")
        c.password(officer)
        assert passkey_sign_in(c, soft.get(sign_in_options(c), counter=0)).status_code == 200
    assert passkeys(app)[0].sign_count == 0


def test_someone_elses_passkey_is_refused(
    app: Flask, officer: Staff, agent: Staff, with_passkey: SoftAuthenticator
) -> None:
    own = SoftAuthenticator()
    setup = Browser(app, "10.9.7.1")
    setup.sign_in(agent)
    add_passkey(setup, agent, own, name="Agent")

    b = Browser(app, "10.9.7.2")
    b.password(agent)
    options = sign_in_options(b)
    assert [unb64url(c["id"]) for c in options["allowCredentials"]] == [own.credential_id]
    # The officer's passkey, answering the agent's challenge: not the agent's, so refused.
    r = passkey_sign_in(b, with_passkey.get(options))
    assert r.status_code == 400
    assert b.get("/beheer/").status_code == 303
    assert member(app, agent.id).failed_attempts == 1
    assert passkeys(app, officer.id)[0].last_used_at is None


def test_passkey_failures_count_towards_the_lock_out(
    app: Flask, officer: Staff, with_passkey: SoftAuthenticator
) -> None:
    b = Browser(app)
    b.password(officer)
    assert b.post(SECOND_FACTOR, code="000000").status_code == 400  # a wrong code counts too
    for _ in range(4):
        options = sign_in_options(b)
        bad = with_passkey.get(options, origin="https://phishing.example")
        assert passkey_sign_in(b, bad).status_code == 400
    row = member(app, officer.id)
    assert row.is_locked(utcnow())
    # Locked: a right passkey answer is refused too, and so is a right code.
    assert passkey_sign_in(b, with_passkey.get(sign_in_options(b))).status_code == 400
    assert b.post(SECOND_FACTOR, code=officer.code(steps=1)).status_code == 400
    reasons = [e.details.get("reason") for e in events(app, "staff.login_failed")]
    assert reasons.count("locked") == 2
    assert events(app, "staff.locked")


def test_a_passkey_sign_in_makes_the_browser_known(
    app: Flask, officer: Staff, with_passkey: SoftAuthenticator
) -> None:
    """After a passkey, as after a code, this browser gets the staff "known browser" cookie: a
    stranger's wrong passwords then lock other browsers out, not this one (which still needs
    the second step)."""
    b = Browser(app, "10.9.9.1")
    b.password(officer)
    assert b.client.get_cookie("portal_staff_browser") is None
    assert passkey_sign_in(b, with_passkey.get(sign_in_options(b))).status_code == 200
    assert b.client.get_cookie("portal_staff_browser") is not None
    assert b.post("/beheer/uitloggen", page="/beheer/").status_code == 303
    for n in range(5):
        Browser(app, f"10.9.9.{10 + n}").password(officer, "wrong password!")
    assert member(app, officer.id).is_locked(utcnow())
    assert Browser(app, "10.9.9.20").password(officer).status_code == 400  # locked
    assert b.password(officer).status_code == 303
    assert b.get("/beheer/").status_code == 303  # the second step first
    assert passkey_sign_in(b, with_passkey.get(sign_in_options(b))).status_code == 200
    assert b.get("/beheer/").status_code == 200


def test_passkeys_are_not_offered_to_someone_without_one(app: Flask, officer: Staff) -> None:
    b = Browser(app)
    b.password(officer)
    assert "data-passkey" not in b.get(SECOND_FACTOR).get_data(as_text=True)
    r = post_json(b, SIGN_IN_OPTIONS, {}, page=SECOND_FACTOR)
    assert r.status_code == 404
    # Before the password there is nothing to ask for.
    anonymous = Browser(app, "10.9.8.1")
    token = anonymous.token()
    r = anonymous.client.post(SIGN_IN_OPTIONS, json={}, headers={"X-CSRFToken": token})
    assert r.status_code == 401
    assert r.get_json()["redirect"] == "/beheer/inloggen"


def test_an_officer_reset_removes_the_passkeys(app: Flask, officer: Staff, agent: Staff) -> None:
    own = SoftAuthenticator()
    a = Browser(app, "10.9.9.1")
    a.sign_in(agent)
    add_passkey(a, agent, own)
    o = Browser(app, "10.9.9.2")
    o.sign_in(officer)
    shown = o.post(
        f"/beheer/medewerkers/{agent.id}/tweestaps-herstellen",
        page="/beheer/medewerkers",
        code=fresh_code(app, officer),
    )
    assert passkeys(app, agent.id) == []
    # TOTP stays mandatory: the agent enrols again (with the new one-time password) first.
    one_time = re.search(r'id="one-time-password">([a-z0-9-]+)<', shown.get_data(as_text=True))
    assert one_time is not None
    again = Browser(app, "10.9.9.3")
    signed_in = again.password(agent, one_time.group(1))
    assert signed_in.headers["Location"].endswith("/beheer/tweestaps/instellen")
    r = post_json(again, SIGN_IN_OPTIONS, {}, page="/beheer/tweestaps/instellen")
    assert r.status_code == 404


def test_account_page_without_javascript(app: Flask, officer: Staff) -> None:
    b = Browser(app)
    b.sign_in(officer)
    page = b.get(ACCOUNT).get_data(as_text=True)
    assert '<h2 id="passkeys">Toegangssleutels (passkeys)</h2>' in page
    assert re.search(r'<div class="passkey-part" data-passkey="register" hidden', page)
    assert "<noscript><p>Voor het toevoegen van een toegangssleutel is JavaScript nodig." in page
    # No inline script: only the first-party file, which the CSP ('self') allows.
    scripts = re.findall(r"<script[^>]*>", page)
    assert scripts == ['<script src="/beheer/static/passkeys.js" defer>']
    csp = b.get(ACCOUNT).headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "connect-src 'self'" in csp
    script = b.get("/beheer/static/passkeys.js")
    assert script.status_code == 200
    assert "navigator.credentials.create" in script.get_data(as_text=True)
    script.close()


@pytest.mark.parametrize(
    ("settings_overrides", "expected"),
    [
        ({"base_url": "https://privacy.firm.nl"}, ("privacy.firm.nl", "https://privacy.firm.nl")),
        (
            {"base_url": "https://Privacy.Firm.NL:8443/portaal/"},
            ("privacy.firm.nl", "https://privacy.firm.nl:8443"),
        ),
        ({"base_url": "http://localhost:5000"}, ("localhost", "http://localhost:5000")),
        ({"base_url": "http://privacy.firm.nl"}, None),  # not a secure context
        ({"base_url": "https://10.0.0.1"}, None),  # an IP address is no RP ID
        ({"base_url": "http://[::1]:5000"}, None),
    ],
)
def test_relying_party_comes_from_base_url(app: Flask, expected: tuple[str, str] | None) -> None:
    with app.app_context():
        rp = relying_party()
        assert (None if rp is None else (rp.id, rp.origin)) == expected
        if rp is not None:
            assert rp.name == app.jinja_env.globals["policy"].controller.name


class TestUnavailable:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, object]:
        """An IP address cannot be a WebAuthn RP ID: no passkeys at all (the TOTP is enough)."""
        return {"base_url": "http://127.0.0.1:5000"}

    def test_nothing_is_offered_on_an_ip_address(self, app: Flask, officer: Staff) -> None:
        b = Browser(app)
        b.sign_in(officer)
        page = b.get(ACCOUNT).get_data(as_text=True)
        assert "data-passkey" not in page and "passkeys.js" not in page
        r = post_json(b, REGISTER_OPTIONS, {"name": "A", "code": officer.code(steps=1)})
        assert r.status_code == 404


class TestRateLimits:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, object]:
        return {
            "base_url": BASE_URL,
            "login_rate_per_ip": "100 per minute",
            "login_rate_per_address": "100 per minute",
            "code_rate_per_ip": "100 per minute",
            "code_rate_per_address": "3 per minute",
        }

    def test_passkey_answers_share_the_code_limit_per_account(
        self, app: Flask, officer: Staff
    ) -> None:
        soft = SoftAuthenticator()
        store_passkey(app, officer.id, soft, "Laptop")
        b = Browser(app, "10.9.10.1")
        b.password(officer)
        assert b.post(SECOND_FACTOR, code="000000").status_code == 400
        statuses = [
            passkey_sign_in(b, soft.get(sign_in_options(b), origin="https://x.example")).status_code
            for _ in range(3)
        ]
        assert statuses == [400, 400, 429]
        # From another address, the same account is still limited.
        c = Browser(app, "10.9.10.2")
        c.password(officer)
        assert passkey_sign_in(c, soft.get(sign_in_options(c))).status_code == 429


def test_second_staff_member_can_use_own_passkey(app: Flask) -> None:
    """Two members, each with a passkey: each signs in with their own."""
    first = make_staff(app, "een@firm.example", "agent", name="Een")
    second = make_staff(app, "twee@firm.example", "agent", name="Twee")
    keys = {}
    for i, staff in enumerate((first, second)):
        keys[staff.id] = SoftAuthenticator()
        b = Browser(app, f"10.9.11.{i}")
        b.sign_in(staff)
        assert add_passkey(b, staff, keys[staff.id]).status_code == 200
    for i, staff in enumerate((first, second)):
        c = Browser(app, f"10.9.12.{i}")
        c.password(staff)
        assert passkey_sign_in(c, keys[staff.id].get(sign_in_options(c))).status_code == 200
