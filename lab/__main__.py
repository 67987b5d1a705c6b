"""python3 -m lab up [--hosts N] [--zones] [--with-hostile] | down | status [--json] | files | inventory [--hosts N]"""
import argparse
import json
import os
import secrets
import sys

from . import hostile, inventory, lifecycle
from .hosts import DEFAULT_HOSTS, MAX_HOSTS, LabError, plan_hosts
from .layout import LAB_EXPECTED, LAB_INVENTORY, LAB_WAIVERS, STATE_DIR

HOSTILE_SUDO_PASSWORD = STATE_DIR / "hostile-sudo.password"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python3 -m lab",
                                     description="readyscan test lab: real hosts in network namespaces")
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="bring the lab up (idempotent; grows, shrinks or repairs it)")
    up.add_argument("--hosts", type=int, default=DEFAULT_HOSTS,
                    help=f"number of hosts, 1-{MAX_HOSTS} (default {DEFAULT_HOSTS}: one per profile)")
    up.add_argument("--zones", action="store_true",
                    help="also the zone firewall and a scanner vantage per zone (lab/zones.py, .state/zones.yaml)")
    up.add_argument("--with-hostile", action="store_true",
                    help="also build the hostile and broken hosts of lab/hostile.py (.state/hostile.yaml)")
    commands.add_parser("down", help="remove every namespace, link, process and file of the lab")
    status = commands.add_parser("status", help="hosts, addresses and which daemons are alive")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    commands.add_parser("files", help="rewrite lab/inventory.yaml and lab/expected.yaml")
    show = commands.add_parser("inventory", help="print the inventory of a lab of N hosts")
    show.add_argument("--hosts", type=int, default=DEFAULT_HOSTS)
    return parser.parse_args(argv)


def log(message: str) -> None:
    print(message, file=sys.stderr)   # stdout carries only the status output


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        if args.command == "up":
            lifecycle.up(args.hosts, log=log, with_zones=args.zones)
            if args.with_hostile:
                up_hostile()
        elif args.command == "down":
            lifecycle.down(log=log)
        elif args.command == "status":
            report = lifecycle.status()
            print(json.dumps(report, indent=1) if args.json else lifecycle.format_status(report), end="")
            return 0 if report["healthy"] else 1
        elif args.command == "files":
            hosts = plan_hosts(DEFAULT_HOSTS)
            LAB_INVENTORY.write_text(inventory.inventory_text(hosts, state_prefix=".state/"))
            LAB_EXPECTED.write_text(inventory.expected_text(hosts))
            LAB_WAIVERS.write_text(inventory.waivers_text())
            log(f"wrote {LAB_INVENTORY}, {LAB_EXPECTED} and {LAB_WAIVERS}")
        elif args.command == "inventory":
            print(inventory.inventory_text(plan_hosts(args.hosts), state_prefix=".state/"), end="")
    except LabError as error:
        print(f"lab: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("lab: interrupted; `python3 -m lab down` removes whatever was started", file=sys.stderr)
        return 130
    return 0


def up_hostile() -> None:
    """The hostile hosts, with a fresh sudo password for hostile-sudo kept in a 0600 file."""
    password = secrets.token_urlsafe(18)
    fd = os.open(HOSTILE_SUDO_PASSWORD, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(password + "\n")
    hostile.up(password, log=log)
    log(f"hostile-sudo's sudo password for rsscan: in {HOSTILE_SUDO_PASSWORD}")


if __name__ == "__main__":
    sys.exit(main())
