"""Rule profiles: loading, strict validation with every mistake explained, digests, catalogue."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from ledger.compliance.catalogue import (
    BUILTIN_DIR,
    TEMPLATES_DIR,
    Catalogue,
    build_catalogue,
    catalogue,
)
from ledger.compliance.profile_files import load_document, load_profile_file, parse_profile
from ledger.errors import ProfileError, UnknownProfileError

BUILT_INS = {
    "quzhou-annual-90",
    "quzhou-2020-intermediate",
    "quzhou-junior-bachelor",
    "quzhou-initial-determination",
    "cixi-2021-intermediate",
}


def r2_document() -> dict[str, Any]:
    return load_document((BUILTIN_DIR / "quzhou-2020-intermediate.yaml").read_text("utf-8"))


def errors_of(document: Any) -> dict[str, list[str]]:
    with pytest.raises(ProfileError) as caught:
        parse_profile(document)
    return caught.value.errors


def test_every_built_in_profile_loads_and_cites_its_seed():
    profiles = {p.id: p for p in catalogue().all()}
    assert set(profiles) == BUILT_INS
    for profile in profiles.values():
        assert (Path("/work/shared/seeds") / profile.notice["seed"]).name.endswith(".txt")
        assert len(profile.digest) == 64


def test_the_r2_profile_reads_as_the_notice_says():
    profile = catalogue().get("quzhou-2020-intermediate")
    assert profile.window_for(2031) == (2019, 2020)
    assert [(r.id, r.of, r.per, str(r.hours)) for r in profile.rules] == [
        ("total", "all", "window", "180.0"),
        ("specialised", "specialised", "window", "120.0"),
        ("public", "public", "window", "36.0"),
    ]


def test_digest_covers_content_not_formatting():
    document = r2_document()
    reformatted = copy.deepcopy(document)
    reformatted["rules"][0]["hours"] = "180.0"
    reformatted["rules"][1]["of"] = ["specialised"]
    assert parse_profile(reformatted).digest == parse_profile(document).digest
    changed = copy.deepcopy(document)
    changed["rules"][2]["hours"] = 37
    assert parse_profile(changed).digest != parse_profile(document).digest


def test_a_json_profile_is_accepted_too(tmp_path: Path):
    path = tmp_path / "r2.json"
    path.write_text(json.dumps(r2_document(), default=str, ensure_ascii=False), "utf-8")
    assert load_profile_file(path).digest == catalogue().get("quzhou-2020-intermediate").digest


def test_every_mistake_is_reported_with_its_path():
    document = r2_document()
    document["version"] = 0
    document["window"] = {"years": [2019, 2019]}
    document["rules"][0]["hours"] = "18.55"
    document["rules"][1]["of"] = ["specialized"]
    document["rules"][2]["per"] = "decade"
    document["colour"] = "red"
    errors = errors_of(document)
    assert set(errors) == {
        "version",
        "window.years",
        "rules[0].hours",
        "rules[1].of[0]",
        "rules[2].per",
        "colour",
    }
    assert "at most one decimal place" in errors["rules[0].hours"][0]
    assert "specialised" in errors["rules[1].of[0]"][0]


def test_a_default_as_of_date_follows_the_as_of_rule():
    # Seed 001: materials are counted up to 2024-07-31. A default before 1990 is refused as a
    # requested as-of date is (it used to be taken, and then evaluated without the check).
    document = r2_document()
    document["as_of"] = {"counts": "on_or_before", "default": "2024-07-31"}
    assert str(parse_profile(document).default_as_of) == "2024-07-31"
    document["as_of"]["default"] = "1989-12-31"
    assert errors_of(document) == {"as_of.default": ["must be a date from 1990 on"]}
    document["as_of"]["default"] = "31.07.2024"
    assert errors_of(document) == {"as_of.default": ["must be a date YYYY-MM-DD"]}


def test_missing_fields_are_each_named():
    errors = errors_of({"id": "x-1"})
    for field in ("version", "title", "notice", "window", "source_policy", "rules"):
        assert errors[field] == ["is required"]


def test_an_informational_rule_may_not_require_hours_and_a_minimum_must():
    document = r2_document()
    document["rules"][0]["kind"] = "informational"
    del document["rules"][1]["hours"]
    errors = errors_of(document)
    assert "no required hours" in errors["rules[0].hours"][0]
    assert errors["rules[1].hours"] == ["is required for a minimum rule"]


def test_the_industry_platform_needs_a_way_to_decide_who_is_managed_there():
    document = r2_document()
    del document["source_policy"]["industry_managed"]
    assert "source_policy.industry_managed" in errors_of(document)


def test_yaml_decimals_stay_exact_and_repeated_keys_are_refused():
    assert str(load_document("hours: 18.5")["hours"]) == "18.5"
    with pytest.raises(ProfileError) as caught:
        load_document("id: a\nid: b\n", origin="twice.yaml")
    assert "twice.yaml" in caught.value.errors["_file"][0]
    assert "line 2" in caught.value.errors["_file"][0]


def test_the_r5_template_names_every_placeholder_until_filled_in():
    # seed: 000_c7d37b89729226a0.txt and 002_3f11e0b9a6581793.txt (R5: set by the department)
    path = TEMPLATES_DIR / "senior-industry.yaml"
    with pytest.raises(ProfileError) as caught:
        load_profile_file(path)
    unfilled = set(caught.value.errors)
    assert {"id", "title.zh", "notice.document", "rules[0].hours", "rules[1].hours"} <= unfilled
    assert all("TODO" in caught.value.errors[k][0] for k in unfilled)
    filled = path.read_text("utf-8").replace("id: TODO-", "id: ")
    filled = filled.replace("hours: TODO", "hours: 30")
    filled = filled.replace("TODO ", "").replace("clause: TODO", "clause: 第三条")
    profile = parse_profile(load_document(filled))
    assert profile.id == "senior-engineer-zj-industry"
    assert profile.window_for(2025) == (2023, 2024, 2025)


def test_catalogue_finds_a_version_or_the_newest():
    r2 = r2_document()
    later = copy.deepcopy(r2) | {"version": 2}
    cat = Catalogue((parse_profile(r2), parse_profile(later)))
    assert cat.get("quzhou-2020-intermediate").version == 2
    assert cat.get("quzhou-2020-intermediate@1").version == 1
    assert cat.get("quzhou-2020-intermediate", 1).version == 1
    with pytest.raises(UnknownProfileError):
        cat.get("quzhou-2020-intermediate@3")
    with pytest.raises(UnknownProfileError):
        cat.get("nowhere")


def test_one_id_and_version_with_two_contents_is_refused(tmp_path: Path):
    changed = r2_document()
    changed["rules"][0]["hours"] = 170
    (tmp_path / "mine.yaml").write_text(json.dumps(changed, default=str), "utf-8")
    with pytest.raises(ProfileError) as caught:
        build_catalogue([BUILTIN_DIR, tmp_path])
    assert "new version" in caught.value.errors["quzhou-2020-intermediate@1"][0]


def test_an_invalid_file_in_a_directory_is_named(tmp_path: Path):
    (tmp_path / "broken.yaml").write_text("id: x\n", "utf-8")
    with pytest.raises(ProfileError) as caught:
        build_catalogue([tmp_path])
    assert "broken.yaml: version" in caught.value.errors
