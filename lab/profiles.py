"""The six host profiles of the lab, as data.

A profile says what runs on a host and how it is configured (sshd settings, web vhosts and their
certificates, extra listeners, logging, accounts, firewall), how a sysadmin declares it in the
inventory, and which checks its seeded gaps must make fail or pass (``expect``). The renderers in
``render.py`` turn this data into configuration files; nothing here is code.
"""

from .layout import ADMIN_USER, SCAN_USER

PROFILE_ORDER = ("hard", "legacy", "badcert", "exposed", "weakssh", "dbhost")

# --- sshd -------------------------------------------------------------------------------------
# OpenSSH 9.2 (Debian 12): no mlkem768x25519 yet (9.9), so sntrup761 + curve25519 is the modern set.
SSHD_HARDENED = {
    "PermitRootLogin": "no",
    "PasswordAuthentication": "no",
    "KbdInteractiveAuthentication": "no",
    "PubkeyAuthentication": "yes",
    "PermitEmptyPasswords": "no",
    "MaxAuthTries": "3",
    "LoginGraceTime": "30",
    "ClientAliveInterval": "300",
    "ClientAliveCountMax": "2",
    "X11Forwarding": "no",
    "AllowAgentForwarding": "no",
    "LogLevel": "VERBOSE",
    "KexAlgorithms": "sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org",
    "Ciphers": "chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes128-gcm@openssh.com,"
               "aes256-ctr,aes192-ctr,aes128-ctr",
    "MACs": "hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com",
    "HostKeyAlgorithms": "ssh-ed25519",
    "AllowUsers": f"{SCAN_USER} {ADMIN_USER}",
}

# An old install that kept every algorithm "for compatibility" ("+" appends to 9.2's defaults).
SSHD_LEGACY = {
    "PermitRootLogin": "yes",
    "PasswordAuthentication": "yes",
    "KbdInteractiveAuthentication": "yes",
    "PubkeyAuthentication": "yes",
    "MaxAuthTries": "6",
    "ClientAliveInterval": "0",
    "X11Forwarding": "yes",
    "KexAlgorithms": "+diffie-hellman-group1-sha1,diffie-hellman-group14-sha1,"
                     "diffie-hellman-group-exchange-sha1",
    "Ciphers": "+aes128-cbc,aes192-cbc,aes256-cbc,3des-cbc",
    "MACs": "+hmac-sha1,hmac-sha1-96,hmac-md5,hmac-md5-96",
    "HostKeyAlgorithms": "+ssh-rsa",
    "PubkeyAcceptedAlgorithms": "+ssh-rsa",
}

# The hardened sshd also hides the distribution's build from its banner ("SSH-2.0-OpenSSH_9.2p1"
# instead of "… Debian-2+deb12u7"), as hardening guides advise: its version must be judged from
# the installed package, not from the bare upstream number.
SSHD_HARDENED_NO_BANNER = {**SSHD_HARDENED, "DebianBanner": "no"}

SSHD_WEAK = {
    "PermitRootLogin": "yes",
    "PasswordAuthentication": "yes",
    "KbdInteractiveAuthentication": "no",
    "PubkeyAuthentication": "yes",
    "MaxAuthTries": "10",
    "ClientAliveInterval": "0",
    "Ciphers": "+aes128-cbc,aes256-cbc,3des-cbc",
    "MACs": "+hmac-sha1-96,hmac-md5",
}

# --- TLS --------------------------------------------------------------------------------------
TLS_POLICIES = {
    "modern": {
        "protocols": "TLSv1.2 TLSv1.3",
        "ciphers": "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                   "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                   "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305",
        "prefer_server_ciphers": "off",
    },
    # OpenSSL 3 refuses TLS 1.0/1.1, SHA-1 signatures and 1024-bit keys above SECLEVEL 0.
    # Debian's OpenSSL 3.0 has no 3DES, RC4 or NULL suites left to offer; "ALL" still brings
    # anonymous (ADH/AECDH), static-RSA and CBC-SHA1 suites, and DHE runs on a 1024-bit group.
    "legacy": {
        "protocols": "TLSv1 TLSv1.1 TLSv1.2",
        "ciphers": "ALL:@SECLEVEL=0",
        "prefer_server_ciphers": "on",
        "dhparam_bits": 1024,
    },
    # A site nobody touched since before TLS 1.2 was the norm: only TLS 1.0 and 1.1. A modern
    # client (OpenSSL 3 at its default security level) cannot even complete a handshake.
    "old_only": {
        "protocols": "TLSv1 TLSv1.1",
        "ciphers": "ALL:@SECLEVEL=0",
        "prefer_server_ciphers": "on",
    },
}

# How each kind of server certificate is made (see pki.py). "own" names = the host's fqdn and IP.
CERTIFICATES = {
    "lab":        {"bits": 2048, "digest": "sha256", "issuer": "ca",   "names": "own",   "valid": "current"},
    "legacy":     {"bits": 1024, "digest": "sha1",   "issuer": "ca",   "names": "own",   "valid": "current"},
    "expired":    {"bits": 2048, "digest": "sha256", "issuer": "ca",   "names": "own",   "valid": "expired"},
    "selfsigned": {"bits": 2048, "digest": "sha256", "issuer": "self", "names": "own",   "valid": "current"},
    "wrongname":  {"bits": 2048, "digest": "sha256", "issuer": "ca",   "names": "wrong", "valid": "current"},
}
WRONG_NAME = "intranet.other-unit.readyscan.test"

# The administrators' management station: an address of the lab range that no host ever gets
# (hosts start at .10), used as the only source allowed to reach management-only ports.
MGMT_STATION = "10.203.0.2"

# --- logging and accounts ---------------------------------------------------------------------
JOURNALD_6_MONTHS = {"Storage": "persistent", "SystemMaxUse": "1G", "MaxRetentionSec": "6month",
                     "ForwardToSyslog": "yes"}
JOURNALD_3_MONTHS = {"Storage": "persistent", "SystemMaxUse": "512M", "MaxRetentionSec": "3month",
                     "ForwardToSyslog": "yes"}
PASSWORD_AGEING = {"PASS_MAX_DAYS": 90, "PASS_MIN_DAYS": 1, "PASS_WARN_AGE": 7}
LOCKOUT = {"deny": 5, "unlock_time": 900, "fail_interval": 900}   # pam_faillock, faillock.conf
PASSWORD_QUALITY = {"minlen": 12, "dcredit": -1, "ucredit": -1, "lcredit": -1, "ocredit": -1,
                    "maxrepeat": 3, "retry": 3, "enforce_for_root": None}

# --- inventory declarations -------------------------------------------------------------------
SSH_ADMIN = {"port": 22, "proto": "tcp", "kind": "ssh", "name": "Quản trị từ xa (SSH)",
             # the scanner stands in the dmz and logs in from there to inspect every host
             "exposure": ["mgmt", "dmz"]}
WEB_HTTP = {"port": 80, "proto": "tcp", "kind": "http", "name": "Trang web (HTTP)",
            "exposure": ["internet", "dmz", "app"]}
WEB_HTTPS = {"port": 443, "proto": "tcp", "kind": "https", "name": "Trang web (HTTPS)",
             "exposure": ["internet", "dmz", "app"]}
FTP_PLAIN = {"port": 21, "proto": "tcp", "kind": "ftp", "name": "Nhận tệp hồ sơ (FTP)", "exposure": ["dmz", "app"]}
MONITORING = {"port": 9100, "proto": "tcp", "kind": "other", "name": "Giám sát máy chủ (node exporter)",
              "exposure": ["mgmt"]}

# --- check catalogue groups (ids from the catalog) --------------------------------------------
# ports.zone_violation judges the declared non-database services; ports.zone_violation.database
# the database ones (and undeclared database ports), not_applicable on hosts without any.
PORTS = ["ports.undeclared_open", "ports.risky_exposed", "ports.declared_unreachable",
         "ports.zone_violation"]
TLS_PROTOCOLS = ["tls.cleartext", "tls.protocol.ssl2_ssl3", "tls.protocol.legacy", "tls.protocol.tls12_missing",
                 "tls.protocol.tls13_missing"]
TLS_CIPHERS = ["tls.cipher.weak", "tls.cipher.no_forward_secrecy"]
TLS_CERT = ["tls.cert.expired", "tls.cert.expiring", "tls.cert.untrusted",
            "tls.cert.hostname_mismatch", "tls.cert.weak_key", "tls.cert.sha1_signature"]
# OpenSSL 3.0 cannot be made vulnerable to these, nor to compress or renegotiate insecurely.
TLS_IMMUNE = ["tls.vuln.heartbleed", "tls.vuln.ccs_injection", "tls.vuln.robot",
              "tls.reneg.insecure", "tls.compression", "tls.fallback_scsv"]
HTTP_HEADERS = ["http.redirect_https", "http.hsts", "http.csp", "http.frame_options",
                "http.content_type_options", "http.version_disclosure"]
HTTP_EXTRAS = ["http.directory_listing", "http.trace"]
SSHD_PROBES = ["sshd.algorithms.weak", "sshd.auth.password_offered"]
SSH_CONFIG = ["ssh.config.root_login", "ssh.config.password_auth", "ssh.config.max_auth_tries",
              "ssh.config.idle_timeout", "ssh.config.access_restricted", "ssh.config.algorithms"]
ACCOUNTS = ["accounts.password_ageing", "accounts.password_quality", "accounts.lockout"]
LOGGING = ["logging.daemon", "logging.remote_forwarding", "logging.retention"]
PATCH = ["patch.os_eol"]
FIREWALL = ["firewall.default_deny"]
WEB_ALL = TLS_PROTOCOLS + TLS_CIPHERS + TLS_CERT + TLS_IMMUNE + HTTP_HEADERS + HTTP_EXTRAS
SSH_ALL = SSHD_PROBES + SSH_CONFIG

# --- the profiles -----------------------------------------------------------------------------
PROFILES = {
    "hard": {
        "summary": "hardened web server: every check passes",
        "zone": "dmz", "role": "web", "os": "debian13", "system": "portal",
        "ssh": {"host_keys": ["ed25519"], "config": SSHD_HARDENED_NO_BANNER},
        "web": {"server_tokens": "off", "headers": True, "http": "redirect",
                "https": [{"port": 443, "tls": "modern", "cert": "lab"}]},
        "listeners": [{"port": 9100, "kind": "metrics"}],
        "logging": {"rsyslog": True, "forward": "rainerscript", "rotate": ("weekly", 26),
                    "journald": JOURNALD_6_MONTHS},
        "accounts": {"login_defs": PASSWORD_AGEING, "pwquality": PASSWORD_QUALITY, "lockout": LOCKOUT},
        # nftables input rules: default deny, then these TCP ports (from one source if "from").
        "firewall": [{"tcp": 22}, {"tcp": 80}, {"tcp": 443}, {"tcp": 9100, "from": MGMT_STATION}],
        "services": [SSH_ADMIN, WEB_HTTP, WEB_HTTPS, MONITORING],
        "expect": {
            "fail": {},
            # zone_violation passes in full only because the mgmt-only 9100 is refused to the dmz.
            "pass": PORTS + WEB_ALL + SSH_ALL + ACCOUNTS + LOGGING + PATCH + FIREWALL,
            "needs_firewall": ["ports.zone_violation", "firewall.default_deny"],
        },
    },
    "legacy": {
        "summary": "old web server left as installed years ago",
        # Debian 10: past the end of Debian LTS (Ubuntu 18.04 would now be a paid-ESM question
        # for a person, not a seeded failure).
        "zone": "dmz", "role": "web", "os": "debian10", "system": "portal",
        "ssh": {"host_keys": ["rsa", "ecdsa", "ed25519"], "config": SSHD_LEGACY},
        "web": {"server_tokens": "on", "headers": False, "http": "content",
                "https": [{"port": 443, "tls": "legacy", "cert": "legacy"},
                          # the old public-services portal: TLS 1.0/1.1 only, no security headers
                          {"port": 8443, "tls": "old_only", "cert": "lab"}]},
        # A forgotten document share (nginx cannot answer TRACE, so the lab listener serves it).
        "listeners": [{"port": 8080, "kind": "http-files"}],
        # vsftpd for citizens' file uploads, never given TLS: AUTH TLS is refused.
        "ftp": {"tls": False},
        "logging": {"rsyslog": True, "forward": None, "rotate": ("weekly", 4), "journald": {}},
        "accounts": {"login_defs": {"PASS_MAX_DAYS": 99999, "PASS_MIN_DAYS": 0, "PASS_WARN_AGE": 7},
                     "pwquality": {"minlen": 6}, "lockout": None},
        "firewall": None,
        "services": [SSH_ADMIN, WEB_HTTP, WEB_HTTPS,
                     {"port": 8443, "proto": "tcp", "kind": "https", "name": "Cổng dịch vụ công (bản cũ)",
                      "exposure": ["internet", "dmz", "app"]},
                     {"port": 8080, "proto": "tcp", "kind": "http", "name": "Kho tài liệu nội bộ",
                      "exposure": ["dmz", "app"]},
                     FTP_PLAIN],
        "expect": {
            "fail": {
                "tls.protocol.legacy": "443: nginx ssl_protocols TLSv1 TLSv1.1 TLSv1.2 (@SECLEVEL=0); "
                                       "8443: TLSv1 TLSv1.1 only",
                "tls.protocol.tls12_missing": "8443 (the old public-services portal): ssl_protocols TLSv1 TLSv1.1",
                "tls.protocol.tls13_missing": "TLSv1.3 left out of ssl_protocols",
                "tls.cipher.weak": "ssl_ciphers ALL:@SECLEVEL=0: anonymous ADH/AECDH suites, CBC-SHA1 suites, DHE on a 1024-bit group",
                "tls.cipher.no_forward_secrecy": "ALL includes static-RSA key exchange (AES128-SHA…)",
                "tls.cert.weak_key": "certificate key is RSA 1024",
                "tls.cert.sha1_signature": "certificate signed by the lab CA with sha1WithRSAEncryption",
                "tls.cert.untrusted": "the RSA-1024/SHA-1 certificate fails path validation at today's "
                                      "security level, although the lab CA issued it",
                "http.redirect_https": "port 80 serves the site instead of a 301 to HTTPS",
                "http.hsts": "no Strict-Transport-Security header",
                "http.csp": "no Content-Security-Policy header",
                "http.frame_options": "no X-Frame-Options header",
                "http.content_type_options": "no X-Content-Type-Options header",
                "http.version_disclosure": "server_tokens on: Server: nginx/1.22.1",
                "http.hsts@8443/tcp": "8443 speaks only TLS 1.0/1.1 and sends no HSTS: the headers are read "
                                      "over a permissive connection, not lost to a handshake error",
                "http.version_disclosure@8443/tcp": "server_tokens on, read over TLS 1.1",
                "http.directory_listing": "declared 8080 (document share) lists /",
                "http.trace": "declared 8080 answers TRACE with an echo of the request",
                "sshd.algorithms.weak": "sshd adds group1/group14-sha1 kex, CBC/3DES ciphers, hmac-sha1/md5, ssh-rsa",
                "sshd.auth.password_offered": "PasswordAuthentication yes, KbdInteractiveAuthentication yes",
                "ssh.config.root_login": "PermitRootLogin yes",
                "ssh.config.password_auth": "PasswordAuthentication yes",
                "ssh.config.idle_timeout": "ClientAliveInterval 0",
                "ssh.config.max_auth_tries": "MaxAuthTries 6 (the OpenSSH default, above the usual 4)",
                "ssh.config.access_restricted": "no AllowUsers/AllowGroups",
                "ssh.config.algorithms": "sshd_config adds SHA-1 kex, CBC/3DES ciphers, SHA-1/MD5 MACs",
                "accounts.password_ageing": "login.defs PASS_MAX_DAYS 99999, PASS_MIN_DAYS 0",
                "accounts.password_quality": "pam_pwquality with pwquality.conf minlen = 6",
                "accounts.lockout": "no pam_faillock (or pam_tally2) in the PAM auth stack",
                "logging.remote_forwarding": "rsyslog writes local files only",
                "logging.retention": "logrotate weekly, rotate 4 (about 1 month)",
                "patch.os_eol": "os-release claims Debian 10 (buster): Debian LTS for it ended 2024-06-30",
                "sshd.version.outdated": "OpenSSH 9.2p1 from the openssh-server package of a Debian 10 that gets "
                                         "no fixes any more (no pending update proves nothing there)",
                "firewall.default_deny": "no host firewall rules at all",
                "ports.risky_exposed": "21/tcp answers with vsftpd's 220 greeting: FTP logins cross the "
                                       "network in clear text (risky even when declared)",
                "tls.cleartext": "21/tcp: vsftpd (ssl_enable=NO) answers AUTH TLS with 530; the other TLS "
                                 "checks are not_applicable there",
            },
            "pass": [p for p in PORTS if p != "ports.risky_exposed"]
                    + ["tls.protocol.ssl2_ssl3", "tls.cert.expired", "tls.cert.expiring",
                       "tls.cert.hostname_mismatch"]
                    + TLS_IMMUNE + ["logging.daemon"],
        },
    },
    "badcert": {
        "summary": "sound web server whose three HTTPS ports have certificate problems",
        "zone": "dmz", "role": "web", "os": "debian13", "system": "portal",
        "ssh": {"host_keys": ["ed25519"], "config": SSHD_HARDENED},
        "web": {"server_tokens": "off", "headers": True, "http": "redirect",
                "https": [{"port": 443, "tls": "modern", "cert": "expired"},
                          {"port": 8443, "tls": "modern", "cert": "selfsigned"},
                          {"port": 9443, "tls": "modern", "cert": "wrongname"}]},
        "listeners": [],
        "logging": {"rsyslog": True, "forward": "legacy", "rotate": ("weekly", 13),
                    "journald": JOURNALD_3_MONTHS},
        "accounts": {"login_defs": PASSWORD_AGEING, "pwquality": PASSWORD_QUALITY, "lockout": LOCKOUT},
        "firewall": [{"tcp": 22}, {"tcp": 80}, {"tcp": 443}, {"tcp": 8443}, {"tcp": 9443}],
        "services": [SSH_ADMIN, WEB_HTTP, WEB_HTTPS,
                     {"port": 8443, "proto": "tcp", "kind": "https", "name": "Trang quản trị nội dung",
                      "exposure": ["dmz"]},
                     {"port": 9443, "proto": "tcp", "kind": "https", "name": "Cổng API liên thông",
                      "exposure": ["dmz", "app"]}],
        "expect": {
            "fail": {
                "tls.cert.expired": "443: lab-CA certificate whose notAfter is 30 days ago (openssl ca -enddate)",
                "tls.cert.untrusted": "8443: self-signed certificate, not issued by the lab CA",
                "tls.cert.hostname_mismatch": f"9443: lab-CA certificate for {WRONG_NAME} only",
            },
            "pass": PORTS + TLS_PROTOCOLS + TLS_CIPHERS
                    + ["tls.cert.weak_key", "tls.cert.sha1_signature"] + TLS_IMMUNE
                    + HTTP_HEADERS + HTTP_EXTRAS + SSH_ALL + ACCOUNTS + LOGGING + PATCH + FIREWALL,
            "needs_firewall": ["firewall.default_deny"],
        },
    },
    "exposed": {
        "summary": "application server with undeclared risky listeners and no firewall",
        "zone": "app", "role": "app", "os": "debian13", "system": "tthc",
        "ssh": {"host_keys": ["ed25519"], "config": SSHD_HARDENED},
        # 8080: a plain site a developer left up (nginx, undeclared): undeclared, but no admin console.
        "web": {"server_tokens": "off", "headers": True, "http": "redirect",
                "https": [{"port": 443, "tls": "modern", "cert": "lab"}], "plain": [8080]},
        "listeners": [{"port": 23, "kind": "telnet"}, {"port": 3306, "kind": "mysql"},
                      {"port": 6379, "kind": "redis"}],
        "logging": {"rsyslog": True, "forward": "rainerscript", "rotate": ("weekly", 26),
                    "journald": JOURNALD_6_MONTHS},
        "accounts": {"login_defs": PASSWORD_AGEING, "pwquality": PASSWORD_QUALITY, "lockout": LOCKOUT},
        "firewall": None,
        "services": [SSH_ADMIN, WEB_HTTP, WEB_HTTPS],
        "expect": {
            "fail": {
                "ports.undeclared_open": "23, 3306, 6379 and 8080 listen but are not declared",
                "ports.risky_exposed": "telnet login prompt on 23, MySQL handshake on 3306, Redis answering "
                                       "PING without AUTH on 6379",
                "ports.zone_violation.database": "undeclared 3306 and 6379 answer the dmz (an undeclared "
                                                 "service belongs to its own zone, app)",
                "firewall.default_deny": "no host firewall rules at all",
            },
            # "check@target" judges one target: 8080 is an undeclared port (a finding of
            # ports.undeclared_open), but what answers there is a plain nginx site, not an
            # application-server console, so it is no risky service whatever its port number.
            "pass": ["ports.risky_exposed@8080/tcp", "ports.declared_unreachable", "ports.zone_violation"] + TLS_PROTOCOLS
                    + TLS_CIPHERS + TLS_CERT + TLS_IMMUNE + HTTP_HEADERS + SSH_ALL + ACCOUNTS
                    + LOGGING + PATCH,
        },
    },
    "weakssh": {
        "summary": "bastion with only sshd, weakly configured, and a journal kept in memory only",
        # The declared jump host sits in the dmz with the scanner (so SSH from there is by design).
        "zone": "dmz", "role": "bastion", "os": "debian13", "system": "tthc",
        "ssh": {"host_keys": ["rsa", "ed25519"], "config": SSHD_WEAK},
        "web": None,
        "listeners": [],
        # systemd-journald is its only logger, as on a minimal Debian install (no rsyslog)
        "logging": {"rsyslog": False, "forward": None, "rotate": None, "journald_daemon": True,
                    "journald": {"Storage": "volatile", "RuntimeMaxUse": "16M"}},
        "accounts": {"login_defs": None, "pwquality": None, "lockout": None},
        "firewall": None,
        "services": [SSH_ADMIN],
        "expect": {
            "fail": {
                "sshd.algorithms.weak": "sshd adds aes128-cbc, aes256-cbc, 3des-cbc, hmac-sha1-96, hmac-md5",
                "sshd.auth.password_offered": "PasswordAuthentication yes",
                "ssh.config.root_login": "PermitRootLogin yes",
                "ssh.config.password_auth": "PasswordAuthentication yes",
                "ssh.config.max_auth_tries": "MaxAuthTries 10",
                "ssh.config.idle_timeout": "ClientAliveInterval 0",
                "ssh.config.access_restricted": "no AllowUsers/AllowGroups",
                "ssh.config.algorithms": "sshd_config adds CBC/3DES ciphers and hmac-sha1-96/hmac-md5",
                "accounts.password_ageing": "PASS_MAX_DAYS/PASS_MIN_DAYS/PASS_WARN_AGE commented out in login.defs",
                "accounts.password_quality": "no pam_pwquality in the PAM password stack, no pwquality.conf",
                "accounts.lockout": "no pam_faillock (or pam_tally2) in the PAM auth stack",
                "logging.daemon": "only systemd-journald runs, with Storage=volatile (lost at reboot)",
                "logging.remote_forwarding": "nothing forwards logs",
                "logging.retention": "no syslog files; the journal is volatile (0 days)",
                "firewall.default_deny": "no host firewall rules at all",
            },
            "pass": PORTS + PATCH,
        },
    },
    "dbhost": {
        "summary": "database server whose 5432 is reachable from outside its declared zone",
        "zone": "db", "role": "database", "os": "debian13", "system": "tthc",
        "ssh": {"host_keys": ["ed25519"], "config": SSHD_HARDENED},
        "web": None,
        # ssl = on with a lab-CA certificate, as a careful PostgreSQL would have.
        "listeners": [{"port": 5432, "kind": "postgres", "cert": "lab"}],
        "logging": {"rsyslog": True, "forward": "legacy", "rotate": ("weekly", 13),
                    "journald": JOURNALD_3_MONTHS},
        "accounts": {"login_defs": PASSWORD_AGEING, "pwquality": PASSWORD_QUALITY, "lockout": LOCKOUT},
        # Default deny, but 5432 is opened to the whole lab subnet instead of the app zone only.
        "firewall": [{"tcp": 22}, {"tcp": 5432, "from": "10.203.0.0/24"}],
        "services": [SSH_ADMIN,
                     {"port": 5432, "proto": "tcp", "kind": "db", "name": "CSDL PostgreSQL",
                      "exposure": ["app"]}],
        "expect": {
            "fail": {
                "ports.zone_violation.database": "5432 is declared for zone app only, yet answers the "
                                                 "scanner in dmz (nft opens it to all of 10.203.0.0/24)",
                "ports.risky_exposed": "PostgreSQL 5432 reachable from dmz, which its declaration does not allow",
            },
            "pass": ["ports.undeclared_open", "ports.declared_unreachable", "ports.zone_violation"]
                    + TLS_PROTOCOLS
                    + TLS_CIPHERS + TLS_CERT + TLS_IMMUNE + SSH_ALL + ACCOUNTS + LOGGING + PATCH
                    + FIREWALL,
            "needs_firewall": ["firewall.default_deny"],
        },
    },
}

# Release files each host claims (its /etc/os-release and friends).
OS_RELEASES = {
    "debian13": {
        "hint": "debian-13",
        "os-release": {"PRETTY_NAME": "Debian GNU/Linux 13 (trixie)", "NAME": "Debian GNU/Linux",
                       "VERSION_ID": "13", "VERSION": "13 (trixie)", "VERSION_CODENAME": "trixie",
                       "DEBIAN_VERSION_FULL": "13.2", "ID": "debian",
                       "HOME_URL": "https://www.debian.org/",
                       "SUPPORT_URL": "https://www.debian.org/support",
                       "BUG_REPORT_URL": "https://bugs.debian.org/"},
        "debian_version": "13.2",
        "issue": "Debian GNU/Linux 13",
    },
    # Debian's own os-release of 10.13 (buster); Debian LTS for it ended 2024-06-30.
    "debian10": {
        "hint": "debian-10",
        "os-release": {"PRETTY_NAME": "Debian GNU/Linux 10 (buster)", "NAME": "Debian GNU/Linux",
                       "VERSION_ID": "10", "VERSION": "10 (buster)", "VERSION_CODENAME": "buster", "ID": "debian",
                       "HOME_URL": "https://www.debian.org/",
                       "SUPPORT_URL": "https://www.debian.org/support",
                       "BUG_REPORT_URL": "https://bugs.debian.org/"},
        "debian_version": "10.13",
        "issue": "Debian GNU/Linux 10",
    },
}

# Information systems of the inventory (sections I/II); hosts join by their profile's "system".
SYSTEMS = {
    "portal": {
        "name": "Cổng thông tin điện tử tỉnh",
        "function": "Đăng tải tin tức, văn bản chỉ đạo điều hành và thông tin cho người dân",
        "location": "Phòng máy chủ Sở Thông tin và Truyền thông",
        "owner": "UBND tỉnh Thử Nghiệm",
        "operator": "Trung tâm Công nghệ thông tin và Truyền thông",
        "security_level": 3,
        "contact": "Lê Văn Cường, 0210 3800 112",
        "connects_to_population_db": False,
    },
    "tthc": {
        "name": "Hệ thống thông tin giải quyết thủ tục hành chính",
        "function": "Tiếp nhận, giải quyết hồ sơ thủ tục hành chính trực tuyến mức độ toàn trình",
        "location": "Trung tâm dữ liệu tỉnh",
        "owner": "UBND tỉnh Thử Nghiệm",
        "operator": "Trung tâm Phục vụ hành chính công",
        "security_level": 3,
        "contact": "Phạm Thị Dung, 0210 3800 113",
        "connects_to_population_db": True,
        "population_db_services": ["authentication", "lookup"],
    },
}


def profile(name: str) -> dict:
    return PROFILES[name]


def daemons_of(name: str) -> list[str]:
    """Names of the daemons a host of this profile runs (what ``status`` expects alive)."""
    prof = PROFILES[name]
    names = ["sshd"]
    if prof["web"]:
        names.append("nginx")
    if prof.get("ftp"):
        names.append("vsftpd")
    if prof["logging"]["rsyslog"]:
        names.append("rsyslogd")
    if prof["logging"].get("journald_daemon"):
        names.append("systemd-journald")
    if prof["listeners"]:
        names.append("listener")
    return names


def certificate_kinds(name: str) -> list[str]:
    web = PROFILES[name]["web"]
    return sorted({vhost["cert"] for vhost in web["https"]}) if web else []


def listener_certificate(name: str) -> str | None:
    """The certificate kind the host's TLS-capable listeners (postgres) use, if any."""
    kinds = {item["cert"] for item in PROFILES[name]["listeners"] if item.get("cert")}
    return kinds.pop() if kinds else None
