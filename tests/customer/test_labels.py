"""Every field and part name the built-in connectors can gather has a label in both languages,
not only those the demo customer happens to have: read from the connectors' code."""

from __future__ import annotations

import ast
from pathlib import Path

from flask import Flask
from flask_babel import force_locale

from portal import PROJECT_ROOT
from portal.customer.texts import FIELD_LABELS

#: Modules whose field names the firm chooses (the columns of its own files).
FIRM_CHOSEN = {"files.py"}


def _strings(node: ast.AST, constants: dict[str, tuple[str, ...]]) -> list[str]:
    """The names an expression spells out: a text, or a module constant's texts (``*NAMES``)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.Starred) and isinstance(node.value, ast.Name):
        return list(constants.get(node.value.id, ()))
    return []


def _module_constants(tree: ast.Module) -> dict[str, tuple[str, ...]]:
    """Module-level tuples of texts (``ADDRESS_KEYS = ("first_name", ...)``)."""
    found = {}
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and isinstance(node.value, ast.Tuple)
            and all(
                isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.value.elts
            )
        ):
            found[node.targets[0].id] = tuple(e.value for e in node.value.elts)  # type: ignore[attr-defined]
    return found


def _draft_fields(call: ast.Call) -> ast.AST | None:
    if len(call.args) >= 3:
        return call.args[2]
    return next((k.value for k in call.keywords if k.arg == "fields"), None)


def gathered_names(path: Path) -> set[str]:
    """Every name a connector module gives a field or a part of one: the keys it writes into a
    draft's fields (at any depth), every key it picks from a vendor's answer, and the address
    keys it copies."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    constants = _module_constants(tree)
    names: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
        if name == "pick":
            for arg in node.args[1:]:
                names.update(_strings(arg, constants))
        elif name == "Draft" and (fields := _draft_fields(node)) is not None:
            for inner in ast.walk(fields):
                if isinstance(inner, ast.Dict):
                    for key in inner.keys:
                        if key is not None:
                            names.update(_strings(key, constants))
    names.update(constants.get("ADDRESS_KEYS", ()))
    return names


def _connector_names() -> dict[str, set[str]]:
    return {
        path.name: gathered_names(path)
        for path in sorted((PROJECT_ROOT / "connectors").glob("*.py"))
        if path.name not in FIRM_CHOSEN
    }


def test_the_scan_finds_what_the_connectors_gather() -> None:
    names = _connector_names()
    assert {"sepa_iban", "tax_number", "attention"} <= names["moneybird.py"]
    assert {"line_items", "quantity", "shipping_phone", "company"} <= names["woocommerce.py"]
    assert {"job_title", "cc_emails"} <= names["freshdesk.py"]
    assert {"fax", "zip"} <= names["zammad.py"]
    assert {"subscriptionId", "sequenceType"} <= names["mollie.py"]


def test_every_name_the_connectors_gather_has_a_label(app: Flask) -> None:
    unnamed = {
        f"{module}: {name}"
        for module, names in _connector_names().items()
        for name in names
        if name not in FIELD_LABELS
    }
    assert not unnamed, sorted(unnamed)
    with app.test_request_context():
        for name, label in FIELD_LABELS.items():
            with force_locale("nl"):
                dutch = str(label)
            with force_locale("en"):
                english = str(label)
            assert dutch and english, name
            if dutch == english:  # the same word in both (Status, IBAN, BIC, VIP, Tags...)
                assert dutch in SAME_IN_BOTH, (name, dutch)


#: Labels that are the same word in Dutch and English.
SAME_IN_BOTH = {"Status", "BIC", "VIP", "Postcode", "Website", "Browser", "Team", "Product"}
