"""WinRM transport over pypsrp 0.8.1: one WinRS shell per host, the script on stdin.

Rules it enforces (the WinRM issue's):
- HTTPS validates the server certificate against `ca_file`, else the system trust store; it is
  never disabled. The connection goes to `address`; the certificate (and SNI, and the Kerberos
  SPN) is checked against `server_name` (default: the address).
- HTTP is accepted only with WinRM message encryption (NTLM/Kerberos sealing of every body).
- Basic and CredSSP are refused: Basic sends the password in the clear to every server that asks,
  CredSSP delegates it to the server.
- No proxy, environment proxies included. The password never reaches a message, log or repr.

pypsrp builds its requests session itself, lazily, on the first message; the only seam to set
TLS trust and the checked name is that builder, so the transport wraps `_build_session` of its
own WSMan instance (pinned pypsrp version) and mounts an adapter that owns the TLS decisions.
"""

from __future__ import annotations

import ipaddress
import re
import ssl
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import requests
from pypsrp.exceptions import AuthenticationError, WinRMError, WinRMTransportError, WSManFaultError
from pypsrp.shell import CommandState, Process, SignalCode, WinRS
from pypsrp.wsman import WSMan
from requests.adapters import HTTPAdapter
from spnego.exceptions import SpnegoError
from urllib3.util.ssl_match_hostname import CertificateError

from scanner.transport.base import DEFAULT_OUTPUT_CAP, CappedBuffer, CommandResult, TransportError

try:
    # pyspnego gets a ticket from a password with the krb5 package (its _kinit), whose errors
    # (wrong password, unknown user, no KDC) it does not wrap in SpnegoError. Installed with
    # pyspnego[kerberos]; without it Kerberos is unavailable and no such error can occur.
    from krb5 import Krb5Error
except ImportError:  # pragma: no cover - depends on the machine
    Krb5Error = SpnegoError

SCHEMES = ("https", "http")
AUTHS = ("ntlm", "kerberos", "negotiate")
# Refused with their reason rather than "unknown value", so an inventory author learns why.
_REFUSED_AUTHS = {
    "basic": "Basic sends the password to the server in a form it can read back",
    "credssp": "CredSSP hands the password itself to the server (delegation)",
    "certificate": "certificate authentication is not supported by readyscan",
}
# WSManFault code for "no output within OperationTimeout" ([MS-WSMV]; pypsrp's poll_invoke
# ignores the same code): the command is still running.
_OPERATION_TIMED_OUT = 2150858793
_ACCESS_DENIED = 5
# Arguments travel to cmd.exe joined by spaces: only plain tokens (switches, base64) are allowed,
# so no quoting is ever needed and no cmd metacharacter can reach it.
_SAFE_TOKEN = re.compile(r"[A-Za-z0-9._:\\/=+-]+")
_ENCODED_SWITCH = re.compile(r"-(e|ec|en|enc|enco|encod|encode|encoded|encodedc|encodedco|encodedcom|encodedcomm|"
                             r"encodedcomma|encodedcomman|encodedcommand)", re.IGNORECASE)
ARGV_PAYLOAD_KEEP = 200
_UTF8_CODEPAGE = 65001


@dataclass(frozen=True)
class WinrmTarget:
    address: str                       # the IP connected to
    port: int = 5986
    scheme: str = "https"
    auth: str = "ntlm"
    user: str | None = None            # DOMAIN\\user or user@REALM; None only with kerberos (ticket cache)
    password: str | None = field(default=None, repr=False)
    ca_file: Path | None = None        # None: the system trust store
    server_name: str | None = None     # certificate / SNI / Kerberos SPN host; None: the address
    # Service class of the Kerberos SPN <spn_service>/<server_name>: WSMAN is the SPN a
    # domain-joined WinRM service registers for itself (pypsrp's default too); HTTP is what
    # pywinrm asks for, and hosts whose HTTP SPN belongs to another account (IIS) refuse it.
    spn_service: str = "WSMAN"
    connect_timeout: float = 10.0
    operation_timeout: float = 20.0    # WSMan OperationTimeout of one Receive (long poll)
    # WinRM message encryption; None = what the scheme needs (HTTP: on, HTTPS: TLS already is).
    message_encryption: bool | None = None

    def __post_init__(self) -> None:
        try:
            ipaddress.ip_address(self.address)
        except ValueError:
            raise ValueError(f"WinRM address must be an IP address (resolve names at planning time): "
                             f"{self.address!r}") from None
        if self.scheme not in SCHEMES:
            raise ValueError(f"WinRM scheme must be one of {', '.join(SCHEMES)}, not {self.scheme!r}")
        auth = self.auth.lower()
        if auth in _REFUSED_AUTHS:
            raise ValueError(f"WinRM auth {self.auth!r} is refused: {_REFUSED_AUTHS[auth]}; "
                             f"use one of {', '.join(AUTHS)}")
        if auth not in AUTHS:
            raise ValueError(f"WinRM auth must be one of {', '.join(AUTHS)}, not {self.auth!r}")
        if self.scheme == "http" and self.message_encryption is False:
            raise ValueError("WinRM over HTTP is refused without message encryption: every command and its "
                             "output would cross the network readable; use HTTPS (5986) or keep encryption on")
        if not 0 < self.port < 65536:
            raise ValueError(f"WinRM port out of range: {self.port}")
        if self.user is None and auth != "kerberos":
            raise ValueError(f"WinRM auth {auth} needs a user")
        if self.server_name is not None and not re.fullmatch(r"[A-Za-z0-9.:_-]+", self.server_name):
            raise ValueError(f"WinRM server_name is not a host name: {self.server_name!r}")
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9-]*", self.spn_service):
            raise ValueError(f"WinRM spn_service is not a service class: {self.spn_service!r}")
        if self.connect_timeout <= 0 or self.operation_timeout <= 0:
            raise ValueError("WinRM timeouts must be positive")

    @property
    def checked_name(self) -> str:
        return self.server_name or self.address

    @property
    def encrypts_messages(self) -> bool:
        return self.scheme == "http" or bool(self.message_encryption)

    @property
    def label(self) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{self.scheme}://{host}:{self.port}"


def tls_context(ca_file: Path | None) -> ssl.SSLContext:
    """Verification on, hostname check on; trust = the CA file alone, else the system store
    (not certifi's bundle, which requests would otherwise add)."""
    ctx = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


class _CheckedNameAdapter(HTTPAdapter):
    """Connects where the URL says (the address) and checks the certificate and sends SNI for
    `server_name`. It alone decides trust: requests' `verify` is ignored, so nothing (a
    REQUESTS_CA_BUNDLE, verify=False) can weaken it."""

    def __init__(self, server_name: str, context: ssl.SSLContext):
        self._server_name = server_name
        self._context = context
        super().__init__(max_retries=0)

    def build_connection_pool_key_attributes(self, request, verify, cert=None):
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, True, cert)
        if host_params["scheme"] == "https":
            for key in ("ca_certs", "ca_cert_dir"):
                pool_kwargs.pop(key, None)
            pool_kwargs.update(ssl_context=self._context, cert_reqs="CERT_REQUIRED",
                               assert_hostname=self._server_name, server_hostname=self._server_name)
        return host_params, pool_kwargs

    def cert_verify(self, conn, url, verify, cert) -> None:
        if url.lower().startswith("https"):
            conn.cert_reqs = "CERT_REQUIRED"
            conn.ca_certs = None
            conn.ca_cert_dir = None


def shorten_argv(argv: Sequence[str]) -> tuple[str, ...]:
    """The argv as recorded: an -EncodedCommand payload over 200 characters is cut."""
    out = list(argv)
    for i, token in enumerate(out[:-1]):
        payload = out[i + 1]
        if _ENCODED_SWITCH.fullmatch(token) and len(payload) > ARGV_PAYLOAD_KEEP:
            out[i + 1] = f"{payload[:ARGV_PAYLOAD_KEEP]}...[{len(payload)} chars]"
    return tuple(out)


def _seconds(value: float) -> float:
    # WSMan durations (PT<n>S) accept decimals; keep them short and at least one second.
    return max(1.0, round(value, 3))


class WinrmTransport:
    name = "winrm"

    def __init__(self, target: WinrmTarget):
        self.target = target
        self._wsman: WSMan | None = None
        self._shell: WinRS | None = None
        self._lock = threading.Lock()

    # -- errors -----------------------------------------------------------------------------
    def _safe(self, text: str) -> str:
        """Defence in depth: whatever a library put in a message, the password never leaves."""
        pw = self.target.password
        return text.replace(pw, "***") if pw else text

    def _error(self, exc: BaseException, doing: str) -> TransportError:
        t = self.target
        where = f"{t.label} ({doing})"
        if isinstance(exc, requests.exceptions.SSLError):
            reason = _root_reason(exc)
            # Chain and trust failures come from ssl; a name mismatch from urllib3, which checks
            # the name itself when given assert_hostname.
            if _caused_by(exc, ssl.SSLCertVerificationError) or _caused_by(exc, CertificateError):
                trust = f"CA file {t.ca_file}" if t.ca_file else "the system trust store"
                return TransportError(
                    "host_key_rejected",
                    self._safe(f"{where}: TLS certificate not trusted for {t.checked_name} against {trust}: "
                               f"{reason}; check server_name and ca_file (verification is never disabled)"))
            return TransportError("error", self._safe(f"{where}: TLS handshake failed: {reason}"))
        if isinstance(exc, requests.exceptions.ConnectTimeout):
            return TransportError("unreachable", f"{where}: no connection within {t.connect_timeout:g}s")
        if isinstance(exc, requests.exceptions.ReadTimeout):
            return TransportError("timeout", f"{where}: no answer within the read timeout")
        if isinstance(exc, requests.exceptions.ConnectionError):
            return TransportError("unreachable", self._safe(f"{where}: {_root_reason(exc)}"))
        if isinstance(exc, AuthenticationError | SpnegoError | Krb5Error):
            return TransportError("auth_failed", self._safe(
                f"{where}: {t.auth} authentication failed for {t.user or 'the Kerberos ticket'} "
                f"({type(exc).__name__}: {_first_line(exc)})"))
        if isinstance(exc, WSManFaultError):
            outcome = "permission_denied" if exc.code == _ACCESS_DENIED else "error"
            return TransportError(outcome, self._safe(f"{where}: WSMan fault {exc.code}: {_first_line(exc.reason)}"))
        if isinstance(exc, WinRMTransportError):
            return TransportError("error", self._safe(f"{where}: HTTP {exc.code} from the WinRM service"))
        return TransportError("error", self._safe(f"{where}: {type(exc).__name__}: {_first_line(exc)}"))

    # -- connection -------------------------------------------------------------------------
    def _new_wsman(self) -> WSMan:
        t = self.target
        op = _seconds(t.operation_timeout)
        wsman = WSMan(
            t.address, port=t.port, ssl=t.scheme == "https", auth=t.auth,
            username=t.user, password=t.password,
            cert_validation=str(t.ca_file) if t.ca_file else True,
            encryption="always" if t.encrypts_messages else "auto",
            proxy=None, no_proxy=True,
            connection_timeout=t.connect_timeout,
            # A Receive may legitimately take the whole OperationTimeout before answering.
            read_timeout=op + t.connect_timeout,
            operation_timeout=op,
            negotiate_hostname_override=t.checked_name,
            negotiate_service=t.spn_service,
        )
        transport = wsman.transport
        build = transport._build_session
        adapter = _CheckedNameAdapter(t.checked_name, tls_context(t.ca_file))

        def build_session() -> requests.Session:
            session = build()
            session.trust_env = False          # no environment proxies, CA bundles or netrc
            session.proxies = {}
            session.mount("https://", adapter)
            session.mount("http://", adapter)
            return session

        transport._build_session = build_session
        return wsman

    def _open_shell(self) -> WinRS:
        with self._lock:
            if self._shell is not None:
                return self._shell
            wsman = self._new_wsman()
            shell = WinRS(wsman, codepage=_UTF8_CODEPAGE, no_profile=True)
            try:
                shell.open()
            except Exception as exc:  # noqa: BLE001  (mapped to an outcome; never raised raw)
                wsman.close()
                raise self._error(exc, "opening the shell") from None
            self._wsman, self._shell = wsman, shell
            return shell

    # -- commands ---------------------------------------------------------------------------
    def run(self, argv: Sequence[str], *, timeout: float, stdin: bytes | None = None,
            output_cap: int = DEFAULT_OUTPUT_CAP) -> CommandResult:
        if not argv or not all(_SAFE_TOKEN.fullmatch(a) for a in argv):
            raise ValueError("WinRM argv tokens must be plain ASCII words (no spaces, quotes or cmd "
                             "metacharacters); the script goes on stdin")
        started = time.monotonic()
        deadline = started + timeout
        shell = self._open_shell()
        proc = Process(shell, argv[0], list(argv[1:]))
        try:
            proc.begin_invoke()
        except Exception as exc:  # noqa: BLE001
            self._forget_shell()  # the host may have dropped it (restart, idle time-out): open anew next time
            raise self._error(exc, "starting the command") from None
        out, err = CappedBuffer(output_cap), CappedBuffer(output_cap)
        timed_out, status = False, None
        try:
            self._send_stdin(shell, proc, stdin or b"")
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    timed_out = True
                    break
                try:
                    state, status, chunk = shell.receive("stdout stderr", proc.id,
                                                         timeout=_seconds(min(self.target.operation_timeout,
                                                                              remaining)))
                except WSManFaultError as exc:
                    if exc.code == _OPERATION_TIMED_OUT:
                        continue               # nothing within one OperationTimeout: still running
                    raise
                except requests.exceptions.ReadTimeout:
                    continue                   # the deadline above decides
                out.add(chunk.get("stdout", b""))
                err.add(chunk.get("stderr", b""))
                if out.full or err.full or state == CommandState.DONE:
                    break
        except Exception as exc:  # noqa: BLE001
            self._forget_shell()
            raise self._error(exc, "running the command") from None
        cut = timed_out or out.full or err.full
        if cut:
            status = None
            self._terminate(proc)
        return CommandResult(shorten_argv(argv), status, out.text(), err.text(), time.monotonic() - started,
                             timed_out=timed_out, truncated=out.truncated or err.truncated)

    def _send_stdin(self, shell: WinRS, proc: Process, data: bytes) -> None:
        """All of stdin, in chunks that fit one envelope, then end-of-input (also when empty, so
        nothing on the host waits for input that never comes)."""
        size = max(1024, shell.wsman.max_payload_size - 1024)
        chunks = [data[i:i + size] for i in range(0, len(data), size)] or [b""]
        for i, chunk in enumerate(chunks):
            proc.send(chunk, end=i == len(chunks) - 1)

    def _terminate(self, proc: Process) -> None:
        try:
            proc.signal(SignalCode.TERMINATE)
        except (WinRMError, requests.exceptions.RequestException):
            pass  # best effort: the shell's deletion on close ends it anyway

    def _forget_shell(self) -> None:
        """After a failed command the shell may be gone: close what is left, so the next run
        opens a new one instead of failing on the old one again."""
        self.close()

    def close(self) -> None:
        with self._lock:
            shell, wsman = self._shell, self._wsman
            self._shell = self._wsman = None
        if shell is not None:
            try:
                shell.close()
            except (WinRMError, requests.exceptions.RequestException, SpnegoError):
                pass  # the host drops idle shells itself (IdleTimeOut)
        if wsman is not None:
            wsman.close()


def _first_line(value: object) -> str:
    text = str(value).strip()
    return text.splitlines()[0] if text else ""


def _chain(exc: BaseException) -> list[BaseException]:
    seen = [exc]
    while (nxt := seen[-1].__cause__ or seen[-1].__context__) is not None and nxt not in seen:
        seen.append(nxt)
    return seen


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    # urllib3 keeps the ssl error as `reason` of its MaxRetryError, requests as its first arg.
    return any(isinstance(e, kind) or isinstance(getattr(e, "reason", None), kind)
               or any(isinstance(a, kind) or isinstance(getattr(a, "reason", None), kind) for a in e.args)
               for e in _chain(exc))


def _root_reason(exc: BaseException) -> str:
    """The innermost cause (e.g. 'Connection refused'), not requests' nested wrapper text."""
    seen = _chain(exc)[-1]
    reason = getattr(seen, "reason", None) or seen
    return _first_line(reason) or type(seen).__name__

