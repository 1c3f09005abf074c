"""Subcommands of ``evedmv``; each module has ``register(subparsers)``."""
