"""The docs check (tests/docs_check.py) over this repository, and over a small
tree made to break each of its rules the way the README once did: merge-conflict
markers, links to the specs beside the repository, a duplicated and a split
table, a broken row, a missing file and heading."""

from __future__ import annotations

from pathlib import Path

from tests.docs_check import heading_slug, problems

REPO = Path(__file__).resolve().parents[2]
# Built, not written: a marker at the start of a line here would be one.
OURS, THEIRS, BETWEEN = "<" * 7, ">" * 7, "=" * 7


def test_the_repository_passes_the_docs_check() -> None:
    found = problems(REPO)
    assert not found, "docs check:\n" + "\n".join(str(p) for p in found)


BROKEN = f"""# Demo

## Walkthrough

{OURS} HEAD
Post the order.
{BETWEEN}
Post the order, then watch it.
{THEIRS} other-branch

The rules are in the spec (`../shared/spec/csr.md`, [CSR spec](../shared/spec/csr.md)),
on [the web](https://example.com/sopflow) and at <https://example.org/x>;
the service runs at http://127.0.0.1:8000/docs. See [the guide](docs/guide.md#settings),
[a missing one](docs/missing.md), [no such heading](docs/guide.md#nothing-here),
[this file's walkthrough](#walkthrough) and [this one's nothing](#nothing).
The code is in `workflows/order.py` and `workflows/gone.py`; `tests/*.py` and
`workflows/{{name}}.py` name groups.

| call | who |
|---|---|
| `GET /tasks`, `GET /tasks/{{id}}` | any key |
| `POST /orders` | system | extra |
| `GET /tasks` | any key |

| `POST /csrs` | sales_rep |

```sh
# a fenced block: nothing in it is a link or a table
curl https://example.com/fine
| not | a | table |
```
"""

GUIDE = """# Guide

## Settings

`SOPFLOW_X` and `SOPFLOW_Y`.
"""


def test_a_file_breaking_each_rule_is_reported_line_by_line(tmp_path: Path) -> None:
    (tmp_path / "workflows").mkdir()
    (tmp_path / "workflows" / "order.py").write_text("")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_x.py").write_text("")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "guide.md").write_text(GUIDE)
    (tmp_path / "README.md").write_text(BROKEN)
    (tmp_path / "notes.txt").write_text(f"fine\n{OURS} HEAD\n")

    found = [str(p) for p in problems(tmp_path)]

    assert found == [
        "README.md:5: merge-conflict marker '<<<<<<<'",
        "README.md:7: merge-conflict marker '======='",
        "README.md:9: merge-conflict marker '>>>>>>>'",
        "README.md:11: link leaves the repository: ../shared/spec/csr.md",
        "README.md:11: path leaves the repository: ../shared/spec/csr.md",
        "README.md:12: link leaves the repository: https://example.com/sopflow",
        "README.md:12: link leaves the repository: https://example.org/x",
        "README.md:14: link to a missing file: docs/missing.md",
        "README.md:14: link to a missing heading: docs/guide.md#nothing-here",
        "README.md:15: link to a missing heading: #nothing",
        "README.md:16: path names nothing in the repository: workflows/gone.py",
        "README.md:22: table row has 3 cells, its header 2",
        "README.md:23: table lists 'GET /tasks' twice (also line 21)",
        "README.md:25: table split by a blank line",
        "notes.txt:2: merge-conflict marker '<<<<<<<'",
    ]


def test_headings_get_githubs_anchors() -> None:
    assert heading_slug("Switching systems off and on (`sopflow sim`), and when parts fail") == (
        "switching-systems-off-and-on-sopflow-sim-and-when-parts-fail"
    )
    assert heading_slug("Who gets a task, account changes, the weekly review") == (
        "who-gets-a-task-account-changes-the-weekly-review"
    )
    assert heading_slug("[API](docs/api.md) & the *tasks*") == "api--the-tasks"
