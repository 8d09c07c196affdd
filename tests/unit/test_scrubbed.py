"""A state the read model refused for its content is written scrubbed: every
NUL (which PostgreSQL's text and jsonb cannot hold) becomes U+FFFD, wherever it
sits, and nothing else changes."""

from __future__ import annotations

from datetime import UTC, datetime

from domain.records import AuditEntry, ReadModelSync, WorkflowRecord, scrubbed

AT = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def sync_holding(text: str) -> ReadModelSync:
    return ReadModelSync(
        record=WorkflowRecord(
            workflow_id="order-1",
            kind="order",
            status="released",
            revision=3,
            created_at=AT,
            updated_at=AT,
            summary=f"pick ticket {text}",
            view={"pick_ticket_id": text, "lines": [{"note": text}]},
        ),
        audit=[AuditEntry(at=AT, actor="sopflow", action="released", comment=text)],
        scrub=True,
    )


def test_every_nul_becomes_the_replacement_character_and_nothing_else_changes() -> None:
    clean = scrubbed(sync_holding("PT-1\x00\x00x"))
    assert clean.record.view == {
        "pick_ticket_id": "PT-1\ufffd\ufffdx",
        "lines": [{"note": "PT-1\ufffd\ufffdx"}],
    }
    assert clean.record.summary == "pick ticket PT-1\ufffd\ufffdx"
    assert clean.audit[0].comment == "PT-1\ufffd\ufffdx"
    assert clean.model_dump(exclude={"record", "audit"}) == sync_holding("").model_dump(
        exclude={"record", "audit"}
    )


def test_text_that_only_reads_like_an_escaped_nul_is_kept() -> None:
    literal = "C:\\u0000 and \\\\u0000"
    assert scrubbed(sync_holding(literal)).audit[0].comment == literal
