"""Partial updates (PATCH bodies): a field left out stays; `null` only where it means "clear".

A PATCH schema lists every field as optional so it may be left out, but a `null` for a value
the object must have (a name, a flag, a list) is not "leave it": it is a 422 naming the field.
Fields listed in `nullable` accept `null` and the service clears them. The published schema
says the same: only the `nullable` fields admit null.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ValidationInfo, field_validator
from pydantic.json_schema import GetJsonSchemaHandler, JsonSchemaValue
from pydantic_core import CoreSchema


class PatchModel(BaseModel):
    nullable: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="before")
    @classmethod
    def _null_only_where_it_clears(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and info.field_name not in cls.nullable:
            raise ValueError("may not be null; leave the field out to keep its value")
        return value

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        target = handler.resolve_ref_schema(schema)
        for name, prop in target.get("properties", {}).items():
            if name in cls.nullable:
                continue
            prop.pop("default", None)
            variants = [v for v in prop.get("anyOf", ()) if v.get("type") != "null"]
            if len(variants) == 1:
                del prop["anyOf"]
                prop.update(variants[0])
            elif variants:
                prop["anyOf"] = variants
        return schema
