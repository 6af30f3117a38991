"""Personal data with libraries made for it: phone numbers (libphonenumber), cards with
separators (Luhn), IBANs (mod-97); and the look-alikes that stay (versions, dates, ids)."""

from __future__ import annotations

import random

import pytest

from bench.synth import iban, luhn_complete
from tasks.retention.engine import Redactor

CARD = luhn_complete("5555" + "34110042719")
PII = [
    "+44 20 7946 0958",  # UK
    "+49 30 901820",  # Germany, short subscriber number
    "+33 1 42 68 53 00",  # France
    "+81 3-3224-9999",  # Japan
    "+1 (415) 555-0134",
    "+49 (0)30 9018 2000",
    "(212) 555-0142",
    " ".join(CARD[i : i + 4] for i in range(0, 16, 4)),
    "-".join(CARD[i : i + 4] for i in range(0, 16, 4)),
    iban(random.Random(4), "DE"),
]
KEPT = [
    "version 2024-11-21",
    "node v18.17.1",
    "build 10.0.19045.3693",
    "ts 1763700000000 cost 0.0639588249999999",
    "+1 000 000 0000",  # not a valid plan number
    CARD[:-1] + str((int(CARD[-1]) + 1) % 10),  # Luhn fails
    "uuid 6f1c2a4e-9b7d-4c3e-8a21-5d4f3b2a1c0e",
]


@pytest.fixture(scope="module")
def red() -> Redactor:
    return Redactor(key=b"pii")


@pytest.mark.parametrize("value", PII)
def test_personal_data_is_redacted(red: Redactor, value: str) -> None:
    out = red.redact_text(f"contact: {value} today".encode())
    assert value.encode() not in out and b"[REDACTED:" in out


@pytest.mark.parametrize("text", KEPT)
def test_look_alikes_are_kept(red: Redactor, text: str) -> None:
    assert red.redact_text(text.encode()) == text.encode()
