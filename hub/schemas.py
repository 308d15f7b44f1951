"""Types shared by the API schemas of every domain, and the error answers of the OpenAPI schema."""

from __future__ import annotations

import re
import types
from datetime import date, datetime
from typing import Annotated, Any, Union, get_args, get_origin

from fastapi import FastAPI, Path
from fastapi.openapi.utils import get_openapi
from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

# Ids are 32-bit integers in the database; anything outside is refused as input (a 4xx) before
# a query could fail on it.
MAX_DB_ID = 2_147_483_647

DbId = Annotated[int, Field(ge=1, le=MAX_DB_ID)]
IdPath = Annotated[int, Path(ge=1, le=MAX_DB_ID)]

PROBLEM_JSON = "application/problem+json"
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _mistyped(value: Any, annotation: Any) -> bool:
    """Whether a JSON value is of a type the annotation does not take, though pydantic's lax
    mode would convert it: ``false`` for a number, ``0`` for a boolean or a date."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _mistyped(value, get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return all(_mistyped(value, member) for member in get_args(annotation))
    if origin is list:
        item = get_args(annotation)[0] if get_args(annotation) else Any
        return isinstance(value, list) and any(_mistyped(v, item) for v in value)
    if annotation is type(None):
        return value is not None
    if annotation is bool:
        return not isinstance(value, bool)
    if annotation in (int, float):
        return isinstance(value, bool)
    if annotation in (date, datetime, AwareDatetime):  # not a number of seconds since 1970
        return not isinstance(value, date) and not (
            isinstance(value, str) and _ISO_DAY.match(value)
        )
    return False


def _iso_day(value: Any) -> Any:
    if _mistyped(value, date):
        raise ValueError("a date as YYYY-MM-DD")
    return value


# A date in a query string: YYYY-MM-DD, not a number of seconds since 1970.
IsoDate = Annotated[date, BeforeValidator(_iso_day)]


class ApiInput(BaseModel):
    """A JSON body of the API: a field it does not know is refused, and so is a value of
    another JSON type than the schema says (pydantic would read ``false`` as 0)."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _json_types(cls, data: Any) -> Any:
        if isinstance(data, dict):
            wrong = [
                key
                for name, field in cls.model_fields.items()
                if (key := field.alias or name) in data and _mistyped(data[key], field.annotation)
            ]
            if wrong:
                raise ValueError(f"not of the type the schema gives: {', '.join(wrong)}")
        return data


class FieldProblem(BaseModel):
    field: str = Field(description="Where: the field, or the parameter's place and name")
    message: str


class Problem(BaseModel):
    """An error answer of the API: problem details (RFC 9457), rendered by ``hub.main``."""

    type: str = Field(examples=["/problems/not-found"])
    title: str
    status: int
    detail: str
    instance: str = Field(description="The path that was asked for")
    errors: list[FieldProblem] | None = Field(default=None, description="Each invalid field")


_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
PROBLEM_DESCRIPTIONS = {
    400: "The body cannot be read (not JSON, or not a well-formed multipart form)",
    401: "No API token, or one that is unknown, expired or revoked",
    403: "The token's user may not do this (role, organisation or data-processing agreement)",
    404: "No such object, or one the token's user may not see",
    409: "The object's state does not allow this now",
    413: "The upload is too large",
    422: "Invalid input; `errors` names each invalid field",
}


# Answers that are not JSON: CSV exports, and stored files with the type each was stored with.
CSV_CONTENT: dict[str, Any] = {
    "description": "A CSV file (UTF-8), as an attachment",
    "content": {"text/csv": {"schema": {"type": "string"}}},
}
FILE_CONTENT: dict[str, Any] = {
    "description": "The file, with its own Content-Type, as an attachment (Range and ETag work)",
    "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
}


def problems(
    *statuses: int, notes: dict[int, str] | None = None
) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a route's error answers, each a problem+json body (``notes``:
    a route's own description of a status)."""
    notes = notes or {}
    return {
        status: {
            "description": notes.get(status) or PROBLEM_DESCRIPTIONS[status],
            "content": {PROBLEM_JSON: {"schema": _PROBLEM_REF}},
        }
        for status in statuses
    }


def openapi_schema(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema, with the error answers the hub really gives: problem+json for
    invalid input (not FastAPI's own shape) and for a body that cannot be parsed, and 401 and
    403 for every operation behind an API token (they come from the one dependency that reads
    the token). Each route declares its other answers (``responses=problems(404)``)."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(problem.pop("$defs", {}))
    components["Problem"] = problem
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            if "422" in responses and PROBLEM_JSON not in responses["422"].get("content", {}):
                responses["422"] = problems(422)[422]  # in place of FastAPI's own shape
            if "requestBody" in operation:  # FastAPI's answer to a body it cannot parse
                responses.setdefault("400", problems(400)[400])
            if operation.get("security"):
                for status, answer in problems(401, 403).items():
                    responses.setdefault(str(status), answer)
    app.openapi_schema = schema
    return schema
