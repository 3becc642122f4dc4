"""What counts as quoting hidden material: a substantive line appearing where it must not."""


def substantive_lines(text):
    """The stripped lines of `text` long enough to be telling; imports, comments and docstring
    openers are too generic to count."""
    return {line.strip() for line in text.splitlines()
            if len(line.strip()) >= 25 and not line.strip().startswith(("#", "import ", "from ", '"""'))}
