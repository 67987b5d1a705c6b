"""The nginx probe: its reader against nginx's own syntax rules, include expansion, listen forms,
the secrets masked on the host by the probe's own shell code, and a configuration tree run through
the probe on this machine. The recorded outputs (Debian's packaged configuration, the lab's
legacy and hardened hosts) are checked against their golden files by tests/test_golden_facts.py."""

from __future__ import annotations

import subprocess

import pytest

from scanner.hostprobes.nginx import NGINX_REDACT, listen_of, parse_nginx
from scanner.hostprobes.nginx_syntax import Resolver, parse
from tests.fixtures.hostprobes import load


def test_words_quotes_escapes_variables_and_comments_read_as_nginx_reads_them():
    text = (
        "http {\n"
        "    add_header X-Note \"a; b {c}\" always;   # a comment with ; and }\n"
        "    set $x '${host}-$uri';\n"
        "    return 200 a#b;\n"
        "    log_format main '$remote_addr \\'q\\''\n"
        "                    \"$request\";\n"
        "    server { listen 80; server_name a.test; }\n"
        "}\n")
    parsed = parse("/etc/nginx/nginx.conf", text)
    assert parsed.errors == []
    http = parsed.nodes[0]
    names = [(n.name, n.args, n.line, n.alone) for n in http.children]
    assert names[0] == ("add_header", ["X-Note", "a; b {c}", "always"], 2, True)
    assert names[1] == ("set", ["$x", "${host}-$uri"], 3, True)
    assert names[2] == ("return", ["200", "a#b"], 4, True)  # `#` inside a word starts no comment
    assert names[3] == ("log_format", ["main", "$remote_addr 'q'", "$request"], 5, False)  # two lines
    server = http.children[4]
    assert server.children is not None and [c.name for c in server.children] == ["listen", "server_name"]
    assert not server.children[0].alone  # shares its line with the block and the other directive
    assert http.children[0].text == 'add_header X-Note "a; b {c}" always;' and http.children[0].indent == "    "


@pytest.mark.parametrize("text, error", [
    ("http {\n  server {\n", "ends inside a block"),
    ("events { }\n}\n", "unexpected '}'"),
    ("worker_processes 1\n", "ends inside directive 'worker_processes'"),
    ("http { gzip on }\n", "directive 'gzip' has no ';'"),
])
def test_broken_files_are_reported_and_what_came_before_is_kept(text, error):
    parsed = parse("/x.conf", text)
    assert any(error in e for e in parsed.errors), parsed.errors


def test_includes_expand_in_place_relative_to_the_main_file_in_sorted_glob_order():
    files = {
        "/etc/nginx/nginx.conf": "http {\n  include conf.d/*.conf;\n  include /etc/nginx/loop.conf;\n}\n",
        "/etc/nginx/conf.d/b.conf": "server { listen 8081; }\n",
        "/etc/nginx/conf.d/a.conf": "server { listen 8080; }\n",
        "/etc/nginx/conf.d/sub/c.conf": "server { listen 8082; }\n",  # `*` does not cross `/`
        "/etc/nginx/loop.conf": "include loop.conf;\n",
    }
    resolver = Resolver(files, "/etc/nginx")
    http = resolver.tree("/etc/nginx/nginx.conf")[0]
    assert [(c.name, c.args[0] if c.children is None else c.children[0].args[0], c.path) for c in http.children] == [
        ("server", "8080", "/etc/nginx/conf.d/a.conf"), ("server", "8081", "/etc/nginx/conf.d/b.conf")]
    assert any("deeper than 16" in e for e in resolver.errors)


@pytest.mark.parametrize("args, expected", [
    (["443", "ssl", "http2", "default_server"], (None, 443, True, True)),
    (["[::]:443", "ssl"], ("[::]", 443, True, False)),
    (["[::1]"], ("[::1]", 80, False, False)),
    (["10.0.0.1:8080", "default"], ("10.0.0.1", 8080, False, True)),
    (["*:80"], (None, 80, False, False)),
    (["localhost"], ("localhost", 80, False, False)),
    (["unix:/run/app.sock"], None),
    (["127.0.0.1:99999"], None),
])
def test_listen_forms(args, expected):
    node = parse("/x.conf", f"listen {' '.join(args)};\n").nodes[0]
    got = listen_of(node, ssl_on=False)
    assert (None if got is None else (got.address, got.port, got.ssl, got.default_server)) == expected


def test_secret_values_are_masked_on_the_host_and_the_file_still_parses(tmp_path):
    conf = tmp_path / "site.conf"
    conf.write_text(
        "server {\n"
        "    listen 80;\n"
        "    server_tokens off;\n"
        "    proxy_set_header Authorization \"Basic dXNlcjpTRUNSRVQx\";\n"
        "    fastcgi_param DB_PASSWORD s3cr3t-2;\n"
        "    secure_link_secret s3cr3t-3;\n"
        "    proxy_pass http://127.0.0.1:8080;\n"
        "}\n")
    masked = subprocess.run(["sh", "-c", f"{NGINX_REDACT} < {conf}"], capture_output=True, text=True, check=True).stdout
    assert not any(s in masked for s in ("dXNlcjpTRUNSRVQx", "s3cr3t-2", "s3cr3t-3"))
    # what is no secret stays as written, and every line still ends its directive
    assert "server_tokens off;" in masked and "proxy_pass http://127.0.0.1:8080;" in masked
    parsed = parse(str(conf), masked)
    assert parsed.errors == [] and [c.name for c in parsed.nodes[0].children] == [
        "listen", "server_tokens", "proxy_set_header", "fastcgi_param", "secure_link_secret", "proxy_pass"]


def test_the_lab_legacy_host_as_recorded():
    cfg = parse_nginx(load("nginx", "lab_legacy"))
    assert cfg.master_pid is not None and cfg.main_file == "/etc/nginx/nginx.conf"
    assert [d.text for d in cfg.http("server_tokens")] == ["server_tokens on;"]
    by_port = {lst.port: s for s in cfg.servers for lst in s.listens}
    assert set(by_port) == {80, 443, 8443} and by_port[443].listens[0].ssl and by_port[443].listens[0].default_server
    assert [d.text for d in by_port[8443].own("ssl_protocols")] == ["ssl_protocols TLSv1 TLSv1.1;"]
    assert not any(s.own("add_header") or s.header_blocks for s in cfg.servers)


def test_the_debian_package_default_with_containers_running_beside_it():
    """Recorded with the lab up: its nginx masters live in other mount namespaces (containers, to
    this host), so none is taken as this host's; the packaged files are read all the same."""
    cfg = parse_nginx(load("nginx", "debian12_package_default"))
    assert cfg.master_pid is None and cfg.masters_elsewhere == 4
    assert cfg.pid_file == "/run/nginx.pid" and cfg.version == "1.22.1" and cfg.openssl_running == "3.0.19"
    assert "/etc/nginx/sites-enabled/default" in cfg.files_read and cfg.files_missing == ()
    [server] = cfg.servers
    assert {(lst.address, lst.port, lst.default_server) for lst in server.listens} == {(None, 80, True), ("[::]", 80, True)}
    assert [d.args for d in cfg.http("ssl_protocols")] == [("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")]
