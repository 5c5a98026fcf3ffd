"""The registry: built-ins by slug, entry-point plugins, config validation and secrets."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from importlib.metadata import EntryPoint

import pytest

import connectors.registry as registry
from connectors import Capability, NotConfigured, build_all, create, get
from connectors.base import BaseConnector, Candidate, Draft, Match, Run


def test_builtin_connectors_are_registered_by_slug() -> None:
    assert set(registry.available()) >= {
        "woocommerce",
        "moneybird",
        "zammad",
        "freshdesk",
        "mollie",
        "files",
    }
    for slug, cls in registry.available().items():
        assert cls.name == slug
        assert Capability.READ in cls.capabilities
        assert cls.__doc__


def test_unknown_slug_is_not_configured() -> None:
    with pytest.raises(NotConfigured):
        get("nope")


class PluginConnector(BaseConnector):
    """A third-party connector."""

    name = "plugin_crm"
    title = "Plugin CRM"

    def find(self, run: Run) -> Iterator[Candidate]:
        return iter(())

    def expand(self, run: Run, match: Match) -> Iterator[Draft]:
        return iter(())

    def probe(self, run: Run) -> None:
        return None


def test_entry_point_plugins_are_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    good = EntryPoint("plugin_crm", f"{__name__}:PluginConnector", registry.ENTRY_POINT_GROUP)
    bad = EntryPoint("broken", "no_such_module_xyz:Thing", registry.ENTRY_POINT_GROUP)
    monkeypatch.setattr(registry, "entry_points", lambda group: [good, bad])
    monkeypatch.setattr(registry, "_loaded", False)
    monkeypatch.setattr(registry, "_registry", dict(registry._registry))
    assert registry.get("plugin_crm") is PluginConnector
    assert "broken" not in registry.available()


def test_config_is_validated_and_secrets_are_masked() -> None:
    with pytest.raises(NotConfigured) as info:
        create("zammad", {"base_url": "https://desk.example.test"})
    assert "token" in str(info.value)
    with pytest.raises(NotConfigured):
        create("zammad", {"base_url": "https://d.example.test", "token": "t", "tokken": "x"})
    with create("zammad", {"base_url": "https://d.example.test", "token": "s3cret"}) as zammad:
        assert zammad.redacted_config()["token"] == "***"
        assert "s3cret" not in repr(zammad)


def test_build_all_uses_section_names_and_connector_key() -> None:
    built = build_all(
        {
            "zammad": {"base_url": "https://d.example.test", "token": "t"},
            "shop2": {
                "connector": "woocommerce",
                "base_url": "https://s2.example.test",
                "consumer_key": "k",
                "consumer_secret": "s",
            },
            "mollie": {"enabled": False, "api_key": "x"},
        }
    )
    try:
        assert {n: c.name for n, c in built.items()} == {"zammad": "zammad", "shop2": "woocommerce"}
        assert built["shop2"].instance_name == "shop2"
    finally:
        for connector in built.values():
            connector.close()


def test_bad_category_override_is_not_configured() -> None:
    with pytest.raises(NotConfigured):
        create("mollie", {"api_key": "x", "categories": {"customer.email": 3}})


def test_threads_asking_at_once_in_a_new_process_all_find_the_connectors() -> None:
    # A queue worker's threads start several write-back jobs at once; before the first import
    # of the registry ended, the others found no connector ("not configured").
    script = textwrap.dedent(
        """
        import threading
        from connectors import registry
        from connectors.errors import NotConfigured
        missing = []
        barrier = threading.Barrier(8)
        def ask():
            barrier.wait()
            try:
                registry.get("woocommerce")
            except NotConfigured:
                missing.append(1)
        threads = [threading.Thread(target=ask) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        print(len(missing))
        """
    )
    for _ in range(3):
        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
        )
        assert done.stdout.strip() == "0", done.stderr
