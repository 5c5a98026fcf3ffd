"""Customer-facing words for what the sources call their records and fields.

Vendors name fields in their own (English) way. The policy's own field labels win where a
category lists the field, these cover the common rest, and anything else is shown under the
system's own name, so no field is ever hidden for lack of a label.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.numbers import format_decimal
from flask_babel import format_date, format_datetime, get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..policy import Category

#: What a source calls a record, in words the customer knows.
RECORD_TYPES = {
    "customer": _l("Customer record"),
    "contact": _l("Contact record"),
    "contact_person": _l("Contact person at a company"),
    "recipient": _l("Your addresses on someone else's invoices or quotes"),
    "user": _l("User account"),
    "order": _l("Order"),
    "order_note": _l("Order note"),
    "refund": _l("Refund"),
    "download": _l("Downloadable file"),
    "billed_order": _l("Your e-mail address on someone else's order"),
    "listed_email": _l("Your e-mail address on a contact record with another main address"),
    "invoice": _l("Invoice"),
    "estimate": _l("Quote"),
    "recurring_invoice": _l("Recurring invoice"),
    "ticket": _l("Ticket"),
    "article": _l("Ticket message"),
    "conversation": _l("Ticket message"),
    "satisfaction_rating": _l("Satisfaction rating"),
    "payment": _l("Payment"),
    "mandate": _l("Direct debit mandate"),
    "subscription": _l("Subscription"),
    "chargeback": _l("Payment reversed by your bank (chargeback)"),
    "service_job": _l("Job sheet"),
}

#: Records that describe the person; other records are never shown nested under them.
PERSON_TYPES = frozenset({"customer", "contact", "contact_person", "user"})

#: Labels of fields that many sources share.
FIELD_LABELS = {
    "first_name": _l("First name"),
    "firstname": _l("First name"),
    "last_name": _l("Last name"),
    "lastname": _l("Last name"),
    "name": _l("Name"),
    "naam": _l("Name"),
    "email": _l("E-mail address"),
    "billing_email": _l("Billing e-mail address"),
    "phone": _l("Phone number"),
    "mobile": _l("Mobile number"),
    "telefoon": _l("Phone number"),
    "billing_phone": _l("Billing phone number"),
    "address": _l("Address"),
    "billing_address": _l("Billing address"),
    "shipping_address": _l("Delivery address"),
    "username": _l("User name"),
    "login": _l("User name"),
    "locale": _l("Language"),
    "language": _l("Language"),
    "number": _l("Number"),
    "status": _l("Status"),
    "state": _l("Status"),
    "total": _l("Total"),
    "currency": _l("Currency"),
    "line_items": _l("Items"),
    "lines": _l("Invoice lines"),
    "note": _l("Note"),
    "notes": _l("Notes"),
    "title": _l("Subject"),
    "subject": _l("Subject"),
    "body": _l("Message"),
    "body_text": _l("Message"),
    "description_text": _l("Message"),
    "description": _l("Description"),
    "from": _l("From"),
    "from_email": _l("From"),
    "to": _l("To"),
    "to_emails": _l("To"),
    "amount": _l("Amount"),
    "method": _l("Method"),
    "invoice_id": _l("Invoice number"),
    "estimate_id": _l("Quote number"),
    "estimate_date": _l("Quote date"),
    "valid_until": _l("Valid until"),
    "pre_text": _l("Text above the lines"),
    "post_text": _l("Text below the lines"),
    "accepted_at": _l("Accepted on"),
    "rejected_at": _l("Declined on"),
    "frequency_type": _l("Repeat period"),
    "frequency": _l("Number of periods between invoices"),
    "start_date": _l("Start date"),
    "next_invoice_date": _l("Next invoice date"),
    "last_date": _l("End date"),
    "desired_count": _l("Number of invoices"),
    "auto_send": _l("Sent automatically"),
    "due_date": _l("Payment due"),
    "customer_ip_address": _l("IP address"),
    "customer_user_agent": _l("Browser"),
    "werkbon": _l("Job sheet number"),
    "datum": _l("Date"),
    "apparaat": _l("Device"),
    "klacht": _l("Complaint"),
    # what the built-in connectors gather besides the above
    "active": _l("Active"),
    "amount_refunded": _l("Amount refunded"),
    "amount_charged_back": _l("Amount reversed by your bank"),
    "archived": _l("Archived"),
    "attachments": _l("Attachments"),
    "author": _l("Written by"),
    "avatar_url": _l("Profile picture (link)"),
    "bank_account": _l("Bank account"),
    "company_name": _l("Company"),
    "content_type": _l("Message format"),
    "countryCode": _l("Country"),
    "created_via": _l("Created through"),
    "custom_fields": _l("Other fields"),
    "customer_id": _l("Customer number"),
    "customer_note": _l("Note from you"),
    "deleted": _l("Deleted"),
    "delivery_method": _l("How invoices are sent"),
    "department": _l("Department"),
    "details": _l("Payment details"),
    "discount_total": _l("Discount"),
    "group": _l("Team"),
    "incoming": _l("Sent by you"),
    "internal": _l("Internal note"),
    "is_paying_customer": _l("Paying customer"),
    "last_login": _l("Last signed in"),
    "mandateId": _l("Direct debit mandate"),
    "mandateReference": _l("Mandate reference"),
    "meta_data": _l("Extra data"),
    "metadata": _l("Extra data"),
    "mode": _l("Mode (test or live)"),
    "owner": _l("Handled by"),
    "payment_method": _l("Payment method"),
    "payment_method_title": _l("Payment method (name)"),
    "payment_reference": _l("Payment reference"),
    "payments": _l("Payments"),
    "priority": _l("Priority"),
    "private": _l("Private note"),
    "reference": _l("Reference"),
    "reminder_count": _l("Reminders sent"),
    "role": _l("Role"),
    "send_estimates_to_email": _l("Quotes sent to"),
    "send_invoices_to_email": _l("Invoices sent to"),
    "sender": _l("Sender"),
    "sepa_active": _l("Direct debit active"),
    "sepa_bic": _l("BIC"),
    "sepa_iban": _l("IBAN for direct debit"),
    "sepa_iban_account_name": _l("Account holder"),
    "sepa_mandate_date": _l("Mandate date"),
    "sepa_mandate_id": _l("Mandate reference"),
    "sequenceType": _l("Kind of payment (first or recurring)"),
    "set_aside": _l("Set aside"),
    "shipping_lines": _l("Shipping"),
    "shipping_total": _l("Shipping costs"),
    "signatureDate": _l("Signed on"),
    "source": _l("Received through"),
    "tags": _l("Tags"),
    "time_zone": _l("Time zone"),
    "total_paid": _l("Paid"),
    "total_price_excl_tax": _l("Total excluding VAT"),
    "total_price_incl_tax": _l("Total including VAT"),
    "total_tax": _l("VAT"),
    "total_unpaid": _l("Still to pay"),
    "transaction_id": _l("Transaction number"),
    "type": _l("Kind"),
    "unique_external_id": _l("External id"),
    "verified": _l("Verified"),
    "vip": _l("VIP"),
    "attention": _l("For the attention of"),
    "cc": _l("Copy to"),
    "cc_emails": _l("Copy to"),
    "chamber_of_commerce": _l("Chamber of Commerce number"),
    "company_id": _l("Company (number)"),
    "facebook_id": _l("Facebook account"),
    "fax": _l("Fax number"),
    "job_title": _l("Job title"),
    "organization_id": _l("Organisation (number)"),
    "other_emails": _l("Other e-mail addresses"),
    "shipping_phone": _l("Delivery phone number"),
    "subscriptionId": _l("Subscription"),
    # subscriptions (Mollie)
    "interval": _l("How often"),
    "times": _l("Number of payments"),
    "timesRemaining": _l("Payments remaining"),
    "startDate": _l("Start date"),
    "nextPaymentDate": _l("Next payment"),
    "webhook_url": _l("Notification address (webhook)"),
    # refunds and chargebacks (Mollie)
    "paymentId": _l("Payment"),
    "bank_reason_code": _l("Bank's reason code"),
    "bank_reason": _l("Reason given by the bank"),
    "tax_number": _l("VAT number"),
    "twitter_id": _l("X (Twitter) account"),
    "web": _l("Website"),
    # the parts of nested values: addresses, order and invoice lines, attachments, payments
    "company": _l("Company"),
    "street": _l("Street"),
    "zip": _l("Postcode"),
    "address_1": _l("Street and number"),
    "address1": _l("Street and number"),
    "address_2": _l("Address line 2"),
    "address2": _l("Address line 2"),
    "postcode": _l("Postcode"),
    "zipcode": _l("Postcode"),
    "city": _l("City"),
    "country": _l("Country"),
    "key": _l("Name"),
    "value": _l("Value"),
    "sku": _l("Article number"),
    "quantity": _l("Quantity"),
    "price": _l("Price"),
    "method_title": _l("Shipping method"),
    "period": _l("Period"),
    "filename": _l("File name"),
    "size": _l("Size (bytes)"),
    "created_at": _l("Created"),
    "payment_date": _l("Payment date"),
    "dueDate": _l("Payment due"),
    "consumerName": _l("Account holder"),
    "consumerAccount": _l("Paid from"),  # an IBAN, or a PayPal account's e-mail address
    "consumerBic": _l("BIC"),
    "transferReference": _l("Transfer reference"),
    "creditorIdentifier": _l("Creditor identifier"),
    "endToEndIdentifier": _l("End-to-end reference"),
    "batchReference": _l("Batch reference"),
    "fileReference": _l("File reference"),
    "bankReason": _l("Reason given by the bank"),
    "bankReasonCode": _l("Bank's reason code"),
    # a web shop's refunds and downloadable files (WooCommerce)
    "reason": _l("Reason"),
    "product_name": _l("Product"),
    "download_name": _l("File"),
    "downloads_remaining": _l("Downloads left"),
    "access_expires": _l("Can be downloaded until"),
    # a help desk's satisfaction survey (Freshdesk)
    "rating": _l("Your rating"),
    "further_ratings": _l("Your answers to the further questions"),
    "feedback": _l("Your comments"),
}

#: Names inside nested values that mean something else under one field (the field's name, then
#: the name inside): a MoneyBird invoice line's ``amount`` is how many, not money.
PART_LABELS = {
    ("lines", "amount"): _l("Quantity"),
    ("lines", "price"): _l("Price each"),
    ("payments", "price"): _l("Amount paid"),
    ("address", "state"): _l("Province"),
    ("billing_address", "state"): _l("Province"),
    ("shipping_address", "state"): _l("Province"),
}


#: Fields that mean something else in one kind of record (its type, then the field's name):
#: a WooCommerce order note's ``customer_note`` says whether the note was sent to the customer,
#: not what the customer wrote with the order. These win over the policy's label of the name.
TYPE_FIELD_LABELS = {
    ("order_note", "customer_note"): _l("Sent to you"),
    ("estimate", "lines"): _l("Quote lines"),
}

#: Lists of name and value pairs a system keeps extra data in (WooCommerce's ``meta_data``):
#: shown as one list of names with their values.
PAIR_FIELDS = frozenset({"meta_data"})

#: The names of common pairs (:data:`PAIR_FIELDS`), in words; any other name is shown as the
#: system writes it, without the underscores.
PAIR_LABELS = {
    "_mollie_payment_id": _l("Payment number at Mollie"),
    "_mollie_order_id": _l("Order number at Mollie"),
    "_mollie_customer_id": _l("Customer number at Mollie"),
    "is_vat_exempt": _l("Exempt from VAT"),
    "_anonymized": _l("Anonymised"),
    "_wc_order_attribution_source_type": _l("How you came to the shop"),
    "_wc_order_attribution_utm_source": _l("Where you came from"),
    "_wc_order_attribution_referrer": _l("The page you came from"),
    "_wc_order_attribution_session_entry": _l("First page you visited"),
    "_wc_order_attribution_session_pages": _l("Pages you visited"),
    "_wc_order_attribution_session_count": _l("Visits"),
    "_wc_order_attribution_device_type": _l("Kind of device"),
    "_wc_order_attribution_user_agent": _l("Browser"),
}


def pairs(field: str | None, value: Any) -> dict[str, Any] | None:
    """A list of name and value pairs in ``field`` (:data:`PAIR_FIELDS`) as one mapping of
    the names in words to the values; None for any other value. A name that occurs twice keeps
    every value (numbered)."""
    if field not in PAIR_FIELDS or not isinstance(value, list) or not value:
        return None
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("key"), str):
            return None
        if not item.keys() <= {"key", "value"}:
            return None
    labels = [_pair_label(item["key"]) for item in value]
    seen = Counter(labels)
    numbers: Counter[str] = Counter()
    found: dict[str, Any] = {}
    for label, item in zip(labels, value, strict=True):
        if seen[label] > 1:
            numbers[label] += 1
            label = f"{label} ({numbers[label]})"
        found[label] = item.get("value")
    return found


def _pair_label(name: str) -> str:
    label = PAIR_LABELS.get(name)
    if label is not None:
        return str(label)
    words = name.strip("_").replace("_", " ").strip()
    return words[:1].upper() + words[1:] if words else name


#: What the systems' own codes in some fields mean, per field (the codes of WooCommerce,
#: Moneybird, Zammad, Freshdesk and Mollie): shown in words, kept as codes in the CSV files.
_STATES = {
    # orders (WooCommerce)
    "pending": _l("Waiting"),
    "processing": _l("Being processed"),
    "on-hold": _l("On hold"),
    "completed": _l("Completed"),
    "cancelled": _l("Cancelled"),
    "canceled": _l("Cancelled"),
    "refunded": _l("Refunded"),
    "failed": _l("Failed"),
    "checkout-draft": _l("Not yet ordered"),
    # an order the shop moved to its trash: still held until the trash is emptied
    "trash": _l("In the trash"),
    # invoices (Moneybird)
    "draft": _l("Draft"),
    "open": _l("Open"),
    "scheduled": _l("Scheduled"),
    "pending_payment": _l("Awaiting payment"),
    "late": _l("Overdue"),
    "reminded": _l("Reminder sent"),
    "paid": _l("Paid"),
    "uncollectible": _l("Uncollectible"),
    # quotes (Moneybird)
    "accepted": _l("Accepted"),
    "rejected": _l("Declined"),
    "billed": _l("Invoiced"),
    "archived": _l("Archived"),
    # tickets (Zammad, Freshdesk)
    "new": _l("New"),
    "closed": _l("Closed"),
    "resolved": _l("Resolved"),
    "merged": _l("Merged with another ticket"),
    "pending reminder": _l("Waiting (reminder set)"),
    "pending close": _l("Waiting to be closed"),
    "in process": _l("Being processed"),
    # payments and mandates (Mollie)
    "authorized": _l("Authorised"),
    "expired": _l("Expired"),
    "valid": _l("Valid"),
    "invalid": _l("Invalid"),
    "active": _l("Active"),
    "suspended": _l("Suspended"),
    # refunds (Mollie): waiting to be sent to the bank
    "queued": _l("Queued"),
}
#: The answers of Freshdesk's satisfaction survey, as its connector names them.
_SCORES = {
    "extremely_happy": _l("Extremely satisfied"),
    "very_happy": _l("Very satisfied"),
    "happy": _l("Satisfied"),
    "neutral": _l("Neutral"),
    "unhappy": _l("Dissatisfied"),
    "very_unhappy": _l("Very dissatisfied"),
    "extremely_unhappy": _l("Extremely dissatisfied"),
}
VALUE_LABELS: dict[str, dict[str, Any]] = {
    "status": _STATES,
    "state": _STATES,
    "priority": {
        "1 low": _l("Low"),
        "2 normal": _l("Normal"),
        "3 high": _l("High"),
        "low": _l("Low"),
        "medium": _l("Normal"),
        "high": _l("High"),
        "urgent": _l("Urgent"),
    },
    # how often a recurring invoice (Moneybird) bills: every <frequency> of these
    "frequency_type": {
        "day": _l("Day"),
        "week": _l("Week"),
        "month": _l("Month"),
        "quarter": _l("Quarter"),
        "year": _l("Year"),
    },
    "type": {
        "email": _l("E-mail"),
        "note": _l("Note"),
        "phone": _l("Phone call"),
        "web": _l("Web form"),
        "sms": _l("Text message"),
        "chat": _l("Chat"),
        "Question": _l("Question"),
        "Incident": _l("Incident"),
        "Problem": _l("Problem"),
        "Feature Request": _l("Request for a feature"),
        "Refund": _l("Refund"),
    },
    "source": {
        "email": _l("E-mail"),
        "portal": _l("Customer portal"),
        "phone": _l("Phone call"),
        "chat": _l("Chat"),
        "feedback_widget": _l("Feedback form"),
    },
    "sender": {"Agent": _l("Our staff"), "Customer": _l("You"), "System": _l("The system")},
    "method": {
        "ideal": "iDEAL",
        "creditcard": _l("Credit card"),
        "directdebit": _l("Direct debit"),
        "banktransfer": _l("Bank transfer"),
        "bancontact": "Bancontact",
        "paypal": "PayPal",
        "applepay": "Apple Pay",
    },
    "sequenceType": {
        "oneoff": _l("One-off payment"),
        "first": _l("First payment of a series"),
        "recurring": _l("Recurring payment"),
    },
    "mode": {"live": _l("Real payment"), "test": _l("Test payment")},
    "delivery_method": {
        "Email": _l("By e-mail"),
        "Post": _l("By post"),
        "Manual": _l("By hand"),
        "Simplerinvoicing": _l("E-invoice (Peppol)"),
    },
    "content_type": {"text/html": _l("Formatted text (HTML)"), "text/plain": _l("Plain text")},
    # how a WooCommerce order was placed
    "created_via": {
        "checkout": _l("At the web shop's checkout"),
        "store-api": _l("At the web shop's checkout"),
        "admin": _l("By our staff"),
        "rest-api": _l("By another of our systems"),
    },
    "role": {
        "customer": _l("Customer"),
        "subscriber": _l("Subscriber"),
        "Customer": _l("Customer"),
    },
    # WooCommerce's own payment methods (a payment plugin's are read by :func:`value_label`)
    "payment_method": {
        "bacs": _l("Bank transfer"),
        "cheque": _l("Cheque"),
        "cod": _l("Cash on delivery"),
        "paypal": "PayPal",
    },
    # a WooCommerce order note written by the shop itself, not by a member of staff
    "author": {"system": _l("The shop's system")},
    # the values of WooCommerce's meta data (:data:`PAIR_FIELDS`)
    "meta_data": {"yes": _l("Yes"), "no": _l("No")},
    # a record the system only hid when it was deleted (Freshdesk's soft-deleted contacts and
    # the tickets in its trash, which Freshdesk empties after 30 days): still held
    "deleted": {
        "restorable": _l("Yes, but it is still kept and can be restored"),
        "trash": _l("In the trash: deleted for good after 30 days, until then it can be restored"),
    },
    # the scores of a help desk's satisfaction survey (Freshdesk's 103 ... -103)
    "rating": _SCORES,
    "further_ratings": _SCORES,
    # a downloadable file without an end date or a limit (WooCommerce)
    "access_expires": {"never": _l("No end date")},
    "downloads_remaining": {"unlimited": _l("No limit")},
    # a record the system keeps but no longer deals with (Freshdesk's blocked contacts, whose
    # mail it no longer takes in, and the tickets marked as spam): still held
    "set_aside": {
        "blocked": _l("Blocked: kept, but no longer answered"),
        "spam": _l("Marked as spam: kept, but not dealt with"),
    },
}


#: Why a bank reversed a direct debit (a chargeback's SEPA reason code, as Mollie passes it on):
#: shown in words with the code.
_BANK_REASONS = {
    "AC01": _l("Account number not correct"),
    "AC04": _l("Account closed"),
    "AC06": _l("Account blocked"),
    "AG01": _l("No direct debits allowed on this account"),
    "AM04": _l("Not enough money in the account"),
    "AM05": _l("Collected twice"),
    "MD01": _l("No mandate for this direct debit"),
    "MD06": _l("The account holder asked the bank to pay it back"),
    "MD07": _l("Account holder deceased"),
    "MS02": _l("Refused by the account holder"),
    "MS03": _l("No reason given by the bank"),
    "SL01": _l("Blocked by a service of the account holder's bank"),
}

#: How often a subscription (Mollie) is paid: ``1 month``, ``14 days``, ``2 weeks``.
_INTERVAL = re.compile(r"(\d{1,4}) (day|days|week|weeks|month|months)")


def _interval(value: str) -> str | None:
    """A subscription's interval (``3 months``) in words ("Every 3 months"), or None."""
    match = _INTERVAL.fullmatch(value)
    if match is None:
        return None
    num, unit = int(match[1]), match[2].rstrip("s")
    if unit == "day":
        return ngettext("Every day", "Every %(num)d days", num)
    if unit == "week":
        return ngettext("Every week", "Every %(num)d weeks", num)
    return ngettext("Every month", "Every %(num)d months", num)


#: Systems whose field names the firm chooses (the columns of its own files): their values
#: are never read as another system's codes.
FIRM_CHOSEN_SYSTEMS = frozenset({"files"})


#: The connector of the firm's own files: its record ids are ``<file key>:<row id>``.
FILES_SYSTEM = "files"


def shown_record_id(record: Mapping[str, Any]) -> str:
    """The id of ``record`` as the customer reads it: a row of the firm's own files without
    the file's internal key (``werkbonnen:WB-2026-0302`` reads ``WB-2026-0302``), and none
    for a row whose id is a pseudonym of the customer's identifier (``klanten:h-3f…``: it
    would mean nothing to them). Links, forms and exports keep the full id."""
    from connectors.files import is_pseudonymous

    record_id = str(record.get("record_id", ""))
    if record.get("system") == FILES_SYSTEM and ":" in record_id:
        return "" if is_pseudonymous(record_id) else record_id.partition(":")[2]
    return record_id


def record_name(type_label: str, record: Mapping[str, Any]) -> str:
    """What a record is and its id as the customer reads it (``Order 1042``), or just what
    it is when it has no id to show (:func:`shown_record_id`)."""
    shown = shown_record_id(record)
    return f"{type_label} {shown}" if shown else type_label


def in_sentence(label: str) -> str:
    """``label`` (a record type, like "Ticket message") in the middle of a sentence: its first
    letter small, unless the label starts with an abbreviation ("SEPA mandate")."""
    if len(label) > 1 and label[0].isupper() and not label[1].isupper():
        return label[0].lower() + label[1:]
    return label


def speaks_codes(record: Mapping[str, Any]) -> bool:
    """Whether ``record``'s fields hold a built-in connector's codes (:data:`VALUE_LABELS`)."""
    return record.get("system") not in FIRM_CHOSEN_SYSTEMS


#: Fields that hold a language code (``nl``, ``nl_NL``, ``en-GB``): shown as the language's
#: name in the visitor's language.
LANGUAGE_FIELDS = frozenset({"locale", "language"})

#: The payment methods of Mollie's WooCommerce plugin (``mollie_wc_gateway_ideal``): the
#: method's name (:data:`VALUE_LABELS` ``method``), "via Mollie".
_MOLLIE_GATEWAY = "mollie_wc_gateway_"

#: Fields whose codes :func:`value_label` reads itself (not from :data:`VALUE_LABELS`).
_READ_FIELDS = frozenset({"interval", "bank_reason_code"})

#: Every field :func:`value_label` may put in words.
CODED_FIELDS = frozenset(VALUE_LABELS) | LANGUAGE_FIELDS | _READ_FIELDS


def value_label(field: str | None, value: str) -> str | None:
    """The words for a system's code ``value`` in ``field`` (``late`` in ``state``:
    "Overdue"; ``nl_NL`` in ``locale``: "Nederlands (Nederland)"), or None for any other
    value."""
    found = VALUE_LABELS.get(field or "", {}).get(value)
    if found is not None:
        return str(found)
    if field in LANGUAGE_FIELDS:
        return _language(value, str(get_locale() or "nl"))
    if field == "interval":
        return _interval(value)
    if field == "bank_reason_code":
        reason = _BANK_REASONS.get(value)
        return f"{reason} ({value})" if reason is not None else None
    if field == "payment_method" and value.startswith(_MOLLIE_GATEWAY):
        method = VALUE_LABELS["method"].get(value.removeprefix(_MOLLIE_GATEWAY))
        if method is not None:
            return _("%(method)s via Mollie", method=method)
    return None


#: Codes that name no language (undetermined, several, none): Babel would guess one.
_NO_LANGUAGE = frozenset({"und", "root", "mul", "zxx", "mis"})


@lru_cache(maxsize=256)
def _language(code: str, locale: str) -> str | None:
    """The name of language ``code`` in ``locale``, or None if it is no language code."""
    if not 2 <= len(code) <= 16 or code.lower() in _NO_LANGUAGE:
        return None
    try:
        language = Locale.parse(code.replace("-", "_"))
    except (ValueError, TypeError, UnknownLocaleError):
        return None
    name = language.get_display_name(locale)
    return name[:1].upper() + name[1:] if name else None


#: Fields that, in this order, best name a record in its one-line summary.
TITLE_FIELDS = (
    "title",
    "subject",
    "invoice_id",
    "estimate_id",
    "description",
    "werkbon",
    "number",
    "name",
    "apparaat",
)


def record_type_label(record_type: str) -> str:
    """E.g. "Bestelling" for ``order``; the source's own word when unknown."""
    label = RECORD_TYPES.get(record_type)
    return str(label) if label is not None else record_type.replace("_", " ")


def field_label(
    category: Category | None, name: str, locale: str, record_type: str | None = None
) -> str:
    """The label of field ``name`` (of a ``record_type`` record): what it means in that kind of
    record (:data:`TYPE_FIELD_LABELS`), else the policy's, else a common one, else the
    system's name."""
    if record_type is not None:
        typed = TYPE_FIELD_LABELS.get((record_type, name))
        if typed is not None:
            return str(typed)
    if category is not None:
        for policy_field in category.fields:
            if policy_field.key == name:
                return policy_field.label.get(locale)
    label = FIELD_LABELS.get(name)
    return str(label) if label is not None else name.replace("_", " ")


#: How Freshdesk names the fields a firm adds to its tickets and contacts (``cf_ordernummer``).
_CUSTOM_PREFIX = "cf_"


def part_labels(field: str | None, names: Iterable[str], locale: str) -> dict[str, str]:
    """The labels of the names inside a nested value of ``field`` (a dict's keys), in words:
    for that field where a name means something else there (:data:`PART_LABELS`). Two names
    with one label (``key`` and ``name``) keep their own names, so no value hides another."""
    labels = {}
    for name in names:
        part = PART_LABELS.get((field, name)) if field else None
        if part is None and field == "custom_fields" and name.startswith(_CUSTOM_PREFIX):
            part = _pair_label(name.removeprefix(_CUSTOM_PREFIX))  # the firm's own field
        labels[name] = str(part) if part is not None else field_label(None, name, locale)
    seen = Counter(labels.values())
    if len(seen) < len(labels):
        labels = {n: f"{label} ({n})" if seen[label] > 1 else label for n, label in labels.items()}
    return labels


#: Fields in which a system records what happened or how it works (an order's status and
#: totals, an invoice's lines, a message's format, who handles a ticket): no fact about the
#: person that could be wrong, so no "Correct" beside them, unless the policy lists one as
#: correctable. The customer can still object to them or ask for their erasure.
SYSTEM_FIELDS = frozenset(
    {
        # orders, invoices, payments
        "number", "status", "state", "currency", "total", "total_tax", "discount_total",
        "shipping_total", "shipping_lines", "line_items", "lines", "payments", "invoice_id",
        "total_price_excl_tax", "total_price_incl_tax", "total_paid", "total_unpaid",
        "reminder_count", "due_date", "payment_reference", "transaction_id", "created_via",
        "payment_method", "payment_method_title", "method", "amount", "amount_refunded",
        "amount_charged_back", "sequenceType", "mandateId", "subscriptionId", "mandateReference",
        "mode",
        "interval", "times", "timesRemaining", "startDate", "nextPaymentDate", "webhook_url",
        "paymentId", "bank_reason_code", "bank_reason",
        # quotes and recurring invoices (Moneybird): the document's number, dates and terms
        "estimate_id", "estimate_date", "valid_until", "accepted_at", "rejected_at",
        "frequency", "frequency_type", "next_invoice_date", "desired_count", "auto_send",
        # a web shop's downloadable files: what the shop grants with an order
        "download_name", "downloads_remaining", "access_expires",
        # tickets and messages
        "content_type", "sender", "type", "internal", "incoming", "private", "priority",
        "group", "owner", "attachments", "tags",
        # accounts
        "is_paying_customer", "role", "active", "verified", "vip", "archived", "last_login",
        "unique_external_id", "customer_id", "company_id", "organization_id", "avatar_url",
        "deleted", "set_aside",
    }
)  # fmt: skip

#: Fields that are a system's own record in one kind of record only (its type, then the
#: field's name): who wrote a WooCommerce order note and whether it was sent to the customer
#: (an order's ``customer_note`` is what the customer wrote, and may be corrected).
TYPE_SYSTEM_FIELDS = frozenset(
    {
        ("order_note", "author"),
        ("order_note", "customer_note"),
        # when a recurring invoice (Moneybird) bills, and which product a download is of
        ("recurring_invoice", "start_date"),
        ("recurring_invoice", "last_date"),
        ("download", "product_name"),
    }
)


def field_correctable(
    category: Category | None,
    name: str,
    context: Collection[str] = (),
    record_type: str | None = None,
) -> bool:
    """Whether the customer may ask to correct field ``name`` (of a ``record_type`` record):
    as the policy says, else unless it is a system's own record (:data:`SYSTEM_FIELDS`,
    :data:`TYPE_SYSTEM_FIELDS`) or in ``context`` (:func:`context_fields`: another record's,
    shown for context)."""
    if name in context or (record_type, name) in TYPE_SYSTEM_FIELDS:
        return False
    if category is not None:
        for policy_field in category.fields:
            if policy_field.key == name:
                return policy_field.correctable
    return name not in SYSTEM_FIELDS


def context_fields(record: Mapping[str, Any]) -> frozenset[str]:
    """The fields of ``record`` its system copied from another record for context (a contact
    person's company): shown, never offered for correction on this record."""
    from connectors import registry
    from connectors.errors import NotConfigured

    try:
        connector = registry.get(str(record.get("system")))
    except NotConfigured:
        return frozenset()
    return connector.context_fields.get(str(record.get("record_type")), frozenset())


#: A date or a moment as systems write them (ISO 8601), the whole value and nothing else.
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_ISO_MOMENT = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?"
)


def format_day(day: date) -> str:
    """A date in the visitor's language: ``31-12-2026`` in Dutch, ``Dec 31, 2026`` in English."""
    return format_date(day, "short" if str(get_locale() or "nl").startswith("nl") else "medium")


def readable_moment(value: str) -> str | None:
    """A value that is an ISO date or moment (``2025-01-06T10:03:11.890Z``) as the visitor
    reads one (``6 jan 2025, 11:03:11``, in the firm's time zone); None for any other text."""
    if not 10 <= len(value) <= 32 or value[4:5] != "-" or not value[:4].isdigit():
        return None
    day = _ISO_DAY.fullmatch(value)
    if day is None and _ISO_MOMENT.fullmatch(value) is None:
        return None  # an invoice number such as 2019-000044
    try:
        if day is not None:
            return format_day(date.fromisoformat(value))
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:  # the system's own time, whatever it is: shown as it is
            return format_day(moment.date()) + moment.strftime(", %H:%M")
        return format_datetime(moment, "medium")
    except (ValueError, OverflowError):
        return None


#: Fields, and (field, part) names inside nested values, that hold an amount of money as the
#: systems write it ("306.00", Mollie's "215.99 EUR"); a Moneybird line's ``amount`` is a
#: quantity, so not here.
MONEY = frozenset(
    {
        "total", "total_tax", "shipping_total", "discount_total", "total_price_excl_tax",
        "total_price_incl_tax", "total_paid", "total_unpaid", "amount", "amount_refunded",
        "amount_charged_back",
        ("line_items", "total"), ("shipping_lines", "total"), ("lines", "price"),
        ("payments", "price"),
    }
)  # fmt: skip
_AMOUNT = re.compile(r"(-?\d{1,15}(?:\.\d{1,6})?)( [A-Z]{3})?")


def readable_amount(value: str) -> str | None:
    """An amount as a system writes it (``1234.5``, ``215.99 EUR``) as the visitor reads one
    (``1.234,50``, ``215,99 EUR`` in Dutch); None for any other text."""
    match = _AMOUNT.fullmatch(value)
    if match is None:
        return None
    return _amount(match[1], str(get_locale() or "nl")) + (match[2] or "")


@lru_cache(maxsize=4096)
def _amount(number: str, locale: str) -> str:
    """``number`` (``-?digits[.digits]``) written in ``locale``, with at least two decimals;
    remembered, as an export writes the same prices many times."""
    return format_decimal(Decimal(number), "#,##0.00####", locale=locale)


def value_words(value: str, field: str | None, part: str | None = None) -> str | None:
    """An amount (:data:`MONEY`) or a system's code (:data:`VALUE_LABELS`) in a built-in
    connector's field ``field`` (``part``: the name inside a nested value) in words, or None."""
    money = (field, part) in MONEY if part is not None else field in MONEY
    coded = _CODED_PARTS.get(part) if part is not None else None
    return (money and readable_amount(value)) or value_label(coded or field, value)


#: Names inside a nested value whose codes read as those of a field of the same meaning: a
#: Mollie payment's ``details.bankReasonCode`` (a failed direct debit) as a chargeback's
#: ``bank_reason_code``.
_CODED_PARTS = {"bankReasonCode": "bank_reason_code"}
