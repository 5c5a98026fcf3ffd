"""SQLAlchemy 2.0 models, one module per aggregate. Importing this module registers them all."""

from .audit import AuditEvent
from .base import Base, UTCDateTime, utcnow
from .customer import Customer, CustomerIdentifier, CustomerSession, LoginChallenge
from .export import DataExport
from .gathering import GatheredSnapshot
from .outbox import OutboxMessage

__all__ = [
    "AuditEvent",
    "Base",
    "Customer",
    "CustomerIdentifier",
    "CustomerSession",
    "DataExport",
    "GatheredSnapshot",
    "LoginChallenge",
    "OutboxMessage",
    "UTCDateTime",
    "utcnow",
]
