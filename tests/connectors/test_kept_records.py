"""Records the firm keeps by law after an erasure, read again by id.

An erasure anonymises Sanne's guest order (WooCommerce, by staff) but keeps its Mollie payment
for the tax years: the order no longer names her, so the payment cannot be reached through it, and
Mollie cannot be searched by e-mail for a payment made without a customer object. The portal
gives the gathering the records it kept for her (``kept``); the gathering reads those by id.
Over real HTTP against the simulators, except where a test puts a failing answer in front.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from connectors import (
    ErrorKind,
    MissingPart,
    RecordRef,
    RetryPolicy,
    SourceStatus,
)
from connectors.base import KEPT
from simulators.runner import SimulatorHandle

from .over_http import Answering, gather_shop_and_payments

SANNE = "sanne.devries@example.nl"
#: Her 2023 guest order and its Mollie payment.
GUEST_ORDER, GUEST_PAYMENT = "1977", "tr_Gk2Mw8PxLs"


def _gather(
    sims: dict[str, SimulatorHandle],
    retry: RetryPolicy,
    kept: dict[str, list[tuple[str, str]]] | None,
    *,
    mollie: httpx.BaseTransport | None = None,
) -> Any:
    return gather_shop_and_payments(sims, retry, SANNE, mollie=mollie, kept=kept)


def _anonymise_guest_order(sims: dict[str, SimulatorHandle], retry: RetryPolicy) -> None:
    """What the erasure did to her guest order: staff ran WooCommerce's own eraser on it (the
    connector leaves orders to them)."""
    sims["woocommerce"].app.remove_personal_data(int(GUEST_ORDER))  # type: ignore[attr-defined]


def _payments(result: Any) -> dict[str, Any]:
    return {r.record_id: r for r in result.sources["mollie"].records if r.record_type == "payment"}


def _reads(handle: SimulatorHandle, record_id: str) -> int:
    return sum(1 for r in handle.requests if r.path == f"/v2/payments/{record_id}")


KEPT_PAYMENT = {"mollie": [("payment", GUEST_PAYMENT)]}


def test_a_kept_payment_is_shown_after_its_order_was_anonymised(
    sims: dict[str, SimulatorHandle], no_wait: RetryPolicy
) -> None:
    _anonymise_guest_order(sims, no_wait)
    # without what the portal kept, the payment is out of reach: the order no longer names her
    assert GUEST_PAYMENT not in _payments(_gather(sims, no_wait, None))
    result = _gather(sims, no_wait, KEPT_PAYMENT)
    mollie = result.sources["mollie"]
    assert mollie.status is SourceStatus.COMPLETE and mollie.missing == ()
    payment = _payments(result)[GUEST_PAYMENT]
    # her data as Mollie holds it, found through no record of hers and no identifier
    assert payment.fields["details"]["consumerAccount"] == "NL00TEST0123456789"
    assert payment.parent is None and payment.matched is None
    assert payment.to_dict()["matched"] is None
    assert result.sources["woocommerce"].status is SourceStatus.COMPLETE


def test_a_kept_payment_still_named_by_its_order_is_read_once_through_the_order(
    sims: dict[str, SimulatorHandle], no_wait: RetryPolicy
) -> None:
    result = _gather(sims, no_wait, KEPT_PAYMENT)
    payment = _payments(result)[GUEST_PAYMENT]
    assert payment.parent == RecordRef("woocommerce", "order", GUEST_ORDER)
    assert payment.matched is not None and payment.matched.value == SANNE
    assert _reads(sims["mollie"], GUEST_PAYMENT) == 1
    assert result.sources["mollie"].duplicates == 0


def test_a_kept_record_the_source_already_returned_is_not_read_again(
    sims: dict[str, SimulatorHandle], no_wait: RetryPolicy
) -> None:
    plain = _gather(sims, no_wait, None)
    own = [  # a payment that came with her Mollie customer, not through an order
        r
        for r in plain.sources["mollie"].records
        if r.record_type == "payment" and r.parent and r.parent.source == "mollie"
    ]
    assert own
    sims["mollie"].clear_requests()
    result = _gather(sims, no_wait, {"mollie": [("payment", own[0].record_id)]})
    assert _reads(sims["mollie"], own[0].record_id) == 0
    assert _payments(result)[own[0].record_id].matched is not None


def test_a_kept_record_the_source_no_longer_has_is_left_out_and_nothing_is_missing(
    sims: dict[str, SimulatorHandle], no_wait: RetryPolicy
) -> None:
    _anonymise_guest_order(sims, no_wait)
    del sims["mollie"].app.payments[GUEST_PAYMENT]  # type: ignore[attr-defined]
    result = _gather(sims, no_wait, KEPT_PAYMENT)
    mollie = result.sources["mollie"]
    assert GUEST_PAYMENT not in _payments(result)
    assert _reads(sims["mollie"], GUEST_PAYMENT) == 1  # asked, and Mollie said it is gone
    assert mollie.status is SourceStatus.COMPLETE and mollie.missing == ()


def _problem(status: int) -> Callable[[httpx.Request], httpx.Response]:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            status, json={"status": status, "title": "Nope", "detail": "Try later."}
        )

    return answer


@pytest.mark.parametrize(("status", "kind"), [(503, ErrorKind.DOWN), (401, ErrorKind.AUTH)])
def test_a_kept_record_that_cannot_be_read_makes_the_part_missing(
    sims: dict[str, SimulatorHandle], no_wait: RetryPolicy, status: int, kind: ErrorKind
) -> None:
    _anonymise_guest_order(sims, no_wait)
    failing = Answering(f"/v2/payments/{GUEST_PAYMENT}", _problem(status))
    result = _gather(sims, no_wait, KEPT_PAYMENT, mollie=failing)
    mollie = result.sources["mollie"]
    assert mollie.status is SourceStatus.PARTIAL
    assert mollie.missing == (MissingPart(KEPT, kind),)
    assert GUEST_PAYMENT not in _payments(result)
    assert mollie.records  # what Mollie did answer is still there


def test_a_404_that_is_not_mollie_s_own_makes_a_kept_record_missing(
    sims: dict[str, SimulatorHandle], no_wait: RetryPolicy
) -> None:
    _anonymise_guest_order(sims, no_wait)

    def proxy_404(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, text="<html>Not found</html>")

    failing = Answering(f"/v2/payments/{GUEST_PAYMENT}", proxy_404)
    mollie = _gather(sims, no_wait, KEPT_PAYMENT, mollie=failing).sources["mollie"]
    assert mollie.status is SourceStatus.PARTIAL
    assert [part.what for part in mollie.missing] == [KEPT]


@pytest.mark.parametrize(
    "kept",
    [
        {"mollie": [("customer", "cst_8wmqcHMN4U")]},  # a type Mollie is not read by id for
        {"mollie": [("payment", "../customers")]},  # not a payment id's shape
        {"files": [("payment", GUEST_PAYMENT)]},  # a source not in this gathering
    ],
)
def test_a_kept_record_that_cannot_be_read_by_id_is_never_asked_for(
    sims: dict[str, SimulatorHandle],
    no_wait: RetryPolicy,
    kept: dict[str, list[tuple[str, str]]],
) -> None:
    _anonymise_guest_order(sims, no_wait)
    _gather(sims, no_wait, None)
    expected = sorted(r.path for r in sims["mollie"].requests)
    sims["mollie"].clear_requests()
    result = _gather(sims, no_wait, kept)
    assert sorted(r.path for r in sims["mollie"].requests) == expected
    assert result.sources["mollie"].status is SourceStatus.COMPLETE


def test_a_kept_record_of_a_failed_source_is_not_asked_for(
    sims: dict[str, SimulatorHandle], no_wait: RetryPolicy
) -> None:
    failing = Answering("/v2/", _problem(503))
    mollie = _gather(sims, no_wait, KEPT_PAYMENT, mollie=failing).sources["mollie"]
    assert mollie.status is SourceStatus.FAILED and mollie.error_kind is ErrorKind.DOWN
    assert _reads(sims["mollie"], GUEST_PAYMENT) == 0
