"""The lab's inventory (docs/inventory.md format) and expected results, from one generator.

``lab/inventory.yaml`` and ``lab/expected.yaml`` are this generator's output for the default six
hosts with paths relative to ``lab/``; ``up`` writes the same documents for however many hosts it
brought up into ``lab/.state/`` (paths relative to ``lab/.state/``). ``python3 -m lab files``
rewrites the two committed files, and a test checks they are current.
"""
from .hosts import BRIDGE_ADDRESS, LAB_NETWORK, LabHost
from .layout import SCAN_USER
from .profiles import OS_RELEASES, PROFILES, SYSTEMS
from .yamltext import Flow, Note, Raw, dump

YES, NO = Raw("yes"), Raw("no")
SCAN_PORTS = "1-1024,1433,1521,2375,3306,3389,5432,5900,6379,8000-8100,8443,9200,9443,11211,27017"


def policy(document: str | None) -> dict:
    if document is None:
        return Flow({"status": NO})
    return Flow({"status": YES, "document": document, "date": Raw("2025-05-10")})


def inventory_document(hosts: list[LabHost], state_prefix: str) -> dict:
    """``state_prefix`` is how the inventory's folder reaches lab/.state ('.state/' or '')."""
    bastions = [host.name for host in hosts if PROFILES[host.profile]["role"] == "bastion"]
    return {
        "schema": 1,
        "organization": {
            "name": "Sở Thông tin và Truyền thông tỉnh Thử Nghiệm",
            "contact": Flow({"name": "Trần Thị Bình", "phone": "0210 3800 111",
                             "email": "cntt@lab.readyscan.test"}),
            "security_unit": {"status": YES, "kind": "own", "headcount": 2,
                              "document": "QĐ 07/QĐ-STTTT", "date": Raw("2025-01-15"),
                              "details": "Phòng Công nghệ thông tin, 2 cán bộ chuyên trách"},
        },
        "inspection_date": Raw("2027-03-15"),
        "policies": {
            "network": policy("QĐ 45/QĐ-STTTT"), "servers": policy("QĐ 45/QĐ-STTTT"),
            "data": policy(None), "endpoints": policy("QĐ 46/QĐ-STTTT"),
            "datacenter_access": policy("QĐ 46/QĐ-STTTT"), "accounts": policy("QĐ 47/QĐ-STTTT"),
            "monitoring": policy(None), "incident_response": policy("QĐ 48/QĐ-STTTT"),
            "other": policy(None),
        },
        "solutions": {
            "siem_soc": Flow({"status": YES, "product": "Wazuh",
                              "details": f"Nhật ký gửi về máy thu tập trung {BRIDGE_ADDRESS}"}),
            "jump_host": Flow({"status": YES, "hosts": bastions} if bastions else {"status": NO}),
            "dlp": Flow({"status": NO}), "db_firewall": Flow({"status": NO}),
            "pam": Flow({"status": NO}), "other": Flow({"status": NO}),
        },
        "systems": systems(hosts),
        "devices": devices(hosts),
        "defaults": {
            "transport": "ssh",
            "ssh": {"user": SCAN_USER, "port": 22, "key": f"{state_prefix}id_ed25519",
                    "known_hosts": f"{state_prefix}known_hosts", "become": "sudo",
                    "connect_timeout": 10, "command_timeout": 60},
            # the lab's log collector (collector.py on the bridge): where a fix plan forwards syslog
            "log_server": {"address": str(BRIDGE_ADDRESS), "port": 514, "protocol": "tcp"},
        },
        "hosts": [host_entry(host) for host in hosts],
        "scan": {
            "from_zone": "dmz",
            "ports": Note(SCAN_PORTS, "well-known ports and the usual risky services"),
            "udp": False,
            "service_versions": False,
            "concurrency": 16,
            "log_retention_days": Note(None, "from the systems' security level (3: 3 months)"),
            "cert_expiry_warn_days": 30,
            "ca_bundle": Note(f"{state_prefix}ca.pem", "the lab's internal CA"),
            "timeouts": Flow({"connect": 5, "command": 60, "host": 300, "nmap": 600, "tls": 120,
                              "http": 10}),
        },
    }


SAMPLE_DEVICE = {"kind": "firewall", "model": "Thiết bị khai báo mẫu (phòng thí nghiệm không có thiết bị này)",
                 "location": "Phòng máy chủ Sở Thông tin và Truyền thông"}


def devices(hosts: list[LabHost]) -> list[dict]:
    """The network devices a unit would declare: the lab has none, so these are labelled samples
    that separate the zones its hosts are in (they fill the survey's device columns)."""
    zones = list(dict.fromkeys(PROFILES[host.profile]["zone"] for host in hosts))
    out = []
    if "dmz" in zones:
        out.append({"name": "lab-fw-bien", **SAMPLE_DEVICE, "separates": ["internet", "dmz"],
                    "enforces": ["services", "limits"]})
    if len(zones) > 1:
        out.append({"name": "lab-fw-noibo", **SAMPLE_DEVICE, "separates": zones,
                    "enforces": ["limits", "management"]})
    return out


def systems(hosts: list[LabHost]) -> list[dict]:
    result = []
    for key, system in SYSTEMS.items():
        members = [host.name for host in hosts if PROFILES[host.profile]["system"] == key]
        if members:
            result.append({**system, "hosts": members})
    return result


def host_entry(host: LabHost) -> dict:
    prof = PROFILES[host.profile]
    return {
        "name": host.name,
        "address": host.address,
        "fqdn": host.fqdn,
        "zone": prof["zone"],
        "role": prof["role"],
        "os": OS_RELEASES[prof["os"]]["hint"],
        "services": [Flow(service) for service in prof["services"]],
    }


def inventory_header(hosts: list[LabHost], in_state: bool) -> list[str]:
    where = ("written by `python3 -m lab up` for the hosts it brought up"
             if in_state else "the default lab; regenerate with `python3 -m lab files`")
    return [
        f"Danh mục máy chủ của phòng thí nghiệm readyscan: {len(hosts)} máy trong {LAB_NETWORK}.",
        f"readyscan test lab inventory ({where}).",
        "Only what the administrators expect is declared: the lab also runs undeclared",
        "listeners and seeded weaknesses that a scan must find (see expected.yaml).",
    ]


def inventory_text(hosts: list[LabHost], state_prefix: str) -> str:
    return dump(inventory_document(hosts, state_prefix),
                inventory_header(hosts, in_state=not state_prefix))


def zoned_inventory_document(hosts: list[LabHost], state_prefix: str) -> dict:
    """The same hosts scanned from every lab zone (lab/zones.py): a scanner per vantage, every
    host administered from mgmt, no single `from_zone`."""
    from .zones import HOST_ZONE_LABELS, MANAGED_FROM, VANTAGES

    document = inventory_document(hosts, state_prefix)
    document["organization"]["name"] += " (quét từ mọi vùng mạng)"
    used = {PROFILES[host.profile]["zone"] for host in hosts}
    document["zones"] = {**{zone: label for zone, label in HOST_ZONE_LABELS.items() if zone in used},
                         **{v.zone: v.label for v in VANTAGES if v.zone != "internet"}}
    document["scanners"] = [Flow({"name": v.name, "zone": v.zone, "address": v.address}) for v in VANTAGES]
    for entry in document["hosts"]:
        entry["managed_from"] = MANAGED_FROM
    del document["scan"]["from_zone"]
    ordered = {}
    for key, value in document.items():  # zones and scanners before the hosts, as docs/inventory.md shows
        if key == "defaults":
            ordered["zones"], ordered["scanners"] = document["zones"], document["scanners"]
        if key not in ("zones", "scanners"):
            ordered[key] = value
    return ordered


def zoned_inventory_text(hosts: list[LabHost], state_prefix: str) -> str:
    return dump(zoned_inventory_document(hosts, state_prefix), [
        f"Danh mục máy chủ của phòng thí nghiệm readyscan, quét từ mọi vùng mạng: {len(hosts)} máy.",
        "readyscan test lab inventory scanned from every lab zone (lab/zones.py): a worker per",
        "zone stands in its own namespace behind the lab's zone firewall.",
    ])


# --- accepted risks ---------------------------------------------------------------------------
# What every lab host shares with the machine, so no profile can seed it per host: the kernel's
# audit subsystem and clock, the machine's packages and their update state, and agents Debian does
# not ship. The hardened profile documents them as accepted risks, as an agency would, so that
# "the hardened host has no failing result" means no unwaived one, and each exception is visible.
MACHINE_WIDE = {
    "logging.auditd": "the kernel audit subsystem is one per machine; auditd cannot run per namespace",
    "logging.time_sync": "the clock is one per machine; a lab host must not run a daemon that sets it",
    "firewall.intrusion_prevention": "fail2ban/crowdsec are not started in the namespace lab yet",
    "malware.installed": "no anti-malware product with offline signatures is packaged for the lab",
    "monitoring.hids_agent": "HIDS/EDR agents (Wazuh, OSSEC…) are not in Debian's archive",
    "monitoring.siem_agent": "SIEM agents (Wazuh, filebeat…) are not in Debian's archive",
    "patch.pending_updates": "lab hosts share the machine's packages and apt lists",
    "patch.security_updates": "lab hosts share the machine's packages and apt lists",
    "patch.reboot_required": "lab hosts share the machine's kernel",
    "patch.last_update_age": "lab hosts share the machine's package database",
    "patch.package_lists_stale": "lab hosts share the machine's apt lists",
}


def waivers_document() -> dict:
    # One waiver per check for every host: these are the machine's facts, which no profile seeds
    # (expected_document refuses to), so they are noise on every lab host, not only the hard ones.
    return {"waivers": [
        {"check": check, "justification": f"namespace lab: {why}",
         "approver": "readyscan lab", "compensating_control": "checked on real servers, not in the lab",
         "expires": Raw("2030-12-31")}
        for check, why in MACHINE_WIDE.items()]}


def waivers_text() -> str:
    return dump(waivers_document(), [
        "Accepted risks of the readyscan lab (read by readyscan beside inventory.yaml).",
        "Generated from lab/inventory.py; regenerate with `python3 -m lab files`.",
    ])


# --- expected results -------------------------------------------------------------------------
def expected_document(hosts: list[LabHost], firewall_loaded: bool = True) -> dict:
    document = {}
    for host in hosts:
        expect = PROFILES[host.profile]["expect"]
        overlap = set(expect["fail"]) & set(expect["pass"])
        if overlap:
            raise ValueError(f"profile {host.profile} both fails and passes {sorted(overlap)}")
        if set(expect["fail"]) & set(MACHINE_WIDE):  # waived on every host: a seed would never show
            raise ValueError(f"profile {host.profile} seeds machine-wide {sorted(set(expect['fail']) & set(MACHINE_WIDE))}")
        passing = [check for check in expect["pass"]
                   if firewall_loaded or check not in expect.get("needs_firewall", [])]
        document[host.name] = {
            "profile": host.profile,
            "fail": [Note(check, how) for check, how in expect["fail"].items()],
            "pass": passing,
        }
    return document


def expected_text(hosts: list[LabHost], firewall_loaded: bool = True) -> str:
    header = [
        "Checks each lab host must fail (a seeded gap: the comment says how it was seeded)",
        "and must pass (a gap the profile really closes), judged per host over all its results:",
        "fail = at least one result fails; pass = none fails and at least one passes (results",
        "not_applicable to some of its ports are ignored). A check listed in neither is not",
        "decided by the lab (it depends on thresholds, on the machine's packages, or does not apply).",
        "Generated from lab/profiles.py; regenerate with `python3 -m lab files`.",
    ]
    if not firewall_loaded:
        header.append("nftables was not installed when the lab came up: no host firewall was "
                      "loaded, so checks that rely on one are not expected to pass.")
    return dump(expected_document(hosts, firewall_loaded), header)
