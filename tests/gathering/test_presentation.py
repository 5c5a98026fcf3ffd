"""Records seen through the policy: split per category, with due dates from their own dates."""

from __future__ import annotations

from datetime import date

from portal import PROJECT_ROOT
from portal.gathering.presentation import EMPTY, OTHER, by_category, parse_dates, plain_text
from portal.policy import load_policy

POLICY = load_policy(PROJECT_ROOT / "instance" / "policy.example.toml")


def _record(**overrides: object) -> dict[str, object]:
    record: dict[str, object] = {
        "source": "invoicing",
        "system": "moneybird",
        "record_type": "invoice",
        "record_id": "431877260223445702",
        "link": "https://moneybird.example/invoices/1",
        "fields": {"invoice_id": "2019-0044", "total": "121.00", "email": "a@example.nl"},
        "categories": {"invoice_id": "invoices", "total": "invoices", "email": "contact"},
        "dates": {"invoice_date": "2019-03-04", "created": "2019-03-04T10:00:00+00:00"},
    }
    record.update(overrides)
    return record


def test_a_record_is_split_over_its_categories() -> None:
    views = {v.key: v for v in by_category(POLICY, [_record()])}
    assert [p.fields for p in views["invoices"].parts] == [
        {"invoice_id": "2019-0044", "total": "121.00"}
    ]
    assert [p.fields for p in views["contact"].parts] == [{"email": "a@example.nl"}]
    assert views["orders"].parts == ()  # shown, but empty
    assert [v.key for v in by_category(POLICY, [])] == [c.key for c in POLICY.categories]


def test_invoice_due_date_is_end_of_fiscal_year_plus_seven_years() -> None:
    views = {v.key: v for v in by_category(POLICY, [_record()])}
    assert views["invoices"].parts[0].due_date == date(2026, 12, 31)
    # contact details are kept while a customer, so no date can be computed from the record
    assert views["contact"].parts[0].due_date is None


def test_a_prepared_record_shows_the_due_dates_it_was_prepared_with() -> None:
    """The overview says what the export says: the due dates worked out when the records were
    gathered (portal.export.prepare), the same for both as long as the snapshot lives."""
    from portal.export.prepare import prepare_records

    prepared = prepare_records([_record()], POLICY, None)[0]
    assert prepared["due_dates"] == {"contact": None, "invoices": "2026-12-31"}
    views = {v.key: v for v in by_category(POLICY, [prepared])}
    assert views["invoices"].parts[0].due_date == date(2026, 12, 31)
    prepared["due_dates"]["invoices"] = "2027-12-31"  # what it was prepared with counts
    views = {v.key: v for v in by_category(POLICY, [prepared])}
    assert views["invoices"].parts[0].due_date == date(2027, 12, 31)
    assert views["contact"].parts[0].due_date is None


def test_why_who_and_where_come_from_the_policy() -> None:
    invoices = next(v for v in by_category(POLICY, [_record()]) if v.key == "invoices")
    assert [p.key for p in invoices.purposes] == ["invoicing"]
    assert {r.key for r in invoices.recipients} == {"moneybird", "tax-authority"}
    assert [s.key for s in invoices.sources] == ["invoicing"]


def test_fields_in_an_unknown_category_are_not_hidden() -> None:
    record = _record(categories={"invoice_id": "invoices", "total": "loyalty", "email": "contact"})
    views = {v.key: v for v in by_category(POLICY, [record])}
    assert views[OTHER].parts[0].fields == {"total": "121.00"}
    assert views[OTHER].category is None


def test_records_with_every_value_empty_are_grouped_last() -> None:
    """A record the vendor left all empty has no fields, so no category: it is listed all the
    same, after the policy's categories and :data:`OTHER`, with no due date to compute."""
    empty = _record(record_id="7", fields={}, categories={})
    unknown = _record(categories={"invoice_id": "loyalty"}, fields={"invoice_id": "2019-0044"})
    views = by_category(POLICY, [empty, unknown, _record()])
    assert [v.key for v in views][-2:] == [OTHER, EMPTY]
    assert EMPTY not in {c.key for c in POLICY.categories}
    group = views[-1]
    assert group.without_values and not views[-2].without_values
    assert [(p.record_id, p.fields, p.due_date) for p in group.parts] == [("7", {}, None)]
    assert group.category is None and group.record_count == 1 and not group.due_dates_differ
    by_key = {v.key: v for v in views}
    assert [p.record_id for p in by_key["invoices"].parts] == ["431877260223445702"]
    assert EMPTY not in {v.key for v in by_category(POLICY, [_record()])}


def test_due_dates_differ_between_records() -> None:
    newer = _record(record_id="2", dates={"invoice_date": "2024-06-01"})
    invoices = next(v for v in by_category(POLICY, [_record(), newer]) if v.key == "invoices")
    assert invoices.due_dates_differ
    assert sorted(p.due_date for p in invoices.parts) == [date(2026, 12, 31), date(2031, 12, 31)]


def test_unreadable_dates_compute_nothing() -> None:
    assert parse_dates({"invoice_date": "gisteren", "created": "2020-01-02"}) == {
        "created": date(2020, 1, 2)
    }


def test_vendor_html_becomes_text_with_its_line_breaks() -> None:
    body = "<p>Hallo<br>Sanne &amp; co</p><p>Mail: &lt;x@y.nl&gt;</p><script>alert(1)</script>"
    assert plain_text(body) == "Hallo\nSanne & co\nMail: <x@y.nl>"
    assert plain_text("<P>Upper</P><!-- note -->") == "Upper"


def test_angle_brackets_that_start_no_tag_are_text() -> None:
    """A sender written as ``Name <address>`` keeps its address (it is not an HTML tag)."""
    sender = "Sanne de Vries <sanne.devries@example.nl>"
    assert plain_text(sender) == sender
    assert plain_text("a < b and c > d") == "a < b and c > d"
    # ... also inside HTML, where a mail client left it unescaped
    assert plain_text("<div>Van: Sanne <sanne@example.nl></div>") == "Van: Sanne <sanne@example.nl>"
