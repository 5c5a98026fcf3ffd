"""How staff name each kind of request: short and neutral, like "Erasure".

The customer pages speak to the customer ("Delete your data", :mod:`portal.dsr.texts`); the
back office and the deadline reminder to the privacy contact use these names instead.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from .models import RequestKind

#: Every kind of request, as staff read it.
STAFF_KIND_NAMES = {
    RequestKind.ACCESS.value: _l("Access"),
    RequestKind.CORRECTION.value: _l("Correction"),
    RequestKind.ERASURE.value: _l("Erasure"),
    RequestKind.RESTRICTION.value: _l("Restriction of processing"),
    RequestKind.OBJECTION.value: _l("Objection"),
    RequestKind.WITHDRAW_CONSENT.value: _l("Withdrawal of consent"),
    RequestKind.PORTABILITY.value: _l("Data portability"),
    RequestKind.QUESTION.value: _l("Question"),
}


def staff_kind_name(kind: str) -> str:
    """The staff name of a kind; an unknown kind as it is."""
    name = STAFF_KIND_NAMES.get(kind)
    return str(name) if name is not None else kind
