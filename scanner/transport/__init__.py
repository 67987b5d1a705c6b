"""Transports: how a host runs the read-only probe script (local, SSH, WinRM)."""
