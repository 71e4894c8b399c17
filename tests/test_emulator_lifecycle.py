"""Starting and stopping the emulator: in a thread, from the command line, loopback only."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading

import httpx2
import pytest

from aimo_magic.emulator import EmulatorHandle, start
from aimo_magic.emulator.cli import main

KEY = "aimo-sk-v2-test-0000"


def test_handle_reports_where_and_how_and_stops_cleanly() -> None:
    before = set(threading.enumerate())
    with start(latency_ms=1, tokens_per_second=1000) as handle:
        assert handle.base_url == f"http://127.0.0.1:{handle.port}/api"
        assert handle.api_key.startswith("aimo-sk-v2-emulator")
        assert handle.env == {"AIMO_BASE_URL": handle.base_url, "AIMO_API_KEY": handle.api_key}
        assert handle.api_key not in repr(handle) and handle.base_url in repr(handle)
        assert httpx2.get(handle.base_url + "/v1/models", verify=False).status_code == 200
    assert not handle.running
    assert set(threading.enumerate()) <= before
    with pytest.raises(httpx2.ConnectError):
        httpx2.get(handle.base_url + "/v1/models", verify=False)


def test_ipv6_loopback_gets_a_bracketed_url() -> None:
    try:
        handle = start(host="::1")
    except OSError:
        pytest.skip("no IPv6 loopback here")
    with handle:
        assert handle.base_url.startswith("http://[::1]:")
        assert httpx2.get(handle.base_url + "/v1/models", verify=False).status_code == 200


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "example.com", "::"])
def test_non_loopback_hosts_are_refused(host: str) -> None:
    with pytest.raises(ValueError, match="only listens on loopback"):
        start(host=host)
    assert main(["--host", host]) == 2


def test_bad_settings_are_refused_with_a_reason() -> None:
    with pytest.raises(ValueError, match="tokens_per_second"):
        start(tokens_per_second=-1)
    with pytest.raises(ValueError, match="catalogue_size"):
        start(catalogue_size=0)


def test_busy_port_is_reported(
    emulator: EmulatorHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--port", str(emulator.port)]) == 2
    error = capsys.readouterr().err
    assert f"port {emulator.port}" in error and "pick another port" in error


def test_request_log_keeps_requests_without_keys(emulator: EmulatorHandle) -> None:
    emulator.clear_requests()
    body = {"model": "openai/gpt-4o", "messages": [{"role": "user", "content": "logged"}]}
    headers = {"Authorization": f"Bearer {KEY}", "X-Request-ID": "log-1"}
    httpx2.post(
        emulator.base_url + "/v1/chat/completions", json=body, headers=headers, verify=False
    )
    (entry,) = emulator.requests
    assert entry["headers"]["x-request-id"] == "log-1"
    assert entry["headers"]["authorization"] == "[redacted]"
    assert '"logged"' in entry["body"] and KEY not in str(entry)
    listed = httpx2.get(emulator.base_url + "/_emulator/requests", verify=False).json()["requests"]
    assert listed == [entry]


def test_command_line_prints_settings_and_stops_on_ctrl_c() -> None:
    command = [sys.executable, "-m", "aimo_magic.emulator", "--tokens-per-second", "0"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        lines = []
        for line in process.stdout:
            lines.append(line)
            if "AIMO_API_KEY" in line:
                break
        exports = dict(
            line.strip().removeprefix("export ").split("=", 1)
            for line in lines
            if line.strip().startswith("export ")
        )
        base_url, key = exports["AIMO_BASE_URL"], exports["AIMO_API_KEY"]
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/api")
        response = httpx2.post(
            base_url + "/v1/chat/completions",
            headers={"Authorization": f"Bearer {key}"},
            json={"model": "DeepSeek-V3-1", "messages": [{"role": "user", "content": "::words 3"}]},
            timeout=10,
            verify=False,
        )
        assert len(response.json()["choices"][0]["message"]["content"].split()) == 3
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    assert "stopped" in out and "Traceback" not in err


def test_emulator_is_independent_of_the_core_and_ipython() -> None:
    code = (
        "import sys, aimo_magic.emulator.app, aimo_magic.emulator.cli;"
        "print(sorted(m for m in sys.modules if m.startswith(('aimo_magic.core', 'IPython'))))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
