"""SQLite ledger (the embedded default): one file, WAL, every change in a BEGIN IMMEDIATE transaction.

BEGIN IMMEDIATE takes SQLite's single write lock before reading the spend, so "read spend, compare
with the limit, insert the record, update the spend" is one atomic step across threads and
processes on one machine. Other writers wait (busy timeout) instead of failing. Do not put the file
on a network filesystem: WAL needs shared memory between the processes.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from b00t_pulumi.budget.ledger.base import (
    Ledger,
    Reservation,
    ReserveResult,
    check_constraint_id,
    check_reservation_id,
    threshold_key,
)
from b00t_pulumi.budget.money import Money
from b00t_pulumi.budget.window import iso_utc, parse_time
from b00t_pulumi.errors import BudgetError

SCHEMA = "b00t-ledger/1"
_TABLES = {"meta", "windows", "reservations", "alerts"}
_DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS windows (
    constraint_id TEXT NOT NULL,
    window_start TEXT NOT NULL,
    currency TEXT NOT NULL,
    spend TEXT NOT NULL,
    PRIMARY KEY (constraint_id, window_start)
);
CREATE TABLE IF NOT EXISTS reservations (
    id TEXT PRIMARY KEY,
    constraint_id TEXT NOT NULL,
    window_start TEXT NOT NULL,
    amount TEXT NOT NULL,
    currency TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('reserved', 'spent', 'released')),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS reservations_by_window ON reservations (constraint_id, window_start);
CREATE TABLE IF NOT EXISTS alerts (
    constraint_id TEXT NOT NULL,
    window_start TEXT NOT NULL,
    threshold TEXT NOT NULL,
    sent_at TEXT NOT NULL,
    PRIMARY KEY (constraint_id, window_start, threshold)
);
"""


def _now() -> str:
    return iso_utc(datetime.now(UTC))


class SqliteLedger(Ledger):
    def __init__(self, path: Path | str, *, display_url: str | None = None, busy_timeout_s: float = 30.0) -> None:
        self.path = str(path)
        self.display_url = display_url or f"sqlite:///{self.path}"
        self._lock = threading.RLock()  # one connection, shared by the threads of this process
        try:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(
                self.path, timeout=busy_timeout_s, isolation_level=None, check_same_thread=False
            )
        except (OSError, sqlite3.Error) as exc:
            raise self._error(f"cannot open: {exc}") from None
        try:
            self._conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = NORMAL")
            self._init_schema()
        except sqlite3.DatabaseError as exc:
            self._conn.close()
            raise self._error(f"not a usable SQLite ledger ({exc})") from None
        except BudgetError:
            self._conn.close()
            raise

    # -- plumbing ------------------------------------------------------------------------------
    def _init_schema(self) -> None:
        with self._tx() as c:
            tables = {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if not tables:
                for stmt in filter(None, (s.strip() for s in _DDL.split(";"))):
                    c.execute(stmt)
                c.execute("INSERT INTO meta (key, value) VALUES ('schema', ?)", (SCHEMA,))
                return
            if "meta" not in tables:
                raise self._error(
                    f"not a b00t ledger: the database has other tables ({', '.join(sorted(tables))}); "
                    "point the ledger URL at a new file"
                )
            row = c.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
            if row is None or row[0] != SCHEMA or not tables >= _TABLES:
                found = row[0] if row else "none"
                raise self._error(f"unsupported ledger schema {found!r} (this version reads {SCHEMA!r})")

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: BEGIN IMMEDIATE takes the write lock before anything is read."""
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise self._error(f"cannot start a transaction: {exc}") from None
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            try:
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self._conn.execute("ROLLBACK")
                raise self._error(f"cannot commit: {exc}") from None

    @contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise self._error(str(exc)) from None

    @staticmethod
    def _row(row: Any) -> Reservation:
        return Reservation(
            id=row[0],
            constraint_id=row[1],
            window_start=parse_time(row[2]),
            amount=Money.of(row[3], row[4]),
            state=row[5],
            created_at=parse_time(row[6]),
            updated_at=parse_time(row[7]),
        )

    _COLS = "id, constraint_id, window_start, amount, currency, state, created_at, updated_at"

    def _get(self, c: sqlite3.Connection, rid: str) -> Reservation | None:
        row = c.execute(f"SELECT {self._COLS} FROM reservations WHERE id = ?", (rid,)).fetchone()
        return self._row(row) if row else None

    def _window_spend(self, c: sqlite3.Connection, cid: str, wkey: str, currency: str) -> Money:
        row = c.execute(
            "SELECT spend, currency FROM windows WHERE constraint_id = ? AND window_start = ?", (cid, wkey)
        ).fetchone()
        if row is None:
            return Money.zero(currency)
        if row[1] != currency:
            raise self._error(f"{cid} window {wkey} is kept in {row[1]}, not {currency}")
        return Money.of(row[0], row[1])

    def _add_spend(self, c: sqlite3.Connection, cid: str, wkey: str, delta: Money) -> Money:
        new = self._window_spend(c, cid, wkey, delta.currency) + delta
        c.execute(
            "INSERT INTO windows (constraint_id, window_start, currency, spend) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (constraint_id, window_start) DO UPDATE SET spend = excluded.spend",
            (cid, wkey, delta.currency, str(new.amount)),
        )
        return new

    # -- Ledger --------------------------------------------------------------------------------
    def reserve(
        self,
        constraint_id: str,
        window_start: datetime,
        reservation_id: str,
        amount: Money,
        limit: Money | None,
    ) -> ReserveResult:
        wkey = self._check_reserve(constraint_id, window_start, reservation_id, amount, limit)
        with self._guard(), self._tx() as c:
            existing = self._get(c, reservation_id)
            if existing is not None:
                self._conflict(existing, constraint_id, wkey, amount)
                if existing.counted and existing.amount == amount:
                    spend = self._window_spend(c, constraint_id, wkey, amount.currency)
                    return ReserveResult(True, True, spend, limit, existing)
            spend = self._window_spend(c, constraint_id, wkey, amount.currency)
            held = self._held(existing, amount)  # a re-price counts only the difference
            if limit is not None and spend - held + amount > limit:
                return ReserveResult(False, False, spend, limit, None)
            new_spend = self._add_spend(c, constraint_id, wkey, amount - held)
            now = _now()
            if existing is None:
                c.execute(
                    f"INSERT INTO reservations ({self._COLS}) VALUES (?, ?, ?, ?, ?, 'reserved', ?, ?)",
                    (reservation_id, constraint_id, wkey, str(amount.amount), amount.currency, now, now),
                )
            else:
                c.execute(
                    "UPDATE reservations SET state = 'reserved', amount = ?, updated_at = ? WHERE id = ?",
                    (str(amount.amount), now, reservation_id),
                )
            record = self._get(c, reservation_id)
            return ReserveResult(True, False, new_spend, limit, record)

    def release(self, reservation_id: str) -> Reservation | None:
        check_reservation_id(reservation_id)
        with self._guard(), self._tx() as c:
            r = self._get(c, reservation_id)
            if r is None or r.state != "reserved":
                return r
            self._add_spend(c, r.constraint_id, iso_utc(r.window_start), -r.amount)
            c.execute("UPDATE reservations SET state = 'released', updated_at = ? WHERE id = ?", (_now(), r.id))
            return self._get(c, reservation_id)

    def mark_spent(self, reservation_id: str) -> Reservation:
        check_reservation_id(reservation_id)
        with self._guard(), self._tx() as c:
            r = self._get(c, reservation_id)
            if r is None:
                raise self._error(f"no reservation {reservation_id!r}")
            if r.state == "released":
                raise self._error(f"reservation {reservation_id!r} was released: reserve it again before spending it")
            if r.state == "reserved":
                c.execute("UPDATE reservations SET state = 'spent', updated_at = ? WHERE id = ?", (_now(), r.id))
            found = self._get(c, reservation_id)
            assert found is not None
            return found

    def spend(self, constraint_id: str, window_start: datetime, currency: str) -> Money:
        check_constraint_id(constraint_id)
        with self._guard(), self._lock:
            return self._window_spend(self._conn, constraint_id, iso_utc(window_start), currency)

    def records(self, constraint_id: str | None = None, window_start: datetime | None = None) -> list[Reservation]:
        where, params = [], []
        if constraint_id is not None:
            where.append("constraint_id = ?")
            params.append(constraint_id)
        if window_start is not None:
            where.append("window_start = ?")
            params.append(iso_utc(window_start))
        sql = f"SELECT {self._COLS} FROM reservations"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY created_at, id"
        with self._guard(), self._lock:
            return [self._row(r) for r in self._conn.execute(sql, params)]

    def get(self, reservation_id: str) -> Reservation | None:
        with self._guard(), self._lock:
            return self._get(self._conn, reservation_id)

    def claim_alert(self, constraint_id: str, window_start: datetime, threshold: Decimal | float | str) -> bool:
        check_constraint_id(constraint_id)
        with self._guard(), self._tx() as c:
            cur = c.execute(
                "INSERT OR IGNORE INTO alerts (constraint_id, window_start, threshold, sent_at) VALUES (?, ?, ?, ?)",
                (constraint_id, iso_utc(window_start), threshold_key(threshold), _now()),
            )
            return cur.rowcount == 1

    def unclaim_alert(self, constraint_id: str, window_start: datetime, threshold: Decimal | float | str) -> None:
        with self._guard(), self._tx() as c:
            c.execute(
                "DELETE FROM alerts WHERE constraint_id = ? AND window_start = ? AND threshold = ?",
                (constraint_id, iso_utc(window_start), threshold_key(threshold)),
            )

    def close(self) -> None:
        with self._lock:
            self._conn.close()
