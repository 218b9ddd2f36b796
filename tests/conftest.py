"""Shared by every test: nothing a test does may land in the user's own state directory."""

import pytest


@pytest.fixture(autouse=True)
def _private_state_dir(tmp_path_factory, monkeypatch):
    import os

    if "K8S_TUI_STATE_DIR" not in os.environ or not os.environ["K8S_TUI_STATE_DIR"].startswith(str(tmp_path_factory.getbasetemp())):
        monkeypatch.setenv("K8S_TUI_STATE_DIR", str(tmp_path_factory.mktemp("state")))
