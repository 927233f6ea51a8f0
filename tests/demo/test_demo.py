"""`yuqing demo` end to end: a real subprocess, the real demo site, crawl, analysis, alerts, web."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, _model_dir

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("YUQING_")}
    env["YUQING_CONFIG"] = str(tmp_path / "no-such-yuqing.toml")
    # the model the test suite trains once per checkout; the demo trains it if it is missing
    env["YUQING_MODEL_DIR"] = str(_model_dir())
    env["PYTHONUNBUFFERED"] = "1"
    return env


class DemoProcess:
    """`yuqing demo` in a subprocess, its output collected line by line."""

    def __init__(self, *args: str, env: dict[str, str], cwd: Path) -> None:
        exe = Path(sys.executable).parent / "yuqing"
        self.proc = subprocess.Popen(
            [str(exe), "demo", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            cwd=cwd,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_for(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.output:
                return
            if self.proc.poll() is not None:
                self._reader.join(timeout=5)
                pytest.fail(f"demo exited with {self.proc.returncode}:\n{self.output}")
            time.sleep(0.2)
        pytest.fail(f"no {text!r} within {timeout}s:\n{self.output}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def _login(client: httpx.Client, password: str) -> None:
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, page.text[:500]
    resp = client.post(
        "/login",
        data={"username": "admin", "password": password, "csrf_token": token.group(1), "next": "/"},
    )
    assert resp.status_code in (200, 303), resp.text[:500]


def test_demo_end_to_end_then_reuse(tmp_path: Path) -> None:
    port = _free_port()
    data_dir = tmp_path / "demo-data"
    env = _env(tmp_path)
    demo = DemoProcess("--port", str(port), "--data-dir", str(data_dir), env=env, cwd=tmp_path)
    try:
        started = time.monotonic()
        demo.wait_for(f"http://127.0.0.1:{port}", timeout=240)
        demo.wait_for("serving on", timeout=60)
        prepared = time.monotonic() - started
        out = demo.output
        password = re.search(r"一次性密码：(\S+)", out)
        assert password, out
        assert re.search(r"新增信息 [1-9]\d* 条", out), out
        assert (data_dir / "sources.toml").is_file()
        # last month's report is built in the background once the web app serves
        demo.wait_for("个文件到", timeout=120)
        assert list((data_dir / "reports").glob("*/*")), "last month's report was not written"

        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}", follow_redirects=True, timeout=30
        ) as client:
            assert client.get("/").url.path.startswith("/login")  # nothing shown logged out
            _login(client, password.group(1))
            alerts_page = client.get("/")
            assert alerts_page.status_code == 200
            # the brewing incident in 民治街道 raised an alert staff see on the alerts page
            assert "民治" in alerts_page.text, alerts_page.text[:2000]

        demo.proc.send_signal(signal.SIGINT)
        code = demo.proc.wait(timeout=30)
        demo._reader.join(timeout=5)
        assert code in (0, 130), demo.output
        assert "Traceback" not in demo.output, demo.output
        assert "演示已停止" in demo.output
        print(f"demo ready in {prepared:.0f}s")
    finally:
        demo.stop()

    # a second run reuses the data dir: same admin, nothing crawled twice
    again = subprocess.run(
        [
            str(Path(sys.executable).parent / "yuqing"),
            "demo",
            "--no-serve",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    assert again.returncode == 0, again.stdout + again.stderr
    assert "管理员 admin 已存在" in again.stdout
    assert "一次性密码" not in again.stdout
    assert "新增信息 0 条" in again.stdout


def test_demo_refuses_a_busy_port(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        result = subprocess.run(
            [
                str(Path(sys.executable).parent / "yuqing"),
                "demo",
                "--port",
                str(port),
                "--data-dir",
                str(tmp_path / "d"),
            ],
            capture_output=True,
            text=True,
            env=_env(tmp_path),
            cwd=tmp_path,
            timeout=60,
        )
    assert result.returncode == 2
    assert "--port" in result.stderr and "Traceback" not in result.stderr
    assert ROOT.exists()
