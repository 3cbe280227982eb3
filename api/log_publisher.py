"""The log publisher: a thread in each server worker that integrates new entries into the log and
signs a checkpoint every few seconds while entries arrive (``LOG_INTERVAL_SECONDS``, 2 by
default; 0 turns it off).

Off every request's path: appends never wait for it, and a slow or failed round only delays
the next checkpoint. Several workers (or servers) may run it at once: each round is idempotent
and the database serialises them (:mod:`ledger.log.sequencer`). A development server creates
the checkpoint signing key on first use, as it does the attestation key; a production server
without one only integrates, and says so once in its log.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from flask import Flask
from sqlalchemy.orm import Session, sessionmaker

from api.db import database
from ledger.attestations.key_encryption import load_kek
from ledger.errors import KeyEncryptionKeyError, LogKeyError
from ledger.log.checkpoints import ensure_log_key, publish
from ledger.log.sequencer import integrate

log = logging.getLogger("api.log_publisher")
DEFAULT_INTERVAL = 2.0


class LogPublisher(threading.Thread):
    """Integrate and sign every ``interval`` seconds until :meth:`stop`."""

    def __init__(self, sessions: sessionmaker[Session], interval: float, dev_dir: Path | None):
        super().__init__(name="cehours-log-publisher", daemon=True)
        self.sessions, self.interval, self.dev_dir = sessions, interval, dev_dir
        self._stopped = threading.Event()
        self._warned = False

    def run(self) -> None:
        while not self._stopped.wait(self.interval):
            self.round()

    def stop(self) -> None:
        self._stopped.set()

    def round(self) -> None:
        """One round: integrate, and sign if the tree grew. Never raises: a failed round is
        logged and the next one tries again."""
        try:
            with self.sessions() as session:
                self._publish(session)
        except Exception:  # the thread must outlive a database that is briefly away
            log.exception("log publisher: this round failed; retrying in %.0f s", self.interval)

    def _publish(self, session: Session) -> None:
        try:
            kek = load_kek(dev_dir=self.dev_dir)
            if self.dev_dir is not None:
                ensure_log_key(session, kek, actor="dev-server")
            publish(session, kek)
        except (KeyEncryptionKeyError, LogKeyError) as exc:
            if not self._warned:
                log.warning("log publisher: entries are integrated but not signed: %s", exc)
                self._warned = True
            integrate(session)


def start_publisher(app: Flask) -> LogPublisher | None:
    """Start the publisher for ``app`` (None when ``LOG_INTERVAL_SECONDS`` is 0)."""
    interval = float(app.config.get("LOG_INTERVAL_SECONDS", DEFAULT_INTERVAL) or 0)
    if interval <= 0:
        return None
    dev_dir = Path("var") if app.config.get("DEV") else None  # as api.issuance finds the KEK
    publisher = LogPublisher(database(app).sessions, interval, dev_dir)
    publisher.start()
    return publisher
