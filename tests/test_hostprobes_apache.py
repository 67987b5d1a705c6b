"""The Apache probe's reader (scanner/hostprobes/apache_syntax.py) and parser
(scanner/hostprobes/apache.py): httpd's line syntax, includes relative to ServerRoot, conditional
sections evaluated in reading order, virtual host addresses, masking on the host, and two
recordings of Debian 12's packaged configuration (tests/fixtures/hostprobes/apache/, also checked
against their golden files by tests/test_golden_facts.py). The fix plan against a real httpd is
tests/test_fixplan_apache.py."""

from __future__ import annotations

import re
import subprocess

import pytest

from reports.fixplan.apache import server_tokens
from reports.fixplan.facts import HostFacts, NotAutomatic
from scanner.hostprobes.apache import APACHE_REDACT, address_of, listen_of, master_args, parse_apache
from scanner.hostprobes.apache_syntax import Context, Resolver, module_names, parse, words
from scanner.model import Message, Result, Severity, Status
from tests.fixtures.hostprobes import load


def tree(files: dict[str, str], **context) -> tuple[list, list[str]]:
    resolver = Resolver(files, Context(server_root="/etc/httpd", **context))
    nodes = resolver.tree("/etc/httpd/conf/httpd.conf")
    return nodes, resolver.errors


def test_words_quotes_continuations_and_comments_read_as_httpd_reads_them():
    assert words('always set X-Test "a b \\" c" \'d e\' f') == ["always", "set", "X-Test", 'a b " c', "d e", "f"]
    parsed = parse("/f.conf", "# a comment\n  ServerName portal.test # not a comment in httpd\n"
                              "Header always set \\\n    X-Long \"v\"\n\t<VirtualHost *:443>\n</virtualhost>\n")
    name, header, vhost = parsed.nodes
    assert (name.name, name.args, name.line) == ("servername", ["portal.test", "#", "not", "a", "comment", "in", "httpd"], 2)
    assert (header.name, header.args, header.line, header.alone) == ("header", ["always", "set", "X-Long", "v"], 3, False)
    assert (vhost.name, vhost.args, vhost.indent, vhost.children) == ("virtualhost", ["*:443"], "\t", [])
    assert parsed.errors == []


@pytest.mark.parametrize("text,error", [
    ("<VirtualHost *:80>\nServerName a\n", "ends inside <virtualhost>"),
    ("</Directory>\n", "'</directory>' closes no open section"),
    ("<VirtualHost *:80\n", "without its closing '>'"),
])
def test_broken_files_are_reported(text, error):
    assert error in " ".join(parse("/f.conf", text).errors)


def test_includes_are_relative_to_server_root_as_it_stands_and_directories_read_whole():
    files = {
        "/etc/httpd/conf/httpd.conf": "Include conf.modules.d/*.conf\nIncludeOptional conf.d/*.conf\n"
                                      "ServerRoot /srv/other\nInclude extra\nIncludeOptional missing/*.conf\n"
                                      "Include /etc/httpd/conf/absent.conf\n",
        "/etc/httpd/conf.modules.d/00-base.conf": "LoadModule headers_module modules/mod_headers.so\n",
        "/etc/httpd/conf.d/b.conf": "ServerTokens Prod\n",
        "/etc/httpd/conf.d/a.conf": "ServerSignature Off\n",
        "/etc/httpd/conf.d/sub/c.conf": "TraceEnable Off\n",  # `*` does not cross `/`
        "/srv/other/extra/z.conf": "Timeout 60\n",
        "/srv/other/extra/deeper/y.conf": "KeepAlive Off\n",
    }
    nodes, errors = tree(files)
    assert [n.name for n in nodes] == ["loadmodule", "serversignature", "servertokens", "serverroot", "keepalive", "timeout"]
    assert errors == ["/etc/httpd/conf/httpd.conf:6: Include /etc/httpd/conf/absent.conf names no file that was read"]


def test_conditional_sections_follow_the_modules_loaded_so_far_defines_and_version():
    main = ("<IfModule headers_module>\nHeader set A 1\n</IfModule>\n"
            "LoadModule headers_module modules/mod_headers.so\n"
            "<IfModule mod_headers.c>\nHeader set B 1\n</IfModule>\n"
            "<IfModule !mod_ssl.c>\nHeader set C 1\n</IfModule>\n"
            "<IfDefine FOREGROUND>\nHeader set D 1\n</IfDefine>\n"
            "Define PORTAL\n<IfDefine PORTAL>\n<IfDefine !NOPE>\nHeader set E 1\n</IfDefine>\n</IfDefine>\n"
            "<IfVersion >= 2.4.36>\nHeader set F 1\n</IfVersion>\n<IfVersion < 2.4>\nHeader set G 1\n</IfVersion>\n"
            "<IfModule so_module>\nHeader set H 1\n</IfModule>\n")
    nodes, _ = tree({"/etc/httpd/conf/httpd.conf": main}, modules=module_names("mod_so.c"),
                    defines={"FOREGROUND": ""}, version="2.4.62")
    assert [n.args[1] for n in nodes if n.name == "header"] == ["B", "C", "D", "E", "F", "H"]


def test_define_variables_expand_and_undefined_ones_in_includes_are_reported():
    main = "Define SITES conf.d\nInclude ${SITES}/*.conf\nInclude ${FROM_ENV}/x.conf\nErrorLog ${APACHE_LOG_DIR}/e\n"
    nodes, errors = tree({"/etc/httpd/conf/httpd.conf": main, "/etc/httpd/conf.d/a.conf": "ServerTokens Prod\n"})
    assert [(n.name, n.args) for n in nodes] == [("define", ["SITES", "conf.d"]), ("servertokens", ["Prod"]),
                                                 ("errorlog", ["${APACHE_LOG_DIR}/e"])]
    assert len(errors) == 1 and "${FROM_ENV} is not defined" in errors[0]


@pytest.mark.parametrize("word,address,port", [
    ("*:443", None, 443), ("_default_:443", None, 443), ("10.0.0.1:80", "10.0.0.1", 80),
    ("[::1]:8443", "[::1]", 8443), ("*", None, None), ("portal.test", "portal.test", None), ("*:*", None, None),
])
def test_virtual_host_addresses(word, address, port):
    parsed = address_of(word)
    assert parsed is not None and (parsed.address, parsed.port) == (address, port)


def test_bad_addresses_and_listen_forms():
    assert address_of("*:99999") is None and address_of("*:http") is None
    node = parse("/f", "Listen [::]:443 https\nListen 10.0.0.1:80\nListen 8080\nListen nope\n").nodes
    assert [(lst.address, lst.port) if lst else None for lst in map(listen_of, node)] == [
        ("::", 443), ("10.0.0.1", 80), (None, 8080), None]


def test_the_masters_instance_options_are_kept_in_order():
    assert master_args("/usr/sbin/httpd -DFOREGROUND -f /etc/h.conf -d /srv -k start") == (
        "-D", "FOREGROUND", "-f", "/etc/h.conf", "-d", "/srv")


def test_secret_values_are_masked_on_the_host_and_server_tokens_is_not(tmp_path):
    conf = tmp_path / "site.conf"
    conf.write_text("RequestHeader set Authorization \"Basic c2VjcmV0\"\n"
                    "Header always set X-Api-Token abc123\n"
                    "AuthLDAPBindPassword hunter2\n"
                    "DBDParams \"host=db user=app password=s3cret\"\n"
                    "ProxyPass /app http://user:pw@10.0.0.5/\n"
                    "ServerTokens Full\nHeader always set X-Frame-Options SAMEORIGIN\n")
    masked = subprocess.run(["sh", "-c", f"{APACHE_REDACT} {conf}"], capture_output=True, text=True, check=True).stdout
    for secret in ("c2VjcmV0", "abc123", "hunter2", "s3cret"):
        assert secret not in masked
    assert "ServerTokens Full\n" in masked and "Header always set X-Frame-Options SAMEORIGIN\n" in masked
    assert [n.name for n in parse("/f", masked).nodes] == ["requestheader", "header", "authldapbindpassword",
                                                             "dbdparams", "proxypass", "servertokens", "header"]


def test_the_debian_package_default():
    fact = parse_apache(load("apache", "debian12_package_default"))
    assert (fact.installed, fact.binary, fact.ctl, fact.version) == (True, "/usr/sbin/apache2", "/usr/sbin/apache2ctl", "2.4.71")
    assert (fact.master_pid, fact.server_root, fact.main_file) == (None, "/etc/apache2", "/etc/apache2/apache2.conf")
    assert "headers_module" not in fact.modules and "so_module" in fact.modules and "mpm_event_module" in fact.modules
    assert [(lst.port, lst.directive.location) for lst in fact.listens] == [(80, "/etc/apache2/ports.conf:5")]
    assert [(v.location, [(a.address, a.port) for a in v.addresses]) for v in fact.vhosts] == [
        ("/etc/apache2/sites-enabled/000-default.conf:1", [(None, 80)])]
    assert [d.text for d in fact.server("servertokens")] == ["ServerTokens OS"]
    assert fact.server("loadmodule") == () and fact.errors == ()


def test_the_debian_ssl_site_reads_mod_ssl_settings_only_once_it_is_loaded():
    fact = parse_apache(load("apache", "debian12_ssl_site"))
    assert {"ssl_module", "headers_module"} <= set(fact.modules)
    assert [lst.port for lst in fact.listens] == [80, 443]  # ports.conf's <IfModule ssl_module>
    ssl = fact.on_port(443)
    assert [v.location for v in ssl] == ["/etc/apache2/sites-enabled/default-ssl.conf:1"]
    assert ssl[0].opening.text == "<VirtualHost *:443>" and ssl[0].names == ()
    assert [d.text for d in fact.server("sslprotocol")] == ["SSLProtocol all -SSLv3"]
    assert fact.server("sslprotocol")[0].location == "/etc/apache2/mods-enabled/ssl.conf:71"


def test_server_tokens_is_fixed_for_a_port_only_the_main_server_serves():
    """Red Hat's httpd serves port 80 from the main server, with no <VirtualHost>: ServerTokens is
    a main-server setting, so that port's disclosure is fixed all the same; a port Apache does not
    listen on is another program's."""
    fact = parse_apache(load("apache", "debian12_package_default"))
    facts = fact.model_dump(mode="json") | {"master_pid": 4242, "vhosts": []}

    def disclosed(port: int) -> Result:
        return Result(check_id="http.version_disclosure", host="web", target=f"{port}/tcp", status=Status.FAIL,
                      severity=Severity.LOW, survey_items=("XI.3.4",), evidence={"port": port},
                      message=Message(key="disclosed", params={"headers": ["Server: Apache/2.4.71 (Debian)"]}))

    guarded, handlers = server_tokens(disclosed(80), HostFacts({"apache": facts}))
    [edit] = [t for t in guarded.tasks if "ansible.builtin.replace" in t]
    assert edit["ansible.builtin.replace"]["path"] == "/etc/apache2/conf-enabled/security.conf"
    assert re.search(edit["ansible.builtin.replace"]["regexp"], "ServerTokens OS", re.M)
    assert edit["ansible.builtin.replace"]["replace"].endswith("ServerTokens Prod")
    with pytest.raises(NotAutomatic) as refused:
        server_tokens(disclosed(8080), HostFacts({"apache": facts}))
    assert refused.value.why == "apache_no_server"
