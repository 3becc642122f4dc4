"""Text that came from a submission, made safe to show: no control characters reach a terminal,
a report or a page. Every such character is written out as a visible escape (`\\x1b`), so an
exception message cannot clear the instructor's screen or draw a table of its own.
Line breaks and tabs stay: feedback is multi-line text."""
import unicodedata

KEPT = {"\n", "\t"}
HIDDEN_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}  # controls, format (bidi), surrogates, ...


def printable(text):
    """`text` with every control or invisible formatting character escaped; idempotent."""
    text = str(text)
    if text.isprintable():
        return text
    return "".join(ch if ch in KEPT or unicodedata.category(ch) not in HIDDEN_CATEGORIES else escape(ch)
                   for ch in text)


def escape(ch):
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"
