"""readyscan: security-readiness scanner for the population-database connection survey."""

__version__ = "0.1.0"
