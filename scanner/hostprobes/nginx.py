"""nginx: the running master's command line, `nginx -V`, and every configuration file nginx reads,
from the main file through its `include` lines; the parser reads them as nginx does
(nginx_syntax) into the http and server blocks.

Why not `nginx -T`: it parses the whole configuration as nginx would start with it, and that
creates what is missing (temp directories, log files); the read-only rule forbids it. The files
are read instead.

The running master is the one in the probe's own mount namespace: a container's nginx, which the
host also lists in /proc, reads the container's files (it is only counted). Without root the
namespaces of root's processes cannot be compared, and the first master found is taken.

Limits, said once here: the walk on the host follows `include` lines that start a line (a second
include after a `{` or `;` on the same line is not fetched, and the parser reports it as not
found); the main file is the running master's `-c` file (when absolute), else `nginx -V`'s
--conf-path (under its --prefix when relative), else nginx's compiled default
/usr/local/nginx/conf/nginx.conf; variables in include paths are not expanded (nginx does not either).
Secrets: lines that set a header or parameter named like a credential, and directives named
like one (`secure_link_secret`), have their value masked on the host.
"""

from __future__ import annotations

import posixpath
import re
import shlex

from scanner.facts.directive import Directive
from scanner.facts.nginx import NginxConfig, NginxListen, NginxServer
from scanner.hostprobes import Probe
from scanner.hostprobes.frames import PRELUDE, any_case, as_int, cap_lines, masked_dump, split_frames
from scanner.hostprobes.nginx_syntax import Node, Resolver

MAX_SERVERS = 1000
MAX_DIRECTIVES = 300  # per block
_SECRET_WORDS = ("secret", "password", "passwd", "credential", "apikey", "api_key", "api-key")
# header and parameter names say more (`server_tokens`, a directive, is no secret)
_SECRET_HEADER_WORDS = (*_SECRET_WORDS, "token", "authorization", "cookie")


_SECRET, _SECRET_HEADER = any_case(_SECRET_WORDS), any_case(_SECRET_HEADER_WORDS)
# the value of `proxy_set_header Authorization …`, `fastcgi_param DB_PASSWORD …`, and of a
# directive named like a secret, masked; the `;` stays so the file still parses
NGINX_REDACT = " ".join([
    "sed -E",
    "-e", shlex.quote(rf"s/^([[:space:]]*[A-Za-z_]*(header|param|_env|set)[[:space:]]+[^[:space:]]*{_SECRET_HEADER}"
                      rf"[^[:space:]]*[[:space:]]+)(\"[^\"]*\"|'[^']*'|[^;]*)/\1\"***\"/"),
    "-e", shlex.quote(rf"s/^([[:space:]]*[A-Za-z_]*{_SECRET}[A-Za-z_]*[[:space:]]+)(\"[^\"]*\"|'[^']*'|[^;]*)/\1\"***\"/"),
])

NGINX_SH = PRELUDE + rf"""
{masked_dump("ngdump", NGINX_REDACT)}walk() {{
  if [ "$2" -gt 16 ]; then echo "@@toodeep $1"; return 0; fi
  if [ ! -e "$1" ]; then echo "@@nofile $1"; return 0; fi
  [ -f "$1" ] || return 0
  ngdump "$1"
  [ -r "$1" ] || return 0
  sed -n 's/^[[:space:]]*include[[:space:]][[:space:]]*\([^;]*\);.*$/\1/p' "$1" | tr -d "\"'" | while read -r pats; do
    for p in $pats; do
      case "$p" in /*) ;; *) p="$CONFDIR/$p" ;; esac
      for f in $p; do walk "$f" $(($2 + 1)); done
    done
  done
}}
NGINX=''
for c in nginx /usr/sbin/nginx /usr/local/sbin/nginx /usr/local/nginx/sbin/nginx; do
  if have "$c"; then NGINX=$(command -v "$c"); break; fi
done
MAIN=''
SELFNS=$(readlink /proc/self/ns/mnt 2>/dev/null)
for d in /proc/[0-9]*; do
  [ "$(cat "$d/comm" 2>/dev/null)" = nginx ] || continue
  t=$(tr '\000\n' '  ' < "$d/cmdline" 2>/dev/null | cut -c1-400)
  case "$t" in "nginx: master process"*) ;; *) continue ;; esac
  # a container's nginx (another mount namespace) reads another /etc: not this host's
  ns=$(readlink "$d/ns/mnt" 2>/dev/null)
  if [ -n "$ns" ] && [ -n "$SELFNS" ] && [ "$ns" != "$SELFNS" ]; then echo "@@container_master ${{d#/proc/}}"; continue; fi
  echo "@@master ${{d#/proc/}} $t"
  set -f; set -- $t; set +f
  while [ $# -gt 0 ]; do [ "$1" = -c ] && [ $# -gt 1 ] && MAIN=$2; shift; done
  break
done
case "$MAIN" in /*) ;; *) MAIN='' ;; esac  # a -c relative to a -p prefix: taken from nginx -V instead
if [ -n "$NGINX" ]; then
  echo "@@nginx $NGINX"
  qrun version "$NGINX" -V
  if [ -z "$MAIN" ]; then
    V=$("$NGINX" -V 2>&1)
    MAIN=$(printf '%s\n' "$V" | sed -n 's/.*--conf-path=\([^ ]*\).*/\1/p')
    PREFIX=$(printf '%s\n' "$V" | sed -n 's/.*--prefix=\([^ ]*\).*/\1/p')
    # nginx's compiled defaults: conf/nginx.conf under the prefix, /usr/local/nginx
    case "$MAIN" in /*) ;; "") MAIN="${{PREFIX:-/usr/local/nginx}}/conf/nginx.conf" ;; *) MAIN="${{PREFIX:-/usr/local/nginx}}/$MAIN" ;; esac
  fi
elif [ -z "$MAIN" ]; then
  echo "@@missing nginx"
fi
if [ -n "$NGINX$MAIN" ]; then
  [ -n "$MAIN" ] || MAIN=/usr/local/nginx/conf/nginx.conf
  CONFDIR=$(dirname "$MAIN")
  echo "@@main $MAIN"
  walk "$MAIN" 0
fi
"""

VERSION_RE = re.compile(r"nginx version: \S+?/(\d+\.\d+\.\d+)")
OPENSSL_RE = re.compile(r"(built|running) with OpenSSL (\d+\.\d+\.\d+\w*)")
PID_PATH_RE = re.compile(r"--pid-path=(\S+)")
PREFIX_RE = re.compile(r"--prefix=(\S+)")
HTTP_DEFAULT_PORT = 80


def directive(node: Node) -> Directive:
    return Directive(name=node.name, args=tuple(node.args), location=node.location, text=node.text,
                          alone=node.alone, indent=node.indent)


def listen_of(node: Node, ssl_on: bool) -> NginxListen | None:
    """`listen 443 ssl`, `listen [::]:443`, `listen 10.0.0.1:80 default_server`, `listen 8080`;
    None for a UNIX socket or a port that is no number."""
    if not node.args or node.args[0].startswith("unix:"):
        return None
    where, flags = node.args[0], set(node.args[1:])
    if where.isdigit():
        address, port_text = None, where
    elif where.startswith("["):
        address, _, port_text = where.partition("]:")
        address = address + "]" if port_text else where
        port_text = port_text or str(HTTP_DEFAULT_PORT)
    elif ":" in where:
        address, port_text = where.rsplit(":", 1)
    else:
        address, port_text = where, str(HTTP_DEFAULT_PORT)
    port = as_int(port_text, signed=False)
    if port is None or not 0 < port < 65536:
        return None
    return NginxListen(address=None if address in (None, "*") else address, port=port,
                       ssl=ssl_on or "ssl" in flags, default_server=bool(flags & {"default_server", "default"}),
                       directive=directive(node))


def header_blocks(nodes: list[Node]) -> list[str]:
    """Blocks (at any depth) that set add_header of their own."""
    found = []
    for node in nodes:
        if node.children is not None:
            if any(c.name == "add_header" and c.children is None for c in node.children):
                found.append(node.location)
            found += header_blocks(node.children)
    return found


def server_of(node: Node) -> NginxServer:
    children = node.children or []
    simple = [c for c in children if c.children is None]
    ssl_on = any(c.name == "ssl" and c.args[:1] == ["on"] for c in simple)
    listens = [lst for c in simple if c.name == "listen" and (lst := listen_of(c, ssl_on)) is not None]
    if not any(c.name == "listen" for c in simple):
        # no listen at all: nginx listens on *:80 (as root)
        listens = [NginxListen(port=HTTP_DEFAULT_PORT, ssl=ssl_on, directive=None)]
    names = [a for c in simple if c.name == "server_name" for a in c.args]
    return NginxServer(location=node.location, listens=tuple(listens), names=tuple(names),
                       directives=tuple(directive(c) for c in simple[:MAX_DIRECTIVES]),
                       header_blocks=tuple(header_blocks(children)))


def parse_nginx(text: str) -> NginxConfig:
    frames = split_frames(text)
    binary = frames.value("nginx")
    master = frames.value("master")
    main = frames.value("main")
    version_block = frames.commands.get("version")
    version_text = version_block.output if version_block else ""
    vm = VERSION_RE.search(version_text)
    openssl = dict((kind, number) for kind, number in OPENSSL_RE.findall(version_text))
    files = {path: frame.text for path, frame in frames.files.items()}
    errors = [f"{path}: cut off by the output cap" for path, frame in frames.files.items() if not frame.complete]
    errors += [f"{path}: includes nested deeper than 16" for path in frames.args("toodeep")]
    http_directives: list[Directive] = []
    servers: list[NginxServer] = []
    pid_file = None
    if main:
        resolver = Resolver(files, posixpath.dirname(main))
        tree = resolver.tree(main)
        errors += resolver.errors
        for node in tree:
            if node.name == "pid" and node.children is None and node.args:
                pid_file = node.args[0]
            if node.name == "http" and node.children is not None:
                http_directives += [directive(c) for c in node.children if c.children is None][:MAX_DIRECTIVES]
                servers += [server_of(c) for c in node.children if c.name == "server" and c.children is not None]
    if len(servers) > MAX_SERVERS:
        errors.append(f"{len(servers)} server blocks: the first {MAX_SERVERS} kept")
    if pid_file is None and (pm := PID_PATH_RE.search(version_text)):
        pid_file = pm.group(1)
    if pid_file is not None and not pid_file.startswith("/"):
        prefix = PREFIX_RE.search(version_text)
        pid_file = posixpath.join(prefix.group(1), pid_file) if prefix else None
    master_pid, _, master_command = (master or "").partition(" ")
    installed = True if binary or master else (False if "nginx" in frames.missing else None)
    return NginxConfig(
        installed=installed, binary=binary, version=vm.group(1) if vm else None,
        openssl_running=openssl.get("running") or openssl.get("built"),
        master_pid=as_int(master_pid, signed=False), master_command=master_command or None,
        masters_elsewhere=len(frames.args("container_master")),
        main_file=main, pid_file=pid_file, http_directives=tuple(http_directives),
        servers=tuple(servers[:MAX_SERVERS]), files_read=tuple(files), files_denied=tuple(frames.denied),
        # an include glob that matched nothing is no missing file: nginx reads nothing for it
        files_missing=tuple(p for p in frames.args("nofile") if not any(c in p for c in "*?[")), errors=cap_lines(errors + frames.stray))


PROBES = [
    Probe("nginx", NGINX_SH, parse_nginx, root=True),
]
