"""One *flow* per kind of request: its form, its checks, and what it stores.

A flow turns a valid form into what :func:`portal.dsr.services.submit` stores: the *scope*
(policy keys only: sources, categories, purposes) and the *details* (what the customer typed,
encrypted). :func:`describe` turns a scope and details back into the rows the check page, the
request page and the receipt e-mail show, so all three say the same thing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, ClassVar

from flask import request
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from ..customer.texts import field_label
from ..gathering import Snapshot, current_or_gather
from ..gathering.presentation import OTHER
from ..models import Customer, RequestKind
from ..policy import Policy
from ..settings import firm_today
from . import corrections, erasure
from .forms import (
    CorrectionForm,
    ErasureForm,
    ObjectionForm,
    QuestionForm,
    RequestForm,
    RestrictionForm,
    WithdrawConsentForm,
)
from .services import consent_purposes, objectable_purposes
from .texts import ERASURE_SCOPES, RESTRICTION_GROUNDS, RESTRICTION_SCOPES


@dataclass
class Row:
    """One line of a summary: a label, one or more values, and the form field to change it."""

    label: str
    values: list[str]
    anchor: str | None = None


@dataclass
class Context:
    """What a flow may read: the policy, the language, the customer and their snapshot."""

    policy: Policy
    locale: str
    customer: Customer
    #: In the firm's time zone (the erasure preview's "until" dates count from it).
    today: date = field(default_factory=firm_today)
    _snapshot: Snapshot | None = None
    #: The correction form's fields, aligned with its ``items`` entries.
    choices: list[corrections.FieldChoice] = field(default_factory=list)
    #: Sources of posted correction fields that could not be checked: the record was not
    #: found, but its source did not answer completely this time (not "not yours").
    unchecked: list[str] = field(default_factory=list)

    @property
    def snapshot(self) -> Snapshot:
        """The customer's gathered data (gathered live if there is none); the view commits."""
        if self._snapshot is None:
            self._snapshot = current_or_gather(self.customer)
        return self._snapshot


def _formdata() -> Any:
    return request.form if request.method == "POST" else None


class Flow:
    """The parts every kind shares; subclasses fill in their form and what they store."""

    kind: ClassVar[RequestKind]
    slug: ClassVar[str]
    endpoint: ClassVar[str]
    template: ClassVar[str]
    form_class: ClassVar[type[RequestForm]]
    needs_snapshot: ClassVar[bool] = False

    def form(self, ctx: Context) -> RequestForm:
        """The form, filled from the request when it was posted, with its choices set."""
        form = self.form_class(formdata=_formdata())
        self.set_choices(form, ctx)
        return form

    def set_choices(self, form: Any, ctx: Context) -> None:
        """Set choices that come from the policy."""

    def start(self, form: Any, ctx: Context) -> bool:
        """Prepare a fresh form (GET). False when the page cannot be shown (unknown data)."""
        return True

    def validate(self, form: Any, ctx: Context) -> bool:
        """Check everything: the form's own validators, then the flow's own rules."""
        return bool(form.validate())

    def submission(self, form: Any, ctx: Context) -> tuple[dict[str, list[str]], dict[str, Any]]:
        """``(scope, details)`` of a valid form."""
        raise NotImplementedError


def _explanation(form: Any) -> str | None:
    return form.explanation.data or None


class CorrectionFlow(Flow):
    kind = RequestKind.CORRECTION
    slug = "correctie"
    endpoint = "requests.new_correction"
    template = "dsr/new_correction.html"
    form_class = CorrectionForm
    needs_snapshot = True

    def form(self, ctx: Context) -> RequestForm:
        form = super().form(ctx)
        assert isinstance(form, CorrectionForm)
        if request.method == "POST":
            self._align(form, ctx)
        return form

    def _align(self, form: CorrectionForm, ctx: Context) -> None:
        """Keep the posted fields that are in the customer's own data, with current values.
        A field whose record is not found while its source did not answer completely is
        noted in ``ctx.unchecked``: the request must not be sent without it."""
        kept, choices = [], []
        answered = {s.key: s.status for s in ctx.snapshot.sources}
        for entry in form.items.entries:
            sub = entry.form
            ref = (str(sub.source.data), str(sub.record_type.data), str(sub.record_id.data))
            record = corrections.find_record(ctx.snapshot, ref)
            if record is None and answered.get(ref[0], "complete") != "complete":
                if ref[0] not in ctx.unchecked:
                    ctx.unchecked.append(ref[0])
            choice = (
                corrections.choice_for(ctx.policy, record, str(sub.field.data), ctx.locale)
                if record is not None
                else None
            )
            if choice is None or any(
                (c.source, c.record_type, c.record_id, c.field)
                == (choice.source, choice.record_type, choice.record_id, choice.field)
                for c in choices
            ):
                continue
            kept.append(entry)
            choices.append(choice)
        form.items.entries = kept
        ctx.choices = choices
        self.set_choices(form, ctx)

    def set_choices(self, form: Any, ctx: Context) -> None:
        in_form = {(c.source, c.record_type, c.record_id) for c in ctx.choices}
        records = corrections.person_records(ctx.snapshot) if ctx.choices else []
        form.add_record.choices = [("", _("Choose a record"))] + [
            (corrections.encode_ref(corrections.ref_of(r)),
             corrections.record_label(ctx.policy, r, ctx.locale))
            for r in records
            if corrections.ref_of(r) not in in_form
        ]  # fmt: skip

    def _append(self, form: CorrectionForm, ctx: Context, choices: list[Any]) -> None:
        present = {(c.source, c.record_type, c.record_id, c.field) for c in ctx.choices}
        for choice in choices:
            key = (choice.source, choice.record_type, choice.record_id, choice.field)
            if key in present or len(form.items.entries) >= form.items.max_entries:
                continue
            form.items.append_entry(
                {
                    "source": choice.source,
                    "record_type": choice.record_type,
                    "record_id": choice.record_id,
                    "field": choice.field,
                    "new_value": "",
                }
            )
            ctx.choices.append(choice)
            present.add(key)
        self.set_choices(form, ctx)

    def start(self, form: Any, ctx: Context) -> bool:
        args = request.args
        ref = (args.get("source", ""), args.get("record_type", ""), args.get("record_id", ""))
        name = args.get("field", "")
        record = corrections.find_record(ctx.snapshot, ref) if all(ref) else None
        if record is None or corrections.choice_for(ctx.policy, record, name, ctx.locale) is None:
            return False
        self._append(form, ctx, corrections.fields_of(ctx.policy, record, ctx.locale, name))
        return True

    def add(self, form: CorrectionForm, ctx: Context) -> bool:
        """Add the fields of another of the customer's records (the "Add" button). False, with
        an error on the list, when no record of the customer's was chosen."""
        ref = corrections.decode_ref(form.add_record.data or "")
        record = corrections.find_record(ctx.snapshot, ref) if ref else None
        form.add_record.data = ""
        if record is None:
            form.add_record.errors = [_("Choose the record whose data you want to add")]
            return False
        self._append(form, ctx, corrections.fields_of(ctx.policy, record, ctx.locale))
        return True

    def validate(self, form: Any, ctx: Context) -> bool:
        valid = bool(form.validate())
        filled = [
            (entry, choice)
            for entry, choice in zip(form.items.entries, ctx.choices, strict=True)
            if entry.form.new_value.data
        ]
        if not filled:
            if form.items.entries:
                form.items.entries[0].form.new_value.errors = [_("Enter at least one new value")]
            return False
        for entry, choice in filled:
            if entry.form.new_value.errors:
                continue
            problem = corrections.check_value(
                choice.kind, str(entry.form.new_value.data), choice.current
            )
            if problem is not None:
                entry.form.new_value.errors = [str(problem)]
                valid = False
        return valid

    def submission(self, form: Any, ctx: Context) -> tuple[dict[str, list[str]], dict[str, Any]]:
        items = []
        categories: list[str] = []
        sources: list[str] = []
        for index, (entry, choice) in enumerate(zip(form.items.entries, ctx.choices, strict=True)):
            if not entry.form.new_value.data:
                continue
            items.append(
                {
                    "index": index,
                    "source": choice.source,
                    "record_type": choice.record_type,
                    "record_id": choice.record_id,
                    "record": choice.record_label,
                    "field": choice.field,
                    "category": _field_category(ctx.snapshot, choice),
                    "label": choice.label,
                    "kind": choice.kind,
                    "current": choice.current,
                    "new": entry.form.new_value.data,
                }
            )
            if choice.source not in sources:
                sources.append(choice.source)
            category = items[-1]["category"]
            if category and category not in categories:
                categories.append(category)
        details = {"items": items, "explanation": _explanation(form)}
        return {"sources": sources, "categories": categories}, details


def _field_category(snapshot: Snapshot, choice: corrections.FieldChoice) -> str | None:
    """The policy category of the chosen field, as its record has it."""
    record = corrections.find_record(
        snapshot, (choice.source, choice.record_type, choice.record_id)
    )
    category = (record or {}).get("categories", {}).get(choice.field)
    return str(category) if category else None


def _item_names(item: Mapping[str, Any], policy: Policy, locale: str) -> tuple[str, str]:
    """The names of a correction item's field and record in ``locale`` (the request may be
    read in another language than it was sent in: by staff, or after the customer switched),
    worked out from the keys it keeps; the words it was sent with where it lacks them."""
    keys = [item.get(k) for k in ("source", "record_type", "record_id", "field")]
    if not all(isinstance(k, str) and k for k in keys):
        return str(item.get("label") or ""), str(item.get("record") or "")
    source, record_type, record_id, name = (str(k) for k in keys)
    system = next((s.connector for s in policy.sources if s.key == source), None)
    record = corrections.record_label(
        policy,
        {"source": source, "record_type": record_type, "record_id": record_id, "system": system},
        locale,
    )
    if "category" not in item:  # sent before items kept the field's category
        return str(item.get("label") or name), record
    category = policy.category(str(item.get("category") or ""))
    return field_label(category, name, locale, record_type), record


def _source_choices(policy: Policy, locale: str) -> list[tuple[str, str]]:
    return [(s.key, s.name.get(locale)) for s in policy.sources]


def _category_choices(policy: Policy, locale: str) -> list[tuple[str, str]]:
    return [(c.key, c.name.get(locale)) for c in policy.categories]


class ErasureFlow(Flow):
    kind = RequestKind.ERASURE
    slug = "wissen"
    endpoint = "requests.new_erasure"
    template = "dsr/new_erasure.html"
    form_class = ErasureForm
    needs_snapshot = True

    def set_choices(self, form: Any, ctx: Context) -> None:
        form.scope.choices = [(k, str(v)) for k, v in ERASURE_SCOPES.items()]
        form.sources.choices = _source_choices(ctx.policy, ctx.locale)
        form.categories.choices = _category_choices(ctx.policy, ctx.locale)

    def submission(self, form: Any, ctx: Context) -> tuple[dict[str, list[str]], dict[str, Any]]:
        sources = list(form.sources.data or []) if form.scope.data == "sources" else []
        categories = list(form.categories.data or []) if form.scope.data == "categories" else []
        result = erasure.preview(
            ctx.policy,
            ctx.snapshot.records,
            ctx.today,
            erasure.connector_actions(ctx.policy),
            sources=sources,
            categories=categories,
            outcomes=[(o.key, o.status) for o in ctx.snapshot.sources],
            with_parent=erasure.connector_with_parent(ctx.policy),
            taken=erasure.connector_taken_with_parent(ctx.policy),
        )
        details = {
            "scope": form.scope.data,
            "explanation": _explanation(form),
            "preview": result.summary(),
        }
        return {"sources": sources, "categories": categories}, details


class RestrictionFlow(Flow):
    kind = RequestKind.RESTRICTION
    slug = "beperken"
    endpoint = "requests.new_restriction"
    template = "dsr/new_restriction.html"
    form_class = RestrictionForm

    def set_choices(self, form: Any, ctx: Context) -> None:
        form.scope.choices = [(k, str(v)) for k, v in RESTRICTION_SCOPES.items()]
        form.categories.choices = _category_choices(ctx.policy, ctx.locale)
        form.ground.choices = [(k, str(v)) for k, v in RESTRICTION_GROUNDS.items()]

    def submission(self, form: Any, ctx: Context) -> tuple[dict[str, list[str]], dict[str, Any]]:
        categories = list(form.categories.data or []) if form.scope.data == "categories" else []
        details = {
            "scope": form.scope.data,
            "ground": form.ground.data,
            "explanation": _explanation(form),
        }
        return {"categories": categories}, details


class ObjectionFlow(Flow):
    kind = RequestKind.OBJECTION
    slug = "bezwaar"
    endpoint = "requests.new_objection"
    template = "dsr/new_objection.html"
    form_class = ObjectionForm

    def set_choices(self, form: Any, ctx: Context) -> None:
        form.purposes.choices = [
            (p.key, p.name.get(ctx.locale)) for p in objectable_purposes(ctx.policy)
        ]

    def submission(self, form: Any, ctx: Context) -> tuple[dict[str, list[str]], dict[str, Any]]:
        return {"purposes": list(form.purposes.data)}, {"explanation": _explanation(form)}


class WithdrawConsentFlow(Flow):
    kind = RequestKind.WITHDRAW_CONSENT
    slug = "toestemming"
    endpoint = "requests.new_withdrawal"
    template = "dsr/new_withdrawal.html"
    form_class = WithdrawConsentForm

    def set_choices(self, form: Any, ctx: Context) -> None:
        form.purposes.choices = [
            (p.key, p.name.get(ctx.locale)) for p in consent_purposes(ctx.policy)
        ]

    def submission(self, form: Any, ctx: Context) -> tuple[dict[str, list[str]], dict[str, Any]]:
        return {"purposes": list(form.purposes.data)}, {}


class QuestionFlow(Flow):
    kind = RequestKind.QUESTION
    slug = "vraag"
    endpoint = "requests.new_question"
    template = "dsr/new_question.html"
    form_class = QuestionForm

    def submission(self, form: Any, ctx: Context) -> tuple[dict[str, list[str]], dict[str, Any]]:
        return {}, {"subject": form.subject.data, "question": form.question.data}


FLOWS: dict[RequestKind, Flow] = {
    flow.kind: flow
    for flow in (
        CorrectionFlow(),
        ErasureFlow(),
        RestrictionFlow(),
        ObjectionFlow(),
        WithdrawConsentFlow(),
        QuestionFlow(),
    )
}
BY_SLUG: dict[str, Flow] = {flow.slug: flow for flow in FLOWS.values()}


# --- describing what was asked --------------------------------------------------------------


def _names(keys: list[str], lookup: Callable[[str], Any], locale: str) -> list[str]:
    names = []
    for key in keys:
        item = lookup(key)
        if item is not None:
            names.append(item.name.get(locale))
        else:  # data outside every category is shown as "Other data" everywhere
            names.append(_("Other data") if key == OTHER else key)
    return names


def _source(policy: Policy, key: str) -> Any:
    return next((s for s in policy.sources if s.key == key), None)


def restricted_data(scope: Mapping[str, list[str]], policy: Policy, locale: str) -> str:
    """Which data a restriction covers, in words that follow "The restriction covers": "all
    your data", or the kinds of data or the systems it names (in the current language)."""
    if scope.get("categories"):
        names = _names(list(scope["categories"]), policy.category, locale)
        return _("these kinds of data: %(names)s", names=", ".join(names))
    if scope.get("sources"):
        names = _names(list(scope["sources"]), lambda k: _source(policy, k), locale)
        return _("the data in these systems: %(names)s", names=", ".join(names))
    return _("all your data")


def describe(
    kind: str,
    scope: Mapping[str, list[str]],
    details: Mapping[str, Any],
    policy: Policy,
    locale: str,
    *,
    finished: bool = False,
    for_staff: bool = False,
) -> list[Row]:
    """What was asked, as rows of a summary (labels in the current language). Once the request
    is ``finished`` (done: the correction was made), a correction's old value is what there
    was, not what there is now. ``for_staff`` labels speak of the customer, not to them
    ("Question", not "Your question")."""
    rows: list[Row] = []
    if kind == RequestKind.CORRECTION:
        for item in details.get("items", []):
            old = item.get("current") or _("(empty)")
            label, record = _item_names(item, policy, locale)
            rows.append(
                Row(
                    f"{label} ({record})",
                    [
                        _("Was: %(value)s", value=old)
                        if finished
                        else _("Now: %(value)s", value=old),
                        _("New: %(value)s", value=item.get("new")),
                    ],
                    f"items-{item.get('index', 0)}-new_value",
                )
            )
    elif kind == RequestKind.ERASURE:
        choice = str(details.get("scope") or "all")
        rows.append(
            Row(_("What should we delete?"), [str(ERASURE_SCOPES.get(choice, ""))], "scope-0")
        )
        if scope.get("sources"):
            names = _names(list(scope["sources"]), lambda k: _source(policy, k), locale)
            rows.append(Row(_("Which systems?"), names, "sources-0"))
        if scope.get("categories"):
            names = _names(list(scope["categories"]), policy.category, locale)
            rows.append(Row(_("Which kinds of data?"), names, "categories-0"))
    elif kind == RequestKind.RESTRICTION:
        choice = str(details.get("scope") or "all")
        # staff enter one for some systems (a letter), as for an erasure
        said = RESTRICTION_SCOPES.get(choice) or ERASURE_SCOPES.get(choice, "")
        rows.append(Row(_("Which data should we restrict?"), [str(said)], "scope-0"))
        if scope.get("sources"):
            names = _names(list(scope["sources"]), lambda k: _source(policy, k), locale)
            rows.append(Row(_("Which systems?"), names, "sources-0"))
        if scope.get("categories"):
            names = _names(list(scope["categories"]), policy.category, locale)
            rows.append(Row(_("Which kinds of data?"), names, "categories-0"))
        ground = RESTRICTION_GROUNDS.get(str(details.get("ground")))
        if ground is not None:  # none for one staff entered: the letter says why
            rows.append(Row(_("Why should we restrict it?"), [str(ground)], "ground-0"))
    elif kind in (RequestKind.OBJECTION, RequestKind.WITHDRAW_CONSENT):
        if for_staff:
            label = (
                _("What they object to")
                if kind == RequestKind.OBJECTION
                else _("What they withdraw their consent for")
            )
        else:
            label = (
                _("What do you object to?")
                if kind == RequestKind.OBJECTION
                else _("For what do you withdraw your consent?")
            )
        names = _names(list(scope.get("purposes", [])), policy.purpose, locale)
        rows.append(Row(label, names, "purposes-0"))
    elif kind == RequestKind.QUESTION:
        rows.append(Row(_("Subject"), [str(details.get("subject", ""))], "subject"))
        question = _("Question") if for_staff else _("Your question")
        rows.append(Row(question, [str(details.get("question", ""))], "question"))
    if details.get("explanation"):
        situation = _("Their situation") if for_staff else _("Your situation")
        label = situation if kind == RequestKind.OBJECTION else _("Explanation")
        rows.append(Row(label, [str(details["explanation"])], "explanation"))
    return rows


def stored(details: dict[str, Any]) -> dict[str, Any]:
    """``details`` as stored: without the form positions used only on the check page."""
    if "items" not in details:
        return details
    items = [{k: v for k, v in item.items() if k != "index"} for item in details["items"]]
    return {**details, "items": items}


def error_list(form: FlaskForm) -> list[tuple[str, str]]:
    """``(field id, first error)`` for every field with an error, in the form's order, for
    the error summary. Choice groups link to their first option."""
    found: list[tuple[str, str]] = []

    def visit(item: Any) -> None:
        if item.type == "FieldList":
            for entry in item.entries:
                visit(entry)
            return
        if item.type == "FormField":
            for sub in item.form:
                visit(sub)
            return
        if item.name == "csrf_token" or not item.errors:
            return
        first = item.errors[0]
        anchor = item.id + "-0" if item.type in ("RadioField", "MultiCheckboxField") else item.id
        found.append((anchor, str(first)))

    for item in form:
        visit(item)
    return found
