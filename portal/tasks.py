"""Background tasks on Huey: mail, the outbox sweeper, purging gathered data, reminders.

One :data:`huey` instance is configured from the settings by :func:`init_app`:

* ``redis``: Redis storage on ``redis_url`` (production; run one or more
  ``huey_consumer portal.worker.huey`` processes beside gunicorn, see docs/production.md);
* ``sqlite``: a queue file ``instance/huey.db`` shared by the web process and the consumer
  (the demo: ``python3 manage.py demo`` starts one);
* ``immediate``: tasks run in-process when enqueued, and nothing runs the periodic tasks (the
  tests; never an install that sends mail for real).

``auto`` (the default) is ``redis`` when ``redis_url`` is set, else ``sqlite`` (the embedded
default: a consumer must run beside the web server), and ``immediate`` only for
``environment = "test"``.

Huey does not acknowledge a task it has started: a worker killed mid-job loses it. Work that
must happen is therefore recorded in the database in the same transaction as the action (the
outbox, :mod:`portal.mail`), and the periodic sweeper re-queues what is not done. Periodic tasks
are enqueued by every consumer that runs its scheduler; run all but one with ``-n``.

Task arguments are ids only, never addresses or other personal data: they end up in Redis or
in the queue file. Tasks run inside an application context and commit their own work.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from flask import Flask, current_app, has_app_context
from huey import Huey, crontab
from huey.storage import MemoryStorage, RedisStorage, SqliteStorage

from .settings import Settings

F = TypeVar("F", bound=Callable[..., Any])

#: Configured by :func:`init_app`; until then tasks run in-process.
huey = Huey("portal", results=False, immediate=True, storage_class=MemoryStorage)

_state: dict[str, Flask] = {}


def queue_mode(settings: Settings) -> str:
    """``immediate``, ``sqlite`` or ``redis``, from ``task_queue`` and ``redis_url``."""
    if settings.task_queue == "auto":
        if settings.redis_url:
            return "redis"
        return "immediate" if settings.environment == "test" else "sqlite"
    return settings.task_queue


def init_app(app: Flask) -> None:
    """Point :data:`huey` at the storage the settings choose, and remember the app for tasks.

    :raises ValueError: if ``task_queue = "redis"`` but no ``redis_url`` is set.
    """
    settings: Settings = app.extensions["portal.settings"]
    mode = queue_mode(settings)
    if mode == "redis":
        if not settings.redis_url:
            raise ValueError("task_queue: redis needs redis_url")
        huey.storage_class = RedisStorage
        huey.storage_kwargs = {"url": settings.redis_url}
    elif mode == "sqlite":
        huey.storage_class = SqliteStorage
        huey.storage_kwargs = {"filename": str(Path(app.instance_path) / "huey.db")}
    else:
        huey.storage_class = MemoryStorage
        huey.storage_kwargs = {}
    huey._immediate = mode == "immediate"  # noqa: SLF001 - set before storage is (re)made
    huey.storage = huey.create_storage()
    app.extensions["portal.huey"] = huey
    _state["app"] = app


def _in_app_context(func: F) -> F:
    """Run ``func`` in the current application context, or in the configured app's."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if has_app_context():
            return func(*args, **kwargs)
        with _state["app"].app_context():
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


@huey.task()
@_in_app_context
def send_mail(outbox_id: int) -> bool:
    """Send outbox message ``outbox_id``; a failure is left for :func:`sweep_outbox`."""
    from .mail import deliver

    return deliver(outbox_id)


@huey.periodic_task(crontab(minute="*"))
@_in_app_context
def sweep_outbox() -> int:
    """Retry every outbox message that is due (exponential backoff). Runs every minute."""
    from .mail import sweep

    return sweep()


@huey.periodic_task(crontab(minute="*/5"))
@_in_app_context
def purge_gathered() -> int:
    """Delete gathered data whose holding time has passed. Runs every five minutes."""
    from .extensions import db
    from .gathering import purge_expired

    purged = purge_expired()
    db.session.commit()
    return purged


#: Reminders go out once a day; the later hours only catch up when no scheduler ran at 07:00
#: (UTC; 08:00 or 09:00 in the Netherlands). :func:`portal.reminders.remind_deadlines` sends
#: at most one mail a day for the same requests.
REMINDER_SCHEDULE = crontab(minute="0", hour="7-16")


@huey.periodic_task(REMINDER_SCHEDULE)
@_in_app_context
def remind_deadlines() -> str:
    """E-mail the privacy contact the open requests near or past their deadline (daily)."""
    from .reminders import run

    return run().outcome


@huey.periodic_task(crontab(day_of_week="1", hour="6", minute="0"))
@_in_app_context
def anchor_audit_log() -> int | None:
    """E-mail the privacy contact the audit log's newest entry and hash (weekly, Monday)."""
    from .audit import mail_anchor
    from .extensions import db

    outbox_id = mail_anchor()
    db.session.commit()
    if outbox_id is not None:
        enqueue_mail(outbox_id)
    return outbox_id


def enqueue_mail(outbox_id: int) -> None:
    """Hand a committed outbox row to the queue. Never raises: the sweeper is the safety net.

    In immediate mode this sends right away, inside the request.
    """
    try:
        send_mail(outbox_id)
    except Exception:  # a broken queue must not break the page  # noqa: BLE001
        current_app.logger.exception("could not enqueue mail %s; the sweeper will", outbox_id)
