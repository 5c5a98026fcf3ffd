"""Queue tasks of the back office: changes at the sources, their sweeper, source checks and
the nightly purge of the portal's own data.

Registered on the one :data:`portal.tasks.huey` instance when the application is created, so
the web processes and ``huey_consumer portal.worker.huey`` know them. Arguments are ids only.
"""

from __future__ import annotations

from huey import crontab

from ..tasks import _in_app_context, huey


@huey.task()
@_in_app_context
def run_action(action_id: int) -> str:
    """Carry out one change at a source (:func:`portal.backoffice.actions.run`)."""
    from . import actions

    return actions.run(action_id)


@huey.periodic_task(crontab(minute="*/2"))
@_in_app_context
def sweep_actions() -> int:
    """Queue changes that are due again, take back those a dead worker left running, and
    cancel the unwritten ones of requests that are final (withdrawn, refused, closed)."""
    from . import actions

    return actions.sweep()


@huey.periodic_task(crontab(minute="7"))
@_in_app_context
def check_sources() -> int:
    """Ask every source whether it answers, hourly; flag and report one that keeps failing."""
    from . import health

    return sum(1 for item in health.check_all() if item.flagged)


#: The portal's own retention runs once a night, at 03:30 UTC (04:30 or 05:30 in the
#: Netherlands), when nobody works in the back office.
PURGE_SCHEDULE = crontab(minute="30", hour="3")


@huey.periodic_task(PURGE_SCHEDULE)
@_in_app_context
def purge_portal_data() -> dict[str, int]:
    """Apply the policy's ``[portal_retention]`` periods (:func:`portal.retention.purge`)."""
    from ..extensions import db
    from ..retention import purge
    from ..tasks import enqueue_mail

    report = purge()
    db.session.commit()
    for outbox_id in report.outbox:
        enqueue_mail(outbox_id)
    return dict(report.counts)
