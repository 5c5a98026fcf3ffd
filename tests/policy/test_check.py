"""The policy check, rule by rule, on a small policy that starts out with no findings."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from portal.policy import PolicyError, parse_policy
from portal.policy.check import Finding, check_file, check_policy, find_placeholders

TEXT = {"nl": "Tekst", "en": "Text"}


def _base() -> dict[str, Any]:
    """A complete policy: the check finds nothing in it."""
    return {
        "automated_decisions": TEXT,
        "controller": {
            "name": "Test B.V.",
            "kvk_number": "12345678",
            "contact_email": "info@test.example.nl",
            "address": {"street": "Straat 1", "postal_code": "1234 AB", "city": "Utrecht"},
            "privacy_contact": {"name": "Eva", "email": "privacy@test.example.nl"},
        },
        "supervisory_authority": {
            "name": "Autoriteit Persoonsgegevens",
            "url": "https://autoriteitpersoonsgegevens.nl",
        },
        "purposes": [
            {"key": "contract", "legal_basis": "contract", "name": TEXT},
            {
                "key": "tax",
                "legal_basis": "legal_obligation",
                "name": TEXT,
                "obligation": {"nl": "art. 52 AWR", "en": "art. 52 AWR"},
            },
        ],
        "categories": [
            {
                "key": "identity",
                "name": {"nl": "Naam", "en": "Name"},
                "purposes": ["contract", "tax"],
                "required_for_contract": True,
                "retention": {"kind": "while_customer", "period": "24 months"},
            },
            {
                "key": "invoices",
                "name": {"nl": "Facturen", "en": "Invoices"},
                "purposes": ["tax"],
                "required_for_contract": True,
                "retention": {
                    "kind": "period",
                    "period": "7 years",
                    "starts": "end_of_fiscal_year",
                },
            },
        ],
        "recipients": [
            {
                "key": "moneybird",
                "name": "Moneybird B.V.",
                "role": "processor",
                "country": "NL",
                "receives": ["identity", "invoices"],
            }
        ],
        "rights": {
            "offered": [
                "access",
                "rectification",
                "erasure",
                "restriction",
                "portability",
                "complaint",
            ]
        },
    }


def _check(data: dict[str, Any], raw_text: str | None = None) -> list[Finding]:
    return check_policy(parse_policy(data, Path("test.toml")), raw_text)


def _pairs(findings: list[Finding]) -> set[tuple[str, str, str]]:
    return {(f.severity, f.code, f.key) for f in findings}


def test_complete_policy_has_no_findings() -> None:
    assert _check(_base()) == []


def test_finding_is_frozen_and_prints_on_one_line() -> None:
    finding = Finding("error", "controller.address", "controller-address-missing", "Add it.")
    with pytest.raises(dataclasses.FrozenInstanceError):
        finding.code = "x"  # type: ignore[misc]
    assert str(finding) == "error: controller.address: Add it. [controller-address-missing]"


# --- Controller ------------------------------------------------------------------------------


def test_missing_controller_details() -> None:
    data = _base()
    for name in ("address", "kvk_number", "contact_email", "privacy_contact"):
        del data["controller"][name]
    assert _pairs(_check(data)) == {
        ("error", "controller-address-missing", "controller.address"),
        ("warning", "controller-kvk-missing", "controller.kvk_number"),
        ("error", "controller-email-missing", "controller.contact_email"),
        ("warning", "privacy-contact-missing", "controller.privacy_contact"),
    }


def test_missing_contact_email_is_a_warning_when_a_privacy_contact_has_one() -> None:
    data = _base()
    del data["controller"]["contact_email"]
    assert _pairs(_check(data)) == {
        ("warning", "controller-email-missing", "controller.contact_email")
    }


def test_missing_supervisory_authority_and_automated_decisions() -> None:
    data = _base()
    del data["supervisory_authority"], data["automated_decisions"]
    assert _pairs(_check(data)) == {
        ("error", "supervisory-authority-missing", "supervisory_authority"),
        ("error", "automated-decisions-missing", "automated_decisions"),
    }


# --- Purposes and categories -----------------------------------------------------------------


def test_legitimate_interests_without_the_interest() -> None:
    data = _base()
    data["purposes"].append({"key": "security", "legal_basis": "f", "name": TEXT})
    data["categories"][0]["purposes"].append("security")
    data["rights"]["offered"].append("objection")
    assert _pairs(_check(data)) == {
        ("error", "legitimate-interest-missing", 'purposes[2] ("security").legitimate_interest')
    }
    data["purposes"][2]["legitimate_interest"] = TEXT
    assert _check(data) == []


def test_legal_obligation_without_naming_it() -> None:
    data = _base()
    del data["purposes"][1]["obligation"]
    assert _pairs(_check(data)) == {
        ("warning", "obligation-unspecified", 'purposes[1] ("tax").obligation')
    }


def test_purpose_used_by_no_category() -> None:
    data = _base()
    data["purposes"].append({"key": "unused", "legal_basis": "contract", "name": TEXT})
    assert _pairs(_check(data)) == {("warning", "purpose-unused", 'purposes[2] ("unused")')}


def test_category_without_retention() -> None:
    data = _base()
    del data["categories"][1]["retention"]
    findings = _check(data)
    assert _pairs(findings) == {
        ("error", "retention-missing", 'categories[1] ("invoices").retention')
    }


def test_category_with_undecided_retention() -> None:
    data = _base()
    data["categories"][1]["retention"] = {"kind": "undecided", "decide": "the fiscal term"}
    (finding,) = _check(data)
    assert (finding.severity, finding.code) == ("error", "retention-undecided")
    assert finding.key == 'categories[1] ("invoices").retention'
    assert "the fiscal term" in finding.message


def test_unstated_provision_requirement_is_one_warning_naming_the_categories() -> None:
    data = _base()
    del data["categories"][0]["required_for_contract"]
    del data["categories"][1]["required_for_contract"]
    (finding,) = _check(data)
    assert (finding.severity, finding.code, finding.key) == (
        "warning",
        "provision-requirement-unstated",
        "categories",
    )
    assert '"identity", "invoices"' in finding.message


# --- Recipients ------------------------------------------------------------------------------


def test_recipient_without_role_or_country() -> None:
    data = _base()
    del data["recipients"][0]["role"], data["recipients"][0]["country"]
    assert _pairs(_check(data)) == {
        ("warning", "recipient-role-missing", 'recipients[0] ("moneybird").role'),
        ("warning", "recipient-country-missing", 'recipients[0] ("moneybird").country'),
    }


def test_a_plain_recipient_name_is_a_proper_name_that_reads_the_same_in_both_languages() -> None:
    (recipient,) = parse_policy(_base(), Path("test.toml")).recipients
    assert (recipient.name.nl, recipient.name.en) == ("Moneybird B.V.", "Moneybird B.V.")
    assert recipient.name.get("nl") == recipient.name.get("en") == "Moneybird B.V."


def test_a_descriptive_recipient_name_has_both_languages_and_findings_use_the_dutch() -> None:
    data = _base()
    data["recipients"][0]["name"] = {"nl": "Bevoegde autoriteiten", "en": "Competent authorities"}
    del data["recipients"][0]["role"]
    (recipient,) = parse_policy(data, Path("test.toml")).recipients
    assert recipient.name.get("en") == "Competent authorities"
    assert recipient.name.get("nl") == "Bevoegde autoriteiten"
    (finding,) = _check(data)
    assert finding.key == 'recipients[0] ("moneybird").role'
    assert '"Bevoegde autoriteiten"' in finding.message


def test_a_recipient_name_needs_its_dutch() -> None:
    data = _base()
    data["recipients"][0]["name"] = {"en": "Competent authorities"}
    with pytest.raises(PolicyError) as info:
        parse_policy(data, Path("test.toml"))
    assert info.value.problems == ['recipients[0] ("moneybird").name.nl: required but missing']


@pytest.mark.parametrize("country", ["NL", "DE", "NO", "IS", "LI"])
def test_recipient_in_the_eea_needs_no_safeguards(country: str) -> None:
    data = _base()
    data["recipients"][0]["country"] = country
    assert _check(data) == []


@pytest.mark.parametrize("country", ["US", "GB", "CH", "IN"])
def test_transfer_outside_the_eea_without_safeguards(country: str) -> None:
    data = _base()
    data["recipients"][0]["country"] = country
    assert _pairs(_check(data)) == {
        ("error", "transfer-safeguards-missing", 'recipients[0] ("moneybird").safeguards')
    }
    data["recipients"][0]["safeguards"] = TEXT
    assert _check(data) == []


# --- Rights ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "right", ["access", "rectification", "erasure", "restriction", "portability", "complaint"]
)
def test_each_always_required_right(right: str) -> None:
    data = _base()
    data["rights"]["offered"].remove(right)
    assert _pairs(_check(data)) == {("error", "right-missing", f'rights.offered ("{right}")')}


def test_portability_not_required_without_consent_or_contract() -> None:
    data = _base()
    data["purposes"][0]["legal_basis"] = "legal_obligation"
    data["purposes"][0]["obligation"] = TEXT
    data["rights"]["offered"].remove("portability")
    assert _check(data) == []


def test_objection_required_with_legitimate_interests() -> None:
    data = _base()
    data["purposes"][0]["legal_basis"] = "legitimate_interests"
    data["purposes"][0]["legitimate_interest"] = TEXT
    assert ("error", "right-missing", 'rights.offered ("objection")') in _pairs(_check(data))


def test_withdraw_consent_required_with_consent() -> None:
    data = _base()
    data["purposes"][0]["legal_basis"] = "consent"
    assert _pairs(_check(data)) == {
        ("error", "right-missing", 'rights.offered ("withdraw_consent")')
    }
    data["rights"]["offered"].append("withdraw_consent")
    assert _check(data) == []


# --- Template placeholders -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Hosting door [AANBIEDER].", ["[AANBIEDER]"]),
        ("[NAAM BEDRIJF] en [KVK-NUMMER]", ["[NAAM BEDRIJF]", "[KVK-NUMMER]"]),
        ("VOORBEELD: wij nemen diensten af", ["VOORBEELD"]),
        ("TODO invullen", ["TODO"]),
        ("KvK XXXXXXXX", ["XXXXXXXX"]),
        ("Stuur post naar <adres>.", ["<adres>"]),
        ("<...>", ["<...>"]),
        ("[AANBIEDER] en [AANBIEDER]", ["[AANBIEDER]"]),
        # Not placeholders.
        ("Voorbeeld IT Diensten B.V.", []),
        ("een todo-lijst en een voorbeeld", []),
        ("Eva <eva@voorbeeld.nl>", []),
        ("zie <https://example.nl>", []),
        ("artikel 6 [1] en [a]", []),
        ("Bedrijf [BV]", ["[BV]"]),
    ],
)
def test_find_placeholders(text: str, found: list[str]) -> None:
    assert find_placeholders(text) == found


def test_placeholder_in_a_value_is_an_error_at_its_key() -> None:
    data = _base()
    data["recipients"][0]["name"] = "[AANBIEDER]"
    raw = 'name = "x"\n\n[[recipients]]\nname = "[AANBIEDER]"\n'
    (finding,) = _check(data, raw)
    assert (finding.severity, finding.code) == ("error", "template-placeholder")
    assert finding.key == 'recipients[0] ("moneybird").name'
    assert '"[AANBIEDER]" (line 4)' in finding.message


def test_placeholder_in_a_comment_is_a_warning_with_its_line() -> None:
    raw = '# Bedrijf\nname = "Test # B.V."  # TODO: KvK-nummer opzoeken\n'
    (finding,) = _check(_base(), raw)
    assert (finding.severity, finding.code, finding.key) == (
        "warning",
        "template-placeholder-comment",
        "line 2",
    )


def test_hash_inside_a_string_is_not_a_comment() -> None:
    raw = 'name = "Bedrijf # TODO"\n'
    assert _check(_base(), raw) == []


# --- Open questions, order, files ------------------------------------------------------------


def test_each_open_question_is_a_warning() -> None:
    data = _base()
    data["open_questions"] = [
        {"key": "kvk", "question": "Which KvK number?"},
        {"key": "retention", "question": "How long are logs kept?"},
    ]
    findings = _check(data)
    assert _pairs(findings) == {
        ("warning", "open-question", 'open_questions[0] ("kvk")'),
        ("warning", "open-question", 'open_questions[1] ("retention")'),
    }
    assert "How long are logs kept?" in findings[1].message


def test_errors_come_first_in_file_order() -> None:
    data = _base()
    data["open_questions"] = [{"key": "q", "question": "?"}]
    del data["controller"]["kvk_number"]
    del data["categories"][1]["retention"]
    del data["categories"][0]["retention"]
    data["rights"]["offered"].remove("complaint")
    codes = [(f.severity, f.key) for f in _check(data)]
    assert codes == [
        ("error", 'categories[0] ("identity").retention'),
        ("error", 'categories[1] ("invoices").retention'),
        ("error", 'rights.offered ("complaint")'),
        ("warning", "controller.kvk_number"),
        ("warning", 'open_questions[0] ("q")'),
    ]


def test_check_file_reads_the_raw_text(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[2] / "instance" / "policy.example.toml"
    text = example.read_text(encoding="utf-8")
    path = tmp_path / "policy.toml"
    path.write_text(
        text.replace('name = "Eva Bakker"', 'name = "<naam>"  # XXX navragen'), encoding="utf-8"
    )
    findings = check_file(str(path))
    assert ("error", "template-placeholder", "controller.privacy_contact.name") in _pairs(findings)
    assert any(f.code == "template-placeholder-comment" and "XXX" in f.message for f in findings)


def test_check_file_raises_policy_error_for_an_invalid_file(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text("schema_version = 1\n", encoding="utf-8")
    with pytest.raises(PolicyError):
        check_file(path)
