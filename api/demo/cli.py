"""`yuqing demo`: the whole product on one machine with no network, in one command.

Starts the demo site, crawls it, analyses, raises alerts, builds last month's report and serves
the web app with the scheduler. Every step is the real one the product runs in production.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import socket
import threading
import time
from pathlib import Path

import click

from core.errors import UserError

ADMIN_NAME = "admin"


class _Steps:
    """Numbered progress lines with the time each step took."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.n = 0
        self.started = time.monotonic()
        self._step_started = self.started

    def start(self, text: str) -> None:
        self.n += 1
        self._step_started = time.monotonic()
        click.echo(f"[{self.n}/{self.total}] {text}…")

    def done(self, text: str) -> None:
        click.echo(f"      {text}（{time.monotonic() - self._step_started:.1f}s）")


def _free_port(host: str, preferred: int) -> int:
    """`preferred` if it can be bound, else any free port."""
    for port in (preferred, 0):
        with socket.socket() as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise UserError(f"no free port on {host}")


def _check_port(host: str, port: int) -> None:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise UserError(
                f"cannot listen on {host}:{port} ({exc.strerror}); is another `yuqing demo` or "
                "`yuqing serve` running? choose another with --port"
            ) from exc


def _use_data_dir(data_dir: Path, base_url: str) -> None:
    """Point every setting of this process (and its crawl subprocesses) at the demo data dir."""
    from core import config, db

    os.environ["YUQING_DATA_DIR"] = str(data_dir)
    os.environ["YUQING_SOURCES_FILE"] = str(data_dir / "sources.toml")
    os.environ["YUQING_BASE_URL"] = base_url
    # the embedded default is SQLite in the data dir, whatever the shell exports
    os.environ["YUQING_DATABASE_URL"] = ""
    config.get_settings.cache_clear()
    db.dispose_engines()


@click.command(name="demo")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address of the web app.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--data-dir",
    default=Path("var/demo"),
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the demo keeps its database, models and reports.",
)
@click.option("--fresh", is_flag=True, help="Delete the demo data dir and start over.")
@click.option("--no-serve", is_flag=True, help="Stop after preparing the data (no web app).")
def demo(host: str, port: int, data_dir: Path, fresh: bool, no_serve: bool) -> None:
    """Run the embedded demo: a local sample site, crawled, analysed, alerted and served."""
    # one BLAS thread (training 3-8x faster on busy cores): set by core/cli.py before any import
    from api.demo.site import DemoSite

    data_dir = data_dir.resolve()
    # the demo's output is its progress lines; "nobody is on duty for mail" is expected here
    logging.getLogger("alerts.notify").setLevel(logging.ERROR)
    if not no_serve:
        _check_port(host, port)
    if fresh and data_dir.exists():
        if not (data_dir / "yuqing.db").exists() and any(data_dir.iterdir()):
            raise UserError(
                f"--fresh would delete {data_dir}, which does not look like a demo data dir "
                "(no yuqing.db); remove it yourself or choose another --data-dir"
            )
        shutil.rmtree(data_dir)
        click.echo(f"已清空演示数据目录 {data_dir}")
    reuse = (data_dir / "yuqing.db").exists()
    data_dir.mkdir(parents=True, exist_ok=True)
    web_url = f"http://{host}:{port}"
    _use_data_dir(data_dir, web_url)

    steps = _Steps(total=7 if no_serve else 8)
    click.echo(
        f"舆情哨兵演示 (yuqing demo): data dir {data_dir}"
        + ("（沿用已有数据；--fresh 可重新开始）" if reuse else "")
    )
    site = DemoSite("127.0.0.1", _free_port("127.0.0.1", port + 1 if port < 65535 else 0))
    site.start()
    try:
        steps.start(f"启动演示站点 {site.url}（本地论坛 GBK、新闻 RSS、领导留言板 JSON）")
        sources = data_dir / "sources.toml"
        sources.write_text(site.sources_toml(), encoding="utf-8")
        steps.done(f"信息源配置已写入 {sources}")

        steps.start("初始化数据库，载入默认分类、监测方案和告警规则")
        _init()
        steps.done("数据库就绪")
        # training is CPU-bound and the crawl mostly waits on the network: run them side by side
        training = _ModelThread()
        training.start()

        steps.start("创建管理员账号")
        _admin(web_url)

        steps.start("抓取演示站点")
        new = _crawl(sources)
        steps.done(f"新增信息 {new} 条")

        if training.is_alive():
            click.echo("      等待模型训练完成（只在第一次运行时训练，约一分钟）…")
        training.join()
        if training.error is not None:
            raise training.error
        steps.start("分析：分词、相关性、话题、情感、事件归并")
        analysed = _analyze()
        steps.done(f"已分析 {analysed} 条")

        steps.start("评估告警规则")
        created, open_alerts = _alerts()
        steps.done(f"新告警 {created} 条，当前未处理告警 {open_alerts} 条")

        if no_serve:
            steps.start("生成上月舆情报告")
            _report(data_dir)
            click.echo(f"演示数据已就绪（{time.monotonic() - steps.started:.0f}s）")
            return
        steps.start("启动网页和定时任务")
        click.echo(
            f"\n  请在浏览器打开 {web_url}  （用户 {ADMIN_NAME}）\n"
            f"  准备用时 {time.monotonic() - steps.started:.0f}s；按 Ctrl-C 停止。\n"
        )
        # the alerts are ready now; last month's report (a few seconds) follows once the web app
        # answers, so the two do not compete for the cores while it starts
        _ReportThread(steps, data_dir, host, port).start()
        _serve(host, port)
    finally:
        site.stop()
    click.echo("演示已停止 (demo stopped)")


def _init() -> None:
    from core.commands import run_init_steps
    from core.config import get_settings
    from core.db import get_engine
    from core.migrate import upgrade

    before, after = upgrade(get_engine(get_settings()))
    if before != after:
        click.echo(f"      数据库已创建/升级到 {after}")
    run_init_steps(echo=True, skip_model=True)


class _ModelThread(threading.Thread):
    """`yuqing init`'s model step (train from the corpus if no model is saved) in the background."""

    def __init__(self) -> None:
        super().__init__(name="demo-model", daemon=True)
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            from analysis.setup import ensure_model

            ensure_model(echo=True)
        except BaseException as exc:  # handed to the main thread, which raises it
            self.error = exc


class _ReportThread(threading.Thread):
    """The demo's last step, last month's report, built while the web app already serves."""

    def __init__(self, steps: _Steps, data_dir: Path, host: str, port: int) -> None:
        super().__init__(name="demo-report", daemon=True)
        self.steps = steps
        self.data_dir = data_dir
        self.address = ("127.0.0.1" if host in ("0.0.0.0", "::", "") else host, port)

    def _wait_for_web_app(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                socket.create_connection(self.address, timeout=1).close()
                return
            except OSError:
                time.sleep(0.2)

    def run(self) -> None:
        self._wait_for_web_app()
        self.steps.start("生成上月舆情报告（后台）")
        try:
            _report(self.data_dir)
        except Exception as exc:  # the web app keeps serving; the report is a nice-to-have here
            logging.getLogger("yuqing.demo").exception("demo report failed")
            click.echo(f"      ✗ 报告生成失败：{exc}", err=True)


def _admin(web_url: str) -> None:
    from core import users
    from core.db import session_scope

    with session_scope() as session:
        if users.get_by_name(session=session, name=ADMIN_NAME) is not None:
            click.echo(
                f"      管理员 {ADMIN_NAME} 已存在（密码见第一次运行时的输出；"
                f"忘记了可用 `yuqing user passwd {ADMIN_NAME}` 重设，"
                "运行前设置 YUQING_DATA_DIR 为演示数据目录）"
            )
            return
        password = secrets.token_urlsafe(9)
        users.create_user(
            session=session,
            name=ADMIN_NAME,
            role="admin",
            password=password,
            display_name="演示管理员",
        )
    click.echo(
        f"      管理员账号：{ADMIN_NAME}  一次性密码：{password}\n"
        f"      （只显示这一次，请记下；登录后可在 {web_url} 的用户页面修改）"
    )


def _crawl(sources: Path) -> int:
    from crawlers.runner import crawl

    results = crawl(sources_file=sources, trigger="demo", echo=True)
    failed = [r for r in results if r.status == "failed"]
    for result in failed:
        click.echo(f"      ✗ {result.source}: {result.error}", err=True)
    if len(failed) == len(results):
        raise UserError("the demo crawl failed for every source; see the log under DATA_DIR/logs")
    return sum(r.items_new for r in results)


def _analyze() -> int:
    from analysis.service import analyze_pending

    return analyze_pending(echo=True)


def _alerts() -> tuple[int, int]:
    from sqlalchemy import func, select

    from alerts.models import Alert
    from alerts.service import evaluate
    from core.db import session_scope

    with session_scope() as session:
        result = evaluate(session=session)
        open_alerts = session.scalar(
            select(func.count())
            .select_from(Alert)
            .where(Alert.state.in_(("new", "acknowledged", "in_progress")))
        )
    return int(getattr(result, "created", 0)), int(open_alerts or 0)


def _report(data_dir: Path) -> None:
    from alerts.reports.figures import month_before
    from alerts.reports.monthly import build_monthly_report, store_report
    from core.config import get_settings
    from core.db import session_scope, utcnow

    settings = get_settings()
    month = month_before(utcnow(), settings.tz)
    with session_scope() as session:
        report = build_monthly_report(session=session, month=month, settings=settings)
        store_report(session=session, report=report)
    out = data_dir / "reports" / month
    paths = report.write(out)
    totals = report.figures.get("totals", {})
    click.echo(
        f"      {month}：信息 {totals.get('posts', 0)} 条，相关 {totals.get('relevant', 0)} 条；"
        f"已保存 {len(paths)} 个文件到 {out}"
    )


def _serve(host: str, port: int) -> None:
    from api.cli import serve

    ctx = click.get_current_context()
    ctx.invoke(serve, host=host, port=port, no_scheduler=False)
