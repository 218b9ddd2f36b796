"""The sysctl knowledge base: facts, sources and our own explanations. No UI here."""

from .catalogue import Catalogue, load_catalogue
from .schema import Entry, Group, ValueType
from .values import KernelVersion, SysctlValue, check_value, format_value, parse_value

__all__ = [
    "Catalogue",
    "Entry",
    "Group",
    "KernelVersion",
    "SysctlValue",
    "ValueType",
    "check_value",
    "format_value",
    "load_catalogue",
    "parse_value",
]
