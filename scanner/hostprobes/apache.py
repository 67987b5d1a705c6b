"""Apache httpd: the running master's command line, `httpd -v` and `-l`, and every configuration
file httpd reads, from the main file through its `Include` and `IncludeOptional` lines; the
parser reads them as httpd does (apache_syntax) into the main server and its virtual hosts.

Why not `apachectl -S` or `httpd -t -D DUMP_VHOSTS`: they run httpd's whole configuration pass,
and Debian's apache2ctl creates its run and lock directories first; the read-only rule forbids
both. `-v` and `-l` read no configuration (checked with strace).

Which httpd: the running master (an apache2/httpd process whose parent is not one) in the
probe's own mount namespace, its `-f` and `-d`; a master of another mount namespace is a
container's and is only counted. Without a running master, the distribution's place: Debian's
/etc/apache2/apache2.conf, Red Hat's /etc/httpd/conf/httpd.conf, SUSE's /etc/apache2/httpd.conf,
the source build's /usr/local/apache2/conf/httpd.conf.

Limits: the walk on the host follows include lines as written (a `${VAR}` from httpd's
environment, Debian's envvars, is not expanded there; the parser reports it); httpd's compiled
ServerRoot is not asked (`httpd -V` reads the configuration): it is the distribution's, unless
`-d` or a ServerRoot line says otherwise. Secrets: values of keys named like credentials, and
of headers named like one (`RequestHeader set Authorization …`), are masked on the host.
"""

from __future__ import annotations

import re
import shlex

from scanner.facts.apache import ApacheAddress, ApacheConfig, ApacheListen, ApacheVhost
from scanner.facts.directive import Directive
from scanner.hostprobes import Probe
from scanner.hostprobes.apache_syntax import Context, Node, Resolver, module_names
from scanner.hostprobes.frames import KEY_VALUE_SED, PRELUDE, any_case, as_int, cap_lines, masked_dump, split_frames

MAX_VHOSTS = 1000
MAX_DIRECTIVES = 300  # per block
# presentation directives of the main server, left out of the facts (Debian's mime, autoindex
# and negotiation files hold a few hundred of them)
NOISE = frozenset({"loadmodule", "addicon", "addiconbytype", "addiconbyencoding", "addlanguage", "addcharset",
                   "addtype", "removetype", "browsermatch", "logformat", "languagepriority", "addhandler"})
_HEADER_SECRETS = ("auth", "token", "cookie", "secret", "pass", "api-key", "apikey", "api_key")
_NAME_SECRETS = ("password", "passwd", "secret", "credential", "dbdparams")
# Masked on the host: `key=value` pairs named like a secret (DBDParams, proxy URLs), the value of
# a header named like one (`RequestHeader set Authorization …`), and the arguments of a directive
# named like one (`AuthLDAPBindPassword`). Not the shared REDACT_SED: its `Key value` rule would
# mask `ServerTokens`.
APACHE_REDACT = " ".join([
    "sed -E -e", shlex.quote(KEY_VALUE_SED), "-e", shlex.quote(
        r"s/^([[:space:]]*[A-Za-z]*[Hh][Ee][Aa][Dd][Ee][Rr][[:space:]]+([^[:space:]]+[[:space:]]+){0,2}[^[:space:]]*"
        + any_case(_HEADER_SECRETS) + r"[^[:space:]]*[[:space:]]+).*$/\1\"***\"/"),
    "-e", shlex.quote(r"s/^([[:space:]]*[A-Za-z]*" + any_case(_NAME_SECRETS) + r"[A-Za-z]*[[:space:]]+).*$/\1\"***\"/"),
])

APACHE_SH = PRELUDE + rf"""
{masked_dump("apdump", APACHE_REDACT)}walk() {{
  if [ "$2" -gt 16 ]; then echo "@@toodeep $1"; return 0; fi
  if [ ! -e "$1" ]; then echo "@@nofile $1"; return 0; fi
  if [ -d "$1" ]; then
    find "$1" -type f 2>/dev/null | LC_ALL=C sort | while read -r f; do walk "$f" $(($2 + 1)); done
    return 0
  fi
  [ -f "$1" ] || return 0
  apdump "$1"
  [ -r "$1" ] || return 0
  sed -n -E 's/^[[:space:]]*[Ii][Nn][Cc][Ll][Uu][Dd][Ee]([Oo][Pp][Tt][Ii][Oo][Nn][Aa][Ll])?[[:space:]]+(.*[^[:space:]])[[:space:]]*$/\2/p' "$1" \
    | tr -d "\"'" | while read -r pats; do
    for p in $pats; do
      case "$p" in /*) ;; *) p="$ROOT/$p" ;; esac
      for f in $p; do walk "$f" $(($2 + 1)); done
    done
  done
}}
BIN=''
for c in apache2 httpd /usr/sbin/apache2 /usr/sbin/httpd /usr/local/apache2/bin/httpd; do
  if have "$c"; then BIN=$(command -v "$c"); break; fi
done
MAIN=''; ROOT=''
SELFNS=$(readlink /proc/self/ns/mnt 2>/dev/null)
for d in /proc/[0-9]*; do
  comm=$(cat "$d/comm" 2>/dev/null)
  case "$comm" in apache2|httpd|httpd-prefork|httpd-worker|httpd-event) ;; *) continue ;; esac
  ppid=$(sed -n 's/^PPid:[[:space:]]*//p' "$d/status" 2>/dev/null)
  [ "$(cat "/proc/$ppid/comm" 2>/dev/null)" = "$comm" ] && continue
  ns=$(readlink "$d/ns/mnt" 2>/dev/null)
  if [ -n "$ns" ] && [ -n "$SELFNS" ] && [ "$ns" != "$SELFNS" ]; then echo "@@container_master ${{d#/proc/}}"; continue; fi
  t=$(tr '\000\n' '  ' < "$d/cmdline" 2>/dev/null | cut -c1-400)
  echo "@@master ${{d#/proc/}} $t"
  exe=$(readlink "$d/exe" 2>/dev/null)
  [ -n "$exe" ] && [ -x "$exe" ] && BIN=$exe
  set -f; set -- $t; set +f
  while [ $# -gt 0 ]; do
    case "$1" in -f) [ $# -gt 1 ] && MAIN=$2 ;; -d) [ $# -gt 1 ] && ROOT=$2 ;; esac
    shift
  done
  break
done
if [ -z "$MAIN" ]; then
  for m in /etc/apache2/apache2.conf /etc/httpd/conf/httpd.conf /etc/apache2/httpd.conf /usr/local/apache2/conf/httpd.conf; do
    if [ -e "$m" ]; then MAIN=$m; break; fi
  done
fi
if [ -z "$ROOT" ]; then
  case "$MAIN" in
    /etc/apache2/apache2.conf) ROOT=/etc/apache2 ;;
    /etc/httpd/*) ROOT=/etc/httpd ;;
    /etc/apache2/httpd.conf) ROOT=/srv/www ;;
    /usr/local/apache2/*) ROOT=/usr/local/apache2 ;;
    *) ROOT=$(dirname "${{MAIN:-/}}") ;;
  esac
fi
case "$MAIN" in /*|'') ;; *) MAIN="$ROOT/$MAIN" ;; esac
if [ -n "$BIN" ]; then
  echo "@@apache $BIN"
  dir=$(dirname "$BIN")
  for c in "$dir/apache2ctl" "$dir/apachectl" /usr/sbin/apache2ctl /usr/sbin/apachectl; do
    if [ -x "$c" ]; then echo "@@ctl $c"; break; fi
  done
  qrun version "$BIN" -v
  qrun compiled "$BIN" -l
  have openssl && qrun openssl openssl version
elif [ -z "$MAIN" ]; then
  echo "@@missing apache"
fi
if [ -n "$MAIN" ]; then
  # a ServerRoot line in the main file moves relative includes (httpd reads it before them)
  r=$(sed -n -E 's/^[[:space:]]*[Ss][Ee][Rr][Vv][Ee][Rr][Rr][Oo][Oo][Tt][[:space:]]+"?([^" ]+)"?.*$/\1/p' "$MAIN" 2>/dev/null | head -n 1)
  [ -n "$r" ] && ROOT=$r
  echo "@@root $ROOT"
  echo "@@main $MAIN"
  walk "$MAIN" 0
fi
"""

VERSION_RE = re.compile(r"Server version:\s*Apache/(\d+\.\d+\.\d+)")
OPENSSL_RE = re.compile(r"OpenSSL (\d+\.\d+\.\d+\w*)")
MASTER_OPTIONS = ("-f", "-d", "-D")


def directive(node: Node) -> Directive:
    return Directive(name=node.name, args=tuple(node.args), location=node.location, text=node.text,
                     alone=node.alone, indent=node.indent)


def address_of(word: str) -> ApacheAddress | None:
    """`*:443`, `_default_:443`, `10.0.0.1:80`, `[::1]:8443`, `*`, `host.example`."""
    if word.startswith("["):
        host, _, port_text = word[1:].partition("]")
        port_text = port_text.lstrip(":")
        host = f"[{host}]"
    elif word.count(":") == 1:
        host, port_text = word.split(":")
    else:
        host, port_text = word, ""
    port = as_int(port_text, signed=False) if port_text and port_text != "*" else None
    if port_text and port_text != "*" and (port is None or not 0 < port < 65536):
        return None
    return ApacheAddress(address=None if host in ("*", "_default_") else host, port=port)


def listen_of(node: Node) -> ApacheListen | None:
    """`Listen 80`, `Listen 10.0.0.1:443`, `Listen [::]:443 https`."""
    if not node.args:
        return None
    where = node.args[0]
    host, _, port_text = where.rpartition(":") if ":" in where else ("", "", where)
    port = as_int(port_text, signed=False)
    if port is None or not 0 < port < 65536:
        return None
    host = host.strip("[]") if host.startswith("[") else host
    return ApacheListen(address=host or None, port=port, directive=directive(node))


def nested_headers(nodes: list[Node]) -> list[str]:
    found = []
    for node in nodes:
        if node.children is None:
            continue
        for child in node.children:
            if child.children is None and child.name == "header":
                name = next((a for a in child.args if a.lower() not in ("always", "onsuccess", "set", "unset",
                             "append", "merge", "add", "setifempty", "edit", "edit*", "echo", "note")), "?")
                found.append(f"{child.location} {name}")
        found += nested_headers(node.children)
    return found


def vhost_of(node: Node) -> ApacheVhost:
    children = node.children or []
    simple = [c for c in children if c.children is None]
    names = [a for c in simple if c.name == "servername" for a in c.args[:1]]
    names += [a for c in simple if c.name == "serveralias" for a in c.args]
    addresses = [a for w in node.args if (a := address_of(w)) is not None]
    return ApacheVhost(location=node.location, opening=directive(node), addresses=tuple(addresses),
                       names=tuple(names), directives=tuple(directive(c) for c in simple[:MAX_DIRECTIVES]),
                       nested_headers=tuple(nested_headers(children)))


def master_args(command: str) -> tuple[str, ...]:
    """The options that choose the instance (-f, -d, -D), as the master was started with them."""
    words = command.split()
    out: list[str] = []
    for i, word in enumerate(words):
        if word in MASTER_OPTIONS and i + 1 < len(words):
            out += [word, words[i + 1]]
        elif word[:2] in MASTER_OPTIONS and len(word) > 2:
            out += [word[:2], word[2:]]
    return tuple(out)


def parse_apache(text: str) -> ApacheConfig:
    frames = split_frames(text)
    binary = frames.value("apache")
    master = frames.value("master")
    main, root = frames.value("main"), frames.value("root")
    version_block, compiled, openssl = (frames.commands.get(k) for k in ("version", "compiled", "openssl"))
    vm = VERSION_RE.search(version_block.output if version_block else "")
    om = OPENSSL_RE.search(openssl.output if openssl else "")
    master_pid, _, master_command = (master or "").partition(" ")
    args = master_args(master_command)
    defines = {args[i + 1]: "" for i in range(0, len(args), 2) if args[i] == "-D"}
    builtin = {n for line in (compiled.output if compiled else "").splitlines()
               if (word := line.strip()).endswith(".c") for n in module_names(word)}
    files = {path: frame.text for path, frame in frames.files.items()}
    errors = [f"{path}: cut off by the output cap" for path, frame in frames.files.items() if not frame.complete]
    errors += [f"{path}: includes nested deeper than 16" for path in frames.args("toodeep")]
    context = Context(server_root=root or "/", modules=set(builtin), defines=defines, version=vm.group(1) if vm else "")
    server: list[Directive] = []
    listens: list[ApacheListen] = []
    vhosts: list[ApacheVhost] = []
    if main:
        resolver = Resolver(files, context)
        tree = resolver.tree(main)
        errors += resolver.errors
        for node in tree:
            if node.children is None:
                if node.name not in NOISE:
                    server.append(directive(node))
                if node.name == "listen" and (lst := listen_of(node)) is not None:
                    listens.append(lst)
            elif node.name == "virtualhost":
                vhosts.append(vhost_of(node))
    if len(vhosts) > MAX_VHOSTS:
        errors.append(f"{len(vhosts)} virtual hosts: the first {MAX_VHOSTS} kept")
    installed = True if binary or master else (False if "apache" in frames.missing else None)
    return ApacheConfig(
        installed=installed, binary=binary, ctl=frames.value("ctl"), version=vm.group(1) if vm else None,
        openssl=om.group(1) if om else None, master_pid=as_int(master_pid, signed=False),
        master_command=master_command or None, master_args=args,
        masters_elsewhere=len(frames.args("container_master")), server_root=context.server_root if main else root,
        main_file=main, modules=tuple(sorted(m for m in context.modules if m.endswith("_module"))),
        server_directives=tuple(server[:MAX_DIRECTIVES * 4]), listens=tuple(listens), vhosts=tuple(vhosts[:MAX_VHOSTS]),
        files_read=tuple(files), files_denied=tuple(frames.denied),
        files_missing=tuple(p for p in frames.args("nofile") if not any(c in p for c in "*?[")),
        errors=cap_lines(errors + frames.stray))


PROBES = [
    Probe("apache", APACHE_SH, parse_apache, root=True),
]
