"""The example policy and the five seed firms' policy files: they load, and the check finds
each firm's real gaps (and nothing that is not a gap)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from connectors.files import parse_source
from portal.policy import load_policy
from portal.policy.check import Finding, check_file
from portal.policy.schema import Period, Policy, RetentionStart, Source

ROOT = Path(__file__).resolve().parents[2]
INSTANCE = ROOT / "instance"
EXAMPLES = INSTANCE / "examples"
SEED_SLUGS = (
    "computer-specialist-amstelveen",
    "compjoeter",
    "computron",
    "koper-computer-support",
    "it-services-best",
)


def _policy(slug: str) -> Policy:
    return load_policy(EXAMPLES / f"{slug}.toml")


def _findings(slug: str) -> list[Finding]:
    return check_file(EXAMPLES / f"{slug}.toml")


def _pairs(findings: list[Finding]) -> set[tuple[str, str]]:
    return {(f.code, f.key) for f in findings}


def _codes_at(findings: list[Finding], key: str) -> set[str]:
    return {f.code for f in findings if f.key == key}


# --- Loading ---------------------------------------------------------------------------------


def test_every_seed_firm_has_a_policy_file() -> None:
    assert {p.stem for p in EXAMPLES.glob("*.toml")} >= set(SEED_SLUGS)


@pytest.mark.parametrize(
    "path",
    [INSTANCE / "policy.example.toml", *sorted(EXAMPLES.glob("*.toml"))],
    ids=lambda p: p.name,
)
def test_policy_file_loads(path: Path) -> None:
    policy = load_policy(path)
    assert policy.categories and policy.purposes


@pytest.mark.parametrize("slug", SEED_SLUGS)
def test_seed_file_records_open_questions_and_a_kvk_gap(slug: str) -> None:
    policy = _policy(slug)
    # None of the five statements gives a KvK number: the key is left out and asked about.
    assert policy.controller.kvk_number is None
    assert "kvk" in {q.key for q in policy.open_questions}


def test_example_policy_has_no_errors() -> None:
    findings = check_file(INSTANCE / "policy.example.toml")
    assert [f for f in findings if f.severity == "error"] == []


@pytest.mark.parametrize("slug", SEED_SLUGS)
def test_findings_are_sorted_errors_first(slug: str) -> None:
    severities = [f.severity for f in _findings(slug)]
    assert "error" in severities and "warning" in severities
    assert severities == sorted(severities, key=lambda s: s != "error")


@pytest.mark.parametrize("slug", SEED_SLUGS)
def test_each_open_question_is_a_warning(slug: str) -> None:
    policy = _policy(slug)
    open_questions = [f for f in _findings(slug) if f.code == "open-question"]
    assert len(open_questions) == len(policy.open_questions)
    assert {f.severity for f in open_questions} == {"warning"}
    assert open_questions[0].key == f'open_questions[0] ("{policy.open_questions[0].key}")'


# --- Computer Specialist Amstelveen ----------------------------------------------------------


def test_csa_gaps() -> None:
    findings = _findings("computer-specialist-amstelveen")
    policy = _policy("computer-specialist-amstelveen")
    # No retention period anywhere in the statement: every category is reported.
    for index, category in enumerate(policy.categories):
        key = f'categories[{index}] ("{category.key}").retention'
        assert "retention-undecided" in _codes_at(findings, key), key
    assert _pairs(findings) >= {
        ("automated-decisions-missing", "automated_decisions"),
        ("legitimate-interest-missing", 'purposes[3] ("security").legitimate_interest'),
        ("right-missing", 'rights.offered ("withdraw_consent")'),
        ("purpose-unused", 'purposes[4] ("website-insight")'),
        ("purpose-unused", 'purposes[5] ("improvement")'),
        ("controller-kvk-missing", "controller.kvk_number"),
        ("privacy-contact-missing", "controller.privacy_contact"),
        ("recipient-role-missing", 'recipients[0] ("sidn").role'),
        ("recipient-country-missing", 'recipients[2] ("office365").country'),
    }
    codes = {f.code for f in findings}
    # What the statement does give is not reported.
    assert "supervisory-authority-missing" not in codes
    assert "controller-address-missing" not in codes
    assert "template-placeholder" not in codes
    assert not any(f.code == "right-missing" and "objection" in f.key for f in findings)


# --- coMPjoeter ------------------------------------------------------------------------------


def test_compjoeter_recovery_data_is_deleted_after_one_month() -> None:
    policy = _policy("compjoeter")
    retention = policy.category("recovery_data").retention  # type: ignore[union-attr]
    assert retention is not None and retention.kind == "period"
    assert retention.period == Period(months=1)
    assert retention.starts is RetentionStart.RECORD_CREATED
    assert retention.due_date({"created": date(2024, 1, 31)}, (12, 31)) == date(2024, 2, 29)


def test_compjoeter_recovery_jobs_come_from_the_files_connector() -> None:
    source = next(s for s in _policy("compjoeter").sources if s.key == "recovery-jobs")
    assert source.connector == "files"
    assert "recovery_data" in source.categories
    (file_source,) = source.options["sources"]  # type: ignore[misc]
    assert file_source["record_type"] == "recovery_job"
    assert file_source["default_category"] == "recovery_data"
    assert "email" in file_source["identifiers"]
    # The receipt date is the record's creation date, from which the 1 month runs.
    assert "created" in file_source["dates"].values()


def test_compjoeter_gaps() -> None:
    findings = _findings("compjoeter")
    assert _pairs(findings) >= {
        ("supervisory-authority-missing", "supervisory_authority"),
        ("automated-decisions-missing", "automated_decisions"),
        ("right-missing", 'rights.offered ("restriction")'),
        ("right-missing", 'rights.offered ("portability")'),
        ("right-missing", 'rights.offered ("withdraw_consent")'),
        ("right-missing", 'rights.offered ("complaint")'),
        ("retention-undecided", 'categories[0] ("contact").retention'),
        ("legitimate-interest-missing", 'purposes[4] ("security").legitimate_interest'),
        ("recipient-role-missing", 'recipients[2] ("fraud-prevention").role'),
    }
    assert _codes_at(findings, 'categories[2] ("recovery_data").retention') == set()
    assert not any(f.code == "right-missing" and "objection" in f.key for f in findings)


# --- Computron -------------------------------------------------------------------------------


def test_computron_retention_as_stated() -> None:
    policy = _policy("computron")
    customer = policy.category("identity").retention  # type: ignore[union-attr]
    fiscal = policy.category("invoices").retention  # type: ignore[union-attr]
    telecom = policy.category("telecom_records").retention  # type: ignore[union-attr]
    assert customer is not None and customer.kind == "while_customer"
    assert customer.period == Period(months=24)
    assert fiscal is not None and fiscal.period == Period(years=7)
    assert fiscal.starts is RetentionStart.END_OF_FISCAL_YEAR
    assert telecom is not None and telecom.period == Period(years=10)


def test_computron_gaps() -> None:
    findings = _findings("computron")
    assert _pairs(findings) >= {
        ("supervisory-authority-missing", "supervisory_authority"),
        ("automated-decisions-missing", "automated_decisions"),
        ("right-missing", 'rights.offered ("restriction")'),
        ("right-missing", 'rights.offered ("complaint")'),
        ("legitimate-interest-missing", 'purposes[5] ("training").legitimate_interest'),
        ("obligation-unspecified", 'purposes[9] ("telecom").obligation'),
        ("retention-undecided", 'categories[7] ("camera").retention'),
        ("recipient-role-missing", 'recipients[1] ("on-request").role'),
    }
    for stated in ("identity", "contact", "contract_data", "invoices", "telecom_records"):
        index = [c.key for c in _policy("computron").categories].index(stated)
        assert _codes_at(findings, f'categories[{index}] ("{stated}").retention') == set()
    codes = {f.code for f in findings}
    assert "privacy-contact-missing" not in codes
    assert "controller-email-missing" not in codes


# --- Koper Computer Support ------------------------------------------------------------------


def test_koper_email_archive_kept_seven_years() -> None:
    retention = _policy("koper-computer-support").category("email_archive").retention  # type: ignore[union-attr]
    assert retention is not None and retention.period == Period(years=7)
    assert retention.due_date({"created": date(2018, 5, 25)}, (12, 31)) == date(2025, 5, 25)


def test_koper_gaps() -> None:
    findings = _findings("koper-computer-support")
    assert _pairs(findings) >= {
        ("legitimate-interest-missing", 'purposes[2] ("contract-formation").legitimate_interest'),
        ("legitimate-interest-missing", 'purposes[3] ("information").legitimate_interest'),
        ("legitimate-interest-missing", 'purposes[4] ("offers").legitimate_interest'),
        # Legitimate interests without the right to object.
        ("right-missing", 'rights.offered ("objection")'),
        ("right-missing", 'rights.offered ("complaint")'),
        ("right-missing", 'rights.offered ("restriction")'),
        ("right-missing", 'rights.offered ("portability")'),
        ("automated-decisions-missing", "automated_decisions"),
        ("retention-undecided", 'categories[3] ("contract_info").retention'),
    }
    assert _codes_at(findings, 'categories[4] ("email_archive").retention') == set()
    codes = {f.code for f in findings}
    assert "supervisory-authority-missing" not in codes
    # No purpose relies on consent, so withdrawing consent is not required.
    assert not any(f.code == "right-missing" and "withdraw_consent" in f.key for f in findings)


# --- IT Services Best ------------------------------------------------------------------------


def test_itsb_template_placeholders_are_reported() -> None:
    findings = _findings("it-services-best")
    placeholders = [f for f in findings if f.code == "template-placeholder"]
    assert {f.severity for f in placeholders} == {"error"}
    assert {f.key for f in placeholders} >= {
        'recipients[1] ("hosting-email").name',
        'sections[2] ("webhosting").body.nl',
        'sections[2] ("webhosting").body.en',
    }
    messages = " ".join(f.message for f in placeholders)
    assert '"[AANBIEDER]"' in messages and '"VOORBEELD"' in messages
    # The raw file text gives the line of the placeholder.
    name_finding = next(f for f in placeholders if f.key.endswith(".name"))
    line = int(name_finding.message.split("(line ")[1].split(")")[0])
    raw_line = (EXAMPLES / "it-services-best.toml").read_text(encoding="utf-8").splitlines()
    assert raw_line[line - 1] == 'name = "[AANBIEDER]"'


def test_itsb_rights_and_sources_as_stated() -> None:
    policy = _policy("it-services-best")
    assert policy.rights.response_time is not None
    assert "30 dagen" in policy.rights.response_time.nl
    assert policy.rights.identity_check is not None
    assert "bekende e-mailadres" in policy.rights.identity_check.nl
    assert {s.connector for s in policy.sources} == {"woocommerce", "mollie", "moneybird"}
    assert any("geanonimiseerde" in s.body.nl for s in policy.sections)


def test_itsb_gaps() -> None:
    findings = _findings("it-services-best")
    assert _pairs(findings) >= {
        ("right-missing", 'rights.offered ("withdraw_consent")'),
        ("legitimate-interest-missing", 'purposes[3] ("improvement").legitimate_interest'),
        ("retention-undecided", 'categories[6] ("invoices").retention'),
        ("recipient-role-missing", 'recipients[3] ("mollie").role'),
        ("recipient-country-missing", 'recipients[4] ("postnl").country'),
        ("controller-kvk-missing", "controller.kvk_number"),
    }
    codes = {f.code for f in findings}
    # The statement covers these.
    assert "automated-decisions-missing" not in codes
    assert "supervisory-authority-missing" not in codes
    assert "privacy-contact-missing" not in codes
    assert not any(f.code == "right-missing" and "complaint" in f.key for f in findings)


# --- Sources ---------------------------------------------------------------------------------


def _files_sources() -> list[tuple[str, Source]]:
    return [
        (path.stem, source)
        for path in [INSTANCE / "policy.example.toml", *sorted(EXAMPLES.glob("*.toml"))]
        for source in load_policy(path).sources
        if source.connector == "files"
    ]


def test_some_seed_firm_uses_the_files_connector() -> None:
    assert {stem for stem, _ in _files_sources()} >= {"compjoeter", "computron"}


@pytest.mark.parametrize(
    ("stem", "source"), _files_sources(), ids=lambda v: v if isinstance(v, str) else v.key
)
def test_files_options_are_valid_for_the_files_connector(stem: str, source: Source) -> None:
    raw_sources = source.options["sources"]
    assert isinstance(raw_sources, list) and raw_sources
    for index, raw in enumerate(raw_sources):
        parsed = parse_source(index, raw)
        # Every category the file maps to is one the policy says this source feeds.
        mapped = {parsed.default_category, *parsed.categories.values()}
        assert mapped <= set(source.categories), (stem, source.key)
