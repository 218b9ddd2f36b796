"""Themes: the default dark one, and a high-contrast one made of the 16 ANSI colours only, so the
Linux console (TERM=linux) shows exactly what was meant."""

from __future__ import annotations

import os

from textual.theme import Theme

CONTRAST = "k8s-tui-contrast"
DEFAULT = "textual-dark"

HIGH_CONTRAST = Theme(
    name=CONTRAST,
    ansi=True,
    dark=True,
    primary="ansi_bright_cyan",
    secondary="ansi_cyan",
    accent="ansi_bright_yellow",
    warning="ansi_bright_yellow",
    error="ansi_bright_red",
    success="ansi_bright_green",
    foreground="ansi_bright_white",
    background="ansi_black",
    surface="ansi_black",
    panel="ansi_blue",
    boost="ansi_black",
    variables={
        "ansi-background": "ansi_black",
        "ansi-foreground": "ansi_bright_white",
        "text": "ansi_bright_white",
        "text-muted": "ansi_white",
        "text-disabled": "ansi_white",
        "text-primary": "ansi_bright_cyan",
        "text-accent": "ansi_bright_yellow",
        "text-warning": "ansi_bright_yellow",
        "text-error": "ansi_bright_red",
        "text-success": "ansi_bright_green",
        "foreground-muted": "ansi_white",
        "border": "ansi_bright_cyan",
        "border-blurred": "ansi_white",
        "block-cursor-foreground": "ansi_black",
        "block-cursor-background": "ansi_bright_cyan",
        "block-cursor-text-style": "bold",
        "block-cursor-blurred-foreground": "ansi_black",
        "block-cursor-blurred-background": "ansi_white",
        "block-hover-background": "ansi_blue",
        "input-cursor-background": "ansi_bright_white",
        "input-cursor-foreground": "ansi_black",
        "input-cursor-text-style": "none",
        "input-selection-background": "ansi_blue",
        "footer-key-foreground": "ansi_bright_yellow",
        "footer-description-foreground": "ansi_bright_white",
        "footer-background": "ansi_blue",
        "footer-item-background": "ansi_blue",
        "scrollbar": "ansi_white",
        "scrollbar-hover": "ansi_bright_white",
        "scrollbar-active": "ansi_bright_cyan",
        "scrollbar-background": "ansi_black",
        "scrollbar-background-hover": "ansi_black",
        "scrollbar-background-active": "ansi_black",
        "scrollbar-corner-color": "ansi_black",
        "screen-selection-background": "ansi_blue",
        "screen-selection-foreground": "ansi_bright_white",
        "button-foreground": "ansi_bright_white",
        "button-color-foreground": "ansi_black",
        "link-color": "ansi_bright_cyan",
        "link-background": "ansi_black",
        "link-color-hover": "ansi_black",
        "link-background-hover": "ansi_bright_cyan",
    },
)


def auto_theme() -> str:
    """The high-contrast theme on the Linux console or when asked for; the default elsewhere."""
    asked = os.environ.get("K8S_TUI_THEME")
    if asked:
        return CONTRAST if asked in ("contrast", "high-contrast", CONTRAST) else asked
    if os.environ.get("TERM", "") in ("linux", "vt100", "vt220", "ansi"):
        return CONTRAST
    return DEFAULT
