"""Read Ansible's default stdout callback line by line: plays, tasks, per-host results, the recap.

``AnsibleProgress.feed(line)`` takes one line as ansible-playbook writes it (ANSI colours and
carriage returns are dropped) and returns the events it completes; it also keeps the state a
run screen needs for a host x task grid: ``tasks`` in order, ``hosts`` in order of appearance,
``cells[(task_index, host)]`` with the host's status for that task, and ``recap``.

Lines it understands (ansible-core 2.19 default callback; older versions differ only in the
error text):

    PLAY [name] ****                         -> PlayStarted
    TASK [role : name] ****                  -> TaskStarted (kind "task")
    RUNNING HANDLER [role : name] ****       -> TaskStarted (kind "handler")
    ok: [host]  changed: [host -> deleg]     -> HostResult
    ok: [host] => (item=x) => {...}          -> HostResult with item (a loop)
    skipping: [host]                         -> HostResult status "skipped"
    failed: [host] (item=x) => {json}        -> HostResult status "failed", message from the JSON
    fatal: [host]: FAILED! => {json}         -> HostResult status "failed"
    fatal: [host]: UNREACHABLE! => {json}    -> HostResult status "unreachable"
    ...ignoring                              -> ResultIgnored for the last failed result
    included: FILE for h1, h2                -> Included
    [WARNING]: / [ERROR]: / [DEPRECATION WARNING]: text  -> Message (with its Origin lines)
    <weekday> <date> (0:00:01.617)  0:00:05.580 *****    -> TaskTiming for the task before
      (profile_tasks, the duration in brackets is the previous task's)
    name ------------------ 2.67s            -> TaskTiming from the TASKS RECAP (profile_tasks)
    host : ok=8 changed=4 unreachable=0 failed=0 skipped=2 rescued=1 ignored=1  -> Recap

Anything else (a result's multi-line JSON body, ezctl's own log lines, blank lines) is kept as
``Output`` so nothing is lost, but changes no cell.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
HEADER_RE = re.compile(r"^(PLAY|TASK|RUNNING HANDLER) \[(.*)\] \**\s*$")
PLAY_RECAP_RE = re.compile(r"^PLAY RECAP \**\s*$")
TASKS_RECAP_RE = re.compile(r"^TASKS RECAP \**\s*$")
RESULT_RE = re.compile(r"^(ok|changed|skipping|failed|fatal): \[([^\]]+)\](.*)$")
RECAP_RE = re.compile(
    r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)"
    r"(?:\s+skipped=(\d+))?(?:\s+rescued=(\d+))?(?:\s+ignored=(\d+))?\s*$"
)
TIMING_RE = re.compile(r"^\S+ \d{1,2} \S+ \d{4}\s+\d{2}:\d{2}:\d{2} [+-]\d{4} \((\d+):(\d{2}):(\d{2}(?:\.\d+)?)\)\s+(\d+):(\d{2}):(\d{2}(?:\.\d+)?) \**\s*$")
RECAP_TIMING_RE = re.compile(r"^(.*\S) -+ (\d+(?:\.\d+)?)s\s*$")
MESSAGE_RE = re.compile(r"^\[(WARNING|ERROR|DEPRECATION WARNING)\]: (.*)$")
INCLUDED_RE = re.compile(r"^included: (.+) for (.+)$")

# the order in which one host's results for one task (a loop) combine into its cell
SEVERITY = {"skipped": 0, "ok": 1, "changed": 2, "ignored": 3, "rescued": 3, "failed": 4, "unreachable": 5}


@dataclass
class Event:
    line_no: int


@dataclass
class PlayStarted(Event):
    name: str


@dataclass
class TaskStarted(Event):
    index: int  # position in AnsibleProgress.tasks
    name: str  # without the role
    role: str | None
    kind: str  # task | handler
    play: str | None

    @property
    def title(self) -> str:
        return f"{self.role} : {self.name}" if self.role else self.name


@dataclass
class HostResult(Event):
    task_index: int | None
    host: str
    status: str  # ok | changed | skipped | failed | unreachable
    item: str | None = None
    delegated_to: str | None = None
    message: str | None = None
    result: dict | None = None  # the JSON after '=>' when it is on the line


@dataclass
class ResultIgnored(Event):
    task_index: int | None
    host: str


@dataclass
class ResultRescued(Event):
    """A host whose failure was caught by a block's rescue: it went on to the next task."""

    task_index: int | None
    host: str


@dataclass
class Included(Event):
    task_index: int | None
    file: str
    hosts: list[str]


@dataclass
class Message(Event):
    level: str  # WARNING | ERROR | DEPRECATION WARNING
    text: str
    task_index: int | None


@dataclass
class TaskTiming(Event):
    task_index: int | None  # None when only the name is known (TASKS RECAP)
    name: str
    seconds: float
    source: str  # inline | recap


@dataclass
class Recap(Event):
    host: str
    ok: int
    changed: int
    unreachable: int
    failed: int
    skipped: int
    rescued: int
    ignored: int

    @property
    def success(self) -> bool:
        return self.failed == 0 and self.unreachable == 0


@dataclass
class Output(Event):
    text: str


@dataclass
class Cell:
    status: str
    items: list[tuple[str, str]] = field(default_factory=list)  # (item, status)
    message: str | None = None
    delegated_to: str | None = None
    ignored: bool = False


@dataclass
class TaskRow:
    index: int
    name: str
    role: str | None
    kind: str
    play: str | None
    seconds: float | None = None

    @property
    def title(self) -> str:
        return f"{self.role} : {self.name}" if self.role else self.name


def clean(line: str) -> str:
    line = ANSI_RE.sub("", line.rstrip("\n"))
    if "\r" in line:
        line = line.rstrip("\r").split("\r")[-1]
    return line


def _split_role(title: str) -> tuple[str | None, str]:
    if " : " in title:
        role, _, name = title.partition(" : ")
        return role.strip(), name.strip()
    return None, title.strip()


def _seconds(h: str, m: str, s: str) -> float:
    return int(h) * 3600 + int(m) * 60 + float(s)


def _message_of(result: dict | None) -> str | None:
    if not isinstance(result, dict):
        return None
    for k in ("msg", "reason", "stderr", "module_stderr"):
        v = result.get(k)
        if isinstance(v, str) and v.strip():
            return v.strip()
    return None


class AnsibleProgress:
    def __init__(self) -> None:
        self.plays: list[str] = []
        self.tasks: list[TaskRow] = []
        self.hosts: list[str] = []
        self.cells: dict[tuple[int, str], Cell] = {}
        self.recap: dict[str, Recap] = {}
        self.messages: list[Message] = []
        self.events: list[Event] = []
        self._line_no = 0
        self._section = "run"  # run | recap | tasks-recap
        self._in_body = False  # inside a multi-line JSON body of a result
        self._in_message = False  # inside an [ERROR] block (Origin and source lines)
        self._pending_ignore: list[tuple[int | None, str]] = []  # failures an '...ignoring' may follow
        self._failed: dict[str, tuple[int, str]] = {}  # host -> cell of a failure not ignored (yet)
        self._play: str | None = None

    # -- state helpers -----------------------------------------------------------------------

    @property
    def current_task(self) -> TaskRow | None:
        return self.tasks[-1] if self.tasks else None

    def _host(self, host: str) -> None:
        if host not in self.hosts:
            self.hosts.append(host)

    def _cell(self, ev: HostResult) -> None:
        if ev.task_index is None:
            return
        key = (ev.task_index, ev.host)
        c = self.cells.get(key)
        if c is None:
            c = self.cells[key] = Cell(status=ev.status)
        elif SEVERITY[ev.status] > SEVERITY[c.status]:
            c.status = ev.status
        if ev.item is not None:
            c.items.append((ev.item, ev.status))
        if ev.message and ev.status in ("failed", "unreachable"):
            c.message = ev.message
        if ev.delegated_to:
            c.delegated_to = ev.delegated_to

    def grid(self) -> list[tuple[TaskRow, dict[str, str]]]:
        """One row per task: host -> status ('' when the host did not report for it)."""
        rows = []
        for t in self.tasks:
            rows.append((t, {h: (self.cells[(t.index, h)].status if (t.index, h) in self.cells else "") for h in self.hosts}))
        return rows

    # -- parsing -----------------------------------------------------------------------------

    def feed_text(self, text: str) -> list[Event]:
        out: list[Event] = []
        for line in text.splitlines():
            out += self.feed(line)
        return out

    def feed(self, raw: str) -> list[Event]:
        self._line_no += 1
        events = self._parse(clean(raw))
        self.events += events
        return events

    def _parse(self, line: str) -> list[Event]:
        n = self._line_no
        stripped = line.strip()
        if self._in_body:
            if line.startswith("}") or line.startswith("]"):
                self._in_body = False
            return [Output(n, line)]
        if self._in_message:
            structural = (HEADER_RE.match(line) or RESULT_RE.match(line) or PLAY_RECAP_RE.match(line)
                          or TASKS_RECAP_RE.match(line) or TIMING_RE.match(line) or MESSAGE_RE.match(line)
                          or INCLUDED_RE.match(line) or stripped == "...ignoring")
            if not structural:
                detail = not (stripped == "" or line.startswith("Origin: ") or re.match(r"^\s*\d+(\s|$)", line)
                              or re.match(r"^\s+\^", line) or stripped == "<<< caused by >>>")
                if detail and self.messages:
                    self.messages[-1].text += "\n" + stripped
                return [Output(n, line)]
            self._in_message = False

        m = HEADER_RE.match(line)
        if m:
            kind, title = m.groups()
            self._section = "run"
            if kind == "PLAY":
                self._play = title
                self.plays.append(title)
                return [PlayStarted(n, title)]
            role, name = _split_role(title)
            row = TaskRow(len(self.tasks), name, role, "handler" if kind == "RUNNING HANDLER" else "task", self._play)
            self.tasks.append(row)
            for key in self._pending_ignore:
                if key[0] is not None:
                    self._failed[key[1]] = key  # not ignored: rescued if the host shows up again
            self._pending_ignore = []
            return [TaskStarted(n, row.index, name, role, row.kind, self._play)]
        if PLAY_RECAP_RE.match(line):
            self._section = "recap"
            return [Output(n, line)]
        if TASKS_RECAP_RE.match(line):
            self._section = "tasks-recap"
            return [Output(n, line)]

        m = TIMING_RE.match(line)
        if m:
            # profile_tasks prints this under each TASK header; the bracket is the task before's time
            secs = _seconds(*m.groups()[:3])
            if self._section == "run" and len(self.tasks) >= 2:
                prev = self.tasks[-2]
                prev.seconds = secs
                return [TaskTiming(n, prev.index, prev.title, secs, "inline")]
            if self._section != "run" and self.tasks and self.tasks[-1].seconds is None:
                last = self.tasks[-1]
                last.seconds = secs
                return [TaskTiming(n, last.index, last.title, secs, "inline")]
            return [Output(n, line)]

        if self._section == "recap":
            m = RECAP_RE.match(line)
            if m:
                host = m.group(1)
                nums = [int(x) if x is not None else 0 for x in m.groups()[1:]]
                ev = Recap(n, host, *nums)
                self.recap[host] = ev
                self._host(host)
                return [ev]
        if self._section == "tasks-recap":
            m = RECAP_TIMING_RE.match(line)
            if m and not line.startswith("="):
                name, secs = m.group(1), float(m.group(2))
                idx = next((t.index for t in self.tasks if t.title == name or t.name == name), None)
                return [TaskTiming(n, idx, name, secs, "recap")]

        m = RESULT_RE.match(line)
        if m:
            return self._result(n, *m.groups())
        if stripped == "...ignoring" and self._pending_ignore:
            # the line follows each ignored failure, but with several forks the lines of one task
            # can come as "failed a, failed b, ...ignoring, ...ignoring": take them in order
            task_index, host = self._pending_ignore.pop(0)
            c = self.cells.get((task_index, host)) if task_index is not None else None
            if c is not None:
                c.ignored = True
                if c.status == "failed":
                    c.status = "ignored"
            return [ResultIgnored(n, task_index, host)]
        m = INCLUDED_RE.match(line)
        if m:
            hosts = [h.strip() for h in m.group(2).split(",") if h.strip()]
            ti = self.current_task.index if self.current_task else None
            for h in hosts:
                self._host(h)
                if ti is not None and (ti, h) not in self.cells:
                    self.cells[(ti, h)] = Cell(status="ok")
            return [Included(n, self.current_task.index if self.current_task else None, m.group(1), hosts)]
        m = MESSAGE_RE.match(line)
        if m:
            ev = Message(n, m.group(1), m.group(2), self.current_task.index if self.current_task else None)
            self.messages.append(ev)
            self._in_message = True
            return [ev]
        return [Output(n, line)]

    def _result(self, n: int, word: str, target: str, rest: str) -> list[Event]:
        host, _, deleg = target.partition(" -> ")
        host = host.strip()
        status = {"ok": "ok", "changed": "changed", "skipping": "skipped", "failed": "failed", "fatal": "failed"}[word]
        item = None
        body = None
        rest = rest.strip()
        if rest.startswith(": UNREACHABLE!"):
            status = "unreachable"
            rest = rest[len(": UNREACHABLE!"):].strip()
        elif rest.startswith(": FAILED!"):
            rest = rest[len(": FAILED!"):].strip()
        if rest.startswith("=> (item=") or rest.startswith("(item="):
            s = rest[3:] if rest.startswith("=> ") else rest
            # (item=...) possibly followed by ' => {...}'; the item text may itself hold ') => '
            j = s.rfind(") => ")
            if j != -1 and s[j + 5:].lstrip().startswith(("{", "[")):
                item, rest = s[len("(item="):j], s[j + 2:].strip()
            else:
                item, rest = s[len("(item="):].rstrip(")"), ""
        if rest.startswith("=>"):
            body = rest[2:].strip()
        result = None
        if body:
            if body in ("{", "["):
                self._in_body = True
            else:
                try:
                    parsed = json.loads(body)
                    result = parsed if isinstance(parsed, dict) else None
                except ValueError:
                    result = None
        ti = self.current_task.index if self.current_task else None
        ev = HostResult(n, ti, host, status, item, deleg.strip() or None, _message_of(result), result)
        out: list[Event] = []
        # a host that failed a task (not ignored) and still runs later tasks was rescued
        prev = self._failed.pop(host, None)
        if prev is not None and prev[0] != ti:
            c = self.cells.get(prev)
            if c is not None and c.status == "failed":
                c.status = "rescued"
                out.append(ResultRescued(n, prev[0], host))
        self._host(host)
        self._cell(ev)
        if status == "failed":
            self._pending_ignore.append((ti, host))
        return [*out, ev]


def parse_ansible_output(text: str) -> AnsibleProgress:
    p = AnsibleProgress()
    p.feed_text(text)
    return p


def summary(progress: AnsibleProgress) -> dict[str, Any]:
    """A compact view for logs and tests: task titles, hosts, the grid as strings, the recap."""
    return {
        "tasks": [t.title for t in progress.tasks],
        "hosts": list(progress.hosts),
        "grid": {t.title if t.kind == "task" else f"handler: {t.title}": row for t, row in progress.grid()},
        "recap": {h: {k: getattr(r, k) for k in ("ok", "changed", "unreachable", "failed", "skipped", "rescued", "ignored")}
                  for h, r in progress.recap.items()},
    }
