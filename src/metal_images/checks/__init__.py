"""Property checks of a booted image (pytest-testinfra over SSH), per role and OS.

`properties.py` holds the checks (upstream's goss.yaml, contract 9.2, plus ours);
`runner.py` runs them with pytest and returns one result per check.
"""
