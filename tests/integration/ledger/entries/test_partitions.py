"""``entries`` partitioned by completion year on PostgreSQL (0013, ``ledger.entries.partitions``):
the conversion of a populated ledger both ways, append-only partitions (later ones too), the
default partition, ``ensure`` moving rows out of it, and what ``ledger verify`` finds when the
uniqueness a partitioned table cannot hold is broken behind the ledger's back."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from click.testing import CliRunner
from sqlalchemy import Engine

from api.cli import main
from ledger.attestations import signing_keys
from ledger.attestations.issuance import issue_attestation
from ledger.compliance.catalogue import get_profile
from ledger.compliance.evaluation import evaluate
from ledger.db.engine import make_engine, make_session_factory
from ledger.entries import partitions
from ledger.entries.append import append_records
from ledger.entries.audit import verify_ledger
from ledger.entries.reversal import reverse_record
from ledger.errors import PartitionError
from ledger.log import checkpoints
from ledger.log.audit import verify_log
from ledger.schema import alembic_config
from tests.factories import city_source, province_source, record

pytestmark = pytest.mark.postgres

TABLES = {
    "entries": "id",
    "records": "source_id, external_id",
    "balances": "person_id, year, category, source_id",
    "people": "id",
    "attestations": "jti",
    "attestation_entries": "jti, entry_id",
    "log_leaves": "leaf_index",
    "log_checkpoints": "tree_size",
}
TODAY = dt.date(2026, 12, 2)


@pytest.fixture
def pg(pg_db_url: str) -> Iterator[Engine]:
    engine = make_engine(pg_db_url)
    yield engine
    engine.dispose()


def populate(engine: Engine, kek: bytes) -> None:
    """Entries over several years from two sources, a reversal and a supersede, an
    attestation counting them and a signed checkpoint over all of them."""
    with make_session_factory(engine)() as session:
        city, province = city_source(session), province_source(session)
        years = ("2019-03-01", "2020-06-30", "2021-12-31", "2024-05-01", "1995-01-09")
        first, *_ = append_records(
            session,
            city,
            [
                record(f"c{i}", person=i % 4, completed_on=years[i % 5], hours=f"{10 + i}.5")
                for i in range(40)
            ],
            actor="t",
        )
        append_records(
            session, province, [record("p1", person=1, completed_on="2020-01-02")], actor="t"
        )
        reverse_record(session, city, "c7", reason="wrong", actor="t")
        append_records(
            session,
            city,
            [record("c8", person=0, hours="3", completed_on="2021-02-02")],
            actor="t",
            supersede=True,
        )
        signing_keys.create_key(session, kek, actor="ops")
        assert first.person_id is not None
        issue_attestation(
            session,
            first.person_id,
            "quzhou-2020-intermediate",
            dt.date(2021, 12, 31),
            None,
            "filing",
        )
        checkpoints.create_log_key(session, kek, actor="ops")
        checkpoints.publish(session, kek)


def snapshot(engine: Engine) -> dict[str, list[Any]]:
    with engine.connect() as conn:
        return {
            table: [
                tuple(r) for r in conn.execute(sa.text(f"SELECT * FROM {table} ORDER BY {key}"))
            ]
            for table, key in TABLES.items()
        }


def assert_verified(engine: Engine) -> None:
    with make_session_factory(engine)() as session:
        report = verify_ledger(session)
        assert report.ok, report.problems
        log = verify_log(session, record=False)
        assert log.ok, log.problems


def relkind(engine: Engine) -> str:
    with engine.connect() as conn:
        return str(
            conn.scalar(sa.text("SELECT relkind FROM pg_class WHERE oid = 'entries'::regclass"))
        )


def test_0013_converts_a_populated_ledger_up_down_and_up_again(
    pg_db_url: str, pg: Engine, kek: bytes
) -> None:
    config = alembic_config(pg_db_url)
    command.downgrade(config, "0012")
    assert relkind(pg) == "r"
    populate(pg, kek)
    assert_verified(pg)
    before = snapshot(pg)
    assert len(before["entries"]) == 44
    assert before["attestation_entries"]
    assert before["log_leaves"]
    for target, kind in (("head", "p"), ("0012", "r"), ("head", "p")):
        (command.upgrade if target == "head" else command.downgrade)(config, target)
        assert relkind(pg) == kind, target
        assert snapshot(pg) == before, target
        assert_verified(pg)
    with pg.connect() as conn:
        where = dict(
            conn.execute(
                sa.text("SELECT year, tableoid::regclass::text FROM entries GROUP BY 1, 2")
            ).all()
        )
    assert where[2019] == "entries_y2019"
    assert where[2024] == "entries_y2024"
    # 1995 is older than the years 0013 prepares and than any partition it had data for.
    assert where[1995] == "entries_y1995"
    # New entries keep coming after the conversion, with ids after the old ones.
    with make_session_factory(pg)() as session:
        (res,) = append_records(
            session, "quzhou-city", [record("late", completed_on="2022-02-02")], actor="t"
        )
    assert res.status == "created"
    assert res.entry_id > max(r[0] for r in before["entries"])
    assert_verified(pg)


def test_a_fresh_database_has_partitions_around_the_current_year_and_a_default(pg: Engine) -> None:
    with make_session_factory(pg)() as session:
        parts = partitions.list_partitions(session)
    years = [p.first_year for p in parts if not p.is_default]
    current = dt.date.today().year
    assert years == list(
        range(current - partitions.YEARS_BACK, current + partitions.YEARS_AHEAD + 1)
    )
    assert parts[-1].is_default
    assert parts[-1].name == "entries_default"


def refusals(engine: Engine, table: str) -> list[str]:
    """What each of UPDATE, DELETE and TRUNCATE of ``table`` did (with a row in it), also as
    a replica (where ordinary triggers do not fire)."""
    seen = []
    for role in ("origin", "replica"):
        for verb in (
            f"UPDATE {table} SET hours = hours",
            f"DELETE FROM {table}",
            f"TRUNCATE {table}",
        ):
            with engine.connect() as conn:
                conn.execute(sa.text(f"SET session_replication_role = {role}"))
                try:
                    conn.execute(sa.text(verb))
                except sa.exc.DatabaseError as exc:
                    seen.append("refused" if "append-only" in str(exc) else str(exc))
                else:
                    seen.append(f"{verb} as {role} went through")
                conn.rollback()
    return seen


def copy_entry_into(engine: Engine, year: int) -> None:
    """Insert (INSERT is allowed) a copy of an entry with another year, so the partition of
    that year has a row for UPDATE and DELETE to refuse."""
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO entries SELECT nextval('entries_id_seq'), person_id, seq + 1000, "
                "kind, "
                "source_id, external_id || :y, record_version, category, hours, completed_on, :y, "
                "course_code, course_title, course_provider, content_digest, reverses_id, "
                "supersedes_id, reason, actor, recorded_at, prev_hash, hash "
                "FROM entries ORDER BY id LIMIT 1"
            ),
            {"y": year},
        )


def test_every_partition_refuses_update_delete_and_truncate_even_ones_made_later(
    pg: Engine,
) -> None:
    with make_session_factory(pg)() as session:
        append_records(session, city_source(session), [record("r1")], actor="t")
        made = partitions.ensure_partitions(session, years_ahead=partitions.YEARS_AHEAD + 3)
    assert len(made) == 3
    with make_session_factory(pg)() as session:
        parts = partitions.list_partitions(session)
    # A year with its own partition (the later ones included) and one that goes to the default.
    for p in parts:
        copy_entry_into(pg, p.first_year if p.first_year is not None else 1991)
    with pg.connect() as conn:
        counts = dict(
            conn.execute(
                sa.text("SELECT tableoid::regclass::text, count(*) FROM entries GROUP BY 1")
            ).all()
        )
    for p in parts:
        assert counts.get(p.name, 0) >= 1, p.name
        assert refusals(pg, p.name) == ["refused"] * 6, p.name
        assert set(p.triggers) == {"entries_no_update_delete", f"{p.name}_no_truncate"}
    assert refusals(pg, "entries") == ["refused"] * 6


def test_ensure_moves_rows_out_of_the_default_partition_and_changes_nothing_the_second_time(
    pg: Engine,
) -> None:
    with make_session_factory(pg)() as session:
        source = city_source(session)
        append_records(
            session,
            source,
            [record("old", completed_on="1996-04-04"), record("new", completed_on="2024-01-01")],
            actor="t",
        )
        reverse_record(session, source, "old", reason="test", actor="t")
    with pg.connect() as conn:
        where = (
            conn.execute(sa.text("SELECT tableoid::regclass::text FROM entries WHERE year = 1996"))
            .scalars()
            .all()
        )
    assert where == ["entries_default", "entries_default"]
    before = snapshot(pg)
    with make_session_factory(pg)() as session:
        made = partitions.ensure_partitions(session, today=TODAY)
        assert made[0] == "entries_y1996"
        assert made[-1] == "entries_default"
        assert "entries_y2024" not in made  # it was there already
        assert partitions.ensure_partitions(session, today=TODAY) == []
    with pg.connect() as conn:
        where = (
            conn.execute(sa.text("SELECT tableoid::regclass::text FROM entries WHERE year = 1996"))
            .scalars()
            .all()
        )
        in_default = conn.scalar(sa.text("SELECT count(*) FROM entries_default"))
    assert where == ["entries_y1996", "entries_y1996"]
    assert in_default == 0
    assert snapshot(pg) == before
    assert refusals(pg, "entries_y1996") == ["refused"] * 6
    assert_verified(pg)


def test_verify_reports_the_uniqueness_a_partitioned_table_cannot_hold(pg: Engine) -> None:
    with make_session_factory(pg)() as session:
        source = city_source(session)
        append_records(session, source, [record("a"), record("b")], actor="t")
        reverse_record(session, source, "a", reason="test", actor="t")
        assert verify_ledger(session).ok
    # The same entry again under another year: another partition, so no constraint refuses it.
    with pg.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO entries SELECT id, person_id, seq, kind, source_id, external_id, "
                "record_version, category, hours, completed_on, 2023, course_code, course_title, "
                "course_provider, content_digest, reverses_id, supersedes_id, reason, actor, "
                "recorded_at, prev_hash, hash FROM entries WHERE kind = 'reversal'"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO entries SELECT nextval('entries_id_seq'), person_id, 99, kind, "
                "source_id, external_id, record_version, category, hours, completed_on, year, "
                "course_code, course_title, course_provider, content_digest, 424242, 434343, "
                "reason, actor, recorded_at, prev_hash, hash FROM entries WHERE external_id = 'b'"
            )
        )
    with make_session_factory(pg)() as session:
        problems = verify_ledger(session).problems
    text = "\n".join(problems)
    assert "2 entries share one entry id: 3" in text
    assert "2 entries share one place in a chain (person, seq)" in text
    assert "2 entries share one reversal of one entry" in text
    assert "share one record version (source, external id, version, kind)" in text
    assert "1 entries name in reverses_id an entry that does not exist" in text
    assert "1 entries name in supersedes_id an entry that does not exist" in text


def test_evaluation_reads_only_the_partitions_of_its_window(pg: Engine) -> None:
    with make_session_factory(pg)() as session:
        partitions.ensure_partitions(session, first_year=2019)
        source = city_source(session)
        results = append_records(
            session,
            source,
            [record(f"r{y}", completed_on=f"{y}-05-05") for y in range(2020, 2025)],
            actor="t",
        )
        person = results[0].person_id
        assert person is not None
        # Partition pruning works on the statement as the evaluation sends it.
        result = evaluate(
            session,
            person,
            get_profile("quzhou-2020-intermediate"),
            dt.date(2020, 12, 31),
            explain=True,
        )
        assert result.compliant is False
    with pg.connect() as conn:
        plan = "\n".join(
            conn.execute(
                sa.text(
                    "EXPLAIN SELECT id FROM entries "
                    "WHERE person_id = :p AND year BETWEEN 2019 AND 2020"
                ),
                {"p": person},
            ).scalars()
        )
        # A prepared statement's generic plan (what a driver's prepared statement gets after
        # a few runs) prunes when it runs: the other years' partitions are removed.
        conn.execute(sa.text("SET plan_cache_mode = force_generic_plan"))
        conn.execute(
            sa.text(
                "PREPARE window_read(text, int, int) AS SELECT id FROM entries "
                "WHERE person_id = $1 AND year BETWEEN $2 AND $3"
            )
        )
        generic = "\n".join(
            conn.execute(
                sa.text(
                    "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) "
                    f"EXECUTE window_read('{person}', 2019, 2020)"
                )
            ).scalars()
        )
    assert "entries_y2019" in plan
    assert "entries_y2020" in plan
    assert "entries_y2021" not in plan
    assert "entries_default" not in plan
    assert "Subplans Removed" in generic, generic
    assert "entries_y2021" not in generic, generic


def test_cli_lists_and_ensures_partitions(pg_db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CEHOURS_DATABASE_URL", pg_db_url)
    cli = CliRunner()
    listed = cli.invoke(main, ["db", "partitions", "list"])
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert lines[0].split() == [
        "PARTITION",
        "YEARS",
        "ROWS",
        "(ESTIMATE)",
        "SIZE",
        "APPEND-ONLY",
        "TRIGGERS",
    ]
    assert lines[-1].split()[:2] == ["entries_default", "default"]
    ensured = cli.invoke(main, ["db", "partitions", "ensure", "--years", "5"])
    assert ensured.exit_code == 0, ensured.output
    current = dt.date.today().year
    assert ensured.output.strip() == (
        f"partitions created: entries_y{current + 4}, entries_y{current + 5}"
    )
    again = cli.invoke(main, ["db", "partitions", "ensure", "--years", "5"])
    assert again.output.strip() == "partitions: none needed"
    upgraded = cli.invoke(main, ["db", "upgrade"])
    assert upgraded.exit_code == 0
    assert "partitions created" not in upgraded.output


def test_partitions_are_refused_clearly_on_sqlite(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CEHOURS_DATABASE_URL", sqlite_url)
    result = CliRunner().invoke(main, ["db", "partitions", "ensure"])
    assert result.exit_code == 1
    assert "entries is not partitioned here" in result.output
    engine = make_engine(sqlite_url)
    with make_session_factory(engine)() as session, pytest.raises(PartitionError):
        partitions.list_partitions(session)
    engine.dispose()


def test_wanted_years_reach_back_to_the_data_and_ahead_of_today() -> None:
    assert partitions.wanted_years(set(), set(), 2026, 3) == [2026, 2027, 2028, 2029]
    assert partitions.wanted_years({2026, 2027}, {2024}, 2026, 2) == [2024, 2025, 2028]
    assert partitions.wanted_years(set(), {2031}, 2026, 0, first_year=2025) == list(
        range(2025, 2032)
    )
