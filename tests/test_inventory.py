"""Inventory validation: good examples load; each broken one gives its exact error and line."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from scanner.inventory import InventoryError, load_inventory, parse_inventory
from tests.paths import ROOT

MINIMAL = """\
organization:
  name: Sở A
hosts:
  - name: web-01
    address: 127.0.0.1
    zone: dmz
    transport: local
"""


def issues_of(text: str) -> list[tuple[int, str, str]]:
    with pytest.raises(InventoryError) as info:
        parse_inventory(textwrap.dedent(text), "inv.yaml")
    return [(i.line, i.path, i.message) for i in info.value.issues]


@pytest.mark.parametrize("path", ["inventories/example.yaml", "inventories/localhost.yaml"])
def test_shipped_inventories_are_valid(path):
    loaded = load_inventory(ROOT / path)
    assert loaded.inventory.hosts
    assert len(loaded.digest) == 64


def test_minimal_inventory_and_defaults():
    inv = parse_inventory(MINIMAL, "inv.yaml")
    assert inv.hosts[0].name == "web-01"
    assert inv.scan.ports == "top1000"
    assert inv.transport_of(inv.hosts[0]) == "local"


def test_yes_no_spellings_are_booleans():
    inv = parse_inventory(MINIMAL + "policies:\n  network: {status: yes, document: '1/QĐ'}\n"
                          "  data: {status: 'no'}\n", "inv.yaml")
    assert inv.policies.network.status is True
    assert inv.policies.data.status is False


def test_ssh_overrides_merge_key_by_key():
    inv = parse_inventory(textwrap.dedent("""\
        organization: {name: A}
        defaults:
          ssh: {user: scan, port: 2222, become: sudo}
        hosts:
          - name: h
            address: 127.0.0.1
            zone: z
            ssh: {port: 22}
        """), "inv.yaml")
    ssh = inv.ssh_of(inv.hosts[0])
    assert (ssh.user, ssh.port, ssh.become) == ("scan", 22, "sudo")


BROKEN = [
    # (name, yaml, expected (line, path, message fragment))
    ("unknown top-level key", MINIMAL + "scna:\n  ports: top100\n", (8, "scna", "unknown key")),
    ("port out of range", MINIMAL + "    services:\n      - {port: 70000, kind: https}\n",
     (9, "hosts[0].services[0].port", "less than or equal to 65535")),
    ("bad service kind", MINIMAL + "    services:\n      - {port: 443, kind: htps}\n",
     (9, "hosts[0].services[0].kind", "Input should be")),
    ("address with an option", MINIMAL.replace("127.0.0.1", "-oN/tmp/x"),
     (5, "hosts[0].address", "IP address or a DNS name")),
    ("missing organization name", MINIMAL.replace("  name: Sở A\n", "  contact: {name: B}\n"),
     (1, "organization.name", "required field is missing")),
    ("security level out of range", MINIMAL + "systems:\n  - {name: S, security_level: 7}\n",
     (9, "systems[0].security_level", "less than or equal to 5")),
    ("unknown host in a system", MINIMAL + "systems:\n  - name: S\n    security_level: 3\n    hosts: [web-01, db-09]\n",
     (11, "systems[0].hosts[1]", "unknown host 'db-09'")),
    ("duplicate host name", MINIMAL + "  - name: web-01\n    address: 127.0.0.2\n    zone: dmz\n    transport: local\n",
     (8, "hosts[1].name", "already used by hosts[0]")),
    ("duplicate key", MINIMAL + "scan:\n  ports: top100\n  ports: top1000\n", (10, "scan.ports", "duplicate key")),
    ("bad port spec", MINIMAL + "scan:\n  ports: 1-1024;8080\n", (9, "scan.ports", "must be top100")),
    ("status not yes/no", MINIMAL + "policies:\n  network: {status: maybe}\n",
     (9, "policies.network.status", "valid boolean")),
    ("ssh needs a user", MINIMAL.replace("transport: local", "transport: ssh"),
     (7, "hosts[0].transport", "transport ssh needs a user")),
    ("secret instead of env name", MINIMAL + "defaults:\n  ssh: {sudo_password_env: 'hunter2 !'}\n",
     (9, "defaults.ssh.sudo_password_env", "should match pattern")),
    ("zone not listed", MINIMAL + "zones: {app: Ứng dụng}\n", (6, "hosts[0].zone", "not listed under zones")),
    ("syntax error", MINIMAL + "scan: [unclosed\n", (9, "", "YAML syntax")),
    ("bad host name", MINIMAL.replace("name: web-01", "name: 'web 01;rm'"),
     (4, "hosts[0].name", "should match pattern")),
    ("declared port twice", MINIMAL + "    services:\n      - {port: 22, kind: ssh}\n      - {port: 22, kind: ssh}\n",
     (10, "hosts[0].services[1].port", "already declared at services[0]")),
    ("device of an unknown kind", MINIMAL + "devices:\n  - {name: FW-01, kind: firewal}\n",
     (9, "devices[0].kind", "Input should be")),
    ("device without a name", MINIMAL + "devices:\n  - {kind: firewall}\n", (9, "devices[0].name", "required")),
    ("device key misspelt", MINIMAL + "devices:\n  - name: FW-01\n    kind: firewall\n    separate: [dmz]\n",
     (11, "devices[0].separate", "unknown key")),
    ("device separating an undeclared zone", MINIMAL + "zones: {dmz: DMZ, app: Ứng dụng}\n"
     "devices:\n  - name: FW-01\n    kind: firewall\n    separates: [dmz, db]\n",
     (12, "devices[0].separates[1]", "zone 'db' is not listed under zones")),
    ("device separating no host's zone", MINIMAL + "devices:\n  - name: FW-01\n    kind: firewall\n"
     "    separates: [internet, app]\n", (11, "devices[0].separates[1]", "zone 'app' is not the zone of any host")),
    ("device name twice", MINIMAL + "devices:\n  - {name: FW-01, kind: firewall}\n  - {name: FW-01, kind: waf}\n",
     (10, "devices[1].name", "already used by devices[0]")),
    ("device enforcing an unknown row", MINIMAL + "devices:\n  - {name: FW-01, kind: firewall, enforces: [egress]}\n",
     (9, "devices[0].enforces[0]", "Input should be")),
    ("device enforcing a row twice", MINIMAL + "devices:\n  - {name: FW-01, kind: firewall, enforces: [limits, limits]}\n",
     (9, "devices[0].enforces", "each row may be listed once")),
]


def test_devices_are_typed_and_may_separate_the_internet():
    inv = parse_inventory(MINIMAL + textwrap.dedent("""\
        devices:
          - name: FW-BIEN-01
            kind: firewall
            model: FortiGate 600E
            location: Tủ rack A01
            separates: [internet, dmz]
            enforces: [services, limits]
          - {name: SW-01, kind: switch}
        """), "inv.yaml")
    fw, sw = inv.devices
    assert (fw.kind, fw.separates, fw.enforces) == ("firewall", ["internet", "dmz"], ["services", "limits"])
    assert (sw.model, sw.separates, sw.enforces) == (None, [], [])
    assert parse_inventory(MINIMAL, "inv.yaml").devices == []


def test_every_error_is_reported_at_once():
    text = MINIMAL + "    services:\n      - {port: 0, kind: https}\n      - {port: 22, kind: nope}\nbogus: 1\n"
    found = issues_of(text)
    assert {(i[0], i[1]) for i in found} >= {(9, "hosts[0].services[0].port"), (10, "hosts[0].services[1].kind"),
                                             (11, "bogus")}


def test_alias_bomb_is_refused():
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for i in range(1, 9):
        prev = chr(ord("a") + i - 1)
        cur = chr(ord("a") + i)
        bomb += f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 10) + "]\n"
    found = issues_of(bomb)
    assert "alias bomb" in found[0][2]


def test_not_a_mapping():
    assert issues_of("- just\n- a list\n")[0][2] == "the inventory must be a mapping of sections"


def test_unreadable_and_non_utf8_files(tmp_path):
    with pytest.raises(InventoryError, match="cannot read"):
        load_inventory(tmp_path / "absent.yaml")
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes(MINIMAL.encode() + b"# caf\xe9\n")
    with pytest.raises(InventoryError) as info:
        load_inventory(bad)
    assert info.value.issues[0].line == 8 and "UTF-8" in info.value.issues[0].message


def test_validate_command_exit_code_and_output(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text(MINIMAL + "    services:\n      - {port: 70000, kind: https}\nbogus: 1\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "scanner", "validate", str(broken), "--lang", "en"],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2
    assert f"{broken}:9: hosts[0].services[0].port:" in proc.stderr
    assert f"{broken}:10: bogus: unknown key" in proc.stderr
    ok = subprocess.run([sys.executable, "-m", "scanner", "validate", "inventories/example.yaml", "--lang", "en"],
                        capture_output=True, text=True, cwd=ROOT)
    assert ok.returncode == 0 and "valid (15 hosts, 5 systems)" in ok.stdout


# -- vantages: where readyscan workers stand (issue 15, item 1) -----------------------------------
ZONED = """\
organization: {name: Sở A}
zones: {dmz: DMZ, app: Ứng dụng, db: CSDL, mgmt: Quản trị}
scanners:
  - {name: quet-mgmt, zone: mgmt}
  - {name: quet-dmz, zone: dmz, address: 10.0.1.250}
defaults: {ssh: {user: readyscan}}
hosts:
  - {name: web-01, address: 10.0.1.10, zone: dmz}
  - {name: app-01, address: 10.0.2.10, zone: app, managed_from: mgmt}
  - {name: fw-mgmt, address: 10.0.2.1, zone: app, transport: none}
"""


def test_scanners_make_vantages_and_each_host_has_a_managing_zone():
    inv = parse_inventory(ZONED, "inv.yaml")
    assert inv.scanner_zones == ["mgmt", "dmz"] and inv.distributed and inv.vantage_zone is None
    web, app, fw = inv.hosts
    assert inv.managing_zone(web) == "dmz"  # a scanner stands in its own zone
    assert inv.managing_zone(app) == "mgmt"  # declared
    assert inv.managing_zone(fw) is None  # no login: network probes only
    assert inv.scanners[1].address == "10.0.1.250"
    # One zone of scanners: that zone is the vantage, as scan.from_zone was, and manages every host.
    one = parse_inventory(ZONED.replace("  - {name: quet-dmz, zone: dmz, address: 10.0.1.250}\n", ""), "inv.yaml")
    assert one.vantage_zone == "mgmt" and not one.distributed and one.managing_zone(one.hosts[0]) == "mgmt"
    # No scanners: as before, the scanner stands in scan.from_zone.
    plain = parse_inventory(MINIMAL + "scan: {from_zone: dmz}\n", "inv.yaml")
    assert plain.scanner_zones == [] and plain.vantage_zone == "dmz" and not plain.distributed


VANTAGE_ERRORS = [
    # (name, yaml, expected (line, path, message fragment))
    ("scanner in an unknown zone", ZONED.replace("{name: quet-mgmt, zone: mgmt}", "{name: quet-mgmt, zone: mgnt}"),
     (4, "scanners[0].zone", "zone 'mgnt' is not listed under zones")),
    ("scanner name used twice", ZONED.replace("name: quet-dmz", "name: quet-mgmt"),
     (5, "scanners[1].name", "already used by scanners[0]")),
    ("scanner address not an IP", ZONED.replace("address: 10.0.1.250", "address: scanner.example"),
     (5, "scanners[1].address", "must be an IP address")),
    ("managed from a zone with no scanner", ZONED.replace("managed_from: mgmt", "managed_from: db"),
     (9, "hosts[1].managed_from", "no scanner stands in zone 'db'")),
    ("a host no scanner can log in to", ZONED.replace(", managed_from: mgmt", ""),
     (9, "hosts[1]", "no scanner can log in to this host")),
    ("from_zone beside scanners", ZONED + "scan: {from_zone: mgmt}\n",
     (11, "scan.from_zone", "remove scan.from_zone")),
    ("managed_from without scanners", MINIMAL.replace("    transport: local\n", "    transport: local\n    managed_from: dmz\n"),
     (8, "hosts[0].managed_from", "list the scanners")),
]


@pytest.mark.parametrize("name,text,expected", BROKEN + VANTAGE_ERRORS, ids=[b[0] for b in BROKEN + VANTAGE_ERRORS])
def test_broken_inventory_names_line_and_field(name, text, expected):
    found = issues_of(text)
    line, path, fragment = expected
    assert any(i[0] == line and i[1] == path and fragment in i[2] for i in found), found


def test_a_scan_from_several_zones_needs_the_control_sites_keys(tmp_path, capsys):
    from scanner.app.cli import main
    from scanner.app.exits import EXIT_INPUT

    path = tmp_path / "zoned.yaml"
    path.write_text(ZONED, encoding="utf-8")
    assert main(["scan", str(path), "-o", str(tmp_path / "scan.json"), "--lang", "en"]) == EXIT_INPUT
    err = capsys.readouterr().err
    assert "scanners in several zones" in " ".join(err.split()) and "--keys" in err
    assert not (tmp_path / "scan.json").exists()  # nothing was scanned


def test_windows_hosts_are_told_what_their_transport_needs_with_file_line_and_field():
    text = """\
    organization: {name: Sở A}
    hosts:
      - name: linux-01
        address: 127.0.0.1
        zone: app
        transport: winrm
        winrm: {user: scanner, password_env: PW}
      - name: win-01
        address: 127.0.0.1
        zone: app
        platform: windows
        transport: winrm
      - name: win-02
        address: 127.0.0.1
        zone: app
        platform: windows
        transport: local
    """
    found = issues_of(text)
    messages = {(line, path): message for line, path, message in found}
    assert any(p == "hosts[0].transport" and "set platform: windows" in m for (_, p), m in messages.items())
    assert any(p == "hosts[1].transport" and "winrm.user and winrm.password_env" in m for (_, p), m in messages.items())
    assert any(p == "hosts[2].transport" and "not Windows" in m for (_, p), m in messages.items())
    assert all(line for line, _, _ in found)  # every problem names its line
    fields = issues_of("""\
    organization: {name: Sở A}
    hosts:
      - name: win-03
        address: 127.0.0.1
        zone: app
        platform: windows
        winrm: {user: scanner, password_env: PW, auth: credssp, server_name: "bad name"}
    """)
    assert {(line, path) for line, path, _ in fields} == {(7, "hosts[0].winrm.auth"), (7, "hosts[0].winrm.server_name")}


def test_a_windows_host_inherits_the_winrm_defaults_key_by_key():
    inv = parse_inventory(textwrap.dedent("""\
    organization: {name: Sở A}
    defaults:
      winrm: {user: 'MAU\\scanner', password_env: PW, ca_file: ca.pem}
    hosts:
      - {name: dc-01, address: 10.0.0.1, zone: app, platform: windows, transport: winrm, winrm: {port: 15986}}
    """), "inv.yaml")
    host = inv.hosts[0]
    winrm = inv.winrm_of(host)
    assert (winrm.user, winrm.password_env, winrm.ca_file, winrm.effective_port, winrm.effective_scheme) == \
        ("MAU\\scanner", "PW", "ca.pem", 15986, "https")
    assert inv.platform_of(host) == "windows" and inv.platform_of(inv.hosts[0].model_copy(update={"platform": None})) == "linux"


def test_kerberos_may_log_in_with_the_ticket_of_the_scanning_account():
    inv = parse_inventory(textwrap.dedent("""\
    organization: {name: Sở A}
    hosts:
      - {name: dc-01, address: 10.0.0.1, zone: app, platform: windows, transport: winrm, winrm: {auth: kerberos}}
    """), "inv.yaml")
    assert inv.winrm_of(inv.hosts[0]).password_env is None
