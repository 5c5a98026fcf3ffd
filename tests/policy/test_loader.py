"""Loader errors name the file and the key, for broken inputs built from the example policy."""

from __future__ import annotations

from pathlib import Path

import pytest

from portal.policy import PolicyError, load_policy

EXAMPLE = Path(__file__).resolve().parents[2] / "instance" / "policy.example.toml"


def _broken(tmp_path: Path, old: str, new: str) -> PolicyError:
    """Write the example with ``old`` replaced by ``new`` and return the loader's error."""
    text = EXAMPLE.read_text(encoding="utf-8")
    assert text.count(old) >= 1, f"fixture text not in the example: {old!r}"
    path = tmp_path / "policy.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    error = info.value
    assert error.path == path
    assert str(path) in str(error)
    return error


def _problem(error: PolicyError, key: str) -> str:
    matching = [p for p in error.problems if p.startswith(f"{key}: ")]
    assert matching, f"no problem for {key!r} in {error.problems!r}"
    return matching[0]


def test_the_unbroken_example_loads() -> None:
    assert load_policy(EXAMPLE).controller.kvk_number == "12345678"


def test_unknown_key(tmp_path: Path) -> None:
    error = _broken(tmp_path, 'kvk_number = "12345678"', 'kvk_nummer = "12345678"')
    assert "unknown key" in _problem(error, "controller.kvk_nummer")


def test_unknown_key_in_a_list_item_names_the_item(tmp_path: Path) -> None:
    error = _broken(tmp_path, 'key = "newsletter"\n', 'key = "newsletter"\nbasis = "a"\n')
    assert "unknown key" in _problem(error, 'purposes[4] ("newsletter").basis')


def test_bad_period(tmp_path: Path) -> None:
    error = _broken(
        tmp_path,
        'retention = { kind = "period", period = "12 months", starts = "record_created" }',
        'retention = { kind = "period", period = "7 jaren", starts = "record_created" }',
    )
    problem = _problem(error, 'categories[8] ("technical").retention.period')
    assert '"7 jaren" is not a period' in problem


def test_unknown_purpose_reference(tmp_path: Path) -> None:
    error = _broken(tmp_path, 'purposes = ["service-improvement"]', 'purposes = ["marketing"]')
    assert 'unknown purpose "marketing"' in _problem(error, 'categories[8] ("technical").purposes')


def test_unknown_category_in_field_categories(tmp_path: Path) -> None:
    error = _broken(
        tmp_path,
        'connector = "woocommerce"\n',
        'connector = "woocommerce"\nfield_categories = { "order.note" = "notes" }\n',
    )
    assert 'unknown category "notes"' in _problem(error, 'sources[0] ("webshop").field_categories')


def test_duplicate_item_key(tmp_path: Path) -> None:
    error = _broken(tmp_path, 'key = "support"\nlegal_basis', 'key = "contract"\nlegal_basis')
    assert 'duplicate key "contract"' in _problem(error, 'purposes[2] ("contract").key')


def test_duplicate_toml_key(tmp_path: Path) -> None:
    error = _broken(tmp_path, 'phone = "+31 30 123 4567"', 'phone = "1"\nphone = "2"')
    problem = _problem(error, "controller.phone")
    assert "duplicate key" in problem and "line" in problem


def test_duplicate_toml_key_in_an_array_of_tables(tmp_path: Path) -> None:
    error = _broken(
        tmp_path, 'key = "invoicing"\nlegal_basis', 'key = "invoicing"\nkey = "x"\nlegal_basis'
    )
    assert "duplicate key" in _problem(error, "purposes[1].key")


def test_undecided_without_decide(tmp_path: Path) -> None:
    error = _broken(
        tmp_path,
        'retention = { kind = "period", period = "12 months", starts = "record_created" }',
        'retention = { kind = "undecided" }',
    )
    assert 'needs "decide"' in _problem(error, 'categories[8] ("technical").retention')


def test_invalid_kvk_number(tmp_path: Path) -> None:
    error = _broken(tmp_path, 'kvk_number = "12345678"', 'kvk_number = "1234 5678"')
    assert "eight digits" in _problem(error, "controller.kvk_number")


def test_fiscal_year_end_must_be_a_real_day(tmp_path: Path) -> None:
    error = _broken(tmp_path, 'fiscal_year_end = "12-31"', 'fiscal_year_end = "02-30"')
    assert "not a day" in _problem(error, "controller.fiscal_year_end")


def test_missing_required_key(tmp_path: Path) -> None:
    error = _broken(tmp_path, 'name = "Eva Bakker"\n', "")
    assert "required but missing" in _problem(error, "controller.privacy_contact.name")


def test_several_problems_are_all_listed(tmp_path: Path) -> None:
    error = _broken(tmp_path, 'kvk_number = "12345678"', 'kvk_number = "1"\nkvk = "1"')
    assert len(error.problems) == 2


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    assert str(path) in str(info.value)
    assert "file not found" in info.value.problems[0]


def test_not_toml(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text('name = "unterminated\n', encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    assert "not valid TOML" in info.value.problems[0]


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "data:text/html,<b>x</b>", "autoriteitpersoonsgegevens.nl"]
)
def test_the_authority_s_address_must_be_a_web_address(tmp_path: Path, url: str) -> None:
    """It becomes a link on the privacy statement, the request pages and in e-mails: a
    ``javascript:`` or ``data:`` address there would run or show whatever it holds."""
    error = _broken(tmp_path, 'url = "https://autoriteitpersoonsgegevens.nl"', f'url = "{url}"')
    assert "is not a web address" in _problem(error, "supervisory_authority.url")


def test_a_source_s_privacy_statement_must_be_a_web_address(tmp_path: Path) -> None:
    error = _broken(
        tmp_path, 'connector = "zammad"', 'connector = "zammad"\nprivacy_url = "javascript:x"'
    )
    assert "is not a web address" in _problem(error, 'sources[2] ("helpdesk").privacy_url')


def test_web_addresses_may_be_https_or_http(tmp_path: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8").replace(
        'connector = "zammad"', 'connector = "zammad"\nprivacy_url = "HTTP://zammad.example/p"'
    )
    path = tmp_path / "policy.toml"
    path.write_text(text, encoding="utf-8")
    policy = load_policy(path)
    assert policy.supervisory_authority is not None
    assert policy.supervisory_authority.url == "https://autoriteitpersoonsgegevens.nl"
    assert policy.sources[2].privacy_url == "HTTP://zammad.example/p"
