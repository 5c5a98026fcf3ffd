"""The queue worker's entry point: ``huey_consumer portal.worker.huey``.

Builds the application once (from the same ``instance/`` folder, ``instance/config.toml`` and
``PORTAL_*`` variables as the web process), which points :data:`portal.tasks.huey` at the
configured storage: the queue file ``instance/huey.db`` (``task_queue = "sqlite"``, the demo)
or Redis (``redis_url``, production). Run it as ``huey_consumer portal.worker.huey -w 2 -k
thread``; with several consumers, give all but one ``-n`` so that only one enqueues the
periodic tasks (the outbox sweeper, purging, the daily deadline reminder).
"""

from __future__ import annotations

import logging

from . import create_app
from .tasks import huey

app = create_app()
# huey_consumer gives huey's logger a handler of its own after importing this module; the
# portal's, on the root logger, would write each of huey's lines a second time. (Every record
# is redacted where it is made, its traceback too, whichever handler writes it.)
logging.getLogger("huey").propagate = False

__all__ = ["app", "huey"]
