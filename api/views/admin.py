"""管理 (admins only): sources, monitoring plans, alert rules and users."""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from alerts.models import SEVERITIES, AlertRule
from analysis.models import MonitoringPlan
from api import queries
from api.charts import sparkline
from api.deps import AdminDep, SessionDep, admin_user
from api.forms import clean, parse_int, verify_csrf, words
from api.templating import render
from api.websession import flash
from core import audit, users
from core.errors import UserError
from core.models import ROLES, User
from crawlers.models import Source

log = logging.getLogger(__name__)
router = APIRouter(
    prefix="/admin",
    include_in_schema=False,
    dependencies=[Depends(admin_user), Depends(verify_csrf)],
)


def _redirect(path: str) -> Response:
    return RedirectResponse(path, status_code=303)


@router.get("/")
def admin_home() -> Response:
    """The admin area starts at the sources."""
    return _redirect("/admin/sources")


# --- 数据源 sources ---------------------------------------------------------------------------


@router.get("/sources")
def sources_page(request: Request, session: SessionDep, user: AdminDep) -> Response:
    """Every source with its health, last runs and new posts per day."""
    tz = request.app.state.settings.tz
    health = queries.source_health(session)
    for item in health:
        daily = queries.source_daily_new(session, item["source"], tz=tz)
        item["spark"] = sparkline([v for _, v in daily])
        item["runs_list"] = queries.source_runs(session, item["source"], limit=5)
    return render(request, "admin/sources.html", health=health)


def _source(session: SessionDep, source_id: int) -> Source:
    source = session.get(Source, source_id) if 0 < source_id < 2**62 else None
    if source is None:
        raise HTTPException(404, "数据源不存在 (source not found)")
    return source


@router.post("/sources/{source_id}/toggle")
def toggle_source(
    request: Request, source_id: int, session: SessionDep, user: AdminDep
) -> Response:
    """Enable or disable a source."""
    source = _source(session, source_id)
    source.enabled = not source.enabled
    audit.record(
        session=session,
        user=user,
        action="source.enable" if source.enabled else "source.disable",
        entity_type="source",
        entity_id=source.id,
        after={"enabled": source.enabled},
    )
    session.commit()
    flash(request, f"数据源「{source.name}」已{'启用' if source.enabled else '停用'}。")
    return _redirect("/admin/sources")


def _crawl_in_background(name: str, settings: Any) -> None:
    try:
        from crawlers.runner import crawl

        crawl(names=[name], trigger="manual")
    except Exception:
        log.exception("manual crawl of %s failed", name)


@router.post("/sources/{source_id}/run")
def run_source(request: Request, source_id: int, session: SessionDep, user: AdminDep) -> Response:
    """Start a crawl of one source now, in the background."""
    source = _source(session, source_id)
    try:
        import crawlers.runner  # noqa: F401
    except ImportError:
        flash(request, "抓取模块尚未安装，无法立即抓取。", "error")
        return _redirect("/admin/sources")
    sources_file = request.app.state.settings.sources_file
    if not sources_file.is_file():
        flash(request, f"找不到数据源文件 {sources_file}（YUQING_SOURCES_FILE）。", "error")
        return _redirect("/admin/sources")
    audit.record(
        session=session, user=user, action="source.run", entity_type="source", entity_id=source.id
    )
    session.commit()
    threading.Thread(
        target=_crawl_in_background,
        args=(source.name, request.app.state.settings),
        daemon=True,
        name=f"crawl-{source.name}",
    ).start()
    flash(request, f"已开始抓取「{source.name}」，稍后刷新查看结果。")
    return _redirect("/admin/sources")


# --- 监测方案 monitoring plans ---------------------------------------------------------------


def _plan_fields(form: Any) -> dict[str, Any]:
    fields = {
        "name": clean(form.get("name"), 100),
        "enabled": form.get("enabled") == "1",
        "place_words": words(form.get("place_words")),
        "subject_words": words(form.get("subject_words")),
        "event_words": words(form.get("event_words")),
        "exclude_words": words(form.get("exclude_words")),
        "expression": clean(form.get("expression"), 2000),
    }
    if not fields["name"]:
        raise UserError("方案名称不能为空。")
    if not (fields["place_words"] or fields["subject_words"] or fields["event_words"]):
        raise UserError("至少需要填写一组关键词（地域、主体或事件）。")
    # the analysis package's own parser: the plan saved here is exactly what analysis runs
    from analysis.plans import plan_from_dict

    plan_from_dict(fields, where="监测方案")
    return fields


@router.get("/plans")
def plans_page(request: Request, session: SessionDep, user: AdminDep) -> Response:
    """Monitoring plans with an edit form each and one to add."""
    plans = list(session.scalars(select(MonitoringPlan).order_by(MonitoringPlan.name)))
    return render(request, "admin/plans.html", plans=plans)


@router.post("/plans")
async def save_plan(request: Request, session: SessionDep, user: AdminDep) -> Response:
    """Create or update a plan (validated)."""
    form = await request.form()
    plan_id = parse_int(form.get("id"), None, 1)
    try:
        fields = _plan_fields(form)
        plan = session.get(MonitoringPlan, plan_id) if plan_id else MonitoringPlan()
        if plan is None:
            raise UserError("方案不存在。")
        clash = session.scalar(select(MonitoringPlan).where(MonitoringPlan.name == fields["name"]))
        if clash is not None and clash is not plan:
            raise UserError(f"已有同名方案「{fields['name']}」。")
        before = {k: getattr(plan, k) for k in fields} if plan_id else None
        for key, value in fields.items():
            setattr(plan, key, value)
        session.add(plan)
        session.flush()
        audit.record(
            session=session,
            user=user,
            action="plan.save",
            entity_type="plan",
            entity_id=plan.id,
            before=before,
            after=fields,
        )
        session.commit()
        flash(request, f"监测方案「{plan.name}」已保存。")
    except UserError as exc:
        session.rollback()
        flash(request, exc.message, "error")
    return _redirect("/admin/plans")


# --- 告警规则 rules ----------------------------------------------------------------------------


@router.get("/rules")
def rules_page(request: Request, session: SessionDep, user: AdminDep) -> Response:
    """Alert rules with their severity, parameters and reason."""
    rules = list(session.scalars(select(AlertRule).order_by(AlertRule.code)))
    return render(
        request,
        "admin/rules.html",
        rules=rules,
        severities=SEVERITIES,
        dumps=lambda v: json.dumps(v, ensure_ascii=False, indent=1),
    )


@router.post("/rules/{rule_id}")
async def save_rule(
    request: Request, rule_id: int, session: SessionDep, user: AdminDep
) -> Response:
    """Update a rule's enabled flag, severity, parameters (JSON) and reason."""
    rule = session.get(AlertRule, rule_id) if 0 < rule_id < 2**62 else None
    if rule is None:
        raise HTTPException(404, "规则不存在 (rule not found)")
    form = await request.form()
    try:
        severity = clean(form.get("severity"), 16)
        if severity not in SEVERITIES:
            raise UserError("告警级别无效。")
        try:
            params = json.loads(clean(form.get("params"), 20000) or "{}")
        except ValueError as exc:
            raise UserError(f"参数不是有效的 JSON：{exc}") from exc
        if not isinstance(params, dict):
            raise UserError("参数应为 JSON 对象 {…}。")
        before = {
            "enabled": rule.enabled,
            "severity": rule.severity,
            "params": rule.params,
            "reason": rule.reason,
        }
        rule.enabled = form.get("enabled") == "1"
        rule.severity = severity
        rule.params = params
        rule.reason = clean(form.get("reason"), 2000)
        audit.record(
            session=session,
            user=user,
            action="rule.update",
            entity_type="rule",
            entity_id=rule.id,
            before=before,
            after={
                "enabled": rule.enabled,
                "severity": severity,
                "params": params,
                "reason": rule.reason,
            },
        )
        session.commit()
        flash(request, f"规则「{rule.name}」已保存。")
    except UserError as exc:
        session.rollback()
        flash(request, exc.message, "error")
    return _redirect("/admin/rules")


# --- 用户 users ---------------------------------------------------------------------------------


@router.get("/users")
def users_page(request: Request, session: SessionDep, user: AdminDep) -> Response:
    """Users with role, state and actions."""
    return render(request, "admin/users.html", users=users.list_users(session=session), roles=ROLES)


@router.post("/users")
async def add_user(request: Request, session: SessionDep, user: AdminDep) -> Response:
    """Add a user."""
    form = await request.form()
    try:
        new = users.create_user(
            session=session,
            name=clean(form.get("name"), 64),
            role=clean(form.get("role"), 16),
            password=str(form.get("password") or "")[:1024],
            email=clean(form.get("email"), 200),
            display_name=clean(form.get("display_name"), 100),
            actor=user,
        )
        session.commit()
        flash(request, f"用户「{new.name}」已添加。")
    except UserError as exc:
        session.rollback()
        flash(request, exc.message, "error")
    return _redirect("/admin/users")


@router.post("/users/{user_id}")
async def change_user(
    request: Request, user_id: int, session: SessionDep, user: AdminDep
) -> Response:
    """Deactivate/activate, change role, or reset the password of a user."""
    target = session.get(User, user_id) if 0 < user_id < 2**62 else None
    if target is None:
        raise HTTPException(404, "用户不存在 (user not found)")
    form = await request.form()
    action = clean(form.get("action"), 20)
    try:
        if action in ("deactivate", "activate"):
            if target.id == user.id and action == "deactivate":
                raise UserError("不能停用自己的账号。")
            users.update_user(session=session, user=target, actor=user, active=action == "activate")
            message = f"用户「{target.name}」已{'启用' if action == 'activate' else '停用'}。"
        elif action == "role":
            role = clean(form.get("role"), 16)
            if target.id == user.id and role != "admin":
                raise UserError("不能取消自己的管理员角色。")
            users.update_user(session=session, user=target, actor=user, role=role)
            message = f"用户「{target.name}」的角色已改为{role}。"
        elif action == "password":
            users.set_password(
                session=session,
                user=target,
                password=str(form.get("password") or "")[:1024],
                actor=user,
            )
            message = f"用户「{target.name}」的密码已重置。"
        else:
            raise UserError("未知的操作。")
        session.commit()
        flash(request, message)
    except UserError as exc:
        session.rollback()
        flash(request, exc.message, "error")
    return _redirect("/admin/users")
