"""Gather one customer's records from every configured source, concurrently, in one budget.

:func:`gather` runs each source's :meth:`~connectors.base.BaseConnector.fetch` in its own
thread, all sharing one :class:`~connectors.http.Deadline`, so retries and ``Retry-After`` waits
respect the overall budget and the whole gathering takes about as long as the slowest source.

A second phase follows the links between systems (:class:`~connectors.base.Link`): a record
that names a record of another source by id (a WooCommerce order its Mollie payment) has that
record read by id from the source it belongs to, a few such records at once
(:meth:`~connectors.base.BaseConnector.fetch_linked`), unless that source already returned it.
The same phase reads the records the firm keeps for the customer by law (``kept``): an
erasure kept them (a payment, for the tax years) but may have anonymised what led to them (the
web shop order that named the payment), and they are still the customer's data.
A target source's second phase starts as soon as it and every source that may link to it have
answered, in the same budget; the records it reads are added to the target's result. The
first phase is what makes a record the customer's; the second only reads what their own
records name.

Every source gets a :class:`SourceResult` with a status: ``complete``, ``partial`` (some related
lists, or some linked records, failed: see ``missing``), ``failed`` (see ``error_kind``) or
``skipped``. A failing source never crashes the gathering and never looks complete. Error kinds
are stable strings (:class:`~connectors.errors.ErrorKind`); turning them into Dutch or English
text is the portal's job.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from .base import KEPT, Connector, FetchResult, Link, LinkedId, MissingPart, Record
from .errors import ConnectorError, ErrorKind, RateLimited, SourceUnavailable
from .http import Deadline, RequestStats
from .identity import Identity

log = logging.getLogger(__name__)

#: Default overall budget of one gathering, in seconds.
DEFAULT_BUDGET = 20.0
#: Extra seconds the gathering waits for threads beyond the deadline before giving up on them.
GRACE = 1.0


class SourceStatus(StrEnum):
    """Outcome of one source in a gathering."""

    COMPLETE = "complete"
    PARTIAL = "partial"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class SourceResult:
    """What one source contributed to a gathering.

    :ivar source: instance name of the source (``Record.source``).
    :ivar system: the connector slug, or ``None`` when the source was never built.
    :ivar status: see :class:`SourceStatus`.
    :ivar records: the customer's records (empty unless complete or partial).
    :ivar error_kind: why it failed or was skipped, else ``None``.
    :ivar retry_after: seconds the source asked us to wait, when rate limited or down for
        maintenance (a 503 with ``Retry-After``).
    :ivar missing: for ``partial``: which related lists failed, and why.
    :ivar requests: logical HTTP requests made (retries not counted); for a failed source,
        those made before it failed (0 when it overran the budget).
    :ivar attempts: HTTP attempts, including retries.
    :ivar duplicates: requests repeated within this gathering (should be 0).
    :ivar dropped: vendor rows dropped because they did not match exactly.
    :ivar elapsed: seconds this source took.
    """

    source: str
    system: str | None
    status: SourceStatus
    records: tuple[Record, ...] = ()
    error_kind: ErrorKind | None = None
    retry_after: float | None = None
    missing: tuple[MissingPart, ...] = ()
    requests: int = 0
    attempts: int = 0
    duplicates: int = 0
    dropped: int = 0
    elapsed: float = 0.0


@dataclass(frozen=True)
class GatherResult:
    """The outcome of :func:`gather`: one :class:`SourceResult` per source, in config order."""

    sources: Mapping[str, SourceResult]
    elapsed: float
    budget: float

    @property
    def records(self) -> list[Record]:
        """All records of all sources."""
        return [record for result in self.sources.values() for record in result.records]

    @property
    def complete(self) -> bool:
        """Whether every source that ran is complete (skipped sources do not count)."""
        return all(
            r.status in (SourceStatus.COMPLETE, SourceStatus.SKIPPED) for r in self.sources.values()
        )

    @property
    def requests(self) -> int:
        """Total logical HTTP requests of the gathering."""
        return sum(r.requests for r in self.sources.values())


def gather(
    connectors: Iterable[Connector],
    identity: Identity,
    *,
    budget: float = DEFAULT_BUDGET,
    unavailable: Mapping[str, ErrorKind] | None = None,
    max_workers: int | None = None,
    kept: Mapping[str, Iterable[tuple[str, str]]] | None = None,
) -> GatherResult:
    """Fetch ``identity``'s records from every connector concurrently within ``budget`` seconds.

    :param connectors: the configured sources (e.g. from :func:`connectors.registry.build_all`).
    :param identity: the customer's verified identifiers.
    :param budget: overall time budget in seconds, shared by all sources.
    :param unavailable: sources that could not be built, by instance name, with the kind
        (usually ``not_configured``); they are reported as skipped.
    :param max_workers: thread cap (default: one thread per source).
    :param kept: per source instance name, the ``(record_type, record_id)`` of records the firm
        keeps for this customer (an erasure decided so, for them). Read by id where the source
        can (:attr:`~connectors.base.BaseConnector.linkable`) and did not return them itself;
        one the source answers it no longer has is left out (deleted since), one it could not
        be asked for makes the part :data:`~connectors.base.KEPT` missing.
    :returns: a :class:`GatherResult`; this function does not raise for source failures.
    """
    started = time.monotonic()
    deadline = Deadline(budget)
    results: dict[str, SourceResult] = {}
    for name, kind in (unavailable or {}).items():
        results[name] = SourceResult(name, None, SourceStatus.SKIPPED, error_kind=kind)
    runnable: list[Connector] = []
    for connector in connectors:
        if connector.can_search(identity):
            runnable.append(connector)
        else:
            results[connector.instance_name] = SourceResult(
                connector.instance_name,
                connector.name,
                SourceStatus.SKIPPED,
                error_kind=ErrorKind.NO_IDENTIFIER,
            )
    if runnable:
        executor = ThreadPoolExecutor(
            max_workers=max_workers or len(runnable), thread_name_prefix="gather"
        )
        try:
            readable = _readable(runnable, kept or {})
            results.update(_run(executor, runnable, identity, deadline, started, readable))
        finally:
            # Do not wait for an overrunning source: its own timeouts will end it soon.
            executor.shutdown(wait=False, cancel_futures=True)
    return GatherResult(results, elapsed=time.monotonic() - started, budget=budget)


def _run(
    executor: ThreadPoolExecutor,
    runnable: list[Connector],
    identity: Identity,
    deadline: Deadline,
    started: float,
    kept: Mapping[str, list[LinkedId]],
) -> dict[str, SourceResult]:
    """Both phases: every source's fetch, then per target source its linked records (and its
    ``kept`` ones), started once it and the sources that may link to it have answered."""
    give_up = time.monotonic() + deadline.remaining() + GRACE
    fetches: dict[Future[SourceResult], Connector] = {
        executor.submit(fetch_source, connector, identity, deadline): connector
        for connector in runnable
    }
    # target instance -> the sources whose answers it waits for (itself included)
    waiting = {
        target.instance_name: {target.instance_name} | {s.instance_name for s in linking}
        for target in runnable
        if (linking := _linking_to(target, runnable)) or target.instance_name in kept
    }
    by_name = {connector.instance_name: connector for connector in runnable}
    follow: dict[Future[FetchResult], tuple[Connector, float]] = {}
    unread: dict[str, tuple[LinkedId, ...]] = {}
    results: dict[str, SourceResult] = {}
    pending: set[Future[Any]] = set(fetches)
    while pending:
        done, pending = wait(
            pending, timeout=max(0.0, give_up - time.monotonic()), return_when=FIRST_COMPLETED
        )
        if not done:
            break  # the budget is used up
        for future in done:
            source = fetches.get(future)
            if source is not None:
                results[source.instance_name] = future.result()  # fetch_source never raises
                continue
            target, since = follow[future]
            linked = _linked_outcome(future, target, runnable, kept)
            # a kept record its source no longer has was deleted since: nothing is missing
            gone = tuple(one for one in linked.unread if one.what != KEPT)
            if gone:
                unread[target.instance_name] = gone
            results[target.instance_name] = _with_linked(
                results[target.instance_name], linked, time.monotonic() - since
            )
        for name, needs in list(waiting.items()):
            if not needs <= results.keys():
                continue
            del waiting[name]
            target = by_name[name]
            if results[name].status not in (SourceStatus.COMPLETE, SourceStatus.PARTIAL):
                continue  # not asked by id: its own failure says enough
            sources = [by_name[n] for n in needs - {name}]
            wanted, unreached = _wanted(target, sources, results)
            if unreached:
                # A naming source failed or lost the lists that name them: say so here too,
                # as these records cannot be reached any other way.
                results[name] = _with_missing(results[name], unreached)
            wanted.extend(kept.get(name, ()))  # after the linked: a record keeps its parent
            if wanted:
                known = {(r.record_type, r.record_id) for r in results[name].records}
                job = executor.submit(target.fetch_linked, wanted, known=known, deadline=deadline)
                follow[job] = (target, time.monotonic())
                pending.add(job)
    for connector in fetches.values():
        if connector.instance_name not in results:
            log.warning("source %s overran the gathering budget", connector.instance_name)
            results[connector.instance_name] = SourceResult(
                connector.instance_name,
                connector.name,
                SourceStatus.FAILED,
                error_kind=ErrorKind.TIMEOUT,
                elapsed=time.monotonic() - started,
            )
    for job, (target, since) in follow.items():
        if job in pending:  # still running when the budget ran out
            log.warning("linked records of %s overran the gathering budget", target.instance_name)
            overran = _missing_of(target, runnable, ErrorKind.TIMEOUT, kept)
            results[target.instance_name] = _with_missing(
                results[target.instance_name], overran, time.monotonic() - since
            )
    for name in waiting:
        # A naming source overran the budget before it answered: what it names is missing.
        if results[name].status in (SourceStatus.COMPLETE, SourceStatus.PARTIAL):
            overran = _missing_of(by_name[name], runnable, ErrorKind.TIMEOUT, kept)
            results[name] = _with_missing(results[name], overran)
    _decide_unread(unread, results, by_name)
    return {connector.instance_name: results[connector.instance_name] for connector in runnable}


def _decide_unread(
    unread: Mapping[str, tuple[LinkedId, ...]],
    results: dict[str, SourceResult],
    by_name: Mapping[str, Connector],
) -> None:
    """The linked ids a source answered it does not have are missing there, unless another
    source of the same system (a second Mollie profile) returned them."""
    for name, ids in unread.items():
        system = by_name[name].name
        found = {
            (record.record_type, record.record_id)
            for result in results.values()
            if result.system == system
            for record in result.records
        }
        lost = dict.fromkeys(
            linked.what for linked in ids if (linked.record_type, linked.record_id) not in found
        )
        if lost:
            parts = tuple(MissingPart(what, ErrorKind.NOT_FOUND) for what in lost)
            results[name] = _with_missing(results[name], parts)


def _links(source: Connector, target: Connector) -> list[Link]:
    """The links of ``source`` to records ``target`` can read by id."""
    linkable = getattr(target, "linkable", {})
    return [
        link
        for link in getattr(source, "links", ())
        if link.system == target.name and link.target_type in linkable
    ]


def _linking_to(target: Connector, runnable: Iterable[Connector]) -> list[Connector]:
    """The sources whose records may name records of ``target``'s system."""
    return [source for source in runnable if source is not target and _links(source, target)]


def _wanted(
    target: Connector, sources: Iterable[Connector], results: Mapping[str, SourceResult]
) -> tuple[list[LinkedId], tuple[MissingPart, ...]]:
    """The ids of ``target``'s records that the answered ``sources``' records name, and the
    parts of ``target`` out of reach: a source that failed, lost a list that names them
    (:attr:`Link.hidden_by`) or could not say which it names."""
    wanted: list[LinkedId] = []
    unreached: dict[str, ErrorKind] = {}
    for source in sources:
        result = results[source.instance_name]
        links = _links(source, target)
        if result.status is SourceStatus.FAILED:
            for link in links:
                unreached.setdefault(link.what, result.error_kind or ErrorKind.INTERNAL)
            continue
        if result.status not in (SourceStatus.COMPLETE, SourceStatus.PARTIAL):
            continue  # skipped: not set up, or nothing to look it up by; said as such
        for part in result.missing:
            for link in links:
                if part.what in link.hidden_by:
                    unreached.setdefault(link.what, part.kind)
        try:
            wanted.extend(
                one for one in source.linked_ids(result.records) if one.system == target.name
            )
        except Exception as error:  # a connector bug must not end the gathering
            log.error("links of %s crashed: %s", source.instance_name, type(error).__name__)
            for link in links:
                unreached.setdefault(link.what, ErrorKind.INTERNAL)
    return wanted, tuple(MissingPart(what, kind) for what, kind in unreached.items())


def _readable(
    runnable: Iterable[Connector], kept: Mapping[str, Iterable[tuple[str, str]]]
) -> dict[str, list[LinkedId]]:
    """The kept records of each source that it can read by id, as linked ids without a
    naming record."""
    readable: dict[str, list[LinkedId]] = {}
    for source in runnable:
        linkable = getattr(source, "linkable", {})
        ids = [
            LinkedId(source.name, record_type, record_id, KEPT, None, None)
            for record_type, record_id in kept.get(source.instance_name, ())
            if record_type in linkable
        ]
        if ids:
            readable[source.instance_name] = ids
    return readable


def _missing_of(
    target: Connector,
    runnable: Iterable[Connector],
    kind: ErrorKind,
    kept: Mapping[str, list[LinkedId]],
) -> tuple[MissingPart, ...]:
    """Every kind of linked record of ``target`` (its kept records too) as missing, for
    ``kind``."""
    whats = dict.fromkeys(
        link.what for source in _linking_to(target, runnable) for link in _links(source, target)
    )
    if target.instance_name in kept:
        whats[KEPT] = None
    return tuple(MissingPart(what, kind) for what in whats)


def _linked_outcome(
    future: Future[FetchResult],
    target: Connector,
    runnable: Iterable[Connector],
    kept: Mapping[str, list[LinkedId]],
) -> FetchResult:
    """The result of a target's linked fetch; a crash makes every linked part missing."""
    try:
        return future.result()
    except Exception as error:  # the task boundary, as in fetch_source
        # Only the type: an exception's text could quote personal data.
        log.error("linked records of %s crashed: %s", target.instance_name, type(error).__name__)
        missing = _missing_of(target, runnable, ErrorKind.INTERNAL, kept)
        return FetchResult((), missing, RequestStats())


def _with_missing(
    result: SourceResult, parts: tuple[MissingPart, ...], elapsed: float = 0.0
) -> SourceResult:
    """``result`` with ``parts`` missing too (partial unless it failed)."""
    return _with_linked(result, FetchResult((), parts, RequestStats()), elapsed)


def _with_linked(result: SourceResult, linked: FetchResult, elapsed: float) -> SourceResult:
    """``result`` with the records and missing parts of its second phase added, which took
    ``elapsed`` seconds."""
    missing = result.missing + tuple(m for m in linked.missing if m not in result.missing)
    status = result.status
    if missing and status is SourceStatus.COMPLETE:
        status = SourceStatus.PARTIAL
    return replace(
        result,
        status=status,
        records=result.records + linked.records,
        missing=missing,
        requests=result.requests + linked.stats.requests,
        attempts=result.attempts + linked.stats.attempts,
        duplicates=result.duplicates + linked.stats.duplicates,
        dropped=result.dropped + linked.dropped,
        elapsed=result.elapsed + elapsed,
    )


def fetch_source(connector: Connector, identity: Identity, deadline: Deadline) -> SourceResult:
    """Fetch one source and turn every outcome into a :class:`SourceResult`; never raises."""
    started = time.monotonic()
    name = connector.instance_name
    try:
        fetched = connector.fetch(identity, deadline=deadline)
    except ConnectorError as error:
        log.warning("source %s failed: %s", name, error.kind.value)
        made = error.stats or RequestStats()  # the requests made before it failed
        return SourceResult(
            name,
            connector.name,
            SourceStatus.FAILED,
            error_kind=error.kind,
            retry_after=(
                error.retry_after if isinstance(error, RateLimited | SourceUnavailable) else None
            ),
            requests=made.requests,
            attempts=made.attempts,
            duplicates=made.duplicates,
            elapsed=time.monotonic() - started,
        )
    except Exception as error:  # the task boundary: a connector bug must not end the gathering
        # Only the type: an exception's text could quote personal data.
        log.error("source %s crashed: %s", name, type(error).__name__)
        return SourceResult(
            name,
            connector.name,
            SourceStatus.FAILED,
            error_kind=ErrorKind.INTERNAL,
            elapsed=time.monotonic() - started,
        )
    return SourceResult(
        name,
        connector.name,
        SourceStatus.PARTIAL if fetched.missing else SourceStatus.COMPLETE,
        records=fetched.records,
        missing=fetched.missing,
        requests=fetched.stats.requests,
        attempts=fetched.stats.attempts,
        duplicates=fetched.stats.duplicates,
        dropped=fetched.dropped,
        elapsed=time.monotonic() - started,
    )
