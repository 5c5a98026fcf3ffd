"""An objection that names direct marketing and a purpose on legitimate interests (GDPR art. 21):
the direct-marketing part applies from receipt and cannot be refused (art. 21(3)); the rest is
weighed and may be refused (art. 21(1)). What the customer is told at each step."""

from __future__ import annotations

import html as html_lib

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from portal.dsr import services
from portal.extensions import db
from portal.models import AuditEvent, DataRequest
from portal.tasks import enqueue_mail

from ..auth.conftest import Mailbox
from .conftest import english, page
from .helpers import check, reference_of, send, stored

MIXED = [("purposes", "newsletter"), ("purposes", "service-improvement")]


def _object(client: FlaskClient, purposes: list[tuple[str, str]]) -> str:
    check_page = check(client, "/verzoeken/nieuw/bezwaar", purposes)
    return reference_of(send(client, "bezwaar", check_page))


def _text(html: str) -> str:
    return " ".join(html_lib.unescape(html).split())


def _refuse(app: Flask, reference: str, reason: str) -> None:
    with app.test_request_context():
        row = db.session.scalars(
            sa.select(DataRequest).where(DataRequest.reference == reference)
        ).one()
        outbox = services.refuse(row, reason, staff_id=1)
        db.session.commit()
        for outbox_id in outbox:
            enqueue_mail(outbox_id)


def test_a_mixed_objection_is_not_unconditional_but_its_direct_marketing_is(
    app: Flask, sanne: FlaskClient
) -> None:
    mixed = _object(sanne, MIXED)
    only_marketing = _object(sanne, [("purposes", "newsletter")])
    with app.test_request_context():
        rows = {
            r.reference: r
            for r in db.session.scalars(sa.select(DataRequest).order_by(DataRequest.id))
        }
        row = rows[mixed]
        assert services.direct_marketing_objected(row) == ["newsletter"]
        assert services.weighed_objected(row) == ["service-improvement"]
        assert services.mixed_objection(row) and not services.unconditional(row)
        assert services.direct_marketing_stopped(row) == ["newsletter"]
        pure = rows[only_marketing]
        assert services.unconditional(pure) and not services.mixed_objection(pure)


def test_the_confirmation_and_receipt_of_a_mixed_objection_say_both_parts_in_english(
    app: Flask, sanne: FlaskClient, mailbox: Mailbox
) -> None:
    english(sanne)
    reference = _object(sanne, MIXED)
    deadline = f"{stored(app, reference).deadline:%b} {stored(app, reference).deadline.day}"
    received = _text(page(sanne, f"/verzoeken/{reference}/ontvangen"))
    marketing = (
        "Direct marketing (Newsletter): this applies from the day we received your objection,"
        " with nothing to weigh. We stop this use as soon as possible, and confirm it by"
    )
    weighed = (
        "The other purposes (Improving our services): we weigh your situation against our"
        f" reasons, and answer by {deadline}, "
    )
    assert marketing in received and weighed in received
    # not the sentence that says the whole request applies from receipt
    assert "This applies from the day we received it" not in received
    message = mailbox.wait_for(1)[-1]
    for body in (Mailbox.text_of(message), _text(Mailbox.html_of(message))):
        body = " ".join(body.split())
        assert marketing in body and weighed in body
        assert "This applies from the day we received it" not in body


def test_the_confirmation_and_receipt_of_a_mixed_objection_say_both_parts_in_dutch(
    app: Flask, sanne: FlaskClient, mailbox: Mailbox
) -> None:
    """Needs the Dutch translations of the new sentences (portal/dsr/translations)."""
    reference = _object(sanne, MIXED)
    received = _text(page(sanne, f"/verzoeken/{reference}/ontvangen"))
    marketing = (
        "Direct marketing (Nieuwsbrief): dit geldt vanaf de dag dat wij uw bezwaar ontvingen"
    )
    weighed = "De andere doelen (Verbeteren van onze dienstverlening): wij wegen uw situatie af"
    assert marketing in received and weighed in received
    message = mailbox.wait_for(1)[-1]
    for body in (Mailbox.text_of(message), _text(Mailbox.html_of(message))):
        body = " ".join(body.split())
        assert marketing in body and weighed in body


def test_a_pure_direct_marketing_objection_still_applies_as_a_whole_from_receipt(
    app: Flask, sanne: FlaskClient, mailbox: Mailbox
) -> None:
    english(sanne)
    reference = _object(sanne, [("purposes", "newsletter")])
    received = _text(page(sanne, f"/verzoeken/{reference}/ontvangen"))
    assert "This applies from the day we received it" in received
    assert "The other purposes" not in received
    receipt = Mailbox.text_of(mailbox.wait_for(1)[-1])
    assert "This applies from the day we received it" in receipt
    # sent in the portal: no word of staff entering it for her
    assert "entered it in our privacy portal" not in receipt and "Did you not make" not in receipt


@pytest.mark.parametrize("language", ["en", "nl"])
def test_a_partly_refused_objection_keeps_direct_marketing_stopped_and_says_so(
    app: Flask, sanne: FlaskClient, mailbox: Mailbox, language: str
) -> None:
    """The Dutch run needs the Dutch translations of the new sentences (portal/dsr)."""
    if language == "en":
        english(sanne)
    reference = _object(sanne, MIXED)
    mailbox.wait_for(1)
    _refuse(app, reference, "Compelling grounds: the security of our systems")

    row = stored(app, reference)
    assert row.status == "refused"
    assert [e.action for e in row.events] == ["received", "partly_refused"]
    with app.test_request_context():
        row = db.session.scalars(
            sa.select(DataRequest).where(DataRequest.reference == reference)
        ).one()
        # the direct-marketing part stays stopped after the refusal of the rest
        assert services.direct_marketing_stopped(row) == ["newsletter"]
        assert services.partly_refused(row)
        entry = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "request.partly_refused")
        ).one()
        assert entry.subject_id == str(row.id)
        assert entry.details == {
            "status": "refused",
            "refused_purposes": ["service-improvement"],
            "stopped_purposes": ["newsletter"],
        }
        assert not db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "request.refused")
        ).all()

    message = mailbox.wait_for(2)[-1]
    mail = " ".join(Mailbox.text_of(message).split())
    html = _text(page(sanne, f"/verzoeken/{reference}"))
    listing = _text(page(sanne, "/verzoeken/"))
    if language == "en":
        assert message["Subject"] == f"Your objection {reference}: partly refused"
        assert (
            "We have stopped using your data for direct marketing (Newsletter), as you asked."
            " That applies from the day we received your objection, whatever we decide about"
            " the rest."
        ) in mail
        assert (
            "We cannot grant your objection to the other purposes (Improving our services)"
        ) in mail
        assert "Why: Compelling grounds: the security of our systems" in mail
        assert "go to court" in mail  # the right to complain, as in every refusal
        assert "Partly refused" in html and "Partly refused" in listing
        assert "Stopped: Newsletter. This applies from" in html
        assert "We stopped the direct marketing and refused your objection" in html
        assert "Do you disagree?" in html
    else:
        assert message["Subject"] == f"Uw bezwaar {reference}: gedeeltelijk afgewezen"
        assert "Nieuwsbrief" in mail and "Verbeteren van onze dienstverlening" in mail
        assert "naar de rechter" in mail
        assert "Gedeeltelijk afgewezen" in html and "Gedeeltelijk afgewezen" in listing
        assert "Gestopt: Nieuwsbrief." in html
        assert "Autoriteit Persoonsgegevens" in html


def test_a_refused_objection_on_legitimate_interests_only_is_a_plain_refusal(
    app: Flask, sanne: FlaskClient, mailbox: Mailbox
) -> None:
    english(sanne)
    reference = _object(sanne, [("purposes", "service-improvement")])
    mailbox.wait_for(1)
    _refuse(app, reference, "Compelling grounds")
    row = stored(app, reference)
    assert [e.action for e in row.events] == ["received", "refused"]
    message = mailbox.wait_for(2)[-1]
    assert "direct marketing" not in Mailbox.text_of(message)
    html = _text(page(sanne, f"/verzoeken/{reference}"))
    assert "Partly refused" not in html and "Refused" in html
    assert 'id="marketing-stopped"' not in page(sanne, f"/verzoeken/{reference}")


def test_a_withdrawn_objection_stops_no_direct_marketing(app: Flask, sanne: FlaskClient) -> None:
    reference = _object(sanne, MIXED)
    assert 'id="marketing-stopped"' in page(sanne, f"/verzoeken/{reference}")
    with app.test_request_context():
        row = db.session.scalars(
            sa.select(DataRequest).where(DataRequest.reference == reference)
        ).one()
        services.withdraw(row, actor_id=row.customer_id)
        db.session.commit()
        assert services.direct_marketing_stopped(row) == []
    assert 'id="marketing-stopped"' not in page(sanne, f"/verzoeken/{reference}")
