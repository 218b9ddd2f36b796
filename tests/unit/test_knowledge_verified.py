"""Every fact in the knowledge base is checked against a public source: no note, source or text in
``knowledge/data/*.yaml`` may still call itself unverified, except the few listed in ALLOWED below,
each with the reason it cannot be checked from public kernel sources."""

from __future__ import annotations

import re

import pytest

from k8s_tui.knowledge.catalogue import DATA_DIR
from k8s_tui.yamlio import load_yaml_fast

# Wording that marks a fact nobody has checked, in English and in Chinese.
UNVERIFIED = re.compile(r"unverified|not verified|from memory|未核实|未验证|待核实", re.IGNORECASE)

# (file, key, field) -> why the marker stays. A field is the dotted path inside the entry
# ("default_note", "sources.2.ref", "text.en.what"). Keep this list short: every line here is a
# fact a reader cannot trust yet.
ALLOWED: dict[tuple[str, str, str], str] = {
    # RHEL/CentOS 7 carries fs.may_detach_mounts as a downstream patch. Its default of 0 from
    # 3.10.0-693 on comes from Red Hat's knowledge base (https://access.redhat.com/articles/3128691)
    # and second-hand posts, which even disagree on the first release (7.2 or 7.4); no public
    # upstream kernel tree has the patch to read.
    ("files.yaml", "fs.may_detach_mounts", "default_note"): "RHEL-only downstream default",
    ("files.yaml", "fs.may_detach_mounts", "default_note_zh"): "RHEL-only downstream default",
    # Upstream CONFIG_PANIC_ON_OOPS defaults to n; whether any distribution builds it =y would
    # need every distribution's kernel config checked, which nobody has done.
    ("kernel.yaml", "kernel.panic_on_oops", "default_note"): "distribution kernel configs not surveyed",
    ("kernel.yaml", "kernel.panic_on_oops", "default_note_zh"): "distribution kernel configs not surveyed",
}


def _strings(node, path: str = ""):
    """Every string in an entry, with its dotted path."""
    if isinstance(node, str):
        yield path, node
    elif isinstance(node, dict):
        for k, v in node.items():
            yield from _strings(v, f"{path}.{k}" if path else str(k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _strings(v, f"{path}.{i}" if path else str(i))


def _marked() -> dict[tuple[str, str, str], str]:
    found = {}
    for file in sorted(DATA_DIR.glob("*.yaml")):
        doc = load_yaml_fast(file) or {}
        for key, entry in doc.items():
            for field, text in _strings(entry):
                if UNVERIFIED.search(text):
                    found[(file.name, key, field)] = text
    return found


MARKED = _marked()


def test_the_data_files_are_read():
    assert len(list(DATA_DIR.glob("*.yaml"))) >= 10


def test_no_fact_is_left_unverified_outside_the_allow_list():
    stray = {where: text for where, text in MARKED.items() if where not in ALLOWED}
    assert not stray, "verify these facts against a public source, or justify them in ALLOWED:\n" + "\n".join(
        f"  {f} {k} {field}: {text[:160]!r}" for (f, k, field), text in stray.items()
    )


@pytest.mark.parametrize("where", sorted(ALLOWED), ids=lambda w: "/".join(w))
def test_every_allow_list_line_is_still_needed(where):
    """A fact that has since been verified must leave the allow-list too."""
    assert where in MARKED, f"{where} no longer says unverified; remove it from ALLOWED"


@pytest.mark.parametrize(
    "text",
    ["added in 3.16 (unverified)", "版本未核实", "v3.12; version from memory", "NOT VERIFIED"],
)
def test_the_pattern_catches_both_languages(text):
    assert UNVERIFIED.search(text)
