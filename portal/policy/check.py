"""Check a privacy policy against what GDPR art. 13 and 14 require a statement to say.

The schema (:mod:`portal.policy.schema`) only refuses files that cannot be applied at all. A
policy that loads can still leave out things the law requires (a retention period, the right to
complain, the supervisory authority) or still contain template text. :func:`check_policy` lists
those as findings:

* ``error``: something GDPR art. 13/14 requires is missing, or the statement is unfinished
  (template placeholders). The firm must fix it before publishing.
* ``warning``: something is unclear or worth a decision (an unknown recipient role, an open
  question recorded in the file, an unused purpose).

Findings are sorted errors first; within a severity they keep the order of the policy file.
The CLI (``flask --app portal policy check [FILE]``) prints the result of :func:`check_file`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .loader import load_policy
from .schema import EEA, LegalBasis, Policy, Right

Severity = Literal["error", "warning"]

_SEVERITY_ORDER: dict[str, int] = {"error": 0, "warning": 1}


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem in a policy.

    :ivar severity: ``error`` (a GDPR art. 13/14 requirement is missing) or ``warning``
        (unclear, or a decision the firm still has to make).
    :ivar key: where, as a dotted path in the file, e.g. ``categories[3] ("invoices").retention``.
    :ivar code: a stable identifier of the kind of problem, e.g. ``retention-missing``.
    :ivar message: one English sentence: what is missing and what to do.
    """

    severity: Severity
    key: str
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.severity}: {self.key}: {self.message} [{self.code}]"


# --- Template placeholders -------------------------------------------------------------------

#: Text a template leaves for the firm to fill in: ``[AANBIEDER]``, ``[NAAM BEDRIJF]``,
#: ``VOORBEELD``, ``TODO``, ``XXX``, ``<naam>``. Upper-case words are matched case-sensitively so
#: that ordinary words ("voorbeeld", "todo-lijst") do not count.
_PLACEHOLDER = re.compile(
    r"""
    \[[A-Z][A-Z0-9 _./-]*[A-Z0-9]\]         # [AANBIEDER], [NAAM BEDRIJF]
    | \b(?:VOORBEELD|TODO|FIXME|X{3,})\b     # marker words
    | <[^<>@:/\n]{1,60}>                     # <naam>, <...>; not <a@b.nl> or <https://...>
    """,
    re.VERBOSE,
)


def find_placeholders(text: str) -> list[str]:
    """The template placeholders in ``text``, in order of appearance, without repeats."""
    seen: dict[str, None] = {}
    for match in _PLACEHOLDER.finditer(text):
        seen.setdefault(match.group(0), None)
    return list(seen)


def _walk_strings(node: Any, path: str) -> Iterator[tuple[str, str]]:
    """Yield ``(dotted path, string)`` for every string in dumped policy data.

    A text that is the same in Dutch and English (a recipient's proper name, written once as a
    plain string) is one string at the text's own path, not one per language.
    """
    if isinstance(node, str):
        yield path, node
    elif isinstance(node, dict) and node.keys() == {"nl", "en"} and node["nl"] == node["en"]:
        yield path, node["nl"]
    elif isinstance(node, dict):
        for name, value in node.items():
            yield from _walk_strings(value, f"{path}.{name}" if path else str(name))
    elif isinstance(node, list | tuple):
        for index, item in enumerate(node):
            label = f"[{index}]"
            if isinstance(item, dict) and isinstance(item.get("key"), str):
                label += f' ("{item["key"]}")'
            yield from _walk_strings(item, path + label)


def _split_comment(line: str) -> tuple[str, str]:
    """Split a TOML line into its content and its comment (``#`` outside a string)."""
    quote: str | None = None
    escaped = False
    for index, char in enumerate(line):
        if quote == '"' and escaped:
            escaped = False
        elif quote == '"' and char == "\\":
            escaped = True
        elif quote is not None and char == quote:
            quote = None
        elif quote is None and char in "\"'":
            quote = char
        elif quote is None and char == "#":
            return line[:index], line[index:]
    return line, ""


def _line_of(raw_text: str | None, value: str, placeholder: str) -> int | None:
    """The line number (1-based) of ``placeholder`` as it occurs in ``value``, outside comments.

    The line that also holds the text around the placeholder wins, so that the same placeholder
    in two values gets each value's own line; otherwise the first line with the placeholder.
    """
    if raw_text is None:
        return None
    at = value.find(placeholder)
    context = value[max(0, at - 20) : at + len(placeholder) + 20]
    first = None
    for number, line in enumerate(raw_text.splitlines(), start=1):
        content, _ = _split_comment(line)
        if placeholder not in content:
            continue
        if context in content:
            return number
        first = first or number
    return first


def _placeholder_findings(policy: Policy, raw_text: str | None) -> list[Finding]:
    findings = []
    data = policy.model_dump(mode="json", exclude_none=True)
    for path, text in _walk_strings(data, ""):
        for placeholder in find_placeholders(text):
            line_number = _line_of(raw_text, text, placeholder)
            where = f" (line {line_number})" if line_number else ""
            findings.append(
                Finding(
                    "error",
                    path,
                    "template-placeholder",
                    f'Template placeholder "{placeholder}"{where} is still in the statement; '
                    "replace it with the real text or remove the passage.",
                )
            )
    if raw_text is not None:
        for number, line in enumerate(raw_text.splitlines(), start=1):
            _, comment = _split_comment(line)
            for placeholder in find_placeholders(comment):
                findings.append(
                    Finding(
                        "warning",
                        f"line {number}",
                        "template-placeholder-comment",
                        f'A comment still says "{placeholder}"; finish what it marks and '
                        "remove the marker.",
                    )
                )
    return findings


# --- The checks ------------------------------------------------------------------------------


def _controller_findings(policy: Policy) -> list[Finding]:
    controller = policy.controller
    findings = []
    if controller.address is None:
        findings.append(
            Finding(
                "error",
                "controller.address",
                "controller-address-missing",
                "The controller's address is missing (art. 13(1)(a)); add [controller.address] "
                "with street, postal_code and city.",
            )
        )
    if controller.contact_email is None:
        privacy_email = controller.privacy_contact is not None
        findings.append(
            Finding(
                "warning" if privacy_email else "error",
                "controller.contact_email",
                "controller-email-missing",
                "The controller's contact e-mail address is missing (art. 13(1)(a)); add "
                "controller.contact_email.",
            )
        )
    if controller.kvk_number is None:
        findings.append(
            Finding(
                "warning",
                "controller.kvk_number",
                "controller-kvk-missing",
                "The Chamber of Commerce (KvK) number is missing, so the controller cannot be "
                "identified unambiguously; add controller.kvk_number (eight digits).",
            )
        )
    if controller.privacy_contact is None:
        findings.append(
            Finding(
                "warning",
                "controller.privacy_contact",
                "privacy-contact-missing",
                "No privacy contact is named (required as DPO contact under art. 13(1)(b) when "
                "a DPO is appointed); add [controller.privacy_contact] with name and e-mail.",
            )
        )
    if policy.supervisory_authority is None:
        findings.append(
            Finding(
                "error",
                "supervisory_authority",
                "supervisory-authority-missing",
                "The supervisory authority a complaint can be lodged with is missing "
                "(art. 13(2)(d)); add [supervisory_authority] (Autoriteit Persoonsgegevens).",
            )
        )
    if policy.automated_decisions is None:
        findings.append(
            Finding(
                "error",
                "automated_decisions",
                "automated-decisions-missing",
                "The statement does not say whether decisions are taken by automated means or "
                "profiling (art. 13(2)(f)); add automated_decisions, even if there are none.",
            )
        )
    return findings


def _purpose_findings(policy: Policy) -> list[Finding]:
    used = {key for category in policy.categories for key in category.purposes}
    findings = []
    for index, purpose in enumerate(policy.purposes):
        where = f'purposes[{index}] ("{purpose.key}")'
        if purpose.legal_basis is LegalBasis.LEGITIMATE_INTERESTS and (
            purpose.legitimate_interest is None
        ):
            findings.append(
                Finding(
                    "error",
                    f"{where}.legitimate_interest",
                    "legitimate-interest-missing",
                    "The purpose relies on legitimate interests but does not say what the "
                    "interest is (art. 13(1)(d)); add legitimate_interest.",
                )
            )
        if purpose.legal_basis is LegalBasis.LEGAL_OBLIGATION and purpose.obligation is None:
            findings.append(
                Finding(
                    "warning",
                    f"{where}.obligation",
                    "obligation-unspecified",
                    "The purpose relies on a legal obligation without naming it; add obligation "
                    '(e.g. "art. 52 AWR").',
                )
            )
        if purpose.key not in used:
            findings.append(
                Finding(
                    "warning",
                    where,
                    "purpose-unused",
                    "No category of personal data is processed for this purpose; add it to the "
                    "purposes of the categories it uses, or remove it.",
                )
            )
    return findings


def _category_findings(policy: Policy) -> list[Finding]:
    findings = []
    unstated = []
    for index, category in enumerate(policy.categories):
        where = f'categories[{index}] ("{category.key}")'
        retention = category.retention
        if retention is None:
            findings.append(
                Finding(
                    "error",
                    f"{where}.retention",
                    "retention-missing",
                    "No retention period or criteria are given (art. 13(2)(a)); add retention "
                    'with a period, or kind = "undecided" with what must be decided.',
                )
            )
        elif retention.kind == "undecided":
            findings.append(
                Finding(
                    "error",
                    f"{where}.retention",
                    "retention-undecided",
                    f"The retention period is not decided yet (to decide: {retention.decide}); "
                    'replace kind = "undecided" with a period or criterion (art. 13(2)(a)).',
                )
            )
        if category.required_for_contract is None:
            unstated.append(category.key)
    if unstated:
        findings.append(
            Finding(
                "warning",
                "categories",
                "provision-requirement-unstated",
                "For "
                + ", ".join(f'"{key}"' for key in unstated)
                + " the statement does not say whether providing the data is required and what "
                "happens if it is not (art. 13(2)(e)); set required_for_contract.",
            )
        )
    return findings


def _recipient_findings(policy: Policy) -> list[Finding]:
    findings = []
    for index, recipient in enumerate(policy.recipients):
        where = f'recipients[{index}] ("{recipient.key}")'
        if recipient.role is None:
            findings.append(
                Finding(
                    "warning",
                    f"{where}.role",
                    "recipient-role-missing",
                    f'It is unclear whether "{recipient.name.nl}" is a processor, a controller or '
                    "an authority; add role (and a processing agreement for a processor).",
                )
            )
        if recipient.country is None:
            findings.append(
                Finding(
                    "warning",
                    f"{where}.country",
                    "recipient-country-missing",
                    f'It is unknown where "{recipient.name.nl}" processes the data, so a transfer '
                    "outside the EEA cannot be ruled out; add country.",
                )
            )
        elif recipient.country not in EEA and recipient.safeguards is None:
            findings.append(
                Finding(
                    "error",
                    f"{where}.safeguards",
                    "transfer-safeguards-missing",
                    f'"{recipient.name.nl}" receives data outside the EEA ({recipient.country}) '
                    "without a stated safeguard (art. 13(1)(f)); add safeguards, e.g. standard "
                    "contractual clauses or an adequacy decision.",
                )
            )
    return findings


#: Rights every statement must mention (art. 13(2)(b) and (d)), whatever the legal bases.
_ALWAYS_REQUIRED = (
    Right.ACCESS,
    Right.RECTIFICATION,
    Right.ERASURE,
    Right.RESTRICTION,
    Right.COMPLAINT,
)

_RIGHT_ARTICLES: dict[Right, str] = {
    Right.ACCESS: "art. 15",
    Right.RECTIFICATION: "art. 16",
    Right.ERASURE: "art. 17",
    Right.RESTRICTION: "art. 18",
    Right.PORTABILITY: "art. 20",
    Right.OBJECTION: "art. 21",
    Right.WITHDRAW_CONSENT: "art. 7(3) and 13(2)(c)",
    Right.COMPLAINT: "art. 77 and 13(2)(d)",
}


def required_rights(policy: Policy) -> list[Right]:
    """The rights the statement must mention, given the legal bases its purposes use."""
    bases = {purpose.legal_basis for purpose in policy.purposes}
    required = list(_ALWAYS_REQUIRED)
    # Portability applies to processing based on consent or contract (art. 20(1)(a)).
    if bases & {LegalBasis.CONSENT, LegalBasis.CONTRACT}:
        required.append(Right.PORTABILITY)
    # Objection applies to processing based on art. 6(1)(e) or (f) (art. 21(1)).
    if bases & {LegalBasis.LEGITIMATE_INTERESTS, LegalBasis.PUBLIC_TASK}:
        required.append(Right.OBJECTION)
    if LegalBasis.CONSENT in bases:
        required.append(Right.WITHDRAW_CONSENT)
    return [right for right in Right if right in required]


def _rights_findings(policy: Policy) -> list[Finding]:
    offered = set(policy.rights.offered)
    return [
        Finding(
            "error",
            f'rights.offered ("{right.value}")',
            "right-missing",
            f'The statement does not mention the right "{right.value}" '
            f"({_RIGHT_ARTICLES[right]}), which applies to this policy; add it to "
            "rights.offered.",
        )
        for right in required_rights(policy)
        if right not in offered
    ]


def _open_question_findings(policy: Policy) -> list[Finding]:
    return [
        Finding(
            "warning",
            f'open_questions[{index}] ("{question.key}")',
            "open-question",
            f'Open question for the firm: "{question.question.rstrip(".")}"; decide it, '
            "update the policy and remove the entry.",
        )
        for index, question in enumerate(policy.open_questions)
    ]


def check_policy(policy: Policy, raw_text: str | None = None) -> list[Finding]:
    """Check ``policy`` against GDPR art. 13/14 and for unfinished template text.

    :param policy: a policy that passed schema validation.
    :param raw_text: the policy file's text, if available: used to give the line of a template
        placeholder and to find placeholders left in comments.
    :returns: the findings, errors first, each group in the order of the policy file.
    """
    findings = [
        *_controller_findings(policy),
        *_purpose_findings(policy),
        *_category_findings(policy),
        *_recipient_findings(policy),
        *_rights_findings(policy),
        *_placeholder_findings(policy, raw_text),
        *_open_question_findings(policy),
    ]
    return sorted(findings, key=lambda finding: _SEVERITY_ORDER[finding.severity])


def check_file(path: Path | str) -> list[Finding]:
    """Load the policy file at ``path`` and check it (see :func:`check_policy`).

    :raises PolicyError: if the file is missing, not TOML, or not a valid policy.
    """
    path = Path(path)
    policy = load_policy(path)
    return check_policy(policy, path.read_text(encoding="utf-8"))
