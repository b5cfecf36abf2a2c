"""A scan's bad option, said in the words of the command line."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError, field_validator

from campus_core.commandline import first_error


class Options(BaseModel):
    local_address: str
    timeout: float

    @field_validator("local_address")
    @classmethod
    def _loopback(cls, value: str) -> str:
        if not value.startswith("127."):
            raise ValueError(f"{value} is not a loopback address")
        return value


def test_the_key_is_written_as_its_option_and_pydantic_s_prefix_is_left_out() -> None:
    with pytest.raises(ValidationError) as caught:
        Options(local_address="10.0.0.1", timeout=1.0)
    assert first_error(caught.value) == "local-address: 10.0.0.1 is not a loopback address"
    with pytest.raises(ValidationError) as caught:
        Options.model_validate({"local_address": "127.0.0.1", "timeout": "soon"})
    assert first_error(caught.value).startswith("timeout: Input should be a valid number")


def test_another_error_is_its_own_words() -> None:
    assert first_error(ValueError("'2x' is not a duration")) == "'2x' is not a duration"
