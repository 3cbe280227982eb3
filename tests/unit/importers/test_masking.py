"""Quarantined payloads are displayed with ID numbers masked, wherever they hide."""

from __future__ import annotations

from ledger.sync.quarantine import mask_payload
from ledger.values.id_numbers import mask_text

ID = "11010519491231002X"
MASKED = "110105********002X"


def test_the_id_field_is_masked_whatever_its_shape() -> None:
    shown = mask_payload({"sfzh": "1101051949", "xm": "张三"}, "sfzh")

    assert shown == {"sfzh": "**********", "xm": "张三"}


def test_id_numbers_elsewhere_in_the_payload_are_masked_too() -> None:
    shown = mask_payload({"remark": f"证件 {ID} 有误", "list": [ID], "n": 3}, None)

    assert shown == {"remark": f"证件 {MASKED} 有误", "list": [MASKED], "n": 3}


def test_an_id_number_with_a_wrong_check_character_is_still_masked() -> None:
    assert mask_text("110105194912310021") == "110105********0021"
