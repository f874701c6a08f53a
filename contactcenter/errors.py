"""Errors the service layer raises; the web layer turns each into its HTTP status and JSON body."""

from __future__ import annotations


class ServiceError(Exception):
    """Base: a message for the user and, where one field is at fault, its name."""

    code = "error"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class Invalid(ServiceError):
    """The request is understood but a value is not acceptable (422)."""

    code = "invalid"


class NotFound(ServiceError):
    code = "not_found"

    def __init__(self, what: str, key: object, field: str | None = None) -> None:
        super().__init__(f"{what} {key} does not exist", field)


class Conflict(ServiceError):
    """The request clashes with what is stored: a taken identity, a refused merge (409)."""

    code = "conflict"


class Merged(ServiceError):
    """The customer was merged; requests for it are redirected to the survivor."""

    code = "merged"

    def __init__(self, merged_id: int, survivor_id: int) -> None:
        super().__init__(f"customer {merged_id} was merged into customer {survivor_id}")
        self.merged_id = merged_id
        self.survivor_id = survivor_id


class Unavailable(ServiceError):
    """The service cannot do this now but will soon (503): e.g. no instance routes for a moment
    while another takes over. The request changed nothing; try it again."""

    code = "unavailable"
