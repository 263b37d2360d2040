"""The one error type the workflow raises for things a person can meet and act on."""


class ApplicationError(Exception):
    """A refusal with a stable `code` (for tests and clients) and a sentence that says what to do."""

    def __init__(self, code: str, message: str, *, status: int = 400):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status

    def as_dict(self) -> dict:
        return {"code": self.code, "error": self.message}
