"""The `readyscan` command line.

stdout carries only what was asked for (a path, a table, a format); progress and diagnostics go
to stderr. Exit codes: 0 no failing check at or above --fail-on, 1 gaps found, 2 invalid input,
3 scan incomplete (interrupted, or hosts that could not be reached). `verify`: 0 the evidence pack
is intact, 1 altered or a signature does not hold, 2 not a pack or a key of the wrong form.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from rich.console import Console

from checks import default_registry
from reports.formats import print_summary
from scanner import __version__, scanfile
from scanner.app.engine import Engine
from scanner.app.exits import EXIT_GAPS, EXIT_INCOMPLETE, EXIT_INPUT, EXIT_OK
from scanner.app.progress import ConsoleProgress
from scanner.collectors.base import ScanContext, ScanOptions
from scanner.collectors.catalog import default_collectors
from scanner.connect import take_secrets
from scanner.diff import diff_scans
from scanner.i18n import DEFAULT_LANG, LANGS, default_catalog
from scanner.inventory import InventoryError, LoadedInventory, load_inventory
from scanner.memory import collect_and_release, release
from scanner.model import Outcome, Severity, Status, utcnow
from scanner.thresholds import load_thresholds
from scanner.validation import ValidationFailed
from scanner.waivers import Waiver, default_waiver_path, load_waivers


def _stderr() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


def _t(key: str, lang: str, **params) -> str:
    return default_catalog().text(f"cli.{key}", lang, **params)


def _load_inventory_or_exit(path: str, err: Console, lang: str):
    try:
        return load_inventory(path)
    except InventoryError as exc:
        err.print(_t("inventory_invalid", lang, count=len(exc.issues)), style="bold red")
        for issue in exc.issues:
            err.print(f"  {issue}", markup=False)
        raise SystemExit(EXIT_INPUT) from None


def cmd_validate(args: argparse.Namespace) -> int:
    err = _stderr()
    loaded = _load_inventory_or_exit(args.inventory, err, args.lang)
    inv = loaded.inventory
    print(_t("inventory_valid", args.lang, path=args.inventory, hosts=len(inv.hosts), systems=len(inv.systems)))
    return EXIT_OK


def _listing_format(args: argparse.Namespace):
    from reports.listing import choose_format

    return choose_format(args.format, sys.stdout.isatty())


def cmd_checks(args: argparse.Namespace) -> int:
    from reports.listing import Column, Listing, emit

    catalog, registry = default_catalog(), default_registry()
    selected = registry.select(args.checks)
    if not selected:
        _stderr().print(_t("no_checks_match", args.lang, patterns=" ".join(args.checks)), style="red", markup=False)
        return EXIT_INPUT
    label = {"id": "col_id", "survey_items": "col_survey", "severity": "col_severity", "title": "col_title",
             "gathers": "col_gathers"}
    listing = Listing(
        kind="checks", title=_t("checks_title", args.lang, count=len(selected)),
        columns=tuple(Column(key, _t(text, args.lang), keep_whole=key in ("id", "gathers"),
                             shown=(lambda v: "\n".join(v)) if key == "gathers" else None)
                      for key, text in label.items()),
        rows=tuple({"id": c.id, "survey_items": list(c.survey_items), "severity": c.severity.value,
                    "title": catalog.text(f"{c.id}.title", args.lang), "gathers": list(c.gathers)}
                   for c in selected))
    emit(listing, _listing_format(args), Console(highlight=False), sys.stdout.write)
    return EXIT_OK


def _default_output(results_dir: Path, inventory_path: Path, started: datetime) -> Path:
    return results_dir / f"{inventory_path.stem}-{started.strftime('%Y%m%dT%H%M%SZ')}.json"


def _raise_keyboard_interrupt(signum, frame):  # SIGTERM ends a scan the way Ctrl-C does
    raise KeyboardInterrupt


def exit_code(scan: scanfile.ScanFile, fail_on: Severity) -> int:
    """Incomplete wins over gaps: when hosts could not be checked, the verdict cannot be relied on."""
    unreachable = [h for h in scan.hosts.values()
                   if any(o.outcome in (Outcome.UNREACHABLE, Outcome.TIMEOUT) for o in h.observations.values())]
    if not scan.complete or unreachable:
        return EXIT_INCOMPLETE
    failing = [r for r in scan.all_results()
               if r.status == Status.FAIL and r.waiver is None and r.severity.rank >= fail_on.rank]
    return EXIT_GAPS if failing else EXIT_OK


def cmd_scan(args: argparse.Namespace) -> int:
    err = _stderr()
    loaded = _load_inventory_or_exit(args.inventory, err, args.lang)
    registry = default_registry()
    checks = registry.select(args.checks)
    if not checks:
        err.print(_t("no_checks_match", args.lang, patterns=" ".join(args.checks or [])), style="red")
        return EXIT_INPUT
    waivers = _load_waivers_or_exit(args, loaded, registry, err)
    previous = None
    if args.rescan_failed:
        try:
            previous = scanfile.load(Path(args.rescan_failed))
        except scanfile.ScanFileError as exc:
            err.print(str(exc), style="bold red", markup=False)
            return EXIT_INPUT
        refusal = rescan_refusal(previous, loaded)
        if refusal is not None:
            err.print(_t(refusal, args.lang, file=args.rescan_failed, scanned=previous.inventory.path,
                         inventory=str(loaded.path)), style="bold red", markup=False)
            return EXIT_INPUT
        checks = [registry.get(c) for c in previous.checks_selected if c in registry] or checks
    quiet = args.quiet or not err.is_terminal or os.environ.get("CI") == "true"
    progress = ConsoleProgress(err, enabled=not quiet)
    engine = Engine(registry, default_collectors(), load_thresholds(), progress=progress)
    ctx = ScanContext(loaded=loaded, options=ScanOptions(accept_new_host_keys=args.accept_new_host_keys,
                                                         service_versions=args.service_versions or None),
                      secrets=take_secrets(loaded))
    out = Path(args.output) if args.output else _default_output(Path(args.results_dir), loaded.path, utcnow())
    if loaded.inventory.distributed:
        scanned = _zoned_scan(args, engine, ctx, checks, waivers, previous, err)
        if isinstance(scanned, int):
            return scanned
        return _finish_scan(args, scanned, out, loaded, previous, err)

    def checkpoint(partial: scanfile.ScanFile) -> None:
        try:
            scanfile.save(partial, out)
            release()
        except scanfile.ScanFileError:
            pass  # the final save reports it; a checkpoint must not stop the scan

    previous_handler = signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    err.print(_t("scan_started", args.lang, hosts=len(loaded.inventory.hosts), checks=len(checks)), markup=False)
    try:
        with progress:
            scan = engine.scan(ctx, checks, waivers=waivers, previous=previous, checkpoint=checkpoint)
    finally:
        signal.signal(signal.SIGTERM, previous_handler)
    collect_and_release()  # the collectors' garbage, before the scan file and reports are built
    return _finish_scan(args, scan, out, loaded, previous, err)


def rescan_refusal(previous: scanfile.ScanFile, loaded: LoadedInventory) -> str | None:
    """Why a scan file cannot be the PREVIOUS of --rescan-failed on this inventory (a message
    key), or None. It must be a scan of the same inventory, edited or copied since or not (a host
    added since is gathered whole): the same organisation, and at least one host of the same name
    at the same address. And of the same kind: facts seen from one zone do not say what each zone
    sees, and facts seen from several zones are not those of one."""
    data, inv = previous.inventory.data, loaded.inventory
    hosts = {(h.get("name"), h.get("address")) for h in data.get("hosts") or [] if isinstance(h, dict)}
    if (data.get("organization") or {}).get("name") != inv.organization.name or \
            not hosts & {(h.name, h.address) for h in inv.hosts}:
        return "rescan_other_inventory"
    scanners = data.get("scanners") or []
    zoned = len({s.get("zone") for s in scanners if isinstance(s, dict)}) > 1
    if zoned != loaded.inventory.distributed:
        return "rescan_was_zoned" if zoned else "rescan_was_one_zone"
    return None


def _zoned_scan(args: argparse.Namespace, engine: Engine, ctx: ScanContext, checks, waivers,
                previous: scanfile.ScanFile | None, err: Console) -> scanfile.ScanFile | int:
    """A scan from several zones (Celery and the store are imported here only)."""
    from scanner.app.errors import CatalogError
    from scanner.app.store.config import database_url
    from scanner.app.zones.broker import read_broker_url
    from scanner.app.zones.scan import ControlWorkerFailed, ZoneLinks, zoned_scan
    from scanner.app.zones.security import SiteKeys

    if not args.keys:
        err.print(_t("zoned_needs_keys", args.lang), style="bold red", markup=False)
        return EXIT_INPUT
    try:
        links = ZoneLinks(
            broker_url=read_broker_url(os.environ, Path(args.broker_url_file) if args.broker_url_file else None),
            database_url=database_url(os.environ, Path(args.database_url_file) if args.database_url_file else None),
            keys=SiteKeys(Path(args.keys)), broker_ca=Path(args.broker_ca) if args.broker_ca else None)
    except CatalogError as exc:
        err.print(exc.text(args.lang), style="bold red", markup=False)
        return EXIT_INPUT

    def progress(zone: str, done: int, total: int) -> None:
        if not args.quiet:
            err.print(_t("zone_progress", args.lang, zone=zone, done=done, total=total), markup=False)

    zones = ctx.inventory.scanner_zones
    err.print(_t("zoned_scan_started", args.lang, zones=", ".join(zones), hosts=len(ctx.inventory.hosts)),
              markup=False)
    try:
        return zoned_scan(engine, ctx, checks, links, waivers=waivers, previous=previous, progress=progress)
    except CatalogError as exc:  # the broker or the database does not answer, keys refused
        err.print(exc.text(args.lang), style="bold red", markup=False)
        return EXIT_INCOMPLETE
    except ControlWorkerFailed as exc:
        err.print(_t("control_worker_failed", args.lang, code=exc.args[0]), style="bold red", markup=False)
        return EXIT_INCOMPLETE


def _finish_scan(args: argparse.Namespace, scan: scanfile.ScanFile, out: Path, loaded, previous,
                 err: Console) -> int:
    """Save the scan file, print the summary, write the reports; the exit code."""
    try:
        scanfile.save(scan, out)
    except scanfile.ScanFileError as exc:
        err.print(str(exc), style="bold red", markup=False)
        return EXIT_INCOMPLETE
    if not scan.complete:
        err.print(_t("scan_incomplete", args.lang, reason=scan.incomplete_reason or ""), style="bold yellow")
    earlier = previous or find_previous(Path(args.results_dir), loaded.path, exclude=out)
    print_summary(scan, err, lang=args.lang, previous=earlier)
    for state in scan.waivers:
        if state.state == "expired":
            err.print(_t("waiver_expired", args.lang, check=state.waiver.check, host=state.waiver.host or "*",
                         expires=str(state.waiver.expires)), style="bold red", markup=False)
    history = None if args.no_history else _history(Path(args.results_dir), scan, out, err, args.lang)
    for path in [out, *_write_report(scan, out, args, err, earlier, history)]:
        print(path)
    code = exit_code(scan, Severity(args.fail_on))
    if scan.incomplete_reason == "interrupted":
        # Collector threads may still sit in a network timeout; everything is saved, so leave now
        # instead of waiting for them at interpreter exit.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def cmd_worker(args: argparse.Namespace) -> int:
    """A zone's worker of a scan from several zones. Celery is imported here only: a one-zone
    scan never loads it."""
    from scanner.app.errors import CatalogError
    from scanner.app.store.config import database_url
    from scanner.app.zones.broker import read_broker_url
    from scanner.app.zones.security import SiteKeys
    from scanner.app.zones.worker import run_control_worker, run_worker

    err = _stderr()
    if (args.zone is None) == (not args.control):
        err.print(_t("worker_zone_or_control", args.lang), style="bold red", markup=False)
        return EXIT_INPUT
    broker_ca = Path(args.broker_ca) if args.broker_ca else None
    try:
        url = read_broker_url(os.environ, Path(args.broker_url_file) if args.broker_url_file else None)
        if args.control:
            db_url = database_url(os.environ, Path(args.database_url_file) if args.database_url_file else None)
    except CatalogError as exc:  # no URL, a file others can read, a plain URL beyond this machine
        err.print(exc.text(args.lang), style="bold red", markup=False)
        return EXIT_INPUT
    if args.control:
        return run_control_worker(args.inventory, url, SiteKeys(Path(args.keys)), db_url, broker_ca=broker_ca,
                                  lang=args.lang)
    return run_worker(args.zone, args.inventory, url, SiteKeys(Path(args.keys)), concurrency=args.concurrency,
                      broker_ca=broker_ca, lang=args.lang)


def _load_waivers_or_exit(args, loaded, registry, err: Console) -> list[Waiver]:
    path = Path(args.waivers) if args.waivers else default_waiver_path(loaded.path)
    if not path.exists():
        if args.waivers:
            err.print(f"{path}: not found", style="bold red", markup=False)
            raise SystemExit(EXIT_INPUT)
        return []
    try:
        return load_waivers(path, {c.id for c in registry}, {h.name for h in loaded.inventory.hosts})
    except ValidationFailed as exc:
        err.print(_t("waivers_invalid", args.lang, count=len(exc.issues)), style="bold red")
        for issue in exc.issues:
            err.print(f"  {issue}", markup=False)
        raise SystemExit(EXIT_INPUT) from None


def find_previous(results_dir: Path, inventory_path: Path, exclude: Path) -> scanfile.ScanFile | None:
    """The newest earlier scan of the same inventory file in the results folder, if any."""
    for candidate in sorted(results_dir.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True):
        if candidate.resolve() == exclude.resolve():
            continue
        try:
            scan = scanfile.load(candidate)
        except scanfile.ScanFileError:
            continue
        if scan.inventory.path == str(inventory_path):
            return scan
    return None


def _history(folder: Path, scan: scanfile.ScanFile, exclude: Path, err: Console, lang: str):
    """The inventory's earlier complete scans in `folder`, for the report's trend; files that
    cannot be read are named on stderr and skipped."""
    from scanner.history import read_history

    history = read_history(folder, scan, exclude=exclude) if folder.is_dir() else None
    for note in history.skipped if history else []:
        err.print(_t("history_skipped", lang, file=note), style="yellow", markup=False)
    return history


def _write_report(scan, out: Path, args, err: Console, previous=None, history=None) -> list[Path]:
    """The report and the filled-in survey (HTML and DOCX) beside the scan file."""
    if args.no_report:
        return []
    written = []
    for fmt in ("html", "survey-html", "survey-docx"):
        path = out.with_suffix(SUFFIXES[fmt])
        try:
            scanfile.write_atomic(path, render_format(fmt, scan, args.lang, previous, args.detail, history))
        except OSError as exc:
            err.print(f"{path}: {exc.strerror or exc}", style="red", markup=False)
            continue
        written.append(path)
    return written


def _load_scan_or_exit(path: str, err: Console) -> scanfile.ScanFile:
    try:
        return scanfile.load(Path(path))
    except scanfile.ScanFileError as exc:
        err.print(str(exc), style="bold red", markup=False)
        raise SystemExit(EXIT_INPUT) from None


# Renderer modules are imported when a report is written, not at start: python-docx, lxml and the
# Jinja environment would otherwise sit in memory through the scan (about 25 MB at its peak).
RENDERERS = {"html": ("reports.html", "stream_html"), "csv": ("reports.formats", "render_csv"),
             "junit": ("reports.formats", "render_junit"),
             "survey-html": ("reports.survey_form", "render_survey_html"),
             "survey-docx": ("reports.docx_export", "render_docx")}
SUFFIXES = {"html": ".html", "csv": ".csv", "junit": ".junit.xml", "survey-html": ".survey.html",
            "survey-docx": ".survey.docx"}


def render_format(fmt: str, scan: scanfile.ScanFile, lang: str, previous: scanfile.ScanFile | None,
                  detail: str = "summary", history=None) -> bytes | Iterator[bytes]:
    """The rendered document; the HTML report comes in pieces, written as they are made."""
    module, name = RENDERERS[fmt]
    render = getattr(importlib.import_module(module), name)
    if fmt == "html":
        return (piece.encode("utf-8") for piece in render(scan, lang=lang, previous=previous, detail=detail,
                                                          history=history))
    rendered = render(scan, lang=lang)
    return rendered if isinstance(rendered, bytes) else rendered.encode("utf-8")


def cmd_report(args: argparse.Namespace) -> int:
    err = _stderr()
    scan = _load_scan_or_exit(args.scan, err)
    previous = _load_scan_or_exit(args.previous, err) if args.previous else None
    out = Path(args.output) if args.output else Path(args.scan).with_suffix(SUFFIXES[args.format])
    history = None
    if args.format == "html" and not args.no_history:
        history = _history(Path(args.history) if args.history else Path(args.scan).parent, scan, Path(args.scan), err,
                           args.lang)
    try:
        scanfile.write_atomic(out, render_format(args.format, scan, args.lang, previous, args.detail, history))
    except OSError as exc:
        err.print(f"{out}: {exc.strerror or exc}", style="bold red", markup=False)
        return EXIT_INCOMPLETE
    print(out)
    return EXIT_OK


DIFF_KINDS = ("regressed", "new", "fixed", "unverified", "still_failing")
GAP_KINDS = ("regressed", "new", "still_failing")


def cmd_diff(args: argparse.Namespace) -> int:
    from reports.listing import Column, Listing, emit

    err = _stderr()
    old, new = _load_scan_or_exit(args.old, err), _load_scan_or_exit(args.new, err)
    changes = diff_scans(old, new)
    catalog = default_catalog()
    rows = []
    for kind in DIFF_KINDS:
        for change in getattr(changes, kind):
            before, after = change.before, change.after
            rows.append({"change": kind, "host": change.host, "check_id": change.check_id, "target": change.target,
                         "severity": change.result.severity.value,
                         "before": before.status.value if before else None,
                         "after": after.status.value if after else None,
                         "title": catalog.text(f"{change.check_id}.title", args.lang),
                         # A gap is named by its finding; a fixed or undecided one by its requirement.
                         "what": catalog.text(f"{change.check_id}.finding", args.lang)
                         if kind in GAP_KINDS and catalog.has(f"{change.check_id}.finding")
                         else catalog.text(f"{change.check_id}.title", args.lang)})
    for kind in ("hosts_added", "hosts_gone"):
        rows += [{"change": kind, "host": host} for host in getattr(changes, kind)]

    def change_label(kind: str) -> str:
        return _t(f"diff_{kind}", args.lang)

    shown = ("change", "host", "check_id", "target", "what")
    label = {"change": "col_change", "host": "col_host", "check_id": "col_id", "target": "col_target",
             "severity": "col_severity", "before": "col_before", "after": "col_after", "title": "col_title",
             "what": "col_what"}
    fmt = _listing_format(args)
    listing = Listing(
        kind="changes", title=_t("diff_title", args.lang),
        columns=tuple(Column(key, _t(text, args.lang), keep_whole=key == "check_id",
                             shown=change_label if key == "change" else None)
                      for key, text in label.items() if fmt != "table" or key in shown),
        rows=tuple(rows),
        summary={"old": args.old, "new": args.new, "inventory_changed": changes.inventory_changed,
                 "counts": {kind: len(getattr(changes, kind)) for kind in (*DIFF_KINDS, "hosts_added", "hosts_gone")}})
    emit(listing, fmt, Console(highlight=False), sys.stdout.write)
    return EXIT_GAPS if changes.new or changes.regressed else EXIT_OK


def cmd_preflight(args: argparse.Namespace) -> int:
    from scanner.app.preflight import preflight, render_preflight

    err = _stderr()
    loaded = _load_inventory_or_exit(args.inventory, err, args.lang)
    rows = preflight(loaded, accept_new_host_keys=args.accept_new_host_keys, secrets=take_secrets(loaded))
    render_preflight(rows, Console(highlight=False), args.lang)
    return EXIT_OK if all(r.ready for r in rows) else EXIT_INCOMPLETE


def _passphrase(args: argparse.Namespace, err: Console) -> str | None:
    """The key's passphrase, from the environment variable the operator named (never argv)."""
    if not args.passphrase_env:
        return None
    value = os.environ.get(args.passphrase_env)
    if not value:
        err.print(_t("passphrase_env_unset", args.lang, name=args.passphrase_env), style="bold red", markup=False)
        raise SystemExit(EXIT_INPUT)
    return value


def cmd_keygen(args: argparse.Namespace) -> int:
    from scanner.app import signing

    err = _stderr()
    try:
        private, sslib, mini = signing.generate(Path(args.out), _passphrase(args, err))
    except signing.KeyFileError as exc:
        err.print(_t(exc.key, args.lang, **exc.params), style="bold red", markup=False)
        return EXIT_INPUT
    err.print(_t("keygen_private", args.lang, path=str(private)), markup=False)
    err.print(_t("keygen_public", args.lang, sslib=str(sslib), minisign=str(mini)), markup=False)
    for path in (private, sslib, mini):
        print(path)
    return EXIT_OK


def cmd_pack(args: argparse.Namespace) -> int:
    import getpass

    from scanner.app import pack, signing

    err = _stderr()
    scan_path = Path(args.scan)
    scan = _load_scan_or_exit(args.scan, err)
    try:
        key = signing.load_private(Path(args.key), _passphrase(args, err))
    except signing.KeyFileError as exc:
        err.print(_t(exc.key, args.lang, **exc.params), style="bold red", markup=False)
        return EXIT_INPUT
    raw, withheld = pack.raw_outputs(scan)
    contents = {"scan.json": scan_path.read_bytes(), **raw}
    for fmt, name in (("html", "report.html"), ("survey-html", "survey.html"), ("survey-docx", "survey.docx")):
        rendered = render_format(fmt, scan, args.lang, None, args.detail)
        contents[name] = rendered if isinstance(rendered, bytes) else b"".join(rendered)
    operator = args.operator or os.environ.get("USER") or os.environ.get("LOGNAME") or getpass.getuser()
    files = pack.build(scan, contents, key, operator, withheld)
    out = Path(args.output) if args.output else scan_path.with_name(scan_path.stem + ".pack.tar.gz")
    try:  # whole or not at all: a half-written pack never replaces a good one
        scanfile.write_atomic(out, pack.archive(files, int((scan.ended or scan.started).timestamp())))
    except OSError as exc:
        err.print(_t("pack_write_failed", args.lang, path=str(out), reason=exc.strerror or str(exc)),
                  style="bold red", markup=False)
        return EXIT_INCOMPLETE
    if withheld:
        err.print(_t("pack_withheld", args.lang, count=withheld), style="bold yellow", markup=False)
    err.print(_t("pack_written", args.lang, files=len(files), keyid=signing.sslib_key(key.public).keyid[:16]),
              markup=False)
    print(out)
    return EXIT_OK


def cmd_fix_plan(args: argparse.Namespace) -> int:
    from reports import fixplan

    err = _stderr()
    scan_path = Path(args.scan)
    scan = _load_scan_or_exit(args.scan, err)
    plan = fixplan.build_plan(scan, lang=args.lang, checks=args.checks, scan_file=scan_path.name)
    folder = Path(args.output) if args.output else scan_path.with_name(scan_path.stem + ".fix-plan")
    try:
        playbook, inventory = fixplan.write_plan(plan, folder)
    except OSError as exc:
        err.print(_t("fix_plan_write_failed", args.lang, path=str(folder), reason=exc.strerror or str(exc)),
                  style="bold red", markup=False)
        return EXIT_INPUT
    err.print(_t("fix_plan_written", args.lang, playbook=str(playbook), inventory=str(inventory),
                 fixes=sum(len(h.fixes) for h in plan.hosts), hosts=len(plan.hosts), manual=len(plan.manual)),
              markup=False)
    return EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    from scanner.app import pack, signing

    err = _stderr()
    try:
        public = signing.load_public(Path(args.key)) if args.key else None
        files = pack.read(Path(args.pack))
    except (signing.KeyFileError, pack.PackError) as exc:
        err.print(_t(exc.key, args.lang, **exc.params), style="bold red", markup=False)
        return EXIT_INPUT
    verdict = pack.verify(files, public)
    lines = [_t(key, args.lang) for key in verdict.problems]
    for kind in ("changed", "missing", "added"):
        lines += [_t(f"verify_{kind}", args.lang, file=name) for name in getattr(verdict, kind)]
    for which, holds in (("dsse", verdict.dsse), ("minisign", verdict.minisign)):
        if holds is not None:
            lines.append(_t(f"verify_{which}_{'ok' if holds else 'bad'}", args.lang))
    if public is None:
        lines.append(_t("verify_no_key", args.lang))
    lines.append(_t("verify_intact", args.lang, files=len(files)) if verdict.intact else _t("verify_tampered", args.lang))
    for line in lines:
        print(line)
    return EXIT_OK if verdict.intact else EXIT_GAPS


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="readyscan", description="Security-readiness scanner (survey section XI)")
    parser.add_argument("--version", action="version", version=f"readyscan {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    def with_lang(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--lang", choices=LANGS, default=DEFAULT_LANG, help="report and message language")
        return p

    p = with_lang(sub.add_parser("validate", help="check an inventory file and list every error"))
    p.add_argument("inventory")
    p.set_defaults(func=cmd_validate)

    def with_detail(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--detail", choices=("summary", "full"), default="summary",
                       help="HTML report: summary (every gap with its evidence and fix, passes as counts; fits "
                            "in print) or full (every result and its raw evidence)")
        return p

    def with_listing_format(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--format", choices=("table", "json", "csv"),
                       help="default: a table on a terminal, JSON when the output is a pipe or a file")
        return p

    p = with_listing_format(with_lang(sub.add_parser("checks", help="list the check catalog")))
    p.add_argument("checks", nargs="*", help="id globs, e.g. 'tls.*'")
    p.set_defaults(func=cmd_checks)

    p = with_detail(with_lang(sub.add_parser("scan", help="scan the hosts of an inventory")))
    p.add_argument("inventory")
    p.add_argument("-o", "--output", help="scan file path (default: RESULTS_DIR/<inventory>-<time>.json)")
    p.add_argument("--results-dir", default="results")
    p.add_argument("--checks", nargs="+", metavar="GLOB", help="only these checks (and only the collectors and host probes whose facts they read)")
    p.add_argument("--fail-on", choices=[s.value for s in Severity], default="high",
                   help="lowest severity of a failing check that makes the exit code 1")
    p.add_argument("--accept-new-host-keys", action="store_true",
                   help="trust SSH host keys not yet in known_hosts and record them (never changed keys)")
    p.add_argument("--service-versions", action="store_true", help="nmap -sV")
    p.add_argument("--no-report", action="store_true", help="write only the scan file")
    p.add_argument("--no-history", action="store_true", help="no trend of the earlier scans in RESULTS_DIR in the report")
    p.add_argument("--waivers", help="accepted-risk file (default: <inventory>.waivers.yaml beside it)")
    p.add_argument("--rescan-failed", metavar="PREVIOUS.json",
                   help="re-run only what did not pass in PREVIOUS and merge into a full new scan file")
    p.add_argument("--keys", metavar="DIR", help="scanners in several zones: this site's signing key folder")
    p.add_argument("--broker-url-file", metavar="FILE", help="scanners in several zones: a mode-0600 file holding the broker URL (default: READYSCAN_BROKER_URL)")
    p.add_argument("--database-url-file", metavar="FILE", help="scanners in several zones: a mode-0600 file holding the database URL (default: READYSCAN_DATABASE_URL)")
    p.add_argument("--broker-ca", metavar="PEM", help="scanners in several zones: the CA of the broker's TLS certificate")
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(func=cmd_scan)

    p = with_lang(sub.add_parser("worker", help="serve one zone of a scan from several zones (needs the zones extra)"))
    p.add_argument("inventory", help="the inventory this worker may scan (tasks for any other are refused)")
    p.add_argument("--zone", help="the zone this worker stands in (one listed under scanners)")
    p.add_argument("--control", action="store_true",
                   help="be the control worker instead: keep the zones' reports in the database")
    p.add_argument("--database-url-file", metavar="FILE",
                   help="with --control: a mode-0600 file holding the database URL (default: READYSCAN_DATABASE_URL)")
    p.add_argument("--keys", required=True, metavar="DIR", help="this site's signing key folder (python -m scanner.app.zones.security)")
    p.add_argument("--broker-url-file", metavar="FILE", help="a mode-0600 file holding the broker URL (default: READYSCAN_BROKER_URL)")
    p.add_argument("--broker-ca", metavar="PEM", help="the CA of the broker's TLS certificate, when it is not a public one")
    p.add_argument("--concurrency", type=int, default=1, help="tasks run at once (one host and one collector each)")
    p.set_defaults(func=cmd_worker)

    p = with_detail(with_lang(sub.add_parser("report", help="render a scan file (HTML report, CSV, JUnit, filled survey form)")))
    p.add_argument("scan")
    p.add_argument("--previous", help="an earlier scan file, for the 'since last scan' part")
    p.add_argument("--history", metavar="DIR", help="the folder of earlier scans for the trend (default: the scan file's folder)")
    p.add_argument("--no-history", action="store_true", help="no trend part")
    p.add_argument("--format", choices=sorted(RENDERERS), default="html")
    p.add_argument("-o", "--output", help="default: the scan file's name with the format's suffix")
    p.set_defaults(func=cmd_report)

    p = with_listing_format(with_lang(sub.add_parser("diff", help="what changed between two scans")))
    p.add_argument("old")
    p.add_argument("new")
    p.set_defaults(func=cmd_diff)

    p = with_lang(sub.add_parser("preflight", help="test connections, sudo and tools before inspection day"))
    p.add_argument("inventory")
    p.add_argument("--accept-new-host-keys", action="store_true")
    p.set_defaults(func=cmd_preflight)

    def with_passphrase(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--passphrase-env", metavar="NAME",
                       help="the environment variable holding the private key's passphrase (never on the command line)")
        return p

    p = with_passphrase(with_lang(sub.add_parser("keygen", help="make the unit's Ed25519 key pair for evidence packs")))
    p.add_argument("--out", default="keys", metavar="DIR", help="folder for the key files (default: keys)")
    p.set_defaults(func=cmd_keygen)

    p = with_passphrase(with_detail(with_lang(sub.add_parser(
        "pack", help="a signed evidence pack (tar.gz) of a scan for the inspectors"))))
    p.add_argument("scan")
    p.add_argument("--key", default="keys/readyscan.key", metavar="PRIVATE", help="default: keys/readyscan.key")
    p.add_argument("--operator", help="who made the pack (default: the user running readyscan)")
    p.add_argument("-o", "--output", help="default: the scan file's name with .pack.tar.gz")
    p.set_defaults(func=cmd_pack)

    p = with_lang(sub.add_parser("fix-plan", help="an Ansible playbook (check mode unless -e apply=true) that "
                                                  "fixes the failing results with a safe automatic fix"))
    p.add_argument("scan")
    p.add_argument("-o", "--output", metavar="DIR", help="default: the scan file's name with .fix-plan")
    p.add_argument("--checks", nargs="+", metavar="PATTERN", help="only these check ids (glob patterns)")
    p.set_defaults(func=cmd_fix_plan)

    p = with_lang(sub.add_parser("verify", help="check an evidence pack: changed, added, missing files and signatures"))
    p.add_argument("pack")
    p.add_argument("--key", metavar="PUB", help="the unit's public key (readyscan.pub.json or readyscan.minisign.pub); "
                                                "without it only integrity is checked")
    p.set_defaults(func=cmd_verify)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return EXIT_INCOMPLETE
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
