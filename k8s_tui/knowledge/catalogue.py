"""Load the sysctl knowledge base (``knowledge/data/*.yaml``) into validated entries."""

from __future__ import annotations

import difflib
from functools import lru_cache
from importlib import resources
from pathlib import Path

from pydantic import ValidationError

from ..yamlio import InputError, line_of, load_yaml, load_yaml_fast, plain
from .schema import Entry, Group

DATA_DIR = Path(str(resources.files(__package__) / "data"))


class Catalogue:
    """All known keys, in group order and then in the order the data files list them."""

    def __init__(self, entries: list[Entry]):
        order = list(Group)
        self._entries = {e.key: e for e in sorted(entries, key=lambda e: order.index(e.group))}

    def __contains__(self, key: str) -> bool:
        return key in self._entries

    def __iter__(self):
        return iter(self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str) -> Entry:
        try:
            return self._entries[key]
        except KeyError:
            hint = self.suggest(key)
            more = f"; did you mean {', '.join(hint)}?" if hint else ""
            raise KeyError(f"unknown sysctl key {key!r}{more}") from None

    def keys(self) -> list[str]:
        return list(self._entries)

    def by_group(self) -> dict[Group, list[Entry]]:
        out: dict[Group, list[Entry]] = {}
        for e in self._entries.values():
            out.setdefault(e.group, []).append(e)
        return out

    def suggest(self, key: str, n: int = 3) -> list[str]:
        """The nearest known keys: by similarity of the whole key, then of its last part."""
        keys = list(self._entries)
        close = difflib.get_close_matches(key, keys, n=n, cutoff=0.6)
        if len(close) < n:
            leaf = key.rsplit(".", 1)[-1]
            leaves = {k.rsplit(".", 1)[-1]: k for k in keys}
            for hit in difflib.get_close_matches(leaf, list(leaves), n=n, cutoff=0.6):
                if leaves[hit] not in close:
                    close.append(leaves[hit])
        if len(close) < n:
            close += [k for k in keys if key and key in k and k not in close]
        return close[:n]


def load_file(path: Path) -> list[Entry]:
    doc = load_yaml_fast(path)
    if not isinstance(doc, dict):
        raise InputError(f"{path}: expected a mapping of sysctl key -> entry")
    entries = []
    for key, body in doc.items():
        if not isinstance(body, dict):
            raise InputError(f"{path}: {key}: expected a mapping")
        try:
            entries.append(Entry.model_validate({"key": key, **plain(body)}))
        except ValidationError as e:
            err = e.errors()[0]
            line = line_of(load_yaml(path), (key, *err["loc"]))
            where = f" line {line}" if line else ""
            field = ".".join(str(p) for p in err["loc"])
            raise InputError(f"{path}{where}: {key}: {field}: {err['msg']}") from None
    return entries


@lru_cache(maxsize=1)
def load_catalogue(data_dir: Path = DATA_DIR) -> Catalogue:
    entries: list[Entry] = []
    seen: dict[str, Path] = {}
    for path in sorted(data_dir.glob("*.yaml")):
        for e in load_file(path):
            if e.key in seen:
                raise InputError(f"{path}: {e.key} is already defined in {seen[e.key].name}")
            seen[e.key] = path
            entries.append(e)
    return Catalogue(entries)
