"""Why a network endpoint (a TLS, HTTP or SSH service of a host) has no facts: one model and one
closed vocabulary of reasons, shared by the tls, http and sshserver collectors and by the checks
that read them, so that the same failure has the same word whichever collector met it.

Scan files keep facts as plain dicts and are read again later (`readyscan diff`, `--rescan-failed`,
the reports), so the words of earlier releases are still accepted here, and only here: each is
read as today's word when a fact is validated.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import field_validator

from scanner.model import Frozen

EndpointErrorReason = Literal[
    "timeout",  # no connection, or no (complete) answer, within the network timeout
    "refused",  # nothing listens: the connection was refused (or reset as it opened)
    "unreachable",  # the address could not be reached at all (no route, network down)
    "tls_handshake_failed",  # something answered, but no TLS handshake could be completed (silent, garbage)
    "starttls_rejected",  # the service refused STARTTLS in its own protocol (detail: its answer): clear text
    "starttls_failed",  # the STARTTLS negotiation failed without a refusal we could read
    "protocol_error",  # the answer was not the protocol the service is declared to speak (HTTP, SSH)
    "phase_timeout",  # the endpoint did not finish within its time budget (scan.timeouts.tls, the HTTP budget)
    "interrupted",  # Ctrl-C
    "error",  # anything else; the detail says what
]

# Words written by readyscan 0.1.0, before the tls and http collectors shared one vocabulary:
# the tls collector's `scan_error` and the http collector's `tls_error` (its ProbeError).
LEGACY_REASONS: dict[str, str] = {"scan_error": "error", "tls_error": "tls_handshake_failed"}
# readyscan 0.1.0 wrote an SSH endpoint as `outcome` (scanner.model.Outcome) + `detail`; these are
# the outcomes its sshserver collector gave an endpoint it could not read ("ok" had no error).
# Its `unreachable` also covered a refused connection: kept as `unreachable`, it is not re-guessed.
LEGACY_SSH_OUTCOMES: dict[str, str] = {"unreachable": "unreachable", "timeout": "timeout", "error": "error"}


class EndpointError(Frozen):
    reason: EndpointErrorReason
    detail: str = ""

    @field_validator("reason", mode="before")
    @classmethod
    def _legacy_reason(cls, value: Any) -> Any:
        return LEGACY_REASONS.get(value, value) if isinstance(value, str) else value


def legacy_ssh_endpoint(data: Any) -> Any:
    """An SSH endpoint dict as readyscan 0.1.0 wrote it (outcome + detail) in today's form (error)."""
    if not isinstance(data, dict) or "outcome" not in data:
        return data
    data = dict(data)
    outcome, detail = data.pop("outcome"), data.pop("detail", "")
    if outcome != "ok":
        data["error"] = {"reason": LEGACY_SSH_OUTCOMES.get(outcome, outcome), "detail": detail}
    return data
