"""Windows host probes: pure parsers of Windows command and PowerShell (ConvertTo-Json) outputs, one module per area."""
