"""readyscan: security-readiness scanner for the population-database connection survey."""

__version__ = "0.2.0"
