"""The Ansible output parser on real recorded output (tests/fixtures/ansible, see VERSION and record.sh)."""

from __future__ import annotations

from pathlib import Path

import pytest

from k8s_tui.backends.ansible_output import (
    AnsibleProgress,
    HostResult,
    Included,
    Message,
    Recap,
    ResultIgnored,
    ResultRescued,
    TaskTiming,
    parse_ansible_output,
    summary,
)

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "ansible"
RECORDINGS = ["default", "profile_tasks", "verbose", "rerun"]

TASKS = [
    "sysctl_demo : Show the planned value",
    "sysctl_demo : Include more tasks",
    "sysctl_demo : Ask the control machine",
    "Check the shell",
    "Make the output directory",
    "Write a sysctl file",
    "Only on the second node",
    "Loop over modules",
    "Loop with one bad item",
    "A failure we ignore",
    "Step that fails",
    "Recover from it",
    "Fail on the second node",
    "Runs on the survivors only",
    "Reload settings",
    "Ping it",
]
# host -> status, per task, as a run screen's grid shows it ('' = the host did not run the task)
GRID = {
    "sysctl_demo : Show the planned value": ("ok", "ok", ""),
    "sysctl_demo : Include more tasks": ("ok", "ok", ""),
    "sysctl_demo : Ask the control machine": ("ok", "ok", ""),
    "Check the shell": ("ok", "ok", ""),
    "Make the output directory": ("changed", "changed", ""),
    "Write a sysctl file": ("changed", "changed", ""),
    "Only on the second node": ("skipped", "ok", ""),
    "Loop over modules": ("ok", "ok", ""),
    "Loop with one bad item": ("ignored", "ignored", ""),
    "A failure we ignore": ("ignored", "ignored", ""),
    "Step that fails": ("rescued", "rescued", ""),
    "Recover from it": ("ok", "ok", ""),
    "Fail on the second node": ("skipped", "failed", ""),
    "Runs on the survivors only": ("ok", "", ""),
    "handler: Reload settings": ("changed", "", ""),
    "Ping it": ("", "", "unreachable"),
}
RECAP = {
    "down": dict(ok=0, changed=0, unreachable=1, failed=0, skipped=0, rescued=0, ignored=0),
    "local1": dict(ok=12, changed=4, unreachable=0, failed=0, skipped=2, rescued=1, ignored=2),
    "local2": dict(ok=11, changed=3, unreachable=0, failed=1, skipped=0, rescued=1, ignored=2),
}


def load(name: str) -> str:
    return (FIX / f"{name}.stdout.txt").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", ["default", "profile_tasks", "verbose"])
def test_grid_and_recap(name):
    p = parse_ansible_output(load(name))
    s = summary(p)
    assert s["tasks"] == TASKS
    assert sorted(s["hosts"]) == ["down", "local1", "local2"] and s["hosts"][-1] == "down"
    assert {t: tuple(row[h] for h in ("local1", "local2", "down")) for t, row in s["grid"].items()} == GRID
    assert s["recap"] == RECAP
    assert p.plays == ["Prepare nodes", "Reach the gone host"]
    assert [t.kind for t in p.tasks].count("handler") == 1
    assert p.tasks[0].role == "sysctl_demo" and p.tasks[0].name == "Show the planned value"


def test_rerun_is_idempotent_in_the_grid():
    s = summary(parse_ansible_output(load("rerun")))
    assert s["grid"]["Make the output directory"]["local1"] == "ok"
    assert s["grid"]["Write a sysctl file"]["local2"] == "ok"
    assert "handler: Reload settings" not in s["grid"]  # nothing changed, no handler
    assert s["recap"]["local1"]["changed"] == 1  # the ignored `false` still counts as changed


def test_events_in_order_and_details():
    p = AnsibleProgress()
    events = p.feed_text(load("default"))
    kinds = [type(e).__name__ for e in events if not type(e).__name__ == "Output"]
    assert kinds[:3] == ["PlayStarted", "TaskStarted", "HostResult"]
    assert kinds[-3:] == ["Recap", "Recap", "Recap"]
    results = [e for e in events if isinstance(e, HostResult)]
    loop = [e for e in results if e.item is not None]
    assert [(e.host, e.item, e.status) for e in loop if e.task_index == 8] == [
        ("local1", "true", "ok"), ("local2", "true", "ok"), ("local1", "false", "failed"), ("local2", "false", "failed")]
    deleg = [e for e in results if e.delegated_to]
    assert {(e.host, e.delegated_to) for e in deleg} == {("local1", "localhost"), ("local2", "localhost")}
    fatal = next(e for e in results if e.host == "local2" and e.status == "failed" and e.task_index == 12)
    assert fatal.message == "local2 is not ready"
    assert fatal.result == {"changed": False, "msg": "local2 is not ready"}
    unreachable = next(e for e in results if e.status == "unreachable")
    assert unreachable.host == "down" and "Connection refused" in unreachable.message
    assert p.cells[(15, "down")].message.endswith("port 9: Connection refused")
    assert sum(isinstance(e, ResultIgnored) for e in events) == 4
    assert {(e.task_index, e.host) for e in events if isinstance(e, ResultRescued)} == {(10, "local1"), (10, "local2")}
    inc = next(e for e in events if isinstance(e, Included))
    assert inc.file.endswith("roles/sysctl_demo/tasks/more.yml") and inc.hosts == ["local1", "local2"]
    msgs = [e for e in events if isinstance(e, Message)]
    assert msgs[-1].level == "ERROR" and "Connection refused" in msgs[-1].text
    assert {e.task_index for e in msgs} == {8, 9, 10, 12, 15}
    # the multi-line debug output is kept as output lines, it changes no cell
    assert p.cells[(7, "local1")].items == [("overlay", "ok"), ("br_netfilter", "ok")]


def test_profile_tasks_timings():
    p = AnsibleProgress()
    events = p.feed_text(load("profile_tasks"))
    inline = [e for e in events if isinstance(e, TaskTiming) and e.source == "inline"]
    recap = [e for e in events if isinstance(e, TaskTiming) and e.source == "recap"]
    assert [e.task_index for e in inline] == list(range(len(TASKS)))  # every task gets its time
    assert all(t.seconds is not None and t.seconds >= 0 for t in p.tasks)
    assert {e.name for e in recap} == set(TASKS)
    assert all(e.task_index is not None for e in recap)
    by_task = {e.task_index: e.seconds for e in inline}
    for e in recap:  # the recap rounds to 0.01 s
        assert abs(by_task[e.task_index] - e.seconds) < 0.011


def test_streaming_gives_the_same_as_the_whole_text():
    text = load("verbose")
    whole = summary(parse_ansible_output(text))
    p = AnsibleProgress()
    for line in text.splitlines(keepends=True):
        p.feed(line)
    assert summary(p) == whole


def test_colours_and_carriage_returns_are_dropped():
    p = AnsibleProgress()
    p.feed("\x1b[0;32mTASK [x : y] ******\x1b[0m")
    (ev,) = p.feed("\x1b[0;33mchanged: [n1]\x1b[0m\r")
    assert isinstance(ev, HostResult) and ev.status == "changed" and ev.host == "n1"
    assert p.tasks[0].role == "x"


def test_recap_of_older_ansible_without_rescued_ignored():
    p = AnsibleProgress()
    p.feed("PLAY RECAP *********")
    (ev,) = p.feed("node1                      : ok=3    changed=1    unreachable=0    failed=0   ")
    assert isinstance(ev, Recap) and ev.ok == 3 and ev.rescued == 0 and ev.success


def test_item_with_dict_and_arrow_inside():
    p = AnsibleProgress()
    p.feed("TASK [t] ***")
    (ev,) = p.feed("ok: [n1] => (item={'name': 'a => b', 'value': 1}) => {\"changed\": false}")
    assert ev.item == "{'name': 'a => b', 'value': 1}" and ev.result == {"changed": False}
    (ev,) = p.feed("changed: [n1] => (item=x)")
    assert ev.item == "x" and ev.status == "changed"
    (ev,) = p.feed("skipping: [n2] => (item=y) ")
    assert ev.item == "y" and ev.status == "skipped"
    assert p.cells[(0, "n1")].status == "changed"
