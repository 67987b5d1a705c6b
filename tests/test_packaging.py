"""readyscan as users install it: a wheel built from this checkout, installed with its
dependencies into a fresh venv outside the checkout, must list its checks and scan localhost.

The Makefile's editable install hides what a wheel leaves out (a package folder setuptools does not
find, a template or text catalog missing from package_data); this test does not.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from setuptools import find_packages

from checks import default_registry
from tests.paths import ROOT

CODE_ROOTS = ("scanner", "checks", "reports")


def test_every_code_folder_is_a_package_setuptools_finds():
    # The class of bug: a folder of modules without __init__.py is skipped by `packages = find:`.
    found = set(find_packages(str(ROOT), include=[f"{r}*" for r in CODE_ROOTS]))
    folders = {str(p.parent.relative_to(ROOT)).replace(os.sep, ".")
               for root in CODE_ROOTS for p in (ROOT / root).rglob("*.py") if "__pycache__" not in p.parts}
    assert folders - found == set()


def _run(argv: list[str], cwd: Path, timeout: float, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """bin/ of a fresh venv holding the wheel built from this checkout (and its dependencies)."""
    work = tmp_path_factory.mktemp("wheel")
    # Built from a copy of what git would commit: a build/ folder left in the checkout by an
    # earlier build could otherwise slip deleted modules into the wheel.
    source = work / "source"
    listed = _run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT, timeout=60)
    assert listed.returncode == 0, listed.stderr
    for name in filter(None, listed.stdout.split("\0")):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(work / "dist"), str(source)],
                 cwd=work, timeout=600)
    assert built.returncode == 0, built.stderr[-3000:]
    wheels = list((work / "dist").glob("readyscan-*.whl"))
    assert len(wheels) == 1, wheels
    made = _run([sys.executable, "-m", "venv", str(work / "venv")], cwd=work, timeout=120)
    assert made.returncode == 0, made.stderr
    bin_dir = work / "venv" / "bin"
    pip = _run([str(bin_dir / "python"), "-m", "pip", "install", "-q", str(wheels[0])], cwd=work, timeout=900)
    assert pip.returncode == 0, pip.stderr[-3000:]
    return bin_dir


def clean_env() -> dict[str, str]:
    # Nothing of this checkout may leak in: no PYTHONPATH, and the venv's own bin first.
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}


def test_the_installed_code_is_not_the_checkout(installed, tmp_path):
    where = _run([str(installed / "python"), "-c", "import scanner, checks, reports, scanner.collectors.tls;"
                  "print(scanner.__file__)"], cwd=tmp_path, timeout=60, env=clean_env())
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(installed.parent) and not Path(
        where.stdout.strip()).is_relative_to(ROOT)


def test_installed_readyscan_lists_its_checks(installed, tmp_path):
    out = _run([str(installed / "readyscan"), "checks", "--format", "json"], cwd=tmp_path, timeout=120,
               env=clean_env())
    assert out.returncode == 0, out.stderr[-3000:]
    assert json.loads(out.stdout)["count"] == len(default_registry())


@pytest.mark.skipif(os.geteuid() != 0, reason="the localhost scan's port scan and host probes are run as root in CI")
def test_installed_readyscan_scans_localhost_and_writes_the_reports(installed, tmp_path):
    inventory = tmp_path / "localhost.yaml"
    inventory.write_text((ROOT / "inventories" / "localhost.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    out = _run([str(installed / "readyscan"), "scan", str(inventory), "--results-dir", str(tmp_path / "results"),
                "--quiet"], cwd=tmp_path, timeout=900, env=clean_env())
    assert out.returncode in (0, 1), out.stderr[-3000:]  # gaps are fine; bad input or an incomplete scan is not
    paths = [Path(line) for line in out.stdout.split()]
    suffixes = sorted("".join(p.suffixes) for p in paths)
    assert suffixes == [".html", ".json", ".survey.docx", ".survey.html"], out.stdout
    assert all(p.is_file() and p.stat().st_size > 0 for p in paths)
    report = next(p for p in paths if p.name.endswith(".html") and not p.name.endswith(".survey.html"))
    html = report.read_text(encoding="utf-8")
    assert "localhost" in html and "{{" not in html and "ssh.config" in html
    scan = json.loads(next(p for p in paths if p.suffix == ".json").read_text(encoding="utf-8"))
    assert scan["complete"] is True and scan["hosts"]["localhost"]["results"]


def test_no_machine_paths_in_the_project():
    """The suite and the data must run wherever the repository is cloned: the project's shared/
    folder is reached as ../shared from the repository root, never by an absolute path, and no
    file (recordings included) carries the absolute path of the checkout it was made in."""
    tracked = _run(["git", "ls-files"], cwd=ROOT, timeout=60).stdout.split()
    absolute_shared = re.compile(r"(?<![\w.])/[\w.-]+(?:/[\w.-]+)*/shared/(?:seeds|docs)/")
    offenders = []
    for name in tracked:
        path = ROOT / name
        if path.suffix not in (".py", ".yaml", ".yml", ".md", ".j2", ".cfg", ".toml", ".sh", ".txt", ".json", "") \
                or not path.is_file():
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if absolute_shared.search(line) or f"{ROOT}/" in line:
                offenders.append(f"{name}:{number}: {line.strip()[:120]}")
    assert offenders == []
