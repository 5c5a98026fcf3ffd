"""The firm's privacy policy: schema, loading and the GDPR art. 13/14 check."""

from flask import Flask, current_app

from .loader import PolicyError, load_policy, parse_policy
from .schema import Category, LegalBasis, Policy, Purpose, Recipient, Retention, Right, Source

__all__ = [
    "Category",
    "LegalBasis",
    "Policy",
    "PolicyError",
    "Purpose",
    "Recipient",
    "Retention",
    "Right",
    "Source",
    "current_policy",
    "init_app",
    "load_policy",
    "parse_policy",
]

_EXTENSION = "portal.policy"


def init_app(app: Flask, policy: Policy) -> None:
    """Make the validated policy available to views, services and templates."""
    from . import texts

    app.extensions[_EXTENSION] = policy
    app.jinja_env.globals["policy"] = policy
    texts.init_app(app)


def current_policy() -> Policy:
    """The policy of the running application."""
    policy: Policy = current_app.extensions[_EXTENSION]
    return policy
