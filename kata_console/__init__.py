"""kata-console: a terminal inspection workstation for Kata Containers operators."""

__version__ = "0.1.0"
