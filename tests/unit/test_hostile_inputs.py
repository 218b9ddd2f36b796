"""Files that try to hurt the reader: each is refused with one line naming the file (and the line
and field where known), before any heavy work, never with a traceback.

No test measures time: each file here would take minutes or all memory if it were parsed or
expanded, so a test that finishes at all shows the refusal came first.
"""

from __future__ import annotations

import os
import threading

import pytest

from k8s_tui.backends.importers.ansible_inventory import parse_inventory
from k8s_tui.cli import main
from k8s_tui.model.hosts import Host
from k8s_tui.model.plan import ClusterPlan, load_plan, load_plan_text
from k8s_tui.model.presets import load_preset_file
from k8s_tui.yamlio import MAX_DEPTH, MAX_FILE_BYTES, MAX_NODES, InputError, load_yaml, load_yaml_text

HOST = "  - {name: cp-1, address: 10.0.0.1, roles: [control-plane]}\n"


def laughs(levels: int = 9, width: int = 9) -> str:
    text = 'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n'
    prev = "a"
    for i in range(1, levels + 1):
        name = chr(ord("a") + i)
        text += f"{name}: &{name} [" + ", ".join([f"*{prev}"] * width) + "]\n"
        prev = name
    return text


def refused(path, *parts: str) -> str:
    with pytest.raises(InputError) as e:
        load_plan(path)
    msg = str(e.value)
    assert msg.startswith(str(path)), msg
    assert "\n" not in msg, msg
    for p in parts:
        assert p in msg, msg
    return msg


def write(tmp_path, text: str, name: str = "plan.yaml"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


# -- files that are not plans at all ---------------------------------------------------------------


def test_dev_zero_is_not_read():
    with pytest.raises(InputError) as e:
        load_plan("/dev/zero")
    assert str(e.value) == "/dev/zero: a device, not a regular file; only regular files are read"


def test_a_directory_is_not_read(tmp_path):
    refused(tmp_path, "a directory, not a regular file")


def test_a_fifo_is_not_opened_for_a_writer(tmp_path):
    fifo = tmp_path / "plan.yaml"
    os.mkfifo(fifo)
    done = threading.Event()
    # were the FIFO opened the ordinary way, the read would wait for a writer forever: this
    # watchdog writes nothing but opens it, so a broken reader fails the test instead of hanging
    def unblock() -> None:
        if not done.wait(10):
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            os.close(fd)

    t = threading.Thread(target=unblock, daemon=True)
    t.start()
    try:
        refused(fifo, "a FIFO, not a regular file")
    finally:
        done.set()


def test_a_file_over_the_limit_is_refused_before_reading(tmp_path):
    big = tmp_path / "plan.yaml"
    with open(big, "wb") as f:
        f.truncate(50 << 20)  # 50 MiB, sparse: nothing is written, and nothing may be read
    refused(big, "50.0 MiB", "over the 1.0 MiB limit")


def test_a_file_just_over_the_limit_is_refused(tmp_path):
    p = write(tmp_path, "name: k\n" + "#" * MAX_FILE_BYTES + "\n")
    refused(p, "limit")


def test_not_utf8_names_the_line(tmp_path):
    p = tmp_path / "plan.yaml"
    p.write_bytes(b"name: k\nhosts:\n  - \xff\n")
    refused(p, "line 3", "not UTF-8")


# -- YAML that expands or nests without end ------------------------------------------------------


def test_billion_laughs_is_refused_at_its_first_big_alias(tmp_path):
    p = write(tmp_path, laughs() + "name: k\n")
    refused(p, "line ", f"more than {MAX_NODES} values", "alias")


def test_billion_laughs_in_a_field(tmp_path):
    p = write(tmp_path, "name: k\nx: &x [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n" + "".join(
        f"x{i}: &x{i} [*{'x' if i == 0 else f'x{i - 1}'}, *{'x' if i == 0 else f'x{i - 1}'}, "
        f"*{'x' if i == 0 else f'x{i - 1}'}, *{'x' if i == 0 else f'x{i - 1}'}]\n" for i in range(30)))
    refused(p, "values")


def test_an_alias_that_contains_itself(tmp_path):
    p = write(tmp_path, "name: k\nhosts: &h [*h]\n")
    refused(p, "line 2", "hosts", "*h refers to a node that contains it")


def test_a_few_aliases_are_fine(tmp_path):
    p = write(tmp_path, "name: k\nx-defaults: &d {address: 10.0.0.1, roles: [control-plane]}\nhosts:\n"
                        "  - {<<: *d, name: cp-1}\n")
    msg = refused(p, "x-defaults", "unknown field")  # the plan's own rules, after the YAML was read
    assert "values" not in msg


@pytest.mark.parametrize("text", [
    "name: " + "[" * 100_000 + "]" * 100_000 + "\n",
    "name: " + "[a, " * 100_000 + "]" * 100_000 + "\n",
    "name: " + "{a: " * 100_000 + "}" * 100_000 + "\n",
    "name:\n" + "".join(" " * (2 * i) + "- x:\n" for i in range(200)),
], ids=["brackets", "brackets-with-items", "braces", "block"])
def test_deep_nesting_is_refused(tmp_path, text):
    p = write(tmp_path, text)
    refused(p, "line ", f"nested more than {MAX_DEPTH} levels deep")


def test_too_many_values(tmp_path):
    p = write(tmp_path, "name: k\nhosts: [" + ", ".join("0" for _ in range(MAX_NODES + 10)) + "]\n")
    refused(p, "line 2", f"more than {MAX_NODES} values")


def test_thousands_of_problems_are_counted_not_listed():
    with pytest.raises(InputError) as e:
        load_plan_text("name: k\nhosts: [" + ", ".join("0" for _ in range(5000)) + "]\n", "p.yaml")
    lines = str(e.value).splitlines()
    assert len(lines) <= 21
    assert lines[-1] == "p.yaml: ... and 4980 more problems"


# -- values --------------------------------------------------------------------------------------


def test_a_5000_digit_number_names_file_and_field(tmp_path):
    p = write(tmp_path, "name: k\ntuning:\n  net.core.somaxconn: " + "9" * 5000 + "\n")
    msg = refused(p, "line 3", "tuning.net.core.somaxconn", "5000 digits")
    assert "4300" not in msg


def test_a_5000_digit_port_names_file_and_field(tmp_path):
    p = write(tmp_path, "name: k\nhosts:\n  - {name: cp-1, address: 10.0.0.1, port: " + "9" * 5000 + "}\n")
    refused(p, "line 3", "hosts.0.port", "5000 digits")


def test_a_5000_digit_quoted_sysctl_value(tmp_path):
    p = write(tmp_path, 'name: k\ntuning:\n  net.core.somaxconn: "' + "9" * 5000 + '"\n')
    refused(p, "line 3", "tuning.net.core.somaxconn")
    p = write(tmp_path, 'name: k\ntuning:\n  net.core.somaxconn: "' + "9" * 500 + '"\n')
    refused(p, "line 3", "tuning.net.core.somaxconn", "500 digits")


@pytest.mark.parametrize("value", ["2001-13-45", "!!int xyz", "!!float xyz"])
def test_a_value_the_yaml_reader_cannot_make_names_its_line(tmp_path, value):
    p = write(tmp_path, f"name: k\nx: {value}\n")
    refused(p, "line 2", "cannot read the value")


def test_preset_is_a_name_not_a_path(tmp_path):
    p = write(tmp_path, "name: k\npreset: ../../../etc/passwd\n")
    refused(p, "line 2", "preset", "is not a preset", "kubeadm-minimum")
    assert ClusterPlan(preset="kubeadm-minimum").preset == "kubeadm-minimum"


def test_a_label_value_with_a_newline_names_host_and_field(tmp_path):
    p = write(tmp_path, 'name: k\nhosts:\n  - name: cp-1\n    address: 10.0.0.1\n    roles: [control-plane]\n'
                        '    labels: {kubespray/ip: "10.0.0.1\\nansible_become_exe=/tmp/x"}\n')
    refused(p, "line 6", "hosts.0.labels.kubespray/ip", "host 'cp-1'", "line break")


@pytest.mark.parametrize("value", ["a'b", "a\tb", "a\x1bb"])
def test_label_values_an_inventory_cannot_hold(value):
    with pytest.raises(ValueError):
        Host(name="a", address="10.0.0.1", labels={"zone": value})


def test_label_names(tmp_path):
    assert Host(name="a", address="10.0.0.1", labels={"kubespray/access_ip": "10.0.0.1"}).labels
    with pytest.raises(ValueError):
        Host(name="a", address="10.0.0.1", labels={"a b": "x"})


@pytest.mark.parametrize("field, text", [
    ("tuning.net.ipv4.ip_local_port_range", 'tuning:\n  net.ipv4.ip_local_port_range: "３００００ ３０１００"\n'),
    ("tuning.net.core.somaxconn", 'tuning:\n  net.core.somaxconn: "１０２４"\n'),
    ("kubernetes_version", 'kubernetes_version: "1.３３"\n'),
    ("control_plane_endpoint", 'control_plane_endpoint: "10.0.0.1:６４４３"\n'),
    ("hosts.0.proxy_jump", 'hosts:\n  - {name: cp-1, address: 10.0.0.1, roles: [control-plane], proxy_jump: "j:２２"}\n'),
])
def test_full_width_digits_are_refused(tmp_path, field, text):
    p = write(tmp_path, "name: k\n" + text)
    refused(p, field)


@pytest.mark.parametrize("field, text", [
    ("name", 'name: "k\\n"\n'),
    ("sysctl_file", 'name: k\nsysctl_file: "a.conf\\n"\n'),
    ("hosts.0.name", 'name: k\nhosts:\n  - {name: "cp-1\\n", address: 10.0.0.1, roles: [control-plane]}\n'),
    ("hosts.0.user", 'name: k\nhosts:\n  - {name: cp-1, address: 10.0.0.1, user: "root\\n", roles: [control-plane]}\n'),
    ("hosts.0.proxy_jump", 'name: k\nhosts:\n  - {name: cp-1, address: 10.0.0.1, proxy_jump: "j\\n", roles: [control-plane]}\n'),
    ("control_plane_endpoint", 'name: k\ncontrol_plane_endpoint: "10.0.0.1\\n:6443"\n'),
])
def test_a_trailing_newline_is_refused(tmp_path, field, text):
    p = write(tmp_path, text)
    refused(p, field)


def test_kubeasz_plan_with_two_hosts_on_one_address(tmp_path):
    p = write(tmp_path, "name: k\ntool: kubeasz\nhosts:\n" + HOST + "  - {name: w-1, address: 10.0.0.1}\n")
    refused(p, "both have 10.0.0.1")


# -- the other readers -------------------------------------------------------------------------


def test_an_inventory_from_dev_zero():
    with pytest.raises(InputError, match="^/dev/zero: a device"):
        parse_inventory("/dev/zero")


def test_an_inventory_with_billion_laughs(tmp_path):
    p = write(tmp_path, "all:\n  vars:\n" + "".join("    " + ln + "\n" for ln in laughs().splitlines()), "hosts.yaml")
    with pytest.raises(InputError, match="values"):
        parse_inventory(p)


def test_a_preset_file_that_is_a_fifo(tmp_path):
    fifo = tmp_path / "p.yaml"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="a FIFO"):
        load_preset_file(fifo)


def test_text_over_the_limit():
    with pytest.raises(InputError, match="limit"):
        load_yaml_text("#" * (MAX_FILE_BYTES + 1), "t")


def test_load_yaml_refuses_a_directory(tmp_path):
    with pytest.raises(InputError, match="a directory"):
        load_yaml(tmp_path)


# -- `k8s-tui check` says it in one line, with exit status 2 ---------------------------------------


@pytest.mark.parametrize("text", [
    laughs() + "name: k\n",
    "name: " + "[" * 100_000 + "\n",
    "name: k\ntuning:\n  net.core.somaxconn: " + "9" * 5000 + "\n",
    "name: k\npreset: ../../../etc/passwd\n",
], ids=["laughs", "deep", "digits", "preset"])
def test_check_refuses_in_one_line(tmp_path, capsys, text):
    p = write(tmp_path, text)
    assert main(["check", str(p)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.startswith(f"error: {p}"), err
    assert len(err.strip().splitlines()) <= 2, err  # Rich may wrap a long line once


def test_check_refuses_dev_zero(capsys):
    assert main(["check", "/dev/zero"]) == 2
    assert "/dev/zero: a device" in capsys.readouterr().err
