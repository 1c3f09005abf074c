"""Loopback stand-ins for the external HTTP services: ESI and zKillboard R2Z2."""
