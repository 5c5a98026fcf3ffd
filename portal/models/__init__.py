"""SQLAlchemy 2.0 models, one module per aggregate. Importing this module registers them all."""

from .audit import AuditEvent
from .base import Base, UTCDateTime, utcnow

__all__ = ["AuditEvent", "Base", "UTCDateTime", "utcnow"]
