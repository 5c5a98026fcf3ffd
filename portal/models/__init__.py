"""SQLAlchemy 2.0 models, one module per aggregate. Importing this module registers them all."""

from .audit import AuditEvent
from .backoffice import ActionKind, ActionStatus, RequestAction, SourceEvent
from .base import Base, UTCDateTime, utcnow
from .customer import Customer, CustomerIdentifier, CustomerSession, LoginChallenge
from .export import DataExport
from .gathering import GatheredSnapshot
from .outbox import OutboxMessage
from .requests import DataRequest, RequestChannel, RequestEvent, RequestKind, RequestStatus
from .staff import StaffMember, StaffRecoveryCode, StaffRole, StaffSession

__all__ = [
    "ActionKind",
    "ActionStatus",
    "AuditEvent",
    "Base",
    "Customer",
    "CustomerIdentifier",
    "CustomerSession",
    "DataExport",
    "DataRequest",
    "GatheredSnapshot",
    "LoginChallenge",
    "OutboxMessage",
    "RequestAction",
    "RequestChannel",
    "RequestEvent",
    "RequestKind",
    "RequestStatus",
    "SourceEvent",
    "StaffMember",
    "StaffRecoveryCode",
    "StaffRole",
    "StaffSession",
    "UTCDateTime",
    "utcnow",
]
