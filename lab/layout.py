"""Where the lab keeps things, and the names it owns.

Everything the lab creates on the machine is named with the ``rslab`` prefix (namespaces,
links, /etc/netns dirs) or lives under ``lab/.state/``, so ``down`` can find and remove it all
without touching anything else.
"""
from pathlib import Path

LAB_DIR = Path(__file__).resolve().parent
STATE_DIR = LAB_DIR / ".state"
HOSTS_STATE_DIR = STATE_DIR / "host"   # per-host private dirs (".state/hosts" is the name map)
NETNS_ETC_DIR = Path("/etc/netns")

PREFIX = "rslab"
BRIDGE = "rslab0"
DOMAIN = "lab.readyscan.test"
SCAN_USER = "rsscan"
# The unit's sysadmin on every host: key login, sudo with a password (tests apply fix plans as it).
ADMIN_USER = "rsadmin"

CA_CERT = STATE_DIR / "ca.pem"
CA_KEY = STATE_DIR / "ca.key"
CLIENT_KEY = STATE_DIR / "id_ed25519"
ADMIN_PASSWORD = STATE_DIR / "admin_password"          # rsadmin's sudo password (0600)
ADMIN_PASSWORD_HASH = STATE_DIR / "admin_password.crypt"  # its SHA-512 crypt, put in each host's shadow
KNOWN_HOSTS = STATE_DIR / "known_hosts"
HOSTS_FILE = STATE_DIR / "hosts"
PIDS_FILE = STATE_DIR / "pids.json"
STATE_INVENTORY = STATE_DIR / "inventory.yaml"
STATE_EXPECTED = STATE_DIR / "expected.yaml"
STATE_WAIVERS = STATE_DIR / "inventory.waivers.yaml"
STATE_ZONED_INVENTORY = STATE_DIR / "zones.yaml"   # the same hosts, scanned from every lab zone
STATE_ZONED_WAIVERS = STATE_DIR / "zones.waivers.yaml"
LOCK_FILE = STATE_DIR / ".lock"
COLLECTOR_LOG = STATE_DIR / "collector.log"

LAB_INVENTORY = LAB_DIR / "inventory.yaml"
LAB_EXPECTED = LAB_DIR / "expected.yaml"
LAB_WAIVERS = LAB_DIR / "inventory.waivers.yaml"
HOSTINIT_SCRIPT = LAB_DIR / "hostinit.py"
# Inside a host: systemd-journald, run by the host's init without systemd, and the PID file the
# init writes for it (journald writes none)
JOURNALD = "/usr/lib/systemd/systemd-journald"
JOURNALD_PIDFILE = "/run/systemd-journald.pid"
LISTENER_SCRIPT = LAB_DIR / "listener.py"
COLLECTOR_SCRIPT = LAB_DIR / "collector.py"


def netns_name(host_name: str) -> str:
    return f"{PREFIX}-{host_name}"


def netns_etc(host_name: str) -> Path:
    return NETNS_ETC_DIR / netns_name(host_name)


def host_state(host_name: str) -> Path:
    return HOSTS_STATE_DIR / host_name
