# readyscan: `make demo` and `make test` work on a fresh Debian/Ubuntu machine (as root they also
# install the Debian packages the scanner and its test lab need).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
INVENTORY ?= inventories/localhost.yaml
HOSTS ?= 6
# nmap, sshd/ssh, nginx, apache2, vsftpd, redis-server, rsyslog, logrotate: real daemons for the scanner, lab and tests;
# redis-server and postgresql are also the broker and the store of scans from several zones (tests start their own);
# chromium + poppler-utils: the report is opened and printed in a real browser by the tests.
# krb5-kdc, krb5-admin-server, krb5-user: the tests' own Kerberos realm on loopback (WinRM with Kerberos);
# libkrb5-dev and gcc: pip builds gssapi and krb5 (the kerberos extra) against them; strace: a test
# watches the Kerberos client resolve no name; minisign: a test checks an evidence pack with the
# standalone tool an inspector uses.
DEB_PACKAGES := nmap openssh-client openssh-server nginx apache2 vsftpd redis-server postgresql rsyslog logrotate systemd iproute2 nftables sudo openssl procps \
	chromium fonts-dejavu-core poppler-utils ca-certificates \
	krb5-kdc krb5-admin-server krb5-user libkrb5-dev gcc strace minisign

.PHONY: install deps test demo demo-zones scan lint lab-up lab-down lab-status bench bench-zones clean

install: deps $(STAMP)

deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	else \
	  echo "warning: missing Debian packages:$$missing (run 'make install' as root to install them)" >&2; \
	fi

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev,zones,kerberos]'
	touch $(STAMP)

test: install
	$(BIN)/pytest

demo: install
	@$(BIN)/python -m scanner.app.demo

# The lab scanned from every zone at once (root): zone firewall, broker, store, a worker per zone.
demo-zones: install
	@$(BIN)/python -m lab.zonedemo

scan: install
	$(BIN)/readyscan scan $(INVENTORY)

lint: install
	$(BIN)/ruff check .

lab-up:
	$(PYTHON) -m lab up --hosts $(HOSTS)

lab-down:
	$(PYTHON) -m lab down

lab-status:
	$(PYTHON) -m lab status

clean:
	rm -rf $(VENV) build *.egg-info

bench: install
	$(BIN)/python bench/run.py $(if $(SIZES),--sizes $(SIZES)) $(if $(REPS),--reps $(REPS))

# A scan from three zones (a worker per zone, broker, store) against the same hosts scanned by one
# process; on the running lab (make lab-up HOSTS=100 first).
bench-zones: install
	$(BIN)/python bench/run.py --zones $(if $(INVENTORY_ZONES),--inventory $(INVENTORY_ZONES)) $(if $(REPS),--reps $(REPS))
