"""Windows host probes: pure parsers of Windows command outputs, one module per area."""
