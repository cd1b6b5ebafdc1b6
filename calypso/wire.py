"""JSON on the wire with exact decimals.

Amounts are `Decimal` end to end and travel as JSON *numbers*: `0.1` stays `0.1` and 18 decimals
survive. The standard library cannot write a Decimal as a number, so encoding uses simplejson's
`use_decimal`; decoding parses every non-integer number as a Decimal, never a float.
"""

from __future__ import annotations

import decimal
import json
from typing import Any

import simplejson


def dumps(value: Any) -> bytes:
    """Compact JSON bytes; these exact bytes are what gets signed and sent."""
    return simplejson.dumps(value, use_decimal=True, separators=(",", ":")).encode()


def loads(body: bytes | str) -> Any:
    """Parse JSON with every fractional number as a Decimal."""
    return json.loads(body, parse_float=decimal.Decimal)
