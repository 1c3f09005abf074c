"""Finding every invalid field of a document that failed to decode.

msgspec stops at the first invalid field. A reject lists them all, so once
a decode has failed, the document is decoded again one field at a time.
This runs only for records that are rejected anyway, so valid records are
decoded once, as before.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Annotated, Any

import msgspec

_generic_decoder = msgspec.json.Decoder()


@dataclasses.dataclass(frozen=True, slots=True)
class FieldError:
    """The decode error of one field, as decoding the field alone raised it."""

    path: str
    """The field's JSON path from the document, such as ``$.victim``."""
    error: msgspec.ValidationError
    """The error, whose own path (if any) is relative to :attr:`path`."""
    text: bytes
    """The field's value as JSON text, for the reason to quote."""


def find_invalid_fields(
    raw: bytes | msgspec.Raw, annotation: type[msgspec.Struct]
) -> list[FieldError]:
    """Return the errors of every invalid field of ``raw`` in document order.

    A field whose type is a struct, or a list of structs, is searched field
    by field; any other field is reported as a whole. A required field that
    is missing is reported after the other fields of its object, as msgspec
    does. Return an empty list when ``raw`` is not JSON or is nested too
    deeply to search.
    """
    try:
        value = _generic_decoder.decode(raw)
        errors: list[FieldError] = []
        _collect(value, annotation, "$", errors)
    except (msgspec.MsgspecError, RecursionError):
        return []
    return errors


def _collect(
    value: object, annotation: Any, path: str, errors: list[FieldError]
) -> None:
    text = msgspec.json.encode(value)
    try:
        msgspec.json.decode(text, type=annotation)
    except msgspec.ValidationError as exc:
        whole = FieldError(path, exc, text)
    else:
        return
    found = len(errors)
    struct = _struct_type(annotation)
    element = _struct_type(_list_element(annotation))
    if struct is not None and isinstance(value, dict):
        fields = {field.encode_name: field for field in msgspec.structs.fields(struct)}
        for key, item in value.items():
            if key in fields:
                _collect(item, fields[key].type, f"{path}.{key}", errors)
        for key, field in fields.items():
            if field.required and key not in value:
                missing = msgspec.ValidationError(
                    f"Object missing required field `{key}`"
                )
                errors.append(FieldError(path, missing, text))
    elif element is not None and isinstance(value, list):
        for index, item in enumerate(value):
            _collect(item, element, f"{path}[{index}]", errors)
    if len(errors) == found:
        # A check on the value as a whole failed, such as a list's minimum
        # length, or the value is of another type than the struct.
        errors.append(whole)


def _unwrap(annotation: Any) -> Any:
    """Return ``annotation`` without ``Annotated`` and an optional ``None``."""
    if typing.get_origin(annotation) is Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        others = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        if len(others) == 1:
            annotation = others[0]
    return annotation


def _struct_type(annotation: Any) -> type[msgspec.Struct] | None:
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, msgspec.Struct):
        return annotation
    return None


def _list_element(annotation: Any) -> Any:
    annotation = _unwrap(annotation)
    if typing.get_origin(annotation) is list:
        return typing.get_args(annotation)[0]
    return None
