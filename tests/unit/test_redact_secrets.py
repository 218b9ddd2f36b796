"""A proxy URL with a password never reaches a log or the screen as typed."""

from k8s_tui.engine.steps import quote_argv
from k8s_tui.engine.text import redact_url_passwords


def test_password_in_a_proxy_url_is_starred_in_the_echoed_command():
    argv = ["curl", "--proxy", "http://alice:s3cret@proxy.corp:3128", "-fsSL", "https://pkgs.k8s.io/x"]
    shown = quote_argv(argv)
    assert "s3cret" not in shown
    assert "http://alice:***@proxy.corp:3128" in shown
    assert "https://pkgs.k8s.io/x" in shown


def test_text_without_credentials_is_left_as_it_is():
    for text in ("http://proxy:3128", "https://registry.k8s.io/v2/", "user@host:22", "a:b@c with no scheme",
                 "dnf --setopt=proxy=http://proxy.corp:3128 install -y containerd"):
        assert redact_url_passwords(text) == text


def test_every_url_on_a_line_is_redacted():
    line = "HTTP_PROXY=http://u:p1@a:1 HTTPS_PROXY=https://v:p2@b:2"
    assert redact_url_passwords(line) == "HTTP_PROXY=http://u:***@a:1 HTTPS_PROXY=https://v:***@b:2"
