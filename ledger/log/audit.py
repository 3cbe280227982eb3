"""``cehours ledger verify``, the log's half: the log against the ledger, and against itself.

- the leaves are the entries in id order, every entry up to the last tree head and no other,
  and each leaf hash is ``SHA-256(0x00 || the entry's chain hash)`` of the entry as it is now
  (an entry rewritten with its chain recomputed, triggers disabled, fails here);
- every stored perfect node and every tree head recomputes from the leaves, and no node is
  stored that the tree does not have;
- every signed checkpoint's root is the recomputed root at its size (a tree truncated and
  regrown differently fails here), and its signature checks with the log key it names.

Leaves are streamed in order and hashed up as they come (the frontier is O(log n)); stored
nodes are compared a batch at a time, so memory stays flat however large the log is.

Incrementally (``--since-checkpoint``, :func:`verify_log` with ``since_checkpoint``), only what
came after the last checkpoint a verification found sound (``log_audits``) is read: the stored
frontier at that size must still give its root, then the new leaves, their entries (hash and
link to the entry before), nodes, heads and checkpoints are checked as above. Old entries are
not re-read; the full verification does that.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, aliased

from ledger.db.transactions import read_transaction, write_transaction
from ledger.entries.audit import Progress
from ledger.entries.chain import HASHED_FIELDS, entry_hash
from ledger.entries.tables import Entry
from ledger.log.merkle import Node, fold_range, leaf_hash, node_hash, range_nodes
from ledger.log.notes import NOTE_ED25519, NoteError, Verifier, parse_checkpoint, verify_note
from ledger.log.tables import LogAudit, LogCheckpoint, LogHead, LogKey, LogLeaf, LogNode
from ledger.log.tree import MissingNodeError, read_nodes, stored_nodes

MAX_PROBLEMS = 1000
_BATCH = 5000


@dataclass(slots=True)
class LogReport:
    """What the log's verification found: ``ok`` only when nothing at all."""

    since: int = 0  # the tree size it started from (0: all of it)
    leaves: int = 0
    checkpoints: int = 0
    pending: int = 0  # entries committed after the last integration (not a problem)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def problem(self, text: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(text)


def verify_log(
    session: Session,
    progress: Progress | None = None,
    *,
    since_checkpoint: bool = False,
    record: bool = True,
) -> LogReport:
    """Check the log against the ledger and itself (see the module's docstring); ``progress``
    is given the number of leaves to check, then told of every batch of them checked. When
    all is well and ``record``, the newest checkpoint is recorded as verified
    (``log_audits``)."""
    report = LogReport()
    with read_transaction(session):
        start = _start(session, report) if since_checkpoint else _Start(0, [])
        roots = _walk_leaves(session, report, progress, start)
        _check_heads(session, report, roots, start.size)
        _check_checkpoints(session, report, roots, start.size)
        _check_coverage(session, report, start.size)
    if report.ok and record:
        _record_audit(session)
    return report


class _Start(NamedTuple):
    size: int
    frontier: list[bytes]


def _start(session: Session, report: LogReport) -> _Start:
    """Where an incremental verification starts: the last verified checkpoint, if its root
    still comes out of the stored frontier."""
    last = session.execute(
        select(LogAudit.tree_size, LogAudit.root_hash).order_by(LogAudit.tree_size.desc()).limit(1)
    ).first()
    if last is None or last.tree_size == 0:
        return _Start(0, [])
    nodes = range_nodes(0, last.tree_size)
    try:
        stored = read_nodes(session, nodes)
    except MissingNodeError as exc:
        report.problem(f"the log below the last verified size {last.tree_size}: {exc}")
        return _Start(0, [])
    frontier = [stored[n] for n in nodes]
    if fold_range(frontier) != bytes(last.root_hash):
        report.problem(
            f"the log's root at the last verified size {last.tree_size} has changed: "
            "the log was rewritten below it (run a full `cehours ledger verify`)"
        )
        return _Start(0, [])
    report.since = last.tree_size
    return _Start(last.tree_size, frontier)


def _record_audit(session: Session) -> None:
    with write_transaction(session):
        latest = session.execute(
            select(LogCheckpoint.tree_size, LogCheckpoint.root_hash)
            .order_by(LogCheckpoint.tree_size.desc())
            .limit(1)
        ).first()
        if latest is None or session.get(LogAudit, latest.tree_size) is not None:
            return
        row = {
            "tree_size": latest.tree_size,
            "root_hash": bytes(latest.root_hash),
            "verified_at": dt.datetime.now(dt.UTC),
        }
        session.execute(insert(LogAudit), [row])


class _Walk:
    """The tree rebuilt leaf by leaf: its frontier, and the nodes to compare with storage."""

    def __init__(self, session: Session, report: LogReport, sizes: set[int], start: _Start):
        self.session, self.report, self.sizes = session, report, sizes
        nodes = range_nodes(0, start.size)
        self.stack = [(n.level, n.idx, h) for n, h in zip(nodes, start.frontier, strict=True)]
        self.pending: dict[Node, bytes] = {}
        self.roots: dict[int, bytes] = {start.size: fold_range(start.frontier)}
        self.size = start.size

    def add(self, leaf: bytes) -> None:
        level, index, h = 0, self.size, leaf
        while self.stack and self.stack[-1][0] == level:
            _, left_index, left = self.stack.pop()
            level, index, h = level + 1, left_index >> 1, node_hash(left, h)
            self.pending[Node(level, index)] = h
        self.stack.append((level, index, h))
        self.size += 1
        if self.size in self.sizes:
            self.roots[self.size] = fold_range([x for _, _, x in self.stack])
        if len(self.pending) >= _BATCH:
            self.compare()

    def compare(self) -> None:
        stored = stored_nodes(self.session, self.pending)
        for node, want in self.pending.items():
            have = stored.get(node)
            if have != want:
                what = "missing" if have is None else "does not recompute from the leaves"
                self.report.problem(f"log node level {node.level} index {node.idx}: {what}")
        self.pending.clear()


_PREVIOUS = aliased(Entry)


def _walk_leaves(
    session: Session, report: LogReport, progress: Progress | None, start: _Start
) -> dict[int, bytes]:
    if progress is not None:
        leaves = select(func.count()).select_from(LogLeaf).where(LogLeaf.leaf_index >= start.size)
        progress.start(session.scalar(leaves) or 0)
    sizes = set(session.scalars(select(LogHead.tree_size)))
    sizes |= set(session.scalars(select(LogCheckpoint.tree_size)))
    walk = _Walk(session, report, sizes, start)
    stmt = (
        select(LogLeaf.leaf_index, LogLeaf.entry_id, Entry.hash, LogNode.hash.label("stored"))
        .outerjoin(Entry, Entry.id == LogLeaf.entry_id)
        .outerjoin(LogNode, (LogNode.level == 0) & (LogNode.idx == LogLeaf.leaf_index))
        .where(LogLeaf.leaf_index >= start.size)
        .order_by(LogLeaf.leaf_index)
    )
    if start.size:
        # Incremental: the ledger's own checks of these entries too (the full chain walk is
        # not run): each hash recomputes and links to the entry before it in its chain.
        fields = [getattr(Entry, n) for n in HASHED_FIELDS]
        stmt = stmt.add_columns(*fields, _PREVIOUS.hash.label("previous")).outerjoin(
            _PREVIOUS,
            (_PREVIOUS.person_id == Entry.person_id) & (_PREVIOUS.seq == Entry.seq - 1),
        )
    last_entry = 0
    for row in session.execute(stmt.execution_options(yield_per=_BATCH)):
        if start.size and row.hash is not None:
            _check_chain_link(report, row)
        name = f"log leaf {row.leaf_index} (entry {row.entry_id})"
        if row.leaf_index != walk.size:
            report.problem(f"{name}: expected leaf {walk.size} here, the leaves have a gap")
        if row.entry_id <= last_entry:
            report.problem(f"{name}: not in entry-id order")
        last_entry = row.entry_id
        stored = bytes(row.stored) if row.stored is not None else None
        if row.hash is None:
            report.problem(f"{name}: the entry does not exist")
            want = stored or b""
        else:
            want = leaf_hash(bytes.fromhex(row.hash))
            if stored != want:
                report.problem(f"{name}: the leaf hash is not the entry's: the entry was altered")
        walk.add(want if len(want) == 32 else bytes(32))
        report.leaves += 1
        if progress is not None and report.leaves % _BATCH == 0:
            progress.advance(_BATCH)
    walk.compare()
    if progress is not None:
        progress.advance(report.leaves % _BATCH)
    if not start.size:
        _check_node_counts(session, report, walk.size)
    return walk.roots | {0: fold_range([])}


def _check_chain_link(report: LogReport, row: Any) -> None:
    fields = row._asdict()
    name = f"entry {row.entry_id}"
    if entry_hash(fields) != row.hash:
        report.problem(f"{name}: hash mismatch: the entry was altered")
    if fields["prev_hash"] != row.previous:
        report.problem(f"{name}: prev_hash does not match the previous entry's hash")


def _check_node_counts(session: Session, report: LogReport, size: int) -> None:
    """No level holds more nodes than a tree of ``size`` has (all others were compared)."""
    counts = session.execute(select(LogNode.level, func.count()).group_by(LogNode.level))
    for level, count in counts:
        if count != size >> level:
            report.problem(
                f"log level {level} holds {count} nodes; a tree of {size} leaves has "
                f"{size >> level}"
            )


def _check_heads(session: Session, report: LogReport, roots: dict[int, bytes], since: int) -> None:
    heads = select(LogHead.tree_size, LogHead.root_hash).where(LogHead.tree_size >= since)
    for size, root in session.execute(heads):
        if roots.get(size) != bytes(root):
            report.problem(f"log head at size {size}: its root is not the leaves' root")


def _check_checkpoints(
    session: Session, report: LogReport, roots: dict[int, bytes], since: int
) -> None:
    keys = {
        k.key_id: Verifier(k.name, NOTE_ED25519, bytes(k.public_key))
        for k in session.scalars(select(LogKey))
    }
    for c in session.scalars(select(LogCheckpoint).where(LogCheckpoint.tree_size >= since)):
        report.checkpoints += 1
        name = f"checkpoint at size {c.tree_size}"
        verifier = keys.get(c.key_id)
        if verifier is None:
            report.problem(f"{name}: signed by key {c.key_id}, which the log does not hold")
            continue
        try:
            text, _ = verify_note(c.note, verifier)
            parsed = parse_checkpoint(text)
        except NoteError as exc:
            report.problem(f"{name}: {exc}")
            continue
        if (parsed.tree_size, parsed.root_hash) != (c.tree_size, bytes(c.root_hash)):
            report.problem(f"{name}: the signed note says another size or root")
        if roots.get(c.tree_size) != parsed.root_hash:
            report.problem(
                f"{name}: the signed root is not the root of the log's leaves: the log was "
                "rewritten after it was signed"
            )


def _check_coverage(session: Session, report: LogReport, since: int) -> None:
    """Every entry up to the last head's is a leaf; count the ones after it."""
    last = session.scalar(select(LogHead.last_entry_id).order_by(LogHead.tree_size.desc()).limit(1))
    upto = last or 0
    after = 0
    if since:
        after = session.scalar(select(LogLeaf.entry_id).where(LogLeaf.leaf_index == since - 1)) or 0
    covered = session.scalar(
        select(func.count()).select_from(Entry).where(Entry.id <= upto, Entry.id > after)
    )
    if covered != report.leaves:
        report.problem(
            f"{covered} entries have ids up to {upto}, but the log has {report.leaves} leaves: "
            "an entry was left out of the log or added to the ledger afterwards"
        )
    report.pending = (
        session.scalar(select(func.count()).select_from(Entry).where(Entry.id > upto)) or 0
    )
