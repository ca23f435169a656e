"""What both sets of endpoints share: parsing."""

from typing import Any

from rest_framework import serializers


def parse(serializer_class: type[serializers.Serializer], data: Any) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
