"""Log shippers' configuration (filebeat, fluent-bit, fluentd, vector, nxlog, wazuh, splunk,
elastic-agent, systemd-journal-upload): the destinations each one sends to."""

from __future__ import annotations

import re

from scanner.facts.logging import Forward, LogShippers, ShipperConfig
from scanner.hostprobes import Probe
from scanner.hostprobes.frames import cap, shell, split_frames
from scanner.hostprobes.journald import parse_ini_section

# Where each shipper keeps the setting that names its destination (vendor documentation; the
# rows in checks/data/products.yaml cite it). Dumped with secrets masked on the host.
SHIPPER_FILES = {
    "filebeat": ["/etc/filebeat/filebeat.yml"],
    "fluent-bit": ["/etc/fluent-bit/fluent-bit.conf", "/etc/td-agent-bit/td-agent-bit.conf"],
    "fluentd": ["/etc/fluent/fluentd.conf", "/etc/fluent/fluent.conf", "/etc/td-agent/td-agent.conf"],
    "vector": ["/etc/vector/vector.toml", "/etc/vector/vector.yaml"],
    "nxlog": ["/etc/nxlog/nxlog.conf", "/opt/nxlog/etc/nxlog.conf"],
    "wazuh-agent": ["/var/ossec/etc/ossec.conf"],
    "splunkforwarder": ["/opt/splunkforwarder/etc/system/local/outputs.conf"],
    "elastic-agent": ["/opt/Elastic/Agent/elastic-agent.yml", "/etc/elastic-agent/elastic-agent.yml"],
    "systemd-journal-upload": ["/etc/systemd/journal-upload.conf"],
}
_SHIPPER_GLOBS = ["/etc/fluent-bit/*.conf", "/etc/vector/*.toml", "/etc/vector/*.yaml",
                  "/opt/splunkforwarder/etc/apps/*/local/outputs.conf", "/etc/systemd/journal-upload.conf.d/*.conf"]
LOG_SHIPPERS_SCRIPT = shell(
    "dump " + " ".join(p for paths in SHIPPER_FILES.values() for p in paths) + "\n"
    + "for f in " + " ".join(_SHIPPER_GLOBS) + "; do dump \"$f\"; done\n"
    + "for d in /var/ossec/etc /opt/splunkforwarder/etc; do [ -d \"$d\" ] && [ ! -x \"$d\" ] && "
      "printf '\\n@@denied %s\\n' \"$d\"; done; true\n")


def _shipper_of(path: str) -> str | None:
    for name, paths in SHIPPER_FILES.items():
        if path in paths:
            return name
    for name, prefix in (("fluent-bit", "/etc/fluent-bit/"), ("vector", "/etc/vector/"),
                         ("splunkforwarder", "/opt/splunkforwarder/"),
                         ("systemd-journal-upload", "/etc/systemd/journal-upload.conf.d/")):
        if path.startswith(prefix):
            return name
    return None


def parse_log_shippers(text: str) -> LogShippers:
    frames = split_frames(text)
    configs = []
    for path, frame in frames.files.items():
        name = _shipper_of(path)
        if name is None:
            continue
        dests, note = SHIPPER_PARSERS[name](frame.text)
        configs.append(ShipperConfig(product=name, path=path, destinations=tuple(
            Forward(via=name, target=cap(t, 200), port=p, protocol=proto, selector="", source=path,
                    text=cap(txt), facilities=None, ruleset=None) for t, p, proto, txt in dests[:20]),
            note=note))
    return LogShippers(as_root=frames.as_root, configs=tuple(configs), denied=tuple(frames.denied))


Dest = tuple[str, int | None, str | None, str]


def _host_port(value: str) -> tuple[str, int | None]:
    value = value.strip().strip("\"'")
    value = re.sub(r"^[a-z]+://", "", value).split("/")[0]
    m = re.match(r"^\[([^\]]+)\](?::(\d+))?$|^([^:]+)(?::(\d+))?$", value)
    if not m:
        return value, None
    host = m.group(1) or m.group(3) or value
    port = m.group(2) or m.group(4)
    return host, int(port) if port else None


def _filebeat(text: str) -> tuple[list[Dest], str | None]:
    import yaml

    try:
        doc = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        return [], f"YAML error: {cap(str(exc), 120)}"
    if not isinstance(doc, dict):
        return [], "not a YAML mapping"
    outputs: dict = {}
    for key, value in doc.items():
        if key == "output" and isinstance(value, dict):
            outputs.update(value)
        elif str(key).startswith("output."):
            rest = str(key)[len("output."):]
            kind, _, sub = rest.partition(".")
            if sub:
                outputs.setdefault(kind, {})[sub] = value
            else:
                outputs[kind] = value
    dests: list[Dest] = []
    for kind, conf in outputs.items():
        if not isinstance(conf, dict) or conf.get("enabled") is False or kind in ("console", "file", "discard"):
            continue
        hosts = conf.get("hosts") or ([conf["host"]] if conf.get("host") else [])
        for host in hosts if isinstance(hosts, list) else [hosts]:
            h, p = _host_port(str(host))
            dests.append((h, p, kind, f"output.{kind}.hosts: {host}"))
    if doc.get("cloud.id") or (isinstance(doc.get("cloud"), dict) and doc["cloud"].get("id")):
        dests.append(("Elastic Cloud (cloud.id)", None, "https", "cloud.id"))
    return dests, None


def _fluent_bit(text: str) -> tuple[list[Dest], str | None]:
    dests: list[Dest] = []
    for block in re.split(r"^\s*\[", text, flags=re.M):
        if not block.upper().startswith("OUTPUT]"):
            continue
        kv = {}
        for line in block.split("\n")[1:]:
            parts = line.strip().split(None, 1)
            if len(parts) == 2 and not parts[0].startswith("#"):
                kv[parts[0].lower()] = parts[1].strip()
        name = kv.get("name", "").lower()
        if name in ("stdout", "file", "null", "counter", "") or "host" not in kv:
            continue
        dests.append((kv["host"], int(kv["port"]) if kv.get("port", "").isdigit() else None, name,
                      f"[OUTPUT] Name {name} Host {kv['host']}"))
    return dests, None


def _fluentd(text: str) -> tuple[list[Dest], str | None]:
    dests: list[Dest] = []
    for m in re.finditer(r"<match[^>]*>(.*?)</match>", text, re.S):
        body = m.group(1)
        kind = re.search(r"@?type\s+(\S+)", body)
        kind_name = kind.group(1) if kind else ""
        if kind_name in ("stdout", "file", "null"):
            continue
        for host in re.finditer(r"^\s*host\s+(\S+)(?:.*?^\s*port\s+(\d+))?", body, re.M | re.S):
            dests.append((host.group(1), int(host.group(2)) if host.group(2) else None, kind_name,
                          f"<match> @type {kind_name} host {host.group(1)}"))
    return dests, None


def _vector(text: str) -> tuple[list[Dest], str | None]:
    import tomllib

    import yaml

    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        try:
            doc = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            return [], f"neither TOML nor YAML: {cap(str(exc), 120)}"
    sinks = doc.get("sinks", {}) if isinstance(doc, dict) else {}
    dests: list[Dest] = []
    for name, sink in (sinks.items() if isinstance(sinks, dict) else []):
        if not isinstance(sink, dict) or sink.get("type") in ("console", "file", "blackhole"):
            continue
        for key in ("address", "endpoint", "uri", "endpoints"):
            values = sink.get(key)
            for value in values if isinstance(values, list) else ([values] if values else []):
                h, p = _host_port(str(value))
                dests.append((h, p, str(sink.get("type")), f"sinks.{name}.{key} = {value}"))
    return dests, None


def _nxlog(text: str) -> tuple[list[Dest], str | None]:
    dests: list[Dest] = []
    for m in re.finditer(r"<Output\s+([^>]+)>(.*?)</Output>", text, re.S | re.I):
        body = m.group(2)
        module = re.search(r"^\s*Module\s+(\S+)", body, re.M | re.I)
        host = re.search(r"^\s*(Host|URL)\s+(\S+)", body, re.M | re.I)
        port = re.search(r"^\s*Port\s+(\d+)", body, re.M | re.I)
        if module and host and module.group(1).lower() in ("om_tcp", "om_udp", "om_ssl", "om_http", "om_batchcompress"):
            h, p = _host_port(host.group(2))
            dests.append((h, int(port.group(1)) if port else p, module.group(1).lower(),
                          f"<Output {m.group(1)}> Module {module.group(1)} {host.group(1)} {host.group(2)}"))
    return dests, None


def _ossec(text: str) -> tuple[list[Dest], str | None]:
    dests: list[Dest] = []
    for client in re.finditer(r"<client>(.*?)</client>", text, re.S):
        for server in re.finditer(r"<server>(.*?)</server>", client.group(1), re.S):
            address = re.search(r"<address>\s*([^<\s]+)\s*</address>", server.group(1))
            port = re.search(r"<port>\s*(\d+)\s*</port>", server.group(1))
            proto = re.search(r"<protocol>\s*(\w+)\s*</protocol>", server.group(1))
            if address:
                dests.append((address.group(1), int(port.group(1)) if port else None,
                              proto.group(1).lower() if proto else None,
                              f"<client><server><address>{address.group(1)}</address>"))
        old = re.search(r"<server-ip>\s*([^<\s]+)\s*</server-ip>", client.group(1))
        if old:
            dests.append((old.group(1), None, None, f"<server-ip>{old.group(1)}</server-ip>"))
    return dests, None


def _splunk_outputs(text: str) -> tuple[list[Dest], str | None]:
    dests: list[Dest] = []
    for m in re.finditer(r"^\s*server\s*=\s*(.+)$", text, re.M):
        for server in m.group(1).split(","):
            h, p = _host_port(server)
            if h:
                dests.append((h, p, "splunktcp", f"server = {server.strip()}"))
    return dests, None


def _elastic_agent(text: str) -> tuple[list[Dest], str | None]:
    dests, note = _filebeat(text.replace("outputs:", "output:", 1))
    if re.search(r"^\s*fleet:\s*\n\s+enabled:\s*true", text, re.M):
        note = "managed by Fleet: outputs are in the encrypted fleet.enc, not readable here"
    return dests, note


def _journal_upload(text: str) -> tuple[list[Dest], str | None]:
    values, _ = parse_ini_section(text, "Upload")
    url = values.get("URL", "")
    if not url:
        return [], None
    h, p = _host_port(url)
    return [(h, p if p else (19532 if url.startswith("http") else None), url.split(":")[0], f"URL={url}")], None


SHIPPER_PARSERS = {"filebeat": _filebeat, "fluent-bit": _fluent_bit, "fluentd": _fluentd, "vector": _vector,
                   "nxlog": _nxlog, "wazuh-agent": _ossec, "splunkforwarder": _splunk_outputs,
                   "elastic-agent": _elastic_agent, "systemd-journal-upload": _journal_upload}


PROBES = [Probe("log_shippers", LOG_SHIPPERS_SCRIPT, parse_log_shippers, root=True)]
