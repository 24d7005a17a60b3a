"""The installer's errors: every failure becomes one line naming the step and the cause."""


class InstallError(Exception):
    """A cause, raised anywhere; the step runner adds the step's name."""


class StepFailed(Exception):
    """An InstallError (or an unexpected exception) tagged with the step it happened in."""

    def __init__(self, step: str, cause: str) -> None:
        super().__init__(f"step {step!r} failed: {cause}")
        self.step = step
        self.cause = cause
