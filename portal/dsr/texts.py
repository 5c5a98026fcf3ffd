"""Customer-facing words for request kinds, statuses, history steps and the art. 18 grounds."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ..models import RequestKind, RequestStatus

#: What each kind is called.
KIND_NAMES = {
    RequestKind.ACCESS: _l("Access to your data"),
    RequestKind.CORRECTION: _l("Correct your data"),
    RequestKind.ERASURE: _l("Delete your data"),
    RequestKind.RESTRICTION: _l("Restrict the use of your data"),
    RequestKind.OBJECTION: _l("Object to the use of your data"),
    RequestKind.WITHDRAW_CONSENT: _l("Withdraw your consent"),
    RequestKind.PORTABILITY: _l("A copy of your data for another party"),
    RequestKind.QUESTION: _l("A question about your privacy"),
}

#: One plain sentence per kind, on the start page.
KIND_EXPLANATIONS = {
    RequestKind.CORRECTION: _l(
        "Something we hold about you is wrong or incomplete, and you want us to change it."
    ),
    RequestKind.ERASURE: _l(
        "You want us to delete your data. Before you send, you see what we delete and what the"
        " law makes us keep."
    ),
    RequestKind.RESTRICTION: _l(
        "You want us to stop using your data for a while, for example while we check whether"
        " it is correct."
    ),
    RequestKind.OBJECTION: _l(
        "You do not want us to use your data for a purpose that rests on our own interest."
    ),
    RequestKind.WITHDRAW_CONSENT: _l(
        "You gave us permission for something, such as a newsletter, and you want to take it back."
    ),
    RequestKind.QUESTION: _l("You have a question about your data for our privacy contact."),
}

STATUS_NAMES = {
    RequestStatus.RECEIVED: _l("Received"),
    RequestStatus.IN_PROGRESS: _l("In progress"),
    RequestStatus.EXTENDED: _l("Extended"),
    RequestStatus.WAITING_FOR_CUSTOMER: _l("Waiting for you"),
    RequestStatus.DONE: _l("Done"),
    RequestStatus.REFUSED: _l("Refused"),
    RequestStatus.WITHDRAWN: _l("Withdrawn"),
}

#: The status of an objection refused only in part: its direct marketing was stopped.
PARTLY_REFUSED = _l("Partly refused")

#: History steps as the customer reads them.
EVENT_NAMES = {
    "received": _l("We received your request"),
    "status": _l("We started working on your request"),
    "extended": _l("We need more time"),
    "received_on_corrected": _l("We corrected the date we received your request"),
    "info_requested": _l("We asked you for information"),
    "info_added": _l("You sent us information"),
    # the answer that reached us by post, e-mail or phone, recorded by staff
    "info_recorded": _l("You sent us information"),
    "info_withdrawn": _l("We no longer need the information we asked you for"),
    "withdrawn": _l("You withdrew your request"),
    "refused": _l("We refused your request"),
    "partly_refused": _l(
        "We stopped the direct marketing and refused your objection to the other purposes"
    ),
    "done": _l("Your request is done"),
    "restriction_lifted": _l("We told you that the restriction ends, and why"),
}

#: GDPR art. 18(1) (a)-(d), in plain words.
RESTRICTION_GROUNDS = {
    "accuracy": _l("You think your data is wrong, and we check whether it is correct."),
    "unlawful": _l(
        "We should not use your data at all, but you do not want us to delete it; we should only"
        " keep it."
    ),
    "legal_claim": _l(
        "We no longer need your data, but you need it to make or defend a legal claim."
    ),
    "objection": _l("You objected to the use of your data, and we check whose interest wins."),
}

#: Request field names shown on the check page and in e-mails.
ERASURE_SCOPES = {
    "all": _l("All my data"),
    "sources": _l("Only the data in some of our systems"),
    "categories": _l("Only some kinds of data"),
}

RESTRICTION_SCOPES = {
    "all": _l("All my data"),
    "categories": _l("Only some kinds of data"),
}


def kind_name(kind: str) -> str:
    """The name of a kind, e.g. "Correct your data"."""
    try:
        return str(KIND_NAMES[RequestKind(kind)])
    except (KeyError, ValueError):
        return kind


def status_name(status: str) -> str:
    """The name of a status, e.g. "In progress"."""
    try:
        return str(STATUS_NAMES[RequestStatus(status)])
    except (KeyError, ValueError):
        return status


def event_name(action: str) -> str:
    """The name of a history step."""
    label = EVENT_NAMES.get(action)
    return str(label) if label is not None else action.replace("_", " ")
