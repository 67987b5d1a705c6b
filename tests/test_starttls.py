"""Does a plain-text service start TLS (scanner/collectors/starttls.py)? The refusal is read from
the protocol's own answer: a real vsftpd without TLS, the suite's SMTP servers with and without
STARTTLS, and replies quoted from the RFCs (constructed bytes, each named by its source)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from checks.endpoints import REFUSED_TLS
from scanner.collectors.starttls import (
    ask_starttls,
    classify_ftp,
    classify_imap,
    classify_ldap,
    classify_pop3,
    classify_postgres,
    classify_smtp_ehlo,
    final_reply,
)
from scanner.collectors.tls import TlsCollector
from scanner.model import Status
from tests.tlsservers import (
    TestPki,
    assert_messages_resolve,
    by_check,
    collect,
    failing,
    free_port,
    judge_host,
    stop_process,
    wait_for_port,
    write_inventory,
)

VSFTPD = shutil.which("vsftpd") or "/usr/sbin/vsftpd"


# -- the protocols' own answers (constructed from the RFCs' examples) --------------------------------

def test_ftp_refusals_and_acceptance():
    greeting = b"220 Chao mung\r\n"
    assert classify_ftp(greeting, b"530 Please login with USER and PASS.\r\n").verdict == "refused"  # vsftpd 3.0.3
    assert classify_ftp(greeting, b"502 Command not implemented.\r\n").verdict == "refused"  # RFC 959 §4.2
    assert classify_ftp(greeting, b"534 Request denied for policy reasons.\r\n").verdict == "refused"  # RFC 2228
    assert classify_ftp(greeting, b"234 AUTH TLS successful\r\n").verdict == "accepted"  # RFC 4217 §4
    assert classify_ftp(greeting, b"").verdict == "no_answer"  # closed without a reply: not a refusal
    assert classify_ftp(b"", b"").verdict == "no_answer"
    assert final_reply(b"211-Features:\r\n EPRT\r\n211 End\r\n") == (211, b"211 End")


def test_smtp_offers_or_not():
    greeting = b"220 mail.example.vn ESMTP\r\n"
    no_tls = classify_smtp_ehlo(greeting, b"250-mail.example.vn\r\n250-PIPELINING\r\n250 8BITMIME\r\n")
    assert no_tls.verdict == "refused" and "not offered" in no_tls.reply
    assert classify_smtp_ehlo(greeting, b"250-mail.example.vn\r\n250-STARTTLS\r\n250 8BITMIME\r\n") is None  # ask it
    assert classify_smtp_ehlo(greeting, b"421 4.3.2 Service not available\r\n").verdict == "no_answer"


def test_imap_pop3_postgres_ldap():
    assert classify_imap(b"rs1 BAD STARTTLS not supported\r\n", b"rs1").verdict == "refused"  # RFC 3501 §6.2.1
    assert classify_imap(b"rs1 OK Begin TLS negotiation now\r\n", b"rs1").verdict == "accepted"
    assert classify_imap(b"* BYE\r\n", b"rs1").verdict == "no_answer"
    assert classify_pop3(b"-ERR Command not permitted\r\n").verdict == "refused"  # RFC 2595 §4
    assert classify_pop3(b"+OK Begin TLS negotiation\r\n").verdict == "accepted"
    assert classify_postgres(b"N").verdict == "refused" and classify_postgres(b"S").verdict == "accepted"
    assert classify_postgres(b"E\x00\x00").verdict == "no_answer"
    # ExtendedResponse resultCode 2 (protocolError) and 0 (success), RFC 4511 §4.14.2
    assert classify_ldap(b"\x30\x0c\x02\x01\x01\x78\x07\x0a\x01\x02\x04\x00\x04\x00").verdict == "refused"
    assert classify_ldap(b"\x30\x0c\x02\x01\x01\x78\x07\x0a\x01\x00\x04\x00\x04\x00").verdict == "accepted"


def test_nothing_listening_is_no_answer_not_a_refusal():
    assert ask_starttls("FTP", "127.0.0.1", free_port(), 2).verdict == "no_answer"


# -- a real FTP server without TLS -------------------------------------------------------------------

@pytest.fixture
def vsftpd(tmp_path):
    if not Path(VSFTPD).exists() or os.geteuid() != 0:
        pytest.skip("needs vsftpd (make install) and root")
    port = free_port()
    (tmp_path / "empty").mkdir()
    conf = tmp_path / "vsftpd.conf"
    conf.write_text(f"listen=YES\nlisten_ipv6=NO\nlisten_address=127.0.0.1\nlisten_port={port}\nbackground=NO\n"
                    "anonymous_enable=NO\nlocal_enable=YES\nwrite_enable=NO\nssl_enable=NO\n"
                    f"secure_chroot_dir={tmp_path / 'empty'}\npam_service_name=vsftpd\nxferlog_enable=NO\n")
    proc = subprocess.Popen([VSFTPD, str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        yield port
    finally:
        stop_process(proc)


def test_real_vsftpd_refuses_auth_tls(vsftpd):
    answer = ask_starttls("FTP", "127.0.0.1", vsftpd, 5)
    assert answer.verdict == "refused" and answer.reply.startswith("530")


def test_a_plain_ftp_is_one_clear_text_finding(vsftpd, tmp_path, registry, catalog):
    """Issue 12 item 5: before, each of the TLS checks said `error` on the FTP port; now one
    failing tls.cleartext names the server's refusal and the others are not_applicable."""
    pki = TestPki(tmp_path / "pki")
    loaded = write_inventory(tmp_path / "ftp.yaml", [
        {"name": "files", "address": "127.0.0.1", "zone": "dmz", "services": [{"port": vsftpd, "kind": "ftp"}]}],
        {"ca_bundle": str(pki.ca_path), "timeouts": {"connect": 3, "tls": 30}})
    observations = collect(TlsCollector(), loaded)
    endpoint = observations["files"].data["endpoints"][0]
    assert endpoint["error"]["reason"] == REFUSED_TLS and "530" in endpoint["error"]["detail"]
    results = judge_host(registry, "tls.*", loaded.inventory, "files", {"tls": observations["files"]},
                         observations["files"].ended)
    got = by_check(results, f"{vsftpd}/tcp")
    assert failing(got) == {"tls.cleartext"} and "530" in got["tls.cleartext"].message.params["reply"]
    assert {r.status for c, r in got.items() if c != "tls.cleartext"} == {Status.NOT_APPLICABLE}
    assert_messages_resolve(results, catalog)
