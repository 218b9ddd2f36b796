"""wrap() counts the spaces a line really holds: a caller that maps the lines back onto styled
text (widgets/explain_panel.wrap_content) keeps them, so a line counted one space short spilled
over and left a lone word on a line of its own (the Tool screen's "Also fits:" at 80 columns)."""

from k8s_tui.knowledge.wrap import text_width, wrap


def test_double_spaces_inside_a_line_count():
    text = "x" * 70 + " step.  Also fits: kubespray"
    lines = wrap(text, 78)
    assert all(text_width(line) <= 78 for line in lines)
    # each line, as the original text holds it (spaces kept), still fits
    rebuilt = text
    for line in lines:
        assert rebuilt.lstrip(" ").startswith(line.lstrip(" "))
        rebuilt = rebuilt.lstrip(" ")[len(line.lstrip(" ")):]


def test_spaces_at_a_break_are_dropped():
    assert wrap("aaaa  bbbb", 6) == ["aaaa", "bbbb"]
