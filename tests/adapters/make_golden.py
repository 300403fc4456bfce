"""Write the golden files: every aggregate type in every state, as stored today.

Two kinds: the object's JSON envelope (its snapshot form), ``golden/<Type>.v<schema>.<state>.json``,
and its events as an event store keeps them (header, body with a zero salt, chain hash),
``golden/events/<Type>.<state>.json``. A newer perfcore must read both: envelopes through
migrations, events through upcasters; stored events are never rewritten.

Run it when an aggregate type is added or a type's schema number goes up::

    python tests/adapters/make_golden.py

It writes ``golden/<Type>.v<schema>.<state>.json`` for the current schemas and never overwrites a
file that exists: the files of older schemas stay as they were committed, and the golden test
checks that each still loads to the object a driver builds today, through the migrations.

When a golden test fails, a type's stored shape changed. Once a release has shipped, raise the
type's number in ``SCHEMA_VERSIONS``, register a migration, and run this script (the old files
stay). Before the first release, deleting that type's files and running it again is enough.
"""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

from perfcore.recording import encode
from perfcore.serialization import SCHEMA_VERSIONS, dumps
from perfcore.testing.drivers import drivers, path_to

GOLDEN = Path(__file__).with_name("golden")


def golden_name(type_name: str, state: str) -> str:
    """The file name of one type's golden envelope in one state, at the current schema."""
    return f"{type_name}.v{SCHEMA_VERSIONS[type_name]}.{state}.json"


def reachable_states() -> list[tuple[str, str]]:
    """Every (type, state) a driver can reach, in a stable order."""
    found = []
    for type_name, driver in sorted(drivers().items()):
        for state in driver.lifecycle.states:
            try:
                path_to(driver.lifecycle, state)
            except ValueError:
                continue
            found.append((type_name, state))
    return found


def envelope_text(type_name: str, state: str) -> str:
    """The stored envelope of a driver-built object, indented so that diffs are readable."""
    obj = drivers()[type_name].reach(state, id=f"golden-{state}")
    return json.dumps(json.loads(dumps(obj)), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def events_text(type_name: str, state: str) -> str:
    """A driver-built object's events as stored, with a zero salt so the bytes are stable."""
    obj = drivers()[type_name].reach(state, id=f"golden-{state}")
    rows, previous = [], b""
    for event in obj.history:
        recorded = encode(event, previous, salt=bytes(16))
        previous = recorded.hash
        rows.append(
            {
                "kind": recorded.kind,
                "id": recorded.id,
                "version": recorded.version,
                "schema": recorded.schema,
                "header": recorded.header.decode("utf-8"),
                "body": base64.b64encode(recorded.body).decode("ascii"),
                "hash": recorded.hash.hex(),
            }
        )
    return json.dumps(rows, indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    """Write the missing golden files; report what was written."""
    (GOLDEN / "events").mkdir(parents=True, exist_ok=True)
    for type_name, state in reachable_states():
        targets = {
            GOLDEN / golden_name(type_name, state): envelope_text,
            GOLDEN / "events" / f"{type_name}.{state}.json": events_text,
        }
        for target, text in targets.items():
            if target.exists():
                continue
            target.write_text(text(type_name, state), encoding="utf-8")
            print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
