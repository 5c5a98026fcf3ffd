"""A queue worker in a process of its own, for the tests that kill one mid-job.

    python tests/tasks/worker_process.py QUEUE_NAME [--no-periodic]

It does what ``huey_consumer portal.worker.huey`` does (build the app from ``PORTAL_*``
variables and ``PORTAL_INSTANCE_PATH``, then consume), on the queue ``QUEUE_NAME`` so that
each test has a queue of its own.
"""

from __future__ import annotations

import sys

from portal import create_app
from portal.tasks import huey


def main(argv: list[str]) -> None:
    create_app()
    huey.name = argv[0]
    huey.storage = huey.create_storage()
    consumer = huey.create_consumer(
        workers=1,
        worker_type="thread",
        periodic="--no-periodic" not in argv,
        initial_delay=0.05,
        max_delay=0.5,
    )
    consumer.run()


if __name__ == "__main__":
    main(sys.argv[1:])
