"""Deployment settings: validated at start-up with one clear message, secrets never shown."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from portal import PROJECT_ROOT, StartupError, create_app
from portal.settings import SettingsError, load_settings
from portal.tasks import queue_mode

SECRET = "s3cr3t-value-that-must-never-be-printed-0123456789"


@pytest.fixture
def empty_instance(tmp_path: Path) -> Path:
    (tmp_path / "policy.toml").write_bytes(
        (PROJECT_ROOT / "instance/policy.example.toml").read_bytes()
    )
    return tmp_path


def test_defaults_are_the_embedded_demo(empty_instance: Path) -> None:
    settings = load_settings(empty_instance)
    assert settings.environment == "demo"
    assert settings.database_url.startswith("sqlite:")
    assert settings.mail_transport == "file"


def test_instance_file_is_read_and_environment_wins(
    empty_instance: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (empty_instance / "config.toml").write_text('log_level = "DEBUG"\nsmtp_port = 2525\n')
    monkeypatch.setenv("PORTAL_SMTP_PORT", "465")
    settings = load_settings(empty_instance)
    assert settings.log_level == "DEBUG"
    assert settings.smtp_port == 465


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"database_url": "mysql://x"}, "setting database_url (PORTAL_DATABASE_URL)"),
        ({"smtp_port": 70000}, "setting smtp_port (PORTAL_SMTP_PORT)"),
        ({"redis_url": "http://localhost"}, "setting redis_url (PORTAL_REDIS_URL)"),
        ({"mail_from": "not-an-address"}, "setting mail_from (PORTAL_MAIL_FROM)"),
        ({"secret_key": "short"}, "setting secret_key (PORTAL_SECRET_KEY)"),
        ({"environment": "production"}, "setting secret_key (PORTAL_SECRET_KEY): required"),
        ({"smpt_host": "x"}, "setting smpt_host (PORTAL_SMPT_HOST): unknown setting"),
        ({"timezone": "Europe/Utrecht"}, "setting timezone (PORTAL_TIMEZONE): not a known"),
    ],
)
def test_wrong_values_name_the_setting(
    empty_instance: Path, values: dict[str, object], expected: str
) -> None:
    with pytest.raises(SettingsError) as exc:
        load_settings(empty_instance, values)
    assert expected in str(exc.value)


def test_production_refuses_sqlite_and_insecure_cookies(empty_instance: Path) -> None:
    base = {"environment": "production", "secret_key": SECRET, "data_keys": SECRET}
    with pytest.raises(
        SettingsError, match=r"database_url \(PORTAL_DATABASE_URL\): production runs on PostgreSQL"
    ):
        load_settings(empty_instance, base)
    with pytest.raises(SettingsError, match="secure_cookies"):
        load_settings(
            empty_instance,
            {**base, "database_url": "postgresql://h/db", "secure_cookies": False},
        )


def test_production_needs_a_real_task_queue(empty_instance: Path) -> None:
    """Without one, failed mail is never retried and no reminder ever goes out."""
    base = {"environment": "production", "secret_key": SECRET, "data_keys": SECRET,
            "database_url": "postgresql://h/db", "mail_transport": "smtp"}  # fmt: skip
    with pytest.raises(SettingsError, match=r"redis_url \(PORTAL_REDIS_URL\): required"):
        load_settings(empty_instance, base)
    with pytest.raises(SettingsError, match="task_queue"):
        load_settings(empty_instance, {**base, "task_queue": "immediate"})
    with_redis = load_settings(empty_instance, {**base, "redis_url": "redis://127.0.0.1:6379/0"})
    assert queue_mode(with_redis) == "redis"
    # a queue file on one machine does not share the sign-in rate limits between web workers
    with pytest.raises(SettingsError, match=r"redis_url \(PORTAL_REDIS_URL\): required"):
        load_settings(empty_instance, {**base, "task_queue": "sqlite"})
    one_machine = load_settings(
        empty_instance, {**base, "task_queue": "sqlite", "redis_url": "redis://127.0.0.1:6379/0"}
    )
    assert queue_mode(one_machine) == "sqlite"


def test_production_sends_mail_by_smtp(empty_instance: Path) -> None:
    """The "file" transport writes every message, sign-in codes and addresses included, in the
    clear into the instance folder: fine for the demo, never for a firm's customers."""
    base = {"environment": "production", "secret_key": SECRET, "data_keys": SECRET,
            "database_url": "postgresql://h/db",
            "redis_url": "redis://127.0.0.1:6379/0"}  # fmt: skip
    with pytest.raises(
        SettingsError, match=r"mail_transport \(PORTAL_MAIL_TRANSPORT\): production sends"
    ):
        load_settings(empty_instance, base)
    assert load_settings(empty_instance, {**base, "mail_transport": "smtp"}).mail_transport == (
        "smtp"
    )


def test_the_embedded_default_queues_in_sqlite_and_only_tests_run_tasks_at_once(
    empty_instance: Path,
) -> None:
    assert queue_mode(load_settings(empty_instance)) == "sqlite"
    assert queue_mode(load_settings(empty_instance, {"environment": "test"})) == "immediate"
    assert (
        queue_mode(load_settings(empty_instance, {"redis_url": "redis://127.0.0.1:6379/0"}))
        == "redis"
    )


def test_secret_value_never_in_error_or_repr(empty_instance: Path) -> None:
    with pytest.raises(SettingsError) as exc:
        load_settings(empty_instance, {"secret_key": SECRET, "smtp_port": "many"})
    assert SECRET not in str(exc.value)
    settings = load_settings(empty_instance, {"secret_key": SECRET})
    assert SECRET not in repr(settings)
    assert SECRET not in str(settings.model_dump())


def test_broken_toml_names_the_file(empty_instance: Path) -> None:
    (empty_instance / "config.toml").write_text("log_level = \n")
    with pytest.raises(SettingsError, match="config.toml: not valid TOML"):
        load_settings(empty_instance)


def test_create_app_stops_with_a_message(empty_instance: Path) -> None:
    with pytest.raises(StartupError) as exc:
        create_app({"smtp_port": 0}, instance_path=empty_instance)
    assert "cannot start" in str(exc.value.code)
    assert "smtp_port" in str(exc.value.code)


def test_flask_cli_prints_one_clear_line_without_traceback(empty_instance: Path) -> None:
    env = {
        **os.environ,
        "PORTAL_INSTANCE_PATH": str(empty_instance),
        "PORTAL_DATABASE_URL": "oracle://nope",
        "PORTAL_SECRET_KEY": SECRET,
    }
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "portal", "db", "upgrade"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "setting database_url (PORTAL_DATABASE_URL)" in result.stderr
    assert "Traceback" not in result.stderr
    assert SECRET not in result.stderr + result.stdout


def test_broken_policy_stops_start_up_naming_file_and_key(empty_instance: Path) -> None:
    policy = empty_instance / "policy.toml"
    policy.write_text(policy.read_text().replace('kvk_number = "12345678"', 'kvk_number = "123"'))
    with pytest.raises(StartupError) as exc:
        create_app(instance_path=empty_instance)
    message = str(exc.value.code)
    assert str(policy) in message
    assert "controller.kvk_number" in message


def test_example_configuration_is_valid(empty_instance: Path) -> None:
    example = (PROJECT_ROOT / "instance" / "config.example.toml").read_text()
    (empty_instance / "config.toml").write_text(example)
    settings = load_settings(
        empty_instance, {"secret_key": SECRET, "data_keys": "k" * 44, "oidc_issuer": ""}
    )
    assert settings.environment == "production"
    assert settings.connectors["webshop"]["base_url"].startswith("https://")


def test_demo_configuration_is_valid(empty_instance: Path) -> None:
    demo = (PROJECT_ROOT / "instance" / "config.demo.toml").read_text()
    (empty_instance / "config.toml").write_text(demo)
    settings = load_settings(empty_instance)
    assert set(settings.connectors) == {
        "webshop",
        "invoicing",
        "helpdesk",
        "customer-service",
        "payments",
    }


def test_production_refuses_a_policy_customers_should_not_see_yet(tmp_path: Path) -> None:
    """A statement with template text ("[AANBIEDER]") or without what art. 13/14 asks is
    finished first; the demo and the tests still start with it, to work on it."""
    (tmp_path / "policy.toml").write_bytes(
        (PROJECT_ROOT / "instance/examples/it-services-best.toml").read_bytes()
    )
    production = {
        "environment": "production", "secret_key": SECRET, "data_keys": SECRET,
        "database_url": "postgresql://h/db", "redis_url": "redis://127.0.0.1:6379/0",
        "mail_transport": "smtp",
    }  # fmt: skip
    with pytest.raises(StartupError) as refused:
        create_app(production, instance_path=tmp_path)
    message = str(refused.value)
    assert "policy check" in message and "13 error(s)" in message
    assert SECRET not in message
