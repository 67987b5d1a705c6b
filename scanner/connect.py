"""Build the transport for a host from the inventory; secrets come from environment variables."""

from __future__ import annotations

import os

from scanner.inventory import Host, LoadedInventory
from scanner.transport.base import Transport, TransportError
from scanner.transport.local import LocalTransport
from scanner.transport.ssh import SshTarget, SshTransport


def take_secrets(loaded: LoadedInventory) -> dict[str, str]:
    """Move the secrets the inventory names out of the environment into memory, so that no child
    process (nmap, sudo, ssh) inherits them. Called once by the command that runs the scan."""
    names = set()
    for host in loaded.inventory.hosts:
        ssh = loaded.inventory.ssh_of(host)
        names |= {ssh.key_passphrase_env, ssh.sudo_password_env, loaded.inventory.winrm_of(host).password_env} - {None}
    return {name: os.environ.pop(name) for name in sorted(names) if name in os.environ}


def _secret(env_name: str | None, what: str, secrets: dict[str, str] | None) -> str | None:
    if not env_name:
        return None
    value = (secrets or {}).get(env_name, os.environ.get(env_name))
    if value is None:
        raise TransportError("auth_failed", f"{what}: environment variable {env_name} is not set")
    return value


def sudo_password(loaded: LoadedInventory, host: Host, secrets: dict[str, str] | None = None) -> str | None:
    return _secret(loaded.inventory.ssh_of(host).sudo_password_env, "sudo password", secrets)


def transport_for(loaded: LoadedInventory, host: Host, address: str, *,
                  accept_new_host_keys: bool = False, secrets: dict[str, str] | None = None) -> Transport | None:
    """The host's transport, not yet connected; None for `transport: none`."""
    kind = loaded.inventory.transport_of(host)
    if kind == "none":
        return None
    if kind == "local":
        return LocalTransport()
    if kind == "winrm":
        return _winrm_transport(loaded, host, address, secrets)
    ssh = loaded.inventory.ssh_of(host)
    target = SshTarget(
        address=address, port=ssh.port or 22, user=ssh.user, key_file=loaded.resolve(ssh.key),
        key_passphrase=_secret(ssh.key_passphrase_env, "SSH key passphrase", secrets),
        known_hosts=loaded.resolve(ssh.known_hosts), proxy_jump=ssh.proxy_jump,
        connect_timeout=ssh.connect_timeout or loaded.inventory.scan.timeouts.connect,
        windows=loaded.inventory.platform_of(host) == "windows")
    return SshTransport(target, accept_new_host_keys=accept_new_host_keys)


def _winrm_transport(loaded: LoadedInventory, host: Host, address: str,
                     secrets: dict[str, str] | None) -> Transport:
    from scanner.transport.winrm import WinrmTarget, WinrmTransport  # pypsrp: only for Windows hosts

    winrm = loaded.inventory.winrm_of(host)
    target = WinrmTarget(
        address=address, port=winrm.effective_port, scheme=winrm.effective_scheme, auth=winrm.auth or "negotiate",
        user=winrm.user, password=_secret(winrm.password_env, "WinRM password", secrets),
        ca_file=str(loaded.resolve(winrm.ca_file)) if winrm.ca_file else None,
        server_name=winrm.server_name or host.fqdn, spn_service=winrm.spn_service or "WSMAN",
        connect_timeout=winrm.connect_timeout or loaded.inventory.scan.timeouts.connect,
        operation_timeout=winrm.command_timeout or loaded.inventory.scan.timeouts.command)
    return WinrmTransport(target)
