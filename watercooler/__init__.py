"""Watercooler: federated micro-blogging for organisations."""

__version__ = "0.1.0"
