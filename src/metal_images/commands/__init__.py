"""CLI verbs, one module per area; each exports COMMANDS for cli.py."""
