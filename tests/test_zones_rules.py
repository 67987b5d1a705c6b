"""The distributed mode's rules that need no broker: broker URLs and where they come from, the time
limits and Redis's visibility timeout, the site keys, which tasks a worker admits, and that the
one-zone path never imports Celery."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from scanner.app.secreturl import UrlFileRefused, UrlMissing
from scanner.app.zones.broker import (
    BROKER_ENV,
    check_broker_url,
    read_broker_url,
    redacted,
    task_time_limits,
    visibility_timeout,
    zone_queue,
)
from scanner.app.zones.errors import ZoneSetupError
from scanner.app.zones.scope import Refusal, ZoneScope, ZoneTask, admit
from scanner.app.zones.security import SiteKeys, create_ca, issue_site, trust, verify_keys
from scanner.collectors.catalog import default_collectors
from scanner.inventory import Timeouts, load_inventory
from tests.paths import ROOT

LOCALHOST = ROOT / "inventories" / "localhost.yaml"


# -- broker URL ------------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["redis://127.0.0.1:6379/0", "redis://localhost:1/0", "redis://[::1]:6379",
                                 "rediss://broker.example.vn:6380/0",
                                 "rediss://:pw@10.0.0.5:6380/0?ssl_cert_reqs=required"])
def test_accepted_broker_urls(url):
    assert check_broker_url(url) == url


@pytest.mark.parametrize(("url", "key"), [
    ("redis://10.0.0.5:6379/0", "zones.broker_url_plain"),
    ("redis://broker.example.vn:6379/0", "zones.broker_url_plain"),  # a name is not loopback, no DNS asked
    ("redis://127.0.0.1.example.vn/0", "zones.broker_url_plain"),
    ("rediss://10.0.0.5:6380/0?ssl_cert_reqs=none", "zones.broker_url_unverified"),
    ("rediss://10.0.0.5:6380/0?ssl_cert_reqs=CERT_OPTIONAL", "zones.broker_url_unverified"),
    ("amqp://10.0.0.5//", "zones.broker_url_scheme"),
    ("redis:///0", "zones.broker_url_scheme"),
    ("redis://127.0.0.1:99999999/0", "zones.broker_url_malformed"),
])
def test_refused_broker_urls_say_why(url, key):
    with pytest.raises(ZoneSetupError) as info:
        check_broker_url(url)
    assert info.value.key == key
    assert info.value.text("vi") and info.value.text("en") != info.value.text("vi")


def test_a_refused_url_never_shows_its_password():
    with pytest.raises(ZoneSetupError) as info:
        check_broker_url("amqp://scanner:s3cret@10.0.0.5//")
    assert "s3cret" not in str(info.value)
    assert redacted("rediss://u:s3cret@h:1/0") == "rediss://u:***@h:1/0"


def test_broker_url_from_the_environment_or_a_private_file(tmp_path):
    assert read_broker_url({BROKER_ENV: " redis://127.0.0.1:7/0 "}) == "redis://127.0.0.1:7/0"
    with pytest.raises(UrlMissing) as info:
        read_broker_url({})
    assert BROKER_ENV in str(info.value) and f"{BROKER_ENV}_FILE" in str(info.value)
    url_file = tmp_path / "broker.url"
    url_file.write_text("rediss://:pw@10.0.0.5:6380/0\n")
    os.chmod(url_file, 0o600)
    # The file named wins over the environment.
    assert read_broker_url({BROKER_ENV: "redis://127.0.0.1:7/0"}, url_file) == "rediss://:pw@10.0.0.5:6380/0"


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o644])
def test_a_broker_file_others_can_read_is_refused_by_name(tmp_path, mode):
    url_file = tmp_path / "broker.url"
    url_file.write_text("rediss://:pw@10.0.0.5:6380/0\n")
    os.chmod(url_file, mode)
    with pytest.raises(UrlFileRefused) as info:
        read_broker_url({}, url_file)
    assert info.value.key == "secret.url_file_open"
    assert str(url_file) in str(info.value) and f"{mode:04o}" in str(info.value)


def test_a_missing_or_empty_broker_file_is_named(tmp_path):
    with pytest.raises(UrlFileRefused) as info:
        read_broker_url({}, tmp_path / "none.url")
    assert info.value.key == "secret.url_file_unreadable" and "none.url" in str(info.value)
    empty = tmp_path / "empty.url"
    empty.write_text("\n")
    os.chmod(empty, 0o600)
    with pytest.raises(UrlFileRefused) as info:
        read_broker_url({}, empty)
    assert info.value.key == "secret.url_file_content"


def test_a_plain_url_in_a_private_file_is_still_refused(tmp_path):
    url_file = tmp_path / "broker.url"
    url_file.write_text("redis://10.0.0.5:6379/0")
    os.chmod(url_file, 0o600)
    with pytest.raises(ZoneSetupError) as info:
        read_broker_url({}, url_file)
    assert info.value.key == "zones.broker_url_plain"


# -- queues and time limits ------------------------------------------------------------------

def test_one_queue_per_zone_and_no_queue_from_a_strange_name():
    assert zone_queue("dmz") == "zone.dmz"
    for bad in ("", "a b", "-x", "dmz*", "x" * 64):
        with pytest.raises(ZoneSetupError):
            zone_queue(bad)


def test_visibility_timeout_always_exceeds_the_hard_limit():
    for hard in (1, 30, 630, 1230, 86400 * 2):
        assert visibility_timeout(hard) > hard
        assert visibility_timeout(hard) >= hard + 60
    with pytest.raises(ValueError):
        visibility_timeout(0)


def test_time_limits_follow_the_inventorys_longest_budget():
    soft, hard = task_time_limits(Timeouts())  # defaults: the host collector's 1445 s is the longest
    assert (soft, hard) == (1475, 1505)
    soft2, hard2 = task_time_limits(Timeouts(tls=5000))
    assert soft2 == 5035 and hard2 > soft2
    assert visibility_timeout(hard2) > hard2


def test_the_app_settings_are_the_issues(tmp_path):
    """Signed JSON only, no results, late acknowledgement, prefetch 1, visibility above the limit."""
    pytest.importorskip("celery", reason="the zones extra (celery[redis]) is not installed")
    from scanner.app.zones.app import zone_settings

    conf = zone_settings("redis://127.0.0.1:6379/0", ["dmz", "app"], Timeouts())
    assert conf["task_serializer"] == "auth" and conf["accept_content"] == ["auth"]
    assert conf["task_ignore_result"] and conf["task_acks_late"] and conf["task_reject_on_worker_lost"]
    assert conf["worker_prefetch_multiplier"] == 1 and conf["result_backend"] is None
    assert conf["broker_transport_options"]["visibility_timeout"] > conf["task_time_limit"] > conf["task_soft_time_limit"]
    assert [q.name for q in conf["task_queues"]] == ["zone.app", "zone.dmz", "readyscan.control"]
    assert "broker_use_ssl" not in conf
    tls = zone_settings("rediss://10.0.0.5:6380/0", ["dmz"], Timeouts())
    import ssl

    assert tls["broker_use_ssl"] == {"ssl_cert_reqs": ssl.CERT_REQUIRED, "ssl_check_hostname": True}
    own_ca = zone_settings("rediss://10.0.0.5:6380/0", ["dmz"], Timeouts(), tmp_path / "broker-ca.pem")
    assert own_ca["broker_use_ssl"]["ssl_ca_certs"] == str(tmp_path / "broker-ca.pem")
    with pytest.raises(ZoneSetupError):
        zone_settings("redis://10.0.0.5:6379/0", ["dmz"], Timeouts())


# -- site keys -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    root = tmp_path_factory.mktemp("pki")
    create_ca(root / "ca")
    site = issue_site(root / "ca", "control", root / "control")
    create_ca(root / "other-ca")
    stranger = issue_site(root / "other-ca", "stranger", root / "stranger")
    return root, site, stranger


def test_a_site_folder_is_private_and_verifies(pki):
    root, site, _ = pki
    assert os.stat(site.folder).st_mode & 0o777 == 0o700
    assert os.stat(site.key).st_mode & 0o777 == 0o600
    assert os.stat(root / "ca" / "ca.key").st_mode & 0o777 == 0o600
    assert verify_keys(site) == [site.trusted / "control.pem"]


def test_keys_others_can_read_refuse_to_start(pki, tmp_path):
    _, site, _ = pki
    copy = SiteKeys(tmp_path / "copy")
    subprocess.run(["cp", "-a", str(site.folder), str(copy.folder)], check=True)
    os.chmod(copy.key, 0o640)
    with pytest.raises(ZoneSetupError) as info:
        verify_keys(copy)
    assert info.value.key == "zones.keys_open" and str(copy.key) in str(info.value)
    os.chmod(copy.key, 0o600)
    os.chmod(copy.folder, 0o755)
    with pytest.raises(ZoneSetupError) as info:
        verify_keys(copy)
    assert info.value.key == "zones.keys_open"


def test_a_certificate_from_another_ca_is_never_trusted(pki, tmp_path):
    root, site, stranger = pki
    copy = SiteKeys(tmp_path / "copy")
    subprocess.run(["cp", "-a", str(site.folder), str(copy.folder)], check=True)
    with pytest.raises(ZoneSetupError) as info:
        trust(copy, stranger.cert)
    assert info.value.key == "zones.cert_not_from_ca"
    # Dropped into trusted/ by hand, it stops the worker from starting.
    (copy.trusted / "stranger.pem").write_bytes(stranger.cert.read_bytes())
    with pytest.raises(ZoneSetupError) as info:
        verify_keys(copy)
    assert info.value.key == "zones.cert_not_from_ca" and "stranger.pem" in str(info.value)


def test_a_site_of_the_same_ca_is_trusted(pki, tmp_path):
    root, site, _ = pki
    peer = issue_site(root / "ca", "dmz", tmp_path / "dmz")
    copy = SiteKeys(tmp_path / "copy")
    subprocess.run(["cp", "-a", str(site.folder), str(copy.folder)], check=True)
    assert trust(copy, peer.cert) == copy.trusted / "dmz.pem"
    assert len(verify_keys(copy)) == 2


def test_a_key_that_is_not_its_certificates_is_refused(pki, tmp_path):
    _, site, stranger = pki
    copy = SiteKeys(tmp_path / "copy")
    subprocess.run(["cp", "-a", str(site.folder), str(copy.folder)], check=True)
    copy.key.unlink()
    copy.key.write_bytes(stranger.key.read_bytes())
    os.chmod(copy.key, 0o600)
    with pytest.raises(ZoneSetupError) as info:
        verify_keys(copy)
    assert info.value.key == "zones.key_not_cert"


def test_keys_are_never_overwritten(pki):
    root, site, _ = pki
    with pytest.raises(ZoneSetupError):
        create_ca(root / "ca")
    with pytest.raises(ZoneSetupError):
        issue_site(root / "ca", "control", site.folder)
    with pytest.raises(ZoneSetupError):
        issue_site(root / "ca", "../evil", root / "evil")


# -- which tasks a worker admits -------------------------------------------------------------

def _scope(zone: str = "mgmt", resolve=lambda name: set()) -> ZoneScope:
    return ZoneScope(load_inventory(LOCALHOST), zone, default_collectors(), resolve=resolve)


def _task(scope: ZoneScope, **changes) -> ZoneTask:
    fields = dict(scan_id="s1", inventory_digest=scope.loaded.digest, host_name="localhost", address="127.0.0.1",
                  collector="host", vantage=scope.zone)
    return ZoneTask(**(fields | changes))


def test_a_task_of_the_workers_own_inventory_is_admitted():
    scope = _scope()
    assert admit(scope, _task(scope)) is None


@pytest.mark.parametrize(("changes", "reason"), [
    ({"inventory_digest": "0" * 64}, Refusal.INVENTORY),
    ({"vantage": "dmz"}, Refusal.VANTAGE),
    ({"host_name": "db1"}, Refusal.HOST),
    ({"address": "127.0.0.2"}, Refusal.ADDRESS),
    ({"address": "10.0.0.5"}, Refusal.ADDRESS),
    ({"collector": "shell"}, Refusal.COLLECTOR),
])
def test_a_task_outside_the_workers_inventory_is_refused(changes, reason):
    scope = _scope()
    refusal = admit(scope, _task(scope, **changes))
    assert refusal is not None and refusal[0] == reason and refusal[1]


def test_a_host_named_by_dns_admits_only_what_the_name_resolves_to_here(tmp_path):
    text = LOCALHOST.read_text().replace("address: 127.0.0.1", "address: scanner.example.vn")
    inv = tmp_path / "named.yaml"
    inv.write_text(text)
    scope = ZoneScope(load_inventory(inv), "mgmt", default_collectors(),
                      resolve=lambda name: {"127.0.0.9"} if name == "scanner.example.vn" else set())
    assert admit(scope, _task(scope, address="127.0.0.9")) is None
    assert admit(scope, _task(scope, address="127.0.0.1"))[0] == Refusal.ADDRESS


@pytest.mark.parametrize("changes", [{"address": "scanner.example.vn"}, {"address": "127.0.0.1; id"},
                                     {"inventory_digest": "abc"}, {"host_name": "-oProxy"},
                                     {"parts": ("os_release", "x y")}])
def test_a_malformed_task_does_not_even_parse(changes):
    scope = _scope()
    with pytest.raises(ValueError):
        _task(scope, **changes)


# -- the one-zone path -----------------------------------------------------------------------

def test_the_one_zone_path_imports_neither_celery_nor_sqlalchemy():
    code = ("import sys, scanner.app.cli, scanner.app.engine; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('celery', 'kombu', 'redis', 'sqlalchemy')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
    # and the probe would see it if they were imported
    pytest.importorskip("celery", reason="the zones extra (celery[redis]) is not installed")
    seen = subprocess.run([sys.executable, "-c", code.replace("scanner.app.engine", "scanner.app.zones.app")],
                          cwd=ROOT, capture_output=True, text=True, check=True)
    assert "celery" in seen.stdout


def test_the_texts_exist_in_both_languages():
    from scanner.i18n import default_catalog

    catalog = default_catalog()
    keys = [k for k in catalog.entries if k.startswith("zones.")]
    assert len(keys) > 20
    assert all(set(catalog.entries[k]) == {"vi", "en"} for k in keys)
    src = "\n".join(p.read_text() for p in (ROOT / "scanner" / "app" / "zones").glob("*.py"))
    import re

    used = set(re.findall(r'(?:ZoneSetupError|(?<![.\w])text)\("([a-z_.]+)"', src))
    assert used and all(f"zones.{k}" in catalog.entries for k in used), used - {k[6:] for k in keys}



def test_the_keys_command_makes_a_ca_a_site_and_trusts_a_peer(tmp_path, capsys):
    from scanner.app.zones.security import main

    assert main(["ca", str(tmp_path / "ca")]) == 0
    assert main(["site", str(tmp_path / "ca"), "control", str(tmp_path / "control")]) == 0
    assert main(["site", str(tmp_path / "ca"), "dmz", str(tmp_path / "dmz")]) == 0
    assert main(["trust", str(tmp_path / "control"), str(tmp_path / "dmz" / "site.pem")]) == 0
    assert len(verify_keys(SiteKeys(tmp_path / "control"))) == 2
    capsys.readouterr()
    assert main(["--lang", "en", "ca", str(tmp_path / "ca")]) == 2
    assert "already exists" in capsys.readouterr().err
