"""What a source's outcome means, in words a customer understands."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .services import SourceOutcome

REASONS = {
    "down": _l("The system could not be reached."),
    "timeout": _l("The system did not answer in time."),
    "rate_limited": _l("The system asked us to wait before asking again."),
    "auth": _l("The portal's access to this system is not working at the moment."),
    "bad_data": _l("The system gave an answer we could not read."),
    "not_found": _l("The system could not find what we asked for."),
    "rejected": _l("The system refused our question."),
    "not_configured": _l("This system is not connected to the portal yet."),
    "not_supported": _l("This system cannot answer this question."),
    "no_identifier": _l("We know no verified detail of yours that this system can search by."),
    "mismatch": _l("The record in this system no longer matches your verified details."),
    "internal": _l("Something went wrong while reading this system."),
}

#: The related lists connectors name in ``MissingPart.what``.
MISSING_PARTS = {
    "orders": _l("orders"),
    "guest_orders": _l("orders placed without an account"),
    "order_accounts": _l("whether the accounts orders were placed with still exist"),
    "order_notes": _l("order notes"),
    "refunds": _l("refunds"),
    "downloads": _l("downloadable files"),
    "satisfaction_ratings": _l("satisfaction ratings"),
    "sales_invoices": _l("invoices"),
    "estimates": _l("quotes"),
    "recurring_sales_invoices": _l("recurring invoices"),
    "tickets": _l("tickets"),
    "ticket_articles": _l("ticket messages"),
    "conversations": _l("ticket messages"),
    "contact_details": _l("details of your contact record (such as other e-mail addresses)"),
    "deleted_contacts": _l("deleted contact records that can still be restored"),
    "trashed_tickets": _l("tickets in the trash"),
    "blocked_contacts": _l("blocked contact records"),
    "spam_tickets": _l("tickets marked as spam"),
    "payments": _l("payments"),
    "order_payments": _l("payments of orders"),
    "mandates": _l("direct debit mandates"),
    "subscriptions": _l("subscriptions"),
    "chargebacks": _l("payments your bank reversed (chargebacks)"),
    "kept_records": _l("records kept as the law requires after an erasure"),
    "customers": _l("customer records"),
    "contacts": _l("contact records"),
    "users": _l("user accounts"),
    "phone_search": _l("records found by your phone number"),
}

#: Why a part is missing, where the part says more than the kind of failure: (what, kind).
PART_REASONS = {
    ("phone_search", "not_supported"): _l("This system cannot be searched by phone number."),
}


def reason(kind: str | None) -> str:
    """Why a source failed or is incomplete."""
    return str(REASONS.get(kind or "internal", REASONS["internal"]))


def outcome_text(outcome: SourceOutcome) -> str:
    """One sentence on what this source's data lacks, or an empty string when complete."""
    if outcome.status == "complete":
        return ""
    if outcome.status == "partial":
        parts = sorted({str(MISSING_PARTS.get(what, what)) for what, _kind in outcome.missing})
        # each reason once, in the order the parts went missing
        reasons = dict.fromkeys(
            str(PART_REASONS.get((what, kind)) or reason(kind)) for what, kind in outcome.missing
        )
        return _(
            "Part of the data is missing: %(parts)s. %(reason)s",
            parts=", ".join(parts),
            reason=" ".join(reasons) if reasons else reason(None),
        )
    if outcome.status == "skipped":
        return _("Not consulted. %(reason)s", reason=reason(outcome.error_kind))
    return _(
        "Nothing could be gathered from this system. %(reason)s", reason=reason(outcome.error_kind)
    )
