"""`readyscan keygen`, `pack` and `verify`: the signed evidence pack, built from the recorded lab
scan (tests/labscan.py) and checked with the real `sha256sum` (GNU coreutils) and `minisign`."""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import stat
import subprocess
import tarfile
from pathlib import Path

import pytest

from scanner import scanfile
from scanner.app import pack
from scanner.app.cli import main
from scanner.model import Observation
from tests.labscan import recorded_lab_scan

SHADOW_LINE = "alice:$6$Zq8x1yLw$k9Jd0aTqD3nFh2cB7mVx.Yr4uWl1sPe6oQi5gNz8tHb/:19700:0:99999:7:::"
PASSWORD_LINE = "db_password = s3cr3t-Value"


def _scan_with_secrets():
    """The lab scan with one probe output carrying what the host should have masked."""
    scan = recorded_lab_scan()
    host = sorted(scan.hosts)[0]
    rec = scan.hosts[host]
    obs = rec.observations["host"]
    commands = [*obs.data["commands"], {"name": "leaky", "exit_status": 0, "seconds": 0.1, "privileged": True,
                                        "truncated": False, "output": f"ok\n{SHADOW_LINE}\n{PASSWORD_LINE}\nend\n"}]
    leaky = Observation.model_validate({**obs.model_dump(), "data": {**obs.data, "commands": commands}})
    hosts = {**scan.hosts, host: rec.model_copy(update={"observations": {**rec.observations, "host": leaky}})}
    return scan.model_copy(update={"hosts": hosts}), host


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """A key pair and a pack of the recorded lab scan (with one leaky probe output)."""
    root = tmp_path_factory.mktemp("pack")
    assert main(["keygen", "--out", str(root / "keys")]) == 0
    scan, host = _scan_with_secrets()
    scanfile.save(scan, root / "lab.json")
    assert main(["pack", str(root / "lab.json"), "--key", str(root / "keys" / "readyscan.key"),
                 "--operator", "inspector-test", "--lang", "en"]) == 0
    return root, root / "lab.pack.tar.gz", host


def _verify(pack_path: Path, key: Path | None = None) -> int:
    return main(["verify", str(pack_path), "--lang", "en", *(["--key", str(key)] if key else [])])


def _rewrite(src: Path, dst: Path, change) -> Path:
    files = pack.read(src)
    change(files)
    dst.write_bytes(pack.archive(files, 0))
    return dst


def test_keygen_writes_a_0600_private_key_and_refuses_to_overwrite(tmp_path, capsys):
    assert main(["keygen", "--out", str(tmp_path)]) == 0
    private = tmp_path / "readyscan.key"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert (tmp_path / "readyscan.pub.json").exists() and (tmp_path / "readyscan.minisign.pub").exists()
    before = private.read_bytes()
    capsys.readouterr()
    assert main(["keygen", "--out", str(tmp_path), "--lang", "en"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert private.read_bytes() == before


def test_an_encrypted_key_needs_its_passphrase_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("RS_TEST_PASSPHRASE", "correct horse battery")
    assert main(["keygen", "--out", str(tmp_path / "k"), "--passphrase-env", "RS_TEST_PASSPHRASE"]) == 0
    assert b"ENCRYPTED" in (tmp_path / "k" / "readyscan.key").read_bytes()
    scanfile.save(recorded_lab_scan(), tmp_path / "s.json")
    key = str(tmp_path / "k" / "readyscan.key")
    assert main(["pack", str(tmp_path / "s.json"), "--key", key]) == 2
    assert not (tmp_path / "s.pack.tar.gz").exists()
    assert main(["pack", str(tmp_path / "s.json"), "--key", key, "--passphrase-env", "RS_TEST_PASSPHRASE"]) == 0
    assert _verify(tmp_path / "s.pack.tar.gz", tmp_path / "k" / "readyscan.minisign.pub") == 0


def test_the_pack_holds_the_scan_reports_raw_outputs_and_a_statement(made):
    root, pack_path, host = made
    with tarfile.open(pack_path) as tar:
        names = tar.getnames()
    assert all(n.startswith(f"{pack.TOP}/") for n in names)
    files = pack.read(pack_path)
    for name in ("scan.json", "report.html", "survey.html", "survey.docx", pack.SUMS, pack.SUMS_SIG, pack.STATEMENT):
        assert name in files, name
    assert files["scan.json"] == (root / "lab.json").read_bytes()
    assert files["survey.docx"][:2] == b"PK" and b"<html" in files["report.html"][:500].lower()
    assert f"raw/{host}/leaky.txt" in files
    envelope = json.loads(files[pack.STATEMENT])
    assert envelope["payloadType"] == "application/vnd.in-toto+json" and len(envelope["signatures"]) == 1
    stmt = json.loads(base64.b64decode(envelope["payload"]))
    assert stmt["_type"] == "https://in-toto.io/Statement/v1"
    assert stmt["predicateType"] == pack.PREDICATE_TYPE
    subjects = {s["name"]: s["digest"]["sha256"] for s in stmt["subject"]}
    assert set(subjects) == set(files) - set(pack.META)
    assert subjects["report.html"] == pack.sha256(files["report.html"])
    predicate, scan = stmt["predicate"], recorded_lab_scan()
    assert predicate["operator"] == "inspector-test"
    assert {(t["name"], t["address"]) for t in predicate["targets"]} == {(n, r.address) for n, r in scan.hosts.items()}
    assert predicate["scan"]["started"] == scan.started.isoformat()
    assert predicate["scan"]["ended"] == scan.ended.isoformat()
    assert predicate["checkCatalog"]["checks"] > 50 and len(predicate["checkCatalog"]["sha256"]) == 64
    assert "checks/data/thresholds.yaml" in predicate["checkCatalog"]["files"]


def test_raw_outputs_never_hold_a_shadow_hash_or_a_password(made):
    _, pack_path, host = made
    files = pack.read(pack_path)
    raw = b"".join(data for name, data in files.items() if name.startswith("raw/")).decode()
    assert "$6$Zq8x1yLw$" not in raw and "s3cr3t-Value" not in raw
    leaky = files[f"raw/{host}/leaky.txt"].decode().splitlines()
    assert leaky == ["ok", pack.WITHHELD, pack.WITHHELD, "end"]


@pytest.mark.parametrize(("line", "withheld"), [
    ("u:$y$j9T$abcdefgh$ijklmnopqrstuvwxyz012345:19000::::::", True),
    ("hash $2b$12$abcdefghijklmnopqrstuuN1c0l2", True),
    ("token: abc123", True),
    ('password"***"', False),  # already masked on the host
    ('api_key = "***"', False),
    ("rsscan\tALL=(root) NOPASSWD: READYSCAN_READ", False),  # sudoers tag, not a value
    ("PasswordAuthentication no", False),
    ("PASS_MAX_DAYS 90", False),
    ("costs $5 then $6 more", False),
])
def test_the_secret_filter(line, withheld):
    text, count = pack.without_secrets(line)
    assert count == (1 if withheld else 0)
    assert (text.strip() == pack.WITHHELD) == withheld


def test_an_untouched_pack_verifies_with_either_public_key(made, capsys):
    root, pack_path, _ = made
    for key in ("readyscan.pub.json", "readyscan.minisign.pub"):
        capsys.readouterr()
        assert _verify(pack_path, root / "keys" / key) == 0
        out = capsys.readouterr().out
        assert "DSSE signature of the statement: valid" in out and "minisign signature of SHA256SUMS: valid" in out


def test_without_a_key_only_integrity_is_checked_and_it_says_so(made, capsys):
    assert _verify(made[1]) == 0
    assert "Signatures not checked against a trusted key" in capsys.readouterr().out


@pytest.mark.skipif(not shutil.which("sha256sum") or not shutil.which("minisign"), reason="needs coreutils and minisign")
def test_sha256sum_and_minisign_accept_the_untouched_pack(made, tmp_path):
    root, pack_path, _ = made
    with tarfile.open(pack_path) as tar:
        tar.extractall(tmp_path, filter="data")
    folder = tmp_path / pack.TOP
    subprocess.run(["sha256sum", "-c", "--strict", "SHA256SUMS"], cwd=folder, check=True, capture_output=True)
    done = subprocess.run(["minisign", "-Vm", "SHA256SUMS", "-p", str(root / "keys" / "readyscan.minisign.pub")],
                          cwd=folder, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    (folder / "report.html").write_bytes((folder / "report.html").read_bytes() + b" ")
    assert subprocess.run(["sha256sum", "-c", "--quiet", "SHA256SUMS"], cwd=folder, capture_output=True).returncode == 1


def _flip_report_byte(files):
    data = bytearray(files["report.html"])
    data[len(data) // 2] ^= 0x01
    files["report.html"] = bytes(data)


def _resign_nothing_statement(files):
    """Point the statement's report digest at other bytes without re-signing."""
    envelope = json.loads(files[pack.STATEMENT])
    stmt = json.loads(base64.b64decode(envelope["payload"]))
    for subject in stmt["subject"]:
        if subject["name"] == "report.html":
            subject["digest"]["sha256"] = "0" * 64
    envelope["payload"] = base64.b64encode(json.dumps(stmt).encode()).decode()
    files[pack.STATEMENT] = json.dumps(envelope).encode()


def _edit_sums(files):
    files[pack.SUMS] = files[pack.SUMS].replace(pack.sha256(files["scan.json"]).encode(), b"f" * 64)


TAMPERING = {
    "one byte of the report": (_flip_report_byte, "Changed: report.html"),
    "a file removed": (lambda f: f.pop("survey.docx"), "Missing: survey.docx"),
    "a file added": (lambda f: f.update({"raw/extra.txt": b"planted\n"}), "Added: raw/extra.txt"),
    "statement edited": (_resign_nothing_statement, "DSSE signature of the statement: NOT valid"),
    "SHA256SUMS edited": (_edit_sums, "minisign signature of SHA256SUMS: NOT valid"),
}


@pytest.mark.parametrize("what", sorted(TAMPERING))
def test_verify_detects_tampering(made, tmp_path, capsys, what):
    root, pack_path, _ = made
    change, expected = TAMPERING[what]
    tampered = _rewrite(pack_path, tmp_path / "t.tar.gz", change)
    capsys.readouterr()
    assert _verify(tampered, root / "keys" / "readyscan.pub.json") == 1
    out = capsys.readouterr().out
    assert expected in out and "The pack was altered" in out
    # Without a key the change shows too: each manifest is checked against the files and the other.
    assert _verify(tampered) == 1


def test_a_wrong_public_key_fails_both_signatures(made, tmp_path, capsys):
    assert main(["keygen", "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    assert _verify(made[1], tmp_path / "readyscan.minisign.pub") == 1
    out = capsys.readouterr().out
    assert "DSSE signature of the statement: NOT valid" in out and "minisign signature of SHA256SUMS: NOT valid" in out


def test_bad_input_exits_2(made, tmp_path, capsys):
    root, pack_path, _ = made
    not_a_pack = tmp_path / "x.tar.gz"
    not_a_pack.write_bytes(b"hello")
    assert _verify(not_a_pack) == 2
    assert _verify(tmp_path / "absent.tar.gz") == 2
    no_manifests = _rewrite(pack_path, tmp_path / "n.tar.gz",
                            lambda f: [f.pop(n) for n in (pack.STATEMENT, pack.SUMS, pack.SUMS_SIG)])
    assert _verify(no_manifests) == 2
    escaping = tmp_path / "e.tar.gz"  # an entry outside the top folder is refused, never read
    with tarfile.open(escaping, "w:gz") as tar:
        for name in (f"{pack.TOP}/{pack.SUMS}", f"{pack.TOP}/../evil.txt"):
            info = tarfile.TarInfo(name)
            tar.addfile(info, io.BytesIO(b""))
    capsys.readouterr()
    assert _verify(escaping) == 2
    assert "unexpected entry" in capsys.readouterr().err
    bad_key = tmp_path / "key.pub"
    bad_key.write_text("not a key\n")
    assert _verify(pack_path, bad_key) == 2
    assert "not a readable Ed25519 key" in capsys.readouterr().err


def test_a_failed_write_leaves_the_previous_pack_whole(made, tmp_path, monkeypatch):
    root, pack_path, _ = made
    out = tmp_path / "p.tar.gz"
    shutil.copy(pack_path, out)
    good = out.read_bytes()

    def full_disk(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    assert main(["pack", str(root / "lab.json"), "--key", str(root / "keys" / "readyscan.key"), "-o", str(out)]) == 3
    assert out.read_bytes() == good
    assert [p.name for p in tmp_path.iterdir()] == ["p.tar.gz"]
