"""DynamoDB ledger: one table, conditional writes, TransactWriteItems for reserve and release.

Items (partition key ``pk``, a string; no sort key):
- ``W#<constraint>#<window start>``: the window's ``spend`` (N) and ``currency``;
- ``R#<reservation id>``: one reservation (amount as an exact string, state, times);
- ``A#<constraint>#<window start>#<threshold>``: an alert marker;
- ``M#schema``: the ledger schema version.

``reserve`` is one TransactWriteItems of two conditional updates: the window's ``ADD spend :amount``
only if ``spend <= limit - amount``, and the reservation only if its id is new (or released). DynamoDB
applies both or neither, so concurrent writers from any number of machines can never push the spend
past the limit or count an id twice. A transaction that loses a race is retried with jittered backoff.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from b00t_pulumi.budget.ledger.base import (
    STATES,
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
_MAX_TRIES = 20
# One botocore data loader per process: a fresh session would re-read the service models (~0.2 s).
_LOADER: Any = None
_LOADER_LOCK = threading.Lock()


def _now() -> str:
    return iso_utc(datetime.now(UTC))


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: Decimal) -> dict[str, str]:
    return {"N": str(value)}


# Every attribute goes through a placeholder: some names (state, ...) are DynamoDB reserved words.
_ATTRS = {
    "#id": "id",
    "#cid": "constraint_id",
    "#w": "window_start",
    "#amt": "amount",
    "#cur": "currency",
    "#st": "state",
    "#ca": "created_at",
    "#ua": "updated_at",
    "#sp": "spend",
    "#pk": "pk",
}


def _names(*expressions: str) -> dict[str, str]:
    """ExpressionAttributeNames for the placeholders the expressions use (unused ones are an error)."""
    import re

    used = set(re.findall(r"#[a-z]+", " ".join(expressions)))
    return {k: v for k, v in _ATTRS.items() if k in used}


class DynamoDbLedger(Ledger):
    def __init__(
        self,
        table: str,
        *,
        region: str | None = None,
        endpoint: str | None = None,
        profile: str | None = None,
        display_url: str | None = None,
        timeout_s: float = 5.0,
        create_table: bool = True,
        client: Any = None,
    ) -> None:
        self.table = table
        self.display_url = display_url or f"dynamodb://{table}"
        if client is None:
            client = self._client(region, endpoint, profile, timeout_s)
        self._c = client
        with self._guard("cannot open the table"):
            self._ensure_table(create_table)

    # -- plumbing ------------------------------------------------------------------------------
    def _client(self, region: str | None, endpoint: str | None, profile: str | None, timeout_s: float) -> Any:
        import boto3
        import botocore.config
        import botocore.exceptions
        import botocore.session

        global _LOADER
        try:
            with _LOADER_LOCK:
                core = botocore.session.get_session()
                if _LOADER is None:
                    _LOADER = core.get_component("data_loader")
                else:
                    core.register_component("data_loader", _LOADER)
                session = boto3.session.Session(botocore_session=core, profile_name=profile, region_name=region)
                if not session.region_name:
                    raise self._error("no AWS region: add ?region=... to the URL or set AWS_REGION")
                cfg = botocore.config.Config(
                    connect_timeout=timeout_s,
                    read_timeout=max(timeout_s, 10.0),
                    retries={"max_attempts": 3, "mode": "standard"},
                )
                return session.client("dynamodb", endpoint_url=endpoint, config=cfg)
        except botocore.exceptions.BotoCoreError as exc:
            raise self._error(f"cannot create a DynamoDB client: {type(exc).__name__}") from None

    @contextmanager
    def _guard(self, doing: str) -> Iterator[None]:
        import botocore.exceptions

        try:
            yield
        except botocore.exceptions.NoCredentialsError:
            raise self._error(f"{doing}: no AWS credentials (set AWS_ACCESS_KEY_ID or a profile)") from None
        except (botocore.exceptions.EndpointConnectionError, botocore.exceptions.ConnectTimeoutError):
            raise self._error(f"{doing}: cannot reach the DynamoDB endpoint") from None
        except botocore.exceptions.ReadTimeoutError:
            raise self._error(f"{doing}: DynamoDB did not answer in time") from None
        except botocore.exceptions.ClientError as exc:
            err = exc.response.get("Error", {})
            raise self._error(f"{doing}: {err.get('Code', 'error')}: {err.get('Message', '')}".rstrip(": ")) from None
        except botocore.exceptions.BotoCoreError as exc:
            raise self._error(f"{doing}: {type(exc).__name__}") from None

    def _ensure_table(self, create: bool) -> None:
        import botocore.exceptions

        try:
            desc = self._c.describe_table(TableName=self.table)["Table"]
        except botocore.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                raise
            if not create:
                raise self._error(f"table {self.table!r} does not exist") from None
            try:
                self._c.create_table(
                    TableName=self.table,
                    AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                    KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                    BillingMode="PAY_PER_REQUEST",
                )
            except botocore.exceptions.ClientError as exc2:
                if exc2.response.get("Error", {}).get("Code") != "ResourceInUseException":
                    raise  # another process creating it at the same time is fine
            self._c.get_waiter("table_exists").wait(
                TableName=self.table, WaiterConfig={"Delay": 1, "MaxAttempts": 120}
            )
            desc = self._c.describe_table(TableName=self.table)["Table"]
        keys = [(k["AttributeName"], k["KeyType"]) for k in desc.get("KeySchema", [])]
        if keys != [("pk", "HASH")]:
            raise self._error(
                f"table {self.table!r} is not a b00t ledger (key schema {keys}); use another table name"
            )
        try:
            self._c.put_item(
                TableName=self.table,
                Item={"pk": _s("M#schema"), "schema": _s(SCHEMA)},
                ConditionExpression="attribute_not_exists(#pk)",
                ExpressionAttributeNames={"#pk": "pk"},
            )
        except botocore.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            item = self._c.get_item(TableName=self.table, Key={"pk": _s("M#schema")}, ConsistentRead=True).get("Item")
            found = item.get("schema", {}).get("S") if item else None
            if found != SCHEMA:
                raise self._error(f"unsupported ledger schema {found!r} (this version reads {SCHEMA!r})") from None

    @staticmethod
    def _wkey(cid: str, wkey: str) -> dict[str, dict[str, str]]:
        return {"pk": _s(f"W#{cid}#{wkey}")}

    @staticmethod
    def _rkey(rid: str) -> dict[str, dict[str, str]]:
        return {"pk": _s(f"R#{rid}")}

    def _record(self, item: dict[str, Any]) -> Reservation:
        try:
            state = item["state"]["S"]
            if state not in STATES:
                raise ValueError(state)
            return Reservation(
                id=item["id"]["S"],
                constraint_id=item["constraint_id"]["S"],
                window_start=parse_time(item["window_start"]["S"]),
                amount=Money.of(item["amount"]["S"], item["currency"]["S"]),
                state=state,
                created_at=parse_time(item["created_at"]["S"]),
                updated_at=parse_time(item["updated_at"]["S"]),
            )
        except (KeyError, TypeError, ValueError, BudgetError):
            raise self._error(f"corrupt reservation item {item.get('pk', {}).get('S', '?')!r}") from None

    def _get(self, rid: str) -> Reservation | None:
        item = self._c.get_item(TableName=self.table, Key=self._rkey(rid), ConsistentRead=True).get("Item")
        return self._record(item) if item else None

    def _spend(self, cid: str, wkey: str, currency: str) -> Money:
        item = self._c.get_item(TableName=self.table, Key=self._wkey(cid, wkey), ConsistentRead=True).get("Item")
        return self._window_spend(item, cid, wkey, currency)

    @staticmethod
    def _backoff(attempt: int) -> None:
        time.sleep(random.uniform(0, min(0.5, 0.01 * 2**attempt)))

    # -- Ledger --------------------------------------------------------------------------------
    def _snapshot(self, cid: str, wkey: str, rid: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """The window item and the reservation item, read together (TransactGetItems: one consistent view)."""
        resp = self._c.transact_get_items(
            TransactItems=[
                {"Get": {"TableName": self.table, "Key": self._wkey(cid, wkey)}},
                {"Get": {"TableName": self.table, "Key": self._rkey(rid)}},
            ]
        )
        got = [r.get("Item") for r in resp.get("Responses", [])] + [None, None]
        return got[0], got[1]

    def _window_spend(self, item: dict[str, Any] | None, cid: str, wkey: str, currency: str) -> Money:
        if not item or "spend" not in item:
            return Money.zero(currency)
        if item["currency"]["S"] != currency:
            raise self._error(f"{cid} window {wkey} is kept in {item['currency']['S']}, not {currency}")
        return Money.of(item["spend"]["N"], currency)

    def reserve(
        self,
        constraint_id: str,
        window_start: datetime,
        reservation_id: str,
        amount: Money,
        limit: Money | None,
    ) -> ReserveResult:
        """Read window + record (one request): a replay or a denial ends there. Otherwise one
        TransactWriteItems whose conditions re-check everything, so a change between the read and the
        write cancels the write and the loop reads again; a read of the new spend follows the write."""
        import botocore.exceptions

        wkey = self._check_reserve(constraint_id, window_start, reservation_id, amount, limit)
        cur = amount.currency
        with self._guard("reserve"):
            for attempt in range(_MAX_TRIES):
                window_item, record_item = self._snapshot(constraint_id, wkey, reservation_id)
                spend = self._window_spend(window_item, constraint_id, wkey, cur)
                existing = self._record(record_item) if record_item else None
                if existing is not None:
                    self._conflict(existing, constraint_id, wkey, amount)
                    if existing.counted and existing.amount == amount:
                        return ReserveResult(True, True, spend, limit, existing)
                held = self._held(existing, amount)  # a re-price counts only the difference
                delta = amount - held
                if limit is not None and spend + delta > limit:
                    return ReserveResult(False, False, spend, limit, None)
                now = _now()
                values: dict[str, Any] = {
                    ":amt": _n(delta.amount),
                    ":cur": _s(cur),
                    ":cid": _s(constraint_id),
                    ":w": _s(wkey),
                }
                cond = "(attribute_not_exists(#cur) OR #cur = :cur)"
                if limit is not None:
                    values[":headroom"] = _n((limit - delta).amount)
                    cond += " AND (attribute_not_exists(#sp) OR #sp <= :headroom)"
                upd = "SET #cur = :cur, #cid = :cid, #w = :w ADD #sp :amt"
                rupd = (
                    "SET #id = :id, #cid = :cid, #w = :w, #amt = :amts, #cur = :cur, "
                    "#st = :reserved, #ca = if_not_exists(#ca, :now), #ua = :now"
                )
                rvalues: dict[str, Any] = {
                    ":id": _s(reservation_id),
                    ":cid": _s(constraint_id),
                    ":w": _s(wkey),
                    ":amts": _s(str(amount.amount)),
                    ":cur": _s(cur),
                    ":reserved": _s("reserved"),
                    ":now": _s(now),
                }
                if record_item is None:
                    rcond = "attribute_not_exists(#pk)"
                else:  # the record as read (state and amount): a change since cancels the write
                    rcond = "#st = :oldst AND #amt = :oldamt AND #cid = :cid AND #w = :w AND #cur = :cur"
                    rvalues[":oldst"] = record_item["state"]
                    rvalues[":oldamt"] = record_item["amount"]
                try:
                    self._c.transact_write_items(
                        TransactItems=[
                            {
                                "Update": {
                                    "TableName": self.table,
                                    "Key": self._wkey(constraint_id, wkey),
                                    "UpdateExpression": upd,
                                    "ConditionExpression": cond,
                                    "ExpressionAttributeNames": _names(upd, cond),
                                    "ExpressionAttributeValues": values,
                                }
                            },
                            {
                                "Update": {
                                    "TableName": self.table,
                                    "Key": self._rkey(reservation_id),
                                    "UpdateExpression": rupd,
                                    "ConditionExpression": rcond,
                                    "ExpressionAttributeNames": _names(rupd, rcond),
                                    "ExpressionAttributeValues": rvalues,
                                }
                            },
                        ]
                    )
                except botocore.exceptions.ClientError as exc:
                    if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                        raise
                    # A condition failed (another writer got there first) or DynamoDB reports a
                    # TransactionConflict: nothing was written. Read again and decide again.
                    self._backoff(attempt)
                    continue
                created = existing.created_at if existing is not None else parse_time(now)
                record = Reservation(
                    reservation_id, constraint_id, parse_time(wkey), amount, "reserved", created, parse_time(now)
                )
                return ReserveResult(True, False, self._spend(constraint_id, wkey, cur), limit, record)
        raise self._error(f"reserve {reservation_id!r}: gave up after {_MAX_TRIES} conflicting attempts")

    def release(self, reservation_id: str) -> Reservation | None:
        import botocore.exceptions

        check_reservation_id(reservation_id)
        with self._guard("release"):
            for attempt in range(_MAX_TRIES):
                r = self._get(reservation_id)
                if r is None or r.state != "reserved":
                    return r
                try:
                    self._c.transact_write_items(
                        TransactItems=[
                            {
                                "Update": {
                                    "TableName": self.table,
                                    "Key": self._rkey(reservation_id),
                                    "UpdateExpression": "SET #st = :released, #ua = :now",
                                    "ConditionExpression": "#st = :reserved",
                                    "ExpressionAttributeNames": {"#st": "state", "#ua": "updated_at"},
                                    "ExpressionAttributeValues": {
                                        ":released": _s("released"),
                                        ":reserved": _s("reserved"),
                                        ":now": _s(_now()),
                                    },
                                }
                            },
                            {
                                "Update": {
                                    "TableName": self.table,
                                    "Key": self._wkey(r.constraint_id, iso_utc(r.window_start)),
                                    "UpdateExpression": "ADD #sp :neg",
                                    "ConditionExpression": "attribute_exists(#sp)",
                                    "ExpressionAttributeNames": {"#sp": "spend"},
                                    "ExpressionAttributeValues": {":neg": _n(-r.amount.amount)},
                                }
                            },
                        ]
                    )
                except botocore.exceptions.ClientError as exc:
                    if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                        raise
                    self._backoff(attempt)
                    continue
                return self._get(reservation_id)
        raise self._error(f"release {reservation_id!r}: gave up after {_MAX_TRIES} conflicting attempts")

    def mark_spent(self, reservation_id: str) -> Reservation:
        import botocore.exceptions

        check_reservation_id(reservation_id)
        with self._guard("mark spent"):
            try:
                self._c.update_item(
                    TableName=self.table,
                    Key=self._rkey(reservation_id),
                    UpdateExpression="SET #st = :spent, #ua = :now",
                    ConditionExpression="#st = :reserved",
                    ExpressionAttributeNames={"#st": "state", "#ua": "updated_at"},
                    ExpressionAttributeValues={
                        ":spent": _s("spent"),
                        ":reserved": _s("reserved"),
                        ":now": _s(_now()),
                    },
                )
            except botocore.exceptions.ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                    raise
            r = self._get(reservation_id)
        if r is None:
            raise self._error(f"no reservation {reservation_id!r}")
        if r.state == "released":
            raise self._error(f"reservation {reservation_id!r} was released: reserve it again before spending it")
        return r

    def spend(self, constraint_id: str, window_start: datetime, currency: str) -> Money:
        check_constraint_id(constraint_id)
        with self._guard("read spend"):
            return self._spend(constraint_id, iso_utc(window_start), currency)

    def records(self, constraint_id: str | None = None, window_start: datetime | None = None) -> list[Reservation]:
        cond = ["begins_with(#pk, :r)"]
        values: dict[str, Any] = {":r": _s("R#")}
        if constraint_id is not None:
            cond.append("#cid = :cid")
            values[":cid"] = _s(constraint_id)
        if window_start is not None:
            cond.append("#w = :w")
            values[":w"] = _s(iso_utc(window_start))
        out: list[Reservation] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "FilterExpression": " AND ".join(cond),
            "ExpressionAttributeNames": _names(*cond),
            "ExpressionAttributeValues": values,
            "ConsistentRead": True,
        }
        with self._guard("list records"):
            while True:
                page = self._c.scan(**kwargs)
                out.extend(self._record(i) for i in page.get("Items", []))
                if "LastEvaluatedKey" not in page:
                    break
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        out.sort(key=lambda r: (r.created_at, r.id))
        return out

    def get(self, reservation_id: str) -> Reservation | None:
        with self._guard("read a reservation"):
            return self._get(reservation_id)

    def _akey(self, cid: str, window_start: datetime, threshold: Decimal | float | str) -> dict[str, Any]:
        check_constraint_id(cid)
        return {"pk": _s(f"A#{cid}#{iso_utc(window_start)}#{threshold_key(threshold)}")}

    def claim_alert(self, constraint_id: str, window_start: datetime, threshold: Decimal | float | str) -> bool:
        import botocore.exceptions

        key = self._akey(constraint_id, window_start, threshold)
        with self._guard("set the alert marker"):
            try:
                self._c.put_item(
                    TableName=self.table,
                    Item={**key, "sent_at": _s(_now())},
                    ConditionExpression="attribute_not_exists(#pk)",
                    ExpressionAttributeNames={"#pk": "pk"},
                )
            except botocore.exceptions.ClientError as exc:
                if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                    return False
                raise
        return True

    def unclaim_alert(self, constraint_id: str, window_start: datetime, threshold: Decimal | float | str) -> None:
        key = self._akey(constraint_id, window_start, threshold)
        with self._guard("clear the alert marker"):
            self._c.delete_item(TableName=self.table, Key=key)

    def close(self) -> None:
        close = getattr(self._c, "close", None)
        if callable(close):
            close()

