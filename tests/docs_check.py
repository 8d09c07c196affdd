"""The docs check: what keeps the README and the guides true to the tree they
ship in. A clone has nothing beside it, so:

- no merge-conflict marker in any file of the tree;
- no Markdown link that leaves the repository (a URL to another host, a path
  above the root) or points at a missing file or heading; a path in a code
  span that starts in a folder of the repository names something that exists;
- no Markdown table with a row of the wrong width, a row cut off from its
  table (a blank line splits it), or a key (the first cell, or each code span
  in it) listed twice.

`problems(root)` lists what it finds; tests/unit/test_docs_check.py runs it
over the repository (so `bin/test` does) and over a file made to break each rule.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

# The service this tree runs, on this machine: the walkthroughs' URLs.
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "0.0.0.0"}
# Folders that hold what tools made, never what a person wrote.
SKIPPED_DIRS = {".git", ".venv", "node_modules", "__pycache__", ".pytest_cache", ".sopflow"}

_MARKER = re.compile(r"^(?:<{7}|>{7}|\|{7})(?: |$)|^={7}$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.DOTALL)
_INLINE_LINK = re.compile(
    r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)"
)
_REFERENCE = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.MULTILINE)
_AUTOLINK = re.compile(r"<((?:https?|ftp)://[^>\s]+)>")
_BARE_URL = re.compile(r"(?<![<(\w])((?:https?|ftp)://[^\s<>()\[\]`'\"]+)")
_HTML_TARGET = re.compile(r"<(?:a|img)\b[^>]*?\b(?:href|src)\s*=\s*[\"']([^\"']+)[\"']", re.I)
_HTML_ANCHOR = re.compile(r"<a\b[^>]*?\b(?:id|name)\s*=\s*[\"']([^\"']+)[\"']", re.I)
_HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$")
_TABLE_ROW = re.compile(r"^ {0,3}\|")
_DELIMITER = re.compile(r"^ {0,3}\|?\s*:?-+:?\s*(?:\|\s*:?-+:?\s*)*\|?\s*$")
_PLACEHOLDER = re.compile(r"[{}<>$…]|\.\.\.")


@dataclass(frozen=True, order=True)
class Problem:
    path: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what}"


def problems(root: Path) -> list[Problem]:
    root = root.resolve()
    files = tree_files(root)
    found = [p for f in files for p in conflict_markers(root, f)]
    tops = {f.relative_to(root).parts[0] for f in files if len(f.relative_to(root).parts) > 1}
    for f in files:
        if f.suffix.lower() == ".md":
            found += markdown_problems(root, f, tops)
    return sorted(found)


def tree_files(root: Path) -> list[Path]:
    """The files of the tree: what git tracks or would (not what it ignores);
    outside a git checkout, every file but the tools' folders."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
            cwd=root,
            capture_output=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        found = []
        for folder, dirs, names in os.walk(root):
            dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS]
            found += [Path(folder) / n for n in names]
        return sorted(found)
    names = {n for n in listed.decode().split("\0") if n}
    return sorted(root / n for n in names if (root / n).is_file())


def conflict_markers(root: Path, path: Path) -> list[Problem]:
    data = path.read_bytes()
    if b"\0" in data[:8192]:
        return []  # binary
    return [
        Problem(_rel(root, path), n, f"merge-conflict marker {line[:7]!r}")
        for n, line in enumerate(data.decode(errors="replace").splitlines(), 1)
        if _MARKER.match(line)
    ]


# ------------------------------------------------------------------ Markdown
def markdown_problems(root: Path, path: Path, tops: set[str]) -> list[Problem]:
    text = path.read_text(errors="replace")
    prose = _without_fences(text)
    found: list[Problem] = []
    spans = list(_CODE_SPAN.finditer(prose))
    for span in spans:
        found += _code_span_path(root, path, tops, span.group(2), _line_of(prose, span.start()))
    # Links are found in prose with code spans blanked (same length: lines stay put).
    plain = _CODE_SPAN.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), prose)
    targets = [
        (m.group(1), m.start(1))
        for pattern in (_INLINE_LINK, _REFERENCE, _AUTOLINK, _HTML_TARGET)
        for m in pattern.finditer(plain)
    ]
    linked = {at for _, at in targets}
    targets += [
        (m.group(1), m.start(1)) for m in _BARE_URL.finditer(plain) if m.start(1) not in linked
    ]
    for target, at in targets:
        if why := _link_problem(root, path, target):
            found.append(Problem(_rel(root, path), _line_of(plain, at), why))
    found += _table_problems(root, path, plain)
    return found


def _without_fences(text: str) -> str:
    """The text with fenced code blocks blanked out (their lines kept, empty)."""
    lines, fence = [], None
    for line in text.splitlines():
        opened = _FENCE.match(line)
        if fence is None and opened:
            fence = opened.group(1)[0] * len(opened.group(1))
            lines.append("")
        elif fence is not None:
            if line.strip().startswith(fence) and not line.strip().strip(fence[0]):
                fence = None
            lines.append("")
        else:
            lines.append(line)
    return "\n".join(lines)


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _link_problem(root: Path, path: Path, target: str) -> str | None:
    if not target:
        return "a link without a target"
    parts = urlsplit(target)
    if parts.scheme and len(parts.scheme) > 1:  # not a Windows drive letter
        if parts.scheme in ("http", "https") and parts.hostname in LOCAL_HOSTS:
            return None  # the service on this machine, as the walkthroughs run it
        return f"link leaves the repository: {target}"
    if parts.netloc:
        return f"link leaves the repository: {target}"
    where, anchor = unquote(parts.path), unquote(parts.fragment)
    if not where:
        dest = path
    elif where.startswith("/"):
        dest = (root / where.lstrip("/")).resolve()
    else:
        dest = (path.parent / where).resolve()
    if not dest.is_relative_to(root):
        return f"link leaves the repository: {target}"
    if not dest.exists():
        return f"link to a missing file: {target}"
    if anchor and dest.is_file():
        if dest.suffix.lower() != ".md":
            return None  # a line anchor (#L10) in a source file: GitHub's, not checked
        if anchor not in anchors(dest.read_text(errors="replace")):
            return f"link to a missing heading: {target}"
    return None


def _code_span_path(root: Path, path: Path, tops: set[str], code: str, line: int) -> list[Problem]:
    """A code span naming a path: one above the root leaves the repository; one
    starting in a folder of the repository must name what is there."""
    code = code.strip()
    if not code or any(c.isspace() for c in code) or _PLACEHOLDER.search(code):
        return []
    rel = _rel(root, path)
    if code.startswith("../"):
        if not (path.parent / code).resolve().is_relative_to(root):
            return [Problem(rel, line, f"path leaves the repository: {code}")]
        return []
    if "/" not in code or code.split("/", 1)[0] not in tops or "://" in code:
        return []
    name = code.split("::")[0].rstrip("/")
    for base in (root, path.parent):
        if any(c in name for c in "*?["):
            if next(base.glob(name), None) is not None:
                return []
        elif (base / name).exists():
            return []
    return [Problem(rel, line, f"path names nothing in the repository: {code}")]


def anchors(text: str) -> set[str]:
    """The anchors GitHub gives a Markdown file's headings (and its HTML anchors)."""
    found: set[str] = set()
    seen: dict[str, int] = {}
    prose = _without_fences(text)
    for line in prose.splitlines():
        m = _HEADING.match(line)
        if not m:
            continue
        slug = heading_slug(m.group(2))
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        found.add(slug if n == 0 else f"{slug}-{n}")
    found |= set(_HTML_ANCHOR.findall(prose))
    return found


def heading_slug(heading: str) -> str:
    text = re.sub(r"`([^`]*)`", r"\1", heading)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"<[^>]+>", "", text)
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return text.replace(" ", "-")


def _cells(row: str) -> list[str]:
    """A table row's cells, split on unescaped pipes (as GitHub does, code spans too)."""
    body = row.strip()
    body = body[1:] if body.startswith("|") else body
    body = body[:-1] if body.endswith("|") and not body.endswith("\\|") else body
    return [c.strip() for c in re.split(r"(?<!\\)\|", body)]


def _keys(cell: str) -> list[str]:
    spans = [m.group(2).strip() for m in _CODE_SPAN.finditer(cell)]
    return spans or ([cell.strip()] if cell.strip() else [])


def _table_problems(root: Path, path: Path, plain: str) -> list[Problem]:
    """Tables in the text with code spans blanked: find them there, read their
    cells (code spans and all) in the file's own lines. Rows cut off from a
    table by blank lines are reported, and checked as part of it."""
    rel = _rel(root, path)
    lines = plain.splitlines()
    original = _without_fences(path.read_text(errors="replace")).splitlines()
    found: list[Problem] = []
    width, keys, ended = 0, {}, -10  # the last table: its width, keys, last line
    n = 0
    while n < len(lines):
        if not _TABLE_ROW.match(lines[n]):
            n += 1
            continue
        if n + 1 < len(lines) and _DELIMITER.match(lines[n + 1]) and "-" in lines[n + 1]:
            width, keys = len(_cells(original[n])), {}
            n += 2
        elif all(not line.strip() for line in lines[ended + 1 : n]) and n - ended <= 3:
            found.append(Problem(rel, n + 1, "table split by a blank line"))
        else:
            found.append(Problem(rel, n + 1, "table row without a header row"))
            width, keys = len(_cells(original[n])), {}
        while n < len(lines) and _TABLE_ROW.match(lines[n]):
            cells = _cells(original[n])
            if len(cells) != width:
                found.append(
                    Problem(rel, n + 1, f"table row has {len(cells)} cells, its header {width}")
                )
            for key in _keys(cells[0]):
                if key in keys:
                    found.append(
                        Problem(rel, n + 1, f"table lists {key!r} twice (also line {keys[key]})")
                    )
                else:
                    keys[key] = n + 1
            n += 1
        ended = n - 1
    return found


def _rel(root: Path, path: Path) -> str:
    return path.resolve().relative_to(root).as_posix() if path.is_absolute() else str(path)
