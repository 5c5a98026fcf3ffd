"""Customer-facing words for policy values (legal bases, retention, rights, roles)."""

from __future__ import annotations

from babel import Locale
from flask import Flask
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .schema import LegalBasis, Retention, RetentionStart, Right

LEGAL_BASES = {
    LegalBasis.CONSENT: _l("Your consent"),
    LegalBasis.CONTRACT: _l("Needed for our agreement with you"),
    LegalBasis.LEGAL_OBLIGATION: _l("A legal obligation"),
    LegalBasis.VITAL_INTERESTS: _l("Protecting someone's vital interests"),
    LegalBasis.PUBLIC_TASK: _l("A task in the public interest"),
    LegalBasis.LEGITIMATE_INTERESTS: _l("Our legitimate interest"),
}

STARTS = {
    RetentionStart.RECORD_CREATED: _l("after it was recorded"),
    RetentionStart.LAST_ORDER: _l("after your last order"),
    RetentionStart.END_OF_FISCAL_YEAR: _l("after the end of the fiscal year it belongs to"),
    RetentionStart.TICKET_CLOSED: _l("after your question or report was closed"),
    RetentionStart.LAST_CONTACT: _l("after our last contact with you"),
    RetentionStart.END_OF_CONTRACT: _l("after our agreement ends"),
    RetentionStart.CONSENT_WITHDRAWN: _l("after you withdraw your consent"),
}

RIGHTS = {
    Right.ACCESS: (
        _l("Access"),
        _l("You may see which personal data we hold about you and receive a copy."),
    ),
    Right.RECTIFICATION: (
        _l("Correction"),
        _l("You may have incorrect or incomplete data corrected."),
    ),
    Right.ERASURE: (
        _l("Erasure"),
        _l(
            "You may have your data deleted, for example when we no longer need it, unless the"
            " law obliges us to keep it or we need it for a legal claim."
        ),
    ),
    Right.RESTRICTION: (
        _l("Restriction"),
        _l("You may ask us to temporarily stop using your data, for example while we check it."),
    ),
    Right.PORTABILITY: (
        _l("Data portability"),
        _l("You may receive your data in a machine-readable form to take elsewhere."),
    ),
    Right.OBJECTION: (
        _l("Objection"),
        _l(
            "You may object to use of your data that rests on our legitimate interest, and"
            " always to its use for direct marketing, such as offers and newsletters."
        ),
    ),
    Right.WITHDRAW_CONSENT: (
        _l("Withdrawing consent"),
        _l("Where we use your data with your consent, you may withdraw it at any time."),
    ),
    Right.COMPLAINT: (
        _l("Complaint"),
        _l("You may complain to the supervisory authority."),
    ),
}

ROLES = {
    "processor": _l("Processor (works on our instructions)"),
    "controller": _l("Independent controller"),
    "joint_controller": _l("Joint controller"),
    "authority": _l("Government authority"),
    "other": _l("Other recipient"),
}


def legal_basis_label(basis: LegalBasis) -> str:
    """E.g. "A legal obligation (GDPR art. 6(1)(c))"; in Dutch as Dutch law is cited, "(AVG
    art. 6 lid 1 sub c)"."""
    article = basis.article
    if str(get_locale() or "nl").startswith("nl"):
        article = "6 lid 1 sub " + article.removeprefix("6(1)(").removesuffix(")")
    return _("%(label)s (GDPR art. %(article)s)", label=LEGAL_BASES[basis], article=article)


def retention_text(retention: Retention | None) -> str:
    """How long, in a sentence a customer understands."""
    locale = str(get_locale() or "nl")
    if retention is None or retention.kind == "undecided":
        return _("Not yet determined. Ask our privacy contact.")
    if retention.kind == "until_withdrawn":
        return _("Until you withdraw your consent.")
    if retention.kind == "while_customer":
        if retention.period is None:
            return _("As long as you are our customer.")
        return _(
            "As long as you are our customer, and %(period)s after that.",
            period=retention.period.describe(locale),
        )
    assert retention.period is not None and retention.starts is not None
    return _(
        "%(period)s %(start)s.",
        period=retention.period.describe(locale),
        start=STARTS[retention.starts],
    )


def country_name(code: str | None) -> str:
    """The country's name in the visitor's language."""
    if not code:
        return _("Not stated")
    locale = Locale.parse(str(get_locale() or "nl"))
    name: str = locale.territories.get(code, code)
    return name


def init_app(app: Flask) -> None:
    """Make the helpers available in templates."""
    app.jinja_env.filters["attr_locale"] = lambda text, locale: text.get(locale)
    app.jinja_env.globals.update(
        legal_basis_label=legal_basis_label,
        retention_text=retention_text,
        country_name=country_name,
        right_texts=RIGHTS,
        role_labels=ROLES,
    )
