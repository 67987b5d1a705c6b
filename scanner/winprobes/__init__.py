"""Read-only probes of Windows hosts: PowerShell outputs (ConvertTo-Json) and their pure parsers."""
