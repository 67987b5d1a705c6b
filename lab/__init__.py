"""readyscan test lab: real hosts (network namespaces with sshd, nginx, rsyslog and fake
listeners) seeded with known security gaps, for integration tests and demos.

Entry point: ``python3 -m lab up [--hosts N] | down | status`` from the repository root.
Standard library only: it runs under the system python3 as root.
"""
