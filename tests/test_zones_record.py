"""Which zone's view the checks judged once read (TLS, HTTP, SSH server) in a scan from several
zones: each endpoint from the first zone, the administering one first, whose port scan found it
open. Built from the recorded lab facts (tests/fixtures/lab/facts.json, seen from the dmz), with
one zone's view changed as a zone firewall would change it."""

from __future__ import annotations

import pytest

pytest.importorskip("celery", reason="the zones extra (celery[redis]) is not installed")

from scanner.app.zones.control import facts_of_record  # noqa: E402
from scanner.facts.endpoint import EndpointError  # noqa: E402
from scanner.facts.tls import TlsFacts  # noqa: E402
from tests.labscan import recorded_lab_scan  # noqa: E402


def firewalled(observations: dict, port: int) -> dict:
    """The host's facts as a zone whose firewall drops `port` sees them: filtered to nmap, and the
    TLS probe timing out there."""
    ports, tls = observations["ports"], observations["tls"]
    filtered = [p | {"state": "filtered", "reason": "no-response"} if p["port"] == port else p
                for p in ports.data["ports"]]
    timeout = EndpointError(reason="timeout", detail="Connection to the server timed out").model_dump()
    failed = [{k: v for k, v in e.items() if k in ("port", "proto", "kind", "service_name", "address", "server_name",
                                                    "starttls")} | {"error": timeout}
              if e["port"] == port else e for e in tls.data["endpoints"]]
    return {**observations, "ports": ports.model_copy(update={"data": {**ports.data, "ports": filtered}}),
            "tls": tls.model_copy(update={"data": {**tls.data, "endpoints": failed}})}


def test_an_endpoint_is_read_from_the_first_zone_that_reached_it():
    db = recorded_lab_scan().hosts["dbhost-01"].observations
    zones = {"dmz": firewalled(db, 5432), "user": db}
    record = facts_of_record(zones, ["dmz", "dmz", "user"])
    (endpoint,) = TlsFacts.model_validate(record["tls"].data).endpoints
    # The dmz administers the host but its firewall drops 5432: the user zone's handshake is judged.
    assert endpoint.seen_from == "user" and endpoint.error is None and endpoint.protocols
    assert record["ports"] is zones["dmz"]["ports"]  # the port scan of record stays the first zone's


def test_an_endpoint_no_zone_reached_keeps_the_first_zones_attempt():
    db = recorded_lab_scan().hosts["dbhost-01"].observations
    zones = {"dmz": firewalled(db, 5432), "user": firewalled(db, 5432)}
    (endpoint,) = TlsFacts.model_validate(facts_of_record(zones, ["dmz", "user"])["tls"].data).endpoints
    assert endpoint.seen_from == "dmz" and endpoint.error is not None and endpoint.error.reason == "timeout"


def test_the_administering_zone_wins_when_several_reach_the_port():
    web = recorded_lab_scan().hosts["badcert-01"].observations
    record = facts_of_record({"user": web, "dmz": web}, ["dmz", "user"])
    assert {e["seen_from"] for e in record["tls"].data["endpoints"]} == {"dmz"}
    assert {e["seen_from"] for e in record["http"].data["endpoints"]} == {"dmz"}
    assert facts_of_record({}, ["dmz"]) == {}
