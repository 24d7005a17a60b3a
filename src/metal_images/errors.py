"""The one exception type the CLI turns into a single clear error line."""

from __future__ import annotations


class MetalImagesError(Exception):
    """A user-facing failure: the message names what failed and where.

    The CLI prints `error: <message>` and exits with `exit_code`; no traceback.
    `detail` holds optional extra lines (e.g. the tail of a command's output).
    """

    exit_code = 1

    def __init__(self, message: str, *, detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail

    def __str__(self) -> str:
        return self.message


class ConfigError(MetalImagesError):
    """Bad input: a broken image.yaml, install.yaml, flag or config file."""

    exit_code = 2


class CommandError(MetalImagesError):
    """An external command failed; `reproduce` is a shell line that runs it again."""

    def __init__(self, message: str, *, reproduce: str = "", detail: str = "") -> None:
        super().__init__(message, detail=detail)
        self.reproduce = reproduce

    def __str__(self) -> str:
        return f"{self.message}\n  reproduce with: {self.reproduce}" if self.reproduce else self.message
