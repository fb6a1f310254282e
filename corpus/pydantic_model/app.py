# pydantic validates through pydantic-core, a real wasm side module.
from pydantic import BaseModel, Field, ValidationError


class Point(BaseModel):
    x: int
    y: int = Field(default=0, ge=0)
    label: str | None = None


print(Point(x="3", y=4).model_dump())
print(Point.model_validate_json('{"x": 1, "label": "a"}'))
try:
    Point(x="not a number", y=-1)
except ValidationError as e:
    print(e.error_count(), "errors:", sorted(err["loc"][0] for err in e.errors()))
