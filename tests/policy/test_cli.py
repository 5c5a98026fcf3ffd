"""The policy check as people run it: `flask --app portal policy check [FILE]` and
`python -m portal.policy check FILE` (which works even when the portal cannot start)."""

from __future__ import annotations

import subprocess
import sys

from flask import Flask

from portal import PROJECT_ROOT

EXAMPLES = PROJECT_ROOT / "instance" / "examples"


def test_flask_command_reports_the_placeholder_and_fails_on_errors(app: Flask) -> None:
    result = app.test_cli_runner().invoke(
        args=["policy", "check", str(EXAMPLES / "it-services-best.toml")]
    )
    assert result.exit_code == 1
    assert "[AANBIEDER]" in result.output
    assert "[template-placeholder]" in result.output
    assert "errors" in result.output.splitlines()[-1]


def test_flask_command_checks_the_instance_policy_by_default(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["policy", "check"])
    assert result.exit_code == 0, result.output  # the example policy has warnings, no errors
    assert "policy.toml" in result.output


def test_module_entry_point_on_a_broken_file(tmp_path: object) -> None:
    broken = PROJECT_ROOT / "instance" / "policy.example.toml"
    target = tmp_path / "policy.toml"  # type: ignore[operator]
    target.write_text(broken.read_text().replace('kvk_number = "12345678"', 'kvk_number = "1"'))
    result = subprocess.run(
        [sys.executable, "-m", "portal.policy", "check", str(target)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "controller.kvk_number" in result.stderr
    assert "Traceback" not in result.stderr
