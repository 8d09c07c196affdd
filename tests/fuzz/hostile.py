"""Text a tester types into every field: ordinary words, and what the edge
refuses (NUL, other control characters, bidi overrides, very long text). Sent
straight to a workflow, past the API, it must be refused there too, or be
harmless (the invariants hold)."""

from __future__ import annotations

from hypothesis import strategies as st

NUL = "a\x00b"
EVIL = [
    NUL,
    "\x00",
    "esc \x1b[31m red",
    "bell\x07",
    "del\x7f c1\x85",
    "tab\tand\nnewline",
    "\u202egnp.exe",  # a right-to-left override
    "iso\u2066late\u2069",
    "line\u2028separator",
    "x" * 5000,  # past every length cap
    "ü" * 2001,
    "   ",
    "",
    "Robert'); DROP TABLE workflow_records;--",
    "{{7*7}} <script>alert(1)</script>",
]

# What a person types: letters, digits, punctuation and spaces.
plain_text = st.text(st.characters(categories=["L", "N", "P", "Zs"]), min_size=1, max_size=40)

# Ordinary text (printable, no surrogates) or one of the hostile kinds above.
hostile_text = st.one_of(
    st.sampled_from(EVIL),
    st.text(min_size=1, max_size=40),
    st.just("ok"),
)
