"""`sopflow keys`: the API keys, for operators. A key is shown once, when it is
made; after that it is named by its id (the first characters of its hash, as
`sopflow keys list` shows them). Every change is written to the audit log,
with who made it (--by, default the login name running the command)."""

from __future__ import annotations

import asyncio
import getpass
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, TypeVar

import typer

keys_app = typer.Typer(no_args_is_help=True, help=__doc__)
T = TypeVar("T")

By = Annotated[
    str | None,
    typer.Option(help="who is making the change, for the audit log (default: your login name)"),
]
Comment = Annotated[str, typer.Option(help="why, for the audit log")]
KeyId = Annotated[str, typer.Argument(help="the key's id (8 or more characters) or the key itself")]

_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")


def parse_grace(text: str) -> timedelta:
    """`30m`, `1h`, `2d`, `1d12h`, `0` or an ISO 8601 duration (`PT1H`)."""
    from pydantic import TypeAdapter, ValidationError

    text = text.strip().lower()
    if text == "0":
        return timedelta(0)
    found = _DURATION.fullmatch(text)
    if found and any(found.groups()):
        d, h, m, s = (int(g or 0) for g in found.groups())
        return timedelta(days=d, hours=h, minutes=m, seconds=s)
    try:
        value = TypeAdapter(timedelta).validate_python(text.upper())
    except ValidationError:
        raise typer.BadParameter("say how long, e.g. 30m, 1h, 2d or PT1H") from None
    if value < timedelta(0):
        raise typer.BadParameter("a grace period is not negative")
    return value


def _who(by: str | None) -> str:
    return by or f"operator:{getpass.getuser()}"


def _run(work: Callable[[Any], Awaitable[T]]) -> T:
    """Run `work(conn)` on the configured database."""
    from db.connection import create_pool
    from sopflow.cli import _database_url, _settings

    settings = _settings()

    async def main() -> T:
        pool = await create_pool(_database_url(settings), max_size=1)
        try:
            async with pool.acquire() as conn:
                return await work(conn)
        finally:
            await pool.close()

    return asyncio.run(main())


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code)


def _when(at: datetime | None) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if at else ""


def _status(row: Any, now: datetime) -> str:
    if row["revoked_at"]:
        return f"revoked {_when(row['revoked_at'])}"
    if row["expires_at"] and row["expires_at"] <= now:
        return f"expired {_when(row['expires_at'])}"
    if row["expires_at"]:
        return f"works until {_when(row['expires_at'])}"
    return "active"


@keys_app.command("list", help="The keys that work (--all: revoked and expired ones too).")
def list_keys(
    every: Annotated[bool, typer.Option("--all", help="also revoked and expired keys")] = False,
) -> None:
    from db.keys import key_id, list_api_keys

    rows = _run(lambda conn: list_api_keys(conn, every=every))
    now = datetime.now(UTC)
    table = [["id", "person", "roles", "label", "created", "status", "replaced by"]]
    for r in rows:
        table.append([
            key_id(r["key_hash"]),
            r["person_id"],
            ",".join(r["roles"]),
            r["label"] or "-",
            _when(r["created_at"]),
            _status(r, now),
            key_id(r["replaced_by"]) if r["replaced_by"] else "-",
        ])  # fmt: skip
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    for n, line in enumerate(table):
        typer.echo("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())
        if n == 0:
            typer.echo("  ".join("-" * w for w in widths))
    typer.echo(f"{len(rows)} key{'' if len(rows) == 1 else 's'}")


@keys_app.command(
    help="Make a key for a person with one or more roles, and print it (once: it is "
    "stored only as a hash). The person must be in the directory, unless --name and "
    "--email add them. A system key may be bound to an integration and to accounts "
    "(the orders it may submit)."
)
def create(
    role: Annotated[list[str], typer.Option(help="a role (repeat for several)")],
    person: Annotated[str, typer.Option(help="the person's id, e.g. maria.lopez")],
    label: Annotated[str, typer.Option(help="what the key is for")] = "",
    name: Annotated[str | None, typer.Option(help="add the person: their name")] = None,
    email: Annotated[str | None, typer.Option(help="add the person: their email")] = None,
    integration: Annotated[
        str | None, typer.Option(help="a system key's integration (its accounts)")
    ] = None,
    account: Annotated[
        list[str] | None, typer.Option(help="an account a system key may submit orders for")
    ] = None,
    by: By = None,
    comment: Comment = "",
) -> None:
    from db.keys import create_api_key, hash_secret, integration_exists, key_id
    from db.read_model import append_audit
    from domain.identity import Role

    known = {r.value for r in Role}
    if bad := [r for r in role if r not in known]:
        raise _fail(f"unknown role {', '.join(bad)}; the roles: {', '.join(sorted(known))}", 2)
    if (name is None) != (email is None):
        raise _fail("to add a person give both --name and --email", 2)

    async def work(conn: Any) -> str:
        async with conn.transaction():
            exists = await conn.fetchval("SELECT 1 FROM people WHERE person_id = $1", person)
            if not exists and name is None:
                raise _fail(
                    f"no person {person!r} in the directory; add them with --name and --email", 2
                )
            if not exists:
                await conn.execute(
                    "INSERT INTO people (person_id, name, email) VALUES ($1, $2, $3)",
                    person,
                    name,
                    email,
                )
            if integration and not await integration_exists(conn, integration):
                raise _fail(f"no integration {integration!r}", 2)
            unknown = await conn.fetch(
                """SELECT a FROM unnest($1::text[]) a
                   WHERE NOT EXISTS (SELECT 1 FROM accounts WHERE account_number = a)""",
                account or [],
            )
            if unknown:
                raise _fail(f"no account {', '.join(r['a'] for r in unknown)}", 2)
            key = await create_api_key(
                conn, person, role, label, integration_id=integration, accounts=account or []
            )
            what = f"for {person}, roles {', '.join(role)}" + (f", {label}" if label else "")
            await append_audit(
                conn,
                f"api-key:{key_id(hash_secret(key))}",
                _who(by),
                "api key created",
                f"{what}; {comment}" if comment else what,
            )
        return key

    key = _run(work)
    typer.echo(f"key {key_id(hash_secret(key))} for {person} ({', '.join(role)}):")
    typer.echo(key)
    typer.echo("Keep it now: it is not shown again.", err=True)


async def _find(conn: Any, given: str) -> Any:
    from db.keys import AmbiguousKeyId, find_api_key

    try:
        row = await find_api_key(conn, given)
    except AmbiguousKeyId as err:
        raise _fail(str(err), 2) from None
    if row is None:
        raise _fail(f"no key {given!r} (sopflow keys list --all shows every key)", 2)
    return row


@keys_app.command(
    help="Stop a key at once: the API refuses it within SOPFLOW_API_KEY_MEMORY (5 s), "
    "and every work-queue page session signed in with it ends now."
)
def revoke(key: KeyId, by: By = None, comment: Comment = "") -> None:
    from db.keys import key_id, revoke_api_key
    from db.read_model import append_audit

    async def work(conn: Any) -> tuple[str, bool]:
        async with conn.transaction():
            row = await _find(conn, key)
            done = await revoke_api_key(conn, row["key_hash"])
            if done:
                await append_audit(
                    conn,
                    f"api-key:{key_id(row['key_hash'])}",
                    _who(by),
                    "api key revoked",
                    comment or f"key of {row['person_id']}",
                )
        return key_id(row["key_hash"]), done

    name, done = _run(work)
    if not done:
        raise _fail(f"key {name} was already revoked", 1)
    typer.echo(f"key {name} revoked; its page sessions have ended")


@keys_app.command(
    help="Replace a key: a new one for the same person, roles, label, integration and "
    "accounts is printed (once); the old one keeps working for --grace (e.g. 1h, 2d, 0 "
    "for not at all), time to put the new one where the old one is used."
)
def rotate(
    key: KeyId,
    grace: Annotated[str, typer.Option(help="how long the old key keeps working: 30m, 1h, 2d, 0")],
    by: By = None,
    comment: Comment = "",
) -> None:
    from db.keys import hash_secret, key_id, rotate_api_key
    from db.read_model import append_audit

    period = parse_grace(grace)

    async def work(conn: Any) -> tuple[str, str, str, datetime]:
        async with conn.transaction():
            row = await _find(conn, key)
            try:
                new_key = await rotate_api_key(conn, row["key_hash"], period)
            except LookupError as err:
                raise _fail(f"key {key_id(row['key_hash'])}: {err}", 1) from None
            until = await conn.fetchval(
                "SELECT expires_at FROM api_keys WHERE key_hash = $1", row["key_hash"]
            )
            old, new = key_id(row["key_hash"]), key_id(hash_secret(new_key))
            text = f"replaced by {new}; the old key works until {_when(until)}"
            for subject in (old, new):
                await append_audit(
                    conn,
                    f"api-key:{subject}",
                    _who(by),
                    "api key rotated",
                    f"{old} → {new}: {text}" + (f"; {comment}" if comment else ""),
                )
        return old, new, new_key, until

    old, new, new_key, until = _run(work)
    typer.echo(f"key {old} works until {_when(until)}; its replacement is key {new}:")
    typer.echo(new_key)
    typer.echo("Keep it now: it is not shown again.", err=True)
