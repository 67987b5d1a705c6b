"""The TLS collector: every declared TLS endpoint of the scan in one sslyze `Scanner`.

The endpoints come from the inventory (tls_plan.py); each is scanned at the address planned for
its host (`ctx.address`, no DNS lookup here) with the host's fqdn as SNI. Before sslyze, one
ClientHello (or STARTTLS question) per endpoint sets aside the silent, non-TLS and refusing ones
(tls_precheck.py); sslyze's results are read into facts by tls_results.py, certificates by
x509.py. The whole phase is bounded by `scan.timeouts.tls` and stops on Ctrl-C; an endpoint that
did not finish, or could not be reached, keeps its reason in its own `error`.
"""

from __future__ import annotations

import queue
import threading
import time
import warnings
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from pathlib import Path

from sslyze import (
    CertificateInfoExtraArgument,
    ProtocolWithOpportunisticTlsEnum,
    ScanCommand,
    ScanCommandsExtraArguments,
    Scanner,
    ServerNetworkConfiguration,
    ServerNetworkLocation,
    ServerScanRequest,
)
from sslyze.plugins.certificate_info.trust_stores.trust_store import TrustStore
from sslyze.plugins.certificate_info.trust_stores.trust_store_repository import TrustStoresRepository

from scanner.collectors.base import ScanContext, Sink
from scanner.collectors.endpoints import CaBundleError, EndpointBatch, ca_bundle, cap
from scanner.collectors.tls_plan import EndpointPlan, plan_endpoints
from scanner.collectors.tls_precheck import precheck
from scanner.collectors.tls_results import endpoint_from_result
from scanner.facts.endpoint import EndpointError
from scanner.facts.tls import TlsEndpoint, TlsFacts
from scanner.inventory import Host
from scanner.memory import collect_and_release
from scanner.model import Outcome

# Connections sslyze opens to one server at a time. 3 keeps a single scan quick without
# tripping connection throttles (sslyze issues #286, #349: lower it for fragile servers).
PER_SERVER_CONNECTIONS = 3
NETWORK_RETRIES = 1
POLL_SECONDS = 0.2
# sslyze's refused handshakes (most of a cipher-suite scan) leave reference cycles through their
# exceptions' tracebacks that hold nassl's OpenSSL objects until a full collection; Python's own
# schedule runs one too rarely. Measured on the 25-host lab, TLS only: 292 MB peak without, and
# 110 MB freed by the first gc.collect() at the end.
GC_SECONDS = 1.0


def _scan_commands() -> set:
    """Explicit command set: never HTTP_HEADERS or early data (HTTP only; WRONG_USAGE on STARTTLS),
    nor session resumption (not judged)."""
    return {
        ScanCommand.CERTIFICATE_INFO, ScanCommand.SSL_2_0_CIPHER_SUITES, ScanCommand.SSL_3_0_CIPHER_SUITES,
        ScanCommand.TLS_1_0_CIPHER_SUITES, ScanCommand.TLS_1_1_CIPHER_SUITES, ScanCommand.TLS_1_2_CIPHER_SUITES,
        ScanCommand.TLS_1_3_CIPHER_SUITES, ScanCommand.TLS_COMPRESSION, ScanCommand.TLS_FALLBACK_SCSV,
        ScanCommand.HEARTBLEED, ScanCommand.OPENSSL_CCS_INJECTION, ScanCommand.ROBOT,
        ScanCommand.SESSION_RENEGOTIATION, ScanCommand.ELLIPTIC_CURVES,
    }


def build_request(plan: EndpointPlan, ca_file: Path | None, network_timeout: int):
    # ip_address given: sslyze connects there and never resolves the name.
    location = ServerNetworkLocation(hostname=plan.server_name, port=plan.port, ip_address=plan.address)
    network = ServerNetworkConfiguration(
        tls_server_name_indication=plan.server_name,
        tls_opportunistic_encryption=ProtocolWithOpportunisticTlsEnum[plan.starttls] if plan.starttls else None,
        network_timeout=network_timeout, network_max_retries=NETWORK_RETRIES,
    )
    extra = ScanCommandsExtraArguments(
        certificate_info=CertificateInfoExtraArgument(custom_ca_file=ca_file) if ca_file else None)
    return ServerScanRequest(server_location=location, network_configuration=network,
                             scan_commands=_scan_commands(), scan_commands_extra_arguments=extra)


def trust_stores(ca_file: Path | None) -> list:
    """sslyze's bundled stores plus the inventory's CA bundle, loaded once per scan."""
    # A root in sslyze's bundled stores has a negative serial number: cryptography warns, harmlessly.
    warnings.filterwarnings("ignore", message="Parsed a serial number which wasn't positive")
    stores = TrustStoresRepository.get_default().get_all_stores()  # also primes sslyze's (thread-unsafe) cache
    if ca_file:
        stores.append(TrustStore(ca_file, "Supplied CA file", "N/A"))
    return stores


_DONE = object()


def _run_scanner(scanner, requests: list, out: queue.Queue) -> None:
    """Feed sslyze's blocking result generator into a queue the collector can wait on with a deadline."""
    try:
        scanner.queue_scans(requests)
        for result in scanner.get_results():
            out.put(result)
    except Exception as exc:
        out.put(exc)
    finally:
        out.put(_DONE)


class TlsCollector:
    name = "tls"

    def applies_to(self, ctx: ScanContext, host: Host) -> bool:
        # Every host: one without a declared TLS service gets an empty list, so its TLS checks say
        # not_applicable (from the inventory) rather than unknown.
        return True

    def collect(self, ctx: ScanContext, hosts: list[Host], sink: Sink) -> None:
        batch = EndpointBatch(self.name, {h.name: plan_endpoints(h, ctx.address(h)) for h in hosts},
                              lambda endpoints: TlsFacts(endpoints=endpoints), sink)
        if not batch.todo:
            return
        try:
            ca_file = ca_bundle(ctx)
        except CaBundleError as exc:
            batch.fail(Outcome.ERROR, str(exc))
            return
        self._scan(ctx, batch.todo, ca_file, trust_stores(ca_file), batch.done)

    def _scan(self, ctx: ScanContext, todo: list[EndpointPlan], ca_file: Path | None, stores: list,
              emit: Callable[[EndpointPlan, TlsEndpoint], None]) -> None:
        """emit(plan, endpoint facts) as sslyze finishes each endpoint, then for the ones it did not."""
        scan = ctx.inventory.scan
        network_timeout = max(1, round(scan.timeouts.connect))
        deadline = time.monotonic() + scan.timeouts.tls
        todo = self._precheck(ctx, todo, network_timeout, deadline, emit)
        by_uuid, failed = {}, []
        for plan in todo:
            try:
                request = build_request(plan, ca_file, network_timeout)
                by_uuid[request.uuid] = (plan, request)
            except Exception as exc:
                failed.append((plan, EndpointError(reason="error", detail=cap(f"{type(exc).__name__}: {exc}"))))
        for plan, error in failed:
            emit(plan, plan.endpoint(error=error))
        if not by_uuid:
            return
        scanner = Scanner(per_server_concurrent_connections_limit=PER_SERVER_CONNECTIONS,
                          concurrent_server_scans_limit=max(1, min(scan.concurrency, len(by_uuid))))
        results: queue.Queue = queue.Queue()
        # sslyze's threads are daemons: at the deadline we stop waiting and leave them to end on
        # their own network timeouts; nothing they produce afterwards is read.
        threading.Thread(target=_run_scanner, args=(scanner, [r for _, r in by_uuid.values()], results),
                         name="tls-sslyze", daemon=True).start()
        unfinished = EndpointError(reason="error", detail="sslyze ended without a result for this endpoint")
        next_gc = time.monotonic() + GC_SECONDS
        while by_uuid:
            if time.monotonic() >= next_gc:
                collect_and_release()
                next_gc = time.monotonic() + GC_SECONDS
            if ctx.stop.is_set():
                unfinished = EndpointError(reason="interrupted", detail="the scan was interrupted")
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                unfinished = EndpointError(reason="phase_timeout",
                                           detail=f"not finished within scan.timeouts.tls = {scan.timeouts.tls:g}s")
                break
            try:
                item = results.get(timeout=min(POLL_SECONDS, remaining))
            except queue.Empty:
                continue
            if item is _DONE:
                break
            if isinstance(item, Exception):
                unfinished = EndpointError(reason="error", detail=cap(f"{type(item).__name__}: {item}"))
                continue
            plan, _ = by_uuid.pop(item.uuid, (None, None))
            if plan is None:
                continue
            try:
                endpoint = endpoint_from_result(plan, item, stores, ca_file is not None)
            except Exception as exc:  # one unreadable result must not lose the others
                endpoint = plan.endpoint(error=EndpointError(
                    reason="error", detail=cap(f"reading sslyze's result: {type(exc).__name__}: {exc}")))
            emit(plan, endpoint)
        for plan, _ in by_uuid.values():
            emit(plan, plan.endpoint(error=unfinished))

    @staticmethod
    def _precheck(ctx: ScanContext, todo: list[EndpointPlan], timeout: float, deadline: float,
                  emit: Callable[[EndpointPlan, TlsEndpoint], None]) -> list[EndpointPlan]:
        """Send one ClientHello to each endpoint that speaks TLS from the first byte, and ask each
        STARTTLS one whether it starts TLS, within the phase's deadline; emit the silent, non-TLS
        and refusing ones with their error, return the rest."""
        if not todo or ctx.stop.is_set():
            return todo
        keep: list[EndpointPlan] = []
        pool = ThreadPoolExecutor(max_workers=max(1, min(ctx.inventory.scan.concurrency, len(todo))),
                                  thread_name_prefix="tls-precheck")
        pending = {pool.submit(precheck, plan, timeout): plan for plan in todo}
        try:
            while pending and not ctx.stop.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                done, _ = wait_futures(pending, timeout=min(POLL_SECONDS, remaining), return_when=FIRST_COMPLETED)
                for future in done:
                    plan = pending.pop(future)
                    error = future.exception() or future.result()
                    if isinstance(error, EndpointError):
                        emit(plan, plan.endpoint(error=error))
                    else:  # answers like TLS, or a failure of our own: sslyze decides
                        keep.append(plan)
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        # Not checked by the deadline or an interruption: the main loop gives them its reason.
        return keep + list(pending.values())
