"""SSH daemon configuration (survey item XI.2.1.6, and XI.2.1.2 for algorithms): root login,
password and empty-password login, authentication tries, idle timeout, access lists, weak
algorithms. Judged from sshd's effective global settings; a `Match` block that weakens a
setting for some connections is reported as a conditional finding of lower severity.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable

from checks.registry import HostContext, Verdict, check, failed, passed, verdict
from checks.settings import Sourced, load_data
from checks.sshd import ssh_algorithms_data
from scanner.facts.sshd_config import SshdConfig, SshSetting
from scanner.model import Frozen, Severity, Status

ITEMS = ["XI.2.1.6"]


class IdleTimeout(Frozen):
    max_interval_seconds: int
    max_count: int
    source: str


class SshConfigData(Frozen):
    max_auth_tries: Sourced
    idle_timeout: IdleTimeout


def ssh_config_data() -> SshConfigData:
    return load_data("ssh_config", SshConfigData)


TIME_RE = re.compile(r"(\d+)([smhdwSMHDW]?)")
TIME_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def sshd_seconds(text: str) -> int | None:
    """sshd_config(5) TIME FORMATS: `300`, `5m`, `1h30m`. None when it is not one."""
    text = text.strip()
    if not text or TIME_RE.sub("", text):
        return None
    return sum(int(n) * TIME_UNITS[u.lower()] for n, u in TIME_RE.findall(text))


def _version(cfg: SshdConfig) -> tuple[int, int] | None:
    m = re.search(r"(\d+)\.(\d+)", cfg.version or "")
    return (int(m.group(1)), int(m.group(2))) if m else None


def _shown(keyword: str, setting: SshSetting | None) -> dict:
    if setting is None:
        return {"keyword": keyword, "value": None}
    return {"keyword": keyword, "value": " ".join(setting.values)[:500], "source": setting.source,
            "location": setting.location}


def _where(keyword: str, setting: SshSetting | None) -> dict:
    """Flat keys saying where the deciding setting was read, for the report's evidence sentence:
    `sshd_t_location` (effective value from `sshd -T`, line found in the files), `file_location`
    (read from the files only) or `default_value` (set nowhere)."""
    if setting is None:
        return {}
    out = {"keyword": keyword, "value": " ".join(setting.values)[:500]}
    if setting.source == "default":
        return out | {"default_value": out["value"]}
    if not setting.location:
        return out
    return out | {"sshd_t_location" if setting.source == "sshd -T" else "file_location": setting.location,
                  "location": setting.location}


def _unusable(cfg: SshdConfig) -> Verdict | None:
    if cfg.installed is False:
        return verdict(Status.NOT_APPLICABLE, "not_installed")
    if cfg.effective_source == "none":
        return verdict(Status.UNKNOWN, "unreadable", evidence={
            "files_denied": list(cfg.files_denied), "files_missing": list(cfg.files_missing),
            "sshd_t_error": cfg.sshd_t_error}, reason=cfg.sshd_t_error or ", ".join(cfg.files_denied) or "?")
    return None


def _overrides(cfg: SshdConfig, keyword: str, bad) -> list[dict]:
    """Match blocks that set `keyword` to a value `bad` accepts."""
    return [{"match": b.criteria, "location": b.settings[keyword].location, "value": b.settings[keyword].value}
            for b in cfg.match_blocks if keyword in b.settings and bad(b.settings[keyword].value.lower())]


def _conditional(cfg: SshdConfig, keyword: str, bad, evidence: dict) -> Verdict | None:
    found = _overrides(cfg, keyword, bad)
    if found:
        return failed("match_override", evidence=evidence | {"match_blocks": found, "match_locations": ", ".join(
                          f["location"] for f in found if f["location"])}, severity=Severity.LOW,
                      keyword=keyword, match="; ".join(f["match"] for f in found))
    return None


def on_config(judge: Callable[[SshdConfig], Verdict]) -> Callable[[HostContext], Verdict]:
    """A check of sshd's effective configuration: `judge(cfg)` once the configuration is usable."""
    return lambda ctx: _unusable(cfg := ctx.facts(SshdConfig)) or judge(cfg)


@check("ssh.config.root_login", items=ITEMS, severity=Severity.HIGH, reads=(SshdConfig,), judge=on_config)
def root_login(cfg: SshdConfig) -> Verdict:
    setting = cfg.get("permitrootlogin")
    value = setting.value.lower() if setting else ""
    evidence = _shown("PermitRootLogin", setting) | _where("PermitRootLogin", setting)
    if setting is not None and setting.source == "default" and value != "no":
        # Not set anywhere: distribution builds differ from OpenSSH's own default (RHEL 7 and 8
        # builds allow root with a password), so an unset PermitRootLogin is judged as allowed.
        return failed("not_set", evidence=evidence, value=value)
    if value == "yes":
        return failed("allowed", evidence=evidence, value=value)
    if value in ("prohibit-password", "without-password", "forced-commands-only"):
        return failed("keys_only", evidence=evidence, severity=Severity.LOW, value=value)
    if value == "no":
        return _conditional(cfg, "permitrootlogin", lambda v: v != "no", evidence) or passed("denied", evidence=evidence)
    return verdict(Status.UNKNOWN, "unexpected", evidence=evidence, value=value or "?")


@check("ssh.config.password_auth", items=ITEMS, severity=Severity.MEDIUM, reads=(SshdConfig,), judge=on_config)
def password_auth(cfg: SshdConfig) -> Verdict:
    pa, kbd, pam = (cfg.get(k) for k in ("passwordauthentication", "kbdinteractiveauthentication", "usepam"))
    evidence = {"settings": [_shown("PasswordAuthentication", pa), _shown("KbdInteractiveAuthentication", kbd),
                             _shown("UsePAM", pam)]}
    deciding = kbd if (kbd and kbd.value.lower() == "yes" and not (pa and pa.value.lower() == "yes")) else pa
    evidence |= _where("KbdInteractiveAuthentication" if deciding is kbd else "PasswordAuthentication", deciding)
    if pa and pa.value.lower() == "yes":
        return failed("password_enabled", evidence=evidence)
    if kbd and kbd.value.lower() == "yes" and pam and pam.value.lower() == "yes":
        return failed("kbd_pam", evidence=evidence)
    return (_conditional(cfg, "passwordauthentication", lambda v: v == "yes", evidence)
            or passed("keys_only", evidence=evidence))


@check("ssh.config.empty_passwords", items=ITEMS, severity=Severity.HIGH, reads=(SshdConfig,), judge=on_config)
def empty_passwords(cfg: SshdConfig) -> Verdict:
    setting = cfg.get("permitemptypasswords")
    evidence = _shown("PermitEmptyPasswords", setting) | _where("PermitEmptyPasswords", setting)
    if setting and setting.value.lower() == "yes":
        return failed("allowed", evidence=evidence)
    return (_conditional(cfg, "permitemptypasswords", lambda v: v == "yes", evidence)
            or passed("denied", evidence=evidence))


@check("ssh.config.max_auth_tries", items=ITEMS, severity=Severity.LOW, reads=(SshdConfig,), judge=on_config)
def max_auth_tries(cfg: SshdConfig) -> Verdict:
    setting, limit = cfg.get("maxauthtries"), ssh_config_data().max_auth_tries
    evidence = (_shown("MaxAuthTries", setting) | _where("MaxAuthTries", setting)
                | {"limit": limit.value, "limit_source": limit.source})
    tries = int(setting.value) if setting and setting.value.isdigit() else None
    if tries is None:
        return verdict(Status.UNKNOWN, "unexpected", evidence=evidence, value=setting.value if setting else "?")
    if tries > limit.value:
        return failed("too_many", evidence=evidence, value=tries, limit=limit.value)
    return passed("ok", evidence=evidence, value=tries, limit=limit.value)


@check("ssh.config.idle_timeout", items=ITEMS, severity=Severity.LOW, reads=(SshdConfig,), judge=on_config)
def idle_timeout(cfg: SshdConfig) -> Verdict:
    interval_s, count_s, limit = cfg.get("clientaliveinterval"), cfg.get("clientalivecountmax"), ssh_config_data().idle_timeout
    evidence = {"settings": [_shown("ClientAliveInterval", interval_s), _shown("ClientAliveCountMax", count_s)],
                "max_interval_seconds": limit.max_interval_seconds, "max_count": limit.max_count,
                "limit_source": limit.source} | _where("ClientAliveInterval", interval_s)
    interval = sshd_seconds(interval_s.value) if interval_s else None
    count = int(count_s.value) if count_s and count_s.value.isdigit() else None
    if interval is None or count is None:
        return verdict(Status.UNKNOWN, "unexpected", evidence=evidence,
                       value=f"{interval_s.value if interval_s else '?'} / {count_s.value if count_s else '?'}")
    if interval == 0:
        return failed("off", evidence=evidence)
    # Since OpenSSH 8.2 a zero ClientAliveCountMax disables the disconnect (sshd_config(5)).
    version = _version(cfg)
    if count == 0 and (version is None or version >= (8, 2)):
        return failed("count_zero", evidence=evidence)
    if interval > limit.max_interval_seconds or count > limit.max_count:
        return failed("too_long", evidence=evidence, interval=interval, count=count,
                      max_interval=limit.max_interval_seconds, max_count=limit.max_count)
    return passed("ok", evidence=evidence, interval=interval, count=count)


@check("ssh.config.access_restricted", items=ITEMS, severity=Severity.LOW, reads=(SshdConfig,), judge=on_config)
def access_restricted(cfg: SshdConfig) -> Verdict:
    keys = ("allowusers", "allowgroups", "denyusers", "denygroups")
    found = {k: list(cfg.get(k).words) for k in keys if cfg.get(k)}
    conditional = [{"match": b.criteria, "keywords": [k for k in keys if k in b.settings]}
                   for b in cfg.match_blocks if any(k in b.settings for k in keys)]
    evidence = {"lists": found, "match_blocks": conditional}
    if found:
        return passed("restricted", evidence=evidence, keywords=", ".join(found))
    return failed("open", evidence=evidence)


# sshd_config keyword -> category of the shared weak-algorithm table (checks/data/ssh_algorithms.yaml)
ALGORITHM_KEYWORDS = (("ciphers", "cipher"), ("macs", "mac"), ("kexalgorithms", "kex"))


def enabled_names(value: str) -> list[str]:
    """Names an algorithm list turns on: a plain list, `+list` (added to the defaults) or
    `^list` (put first); a `-list` only removes, so it turns nothing on."""
    value = value.strip()
    if value.startswith("-"):
        return []
    return [n.strip() for n in value.lstrip("+^").split(",") if n.strip()]


@check("ssh.config.algorithms", items=["XI.2.1.6", "XI.2.1.2"], severity=Severity.MEDIUM, reads=(SshdConfig,),
       judge=on_config)
def algorithms(cfg: SshdConfig) -> Verdict:
    """Weak algorithms the configuration turns on explicitly. What sshd offers by default is
    judged from the network by sshd.algorithms.weak; this check points at the config line."""
    rows = ssh_algorithms_data().weak
    found, evidence = [], {}
    for keyword, category in ALGORITHM_KEYWORDS:
        configured, effective = cfg.configured.get(keyword), cfg.get(keyword)
        evidence[keyword] = {"configured": _shown(keyword, configured),
                             "effective": _shown(keyword, effective) if effective else None}
        if effective is not None:
            # what sshd uses now less every weak name (the defaults' too): the list a fix writes,
            # since an explicit list makes each name in it a configured one
            evidence[keyword]["without_weak"] = ",".join(
                n for n in enabled_names(effective.value)
                if not any(r.category == category and fnmatch.fnmatchcase(n, r.match) for r in rows))
        for name in enabled_names(configured.value) if configured else []:
            row = next((r for r in rows if r.category == category and fnmatch.fnmatchcase(name, r.match)), None)
            if row:
                found.append({"name": name, "keyword": keyword, "severity": row.severity.value,
                              "reason": row.reason, "source": row.source, "location": configured.location})
    if found:
        worst = max((Severity(w["severity"]) for w in found), key=lambda s: s.rank)
        locations = ", ".join(dict.fromkeys(w["location"] for w in found if w["location"]))
        return failed("configured", evidence=evidence | {"weak": found, "weak_locations": locations}, severity=worst,
                      names=", ".join(w["name"] for w in found))
    explicit = [k for k, _ in ALGORITHM_KEYWORDS if k in cfg.configured]
    return passed("none", evidence=evidence, keywords=", ".join(explicit) or "-")
