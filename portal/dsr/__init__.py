"""Data subject requests (GDPR art. 12-22): submitting, tracking and the legal deadline.

``services`` holds the rules (stored before acknowledged, idempotent, the status machine);
``views`` the customer's pages under ``/verzoeken`` (blueprint ``requests``).
"""

from .views import bp

__all__ = ["bp"]
