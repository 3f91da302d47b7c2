"""Every error from /api is JSON: {code, message, errors}.

`code` is a stable machine word, `message` is for people (Simplified Chinese by
default, English when the client asks for it), `errors` maps fields to their
problems.
"""

import re

from flask import jsonify, request
from flask_smorest import Api
from marshmallow import Schema, fields
from werkzeug.exceptions import HTTPException

STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}

MESSAGES = {
    "bad_request": ("请求格式不正确", "The request is malformed"),
    "unauthorized": ("请先登录", "Authentication required"),
    "forbidden": ("没有权限执行此操作", "You may not do this"),
    "not_found": ("找不到该资源", "Not found"),
    "method_not_allowed": ("不支持该请求方法", "Method not allowed"),
    "conflict": ("与现有数据冲突", "Conflicts with existing data"),
    "payload_too_large": ("上传内容过大", "The request body is too large"),
    "unsupported_media_type": ("不支持的内容类型", "Unsupported content type"),
    "validation_error": ("提交的数据有误", "The submitted data is invalid"),
    "rate_limited": ("操作过于频繁，请稍后再试", "Too many requests, try again later"),
    "internal_error": ("服务器内部错误", "Internal server error"),
    "unavailable": ("服务暂时不可用", "Service temporarily unavailable"),
    "token_expired": ("登录已过期，请重新登录", "The token has expired"),
    "token_invalid": ("登录凭证无效", "The token is invalid"),
    "token_revoked": ("登录凭证已失效", "The token has been revoked"),
    "bad_credentials": ("手机号或密码错误", "Wrong phone number or password"),
    "bad_code": ("验证码错误或已过期", "The code is wrong or has expired"),
}


# marshmallow's field messages, in Chinese for everyone who did not ask for English.
FIELD_MESSAGES_ZH = [
    (re.compile(r"^Missing data for required field\.$"), "必填项"),
    (re.compile(r"^Unknown field\.$"), "未知字段"),
    (re.compile(r"^Field may not be null\.$"), "不能为空"),
    (re.compile(r"^Not a valid integer\.$"), "不是有效的整数"),
    (re.compile(r"^Not a valid number\.$"), "不是有效的数字"),
    (re.compile(r"^Not a valid string\.$"), "不是有效的文本"),
    (re.compile(r"^Not a valid boolean\.$"), "不是有效的是/否值"),
    (re.compile(r"^Not a valid URL\.$"), "不是有效的网址"),
    (re.compile(r"^Not a valid datetime\.$"), "不是有效的时间"),
    (re.compile(r"^Not a valid list\.$"), "不是有效的列表"),
    (re.compile(r"^Invalid input type\.$"), "输入类型不正确"),
    (re.compile(r"^Not a valid aware datetime\.$"), "时间需带时区（如 +08:00）"),
    (re.compile(r"^Must be one of: (.*)\.$"), r"必须是以下之一：\1"),
    (re.compile(r"^Must be greater than or equal to (\S+) and less than or equal to (\S+)\.$"), r"须在 \1 到 \2 之间"),
    (re.compile(r"^Length must be between (\d+) and (\d+)\.$"), r"长度须在 \1 到 \2 之间"),
    (re.compile(r"^Shorter than minimum length (\d+)\.$"), r"长度至少 \1"),
    (re.compile(r"^Longer than maximum length (\d+)\.$"), r"长度最多 \1"),
    (re.compile(r"^not a valid mainland China mobile number$"), "不是有效的中国大陆手机号"),
    (re.compile(r"^already registered$"), "已登记"),
    (re.compile(r"^no such place$"), "没有该场所"),
]


def localise_errors(errors):
    """Field messages in Chinese unless the caller asked for English."""
    if wants_english():
        return errors
    if isinstance(errors, dict):
        return {k: localise_errors(v) for k, v in errors.items()}
    if isinstance(errors, list):
        return [localise_errors(v) for v in errors]
    if isinstance(errors, str):
        for pattern, replacement in FIELD_MESSAGES_ZH:
            if pattern.match(errors):
                return pattern.sub(replacement, errors)
    return errors


def wants_english():
    try:
        best = request.accept_languages.best_match(["zh", "zh-CN", "en"], default="zh")
    except RuntimeError:
        return False
    return bool(best) and best.startswith("en")


def message_for(code, fallback=None):
    pair = MESSAGES.get(code)
    if pair is None:
        return fallback or code
    return pair[1] if wants_english() else pair[0]


class AppError(Exception):
    """A refusal the caller can understand and act on."""

    status = 400

    def __init__(self, code, message=None, errors=None, status=None, headers=None):
        super().__init__(code)
        self.code = code
        self.message = message
        self.errors = errors or {}
        if status is not None:
            self.status = status
        self.headers = headers or {}


class NotFound(AppError):
    status = 404

    def __init__(self, what="resource"):
        super().__init__("not_found", errors={})
        self.what = what


class Conflict(AppError):
    status = 409


class Forbidden(AppError):
    status = 403


def error_body(code, message=None, errors=None):
    if isinstance(message, tuple):  # (中文, English)
        message = message[1] if wants_english() else message[0]
    return {"code": code, "message": message or message_for(code), "errors": localise_errors(errors or {})}


def error_response(status, code, message=None, errors=None, headers=None):
    resp = jsonify(error_body(code, message, errors))
    resp.status_code = status
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


class ErrorSchema(Schema):
    code = fields.String(metadata={"description": "Stable error code"})
    message = fields.String(metadata={"description": "Human message"})
    errors = fields.Dict(metadata={"description": "Problems per field"})


class JsonApi(Api):
    ERROR_SCHEMA = ErrorSchema

    def handle_http_exception(self, error):
        return http_error_response(error)


def http_error_response(error):
    status = error.code or 500
    code = STATUS_CODES.get(status, "error")
    data = getattr(error, "data", None) or {}
    errors = data.get("errors") or data.get("messages") or {}
    # webargs nests errors by location ({"json": {...}}); flatten one level.
    if isinstance(errors, dict) and set(errors) <= {"json", "query", "form", "files", "view_args", "headers"}:
        flat = {}
        for loc_errors in errors.values():
            if isinstance(loc_errors, dict):
                flat.update(loc_errors)
        errors = flat or errors
    message = data.get("message")
    if status == 429:
        message = None
    resp = error_response(status, code, message, errors, data.get("headers"))
    if status == 405 and hasattr(error, "valid_methods") and error.valid_methods:
        resp.headers["Allow"] = ", ".join(error.valid_methods)
    if isinstance(error, HTTPException) and status == 429:
        for k, v in (error.get_headers() or []):
            if k.lower().startswith("retry-after") or k.lower().startswith("x-ratelimit"):
                resp.headers[k] = v
    return resp


def register_error_handlers(app):
    app.register_error_handler(HTTPException, _handle_http)
    app.register_error_handler(AppError, _handle_app_error)
    app.register_error_handler(Exception, _handle_unexpected)


def _handle_http(error):
    if request.path.startswith("/api"):
        return http_error_response(error)
    return error


def _handle_app_error(error):
    return error_response(error.status, error.code, error.message, error.errors, error.headers)


RETRY_AFTER_S = 5


def _transient(error):
    """The database or Redis unreachable for a moment (a restart, a dropped connection,
    a deadlock or lock timeout the database broke): the same request will work again."""
    import psycopg
    import redis
    from sqlalchemy.exc import OperationalError

    return isinstance(error, (OperationalError, psycopg.OperationalError, redis.ConnectionError, redis.TimeoutError))


def _handle_unexpected(error):
    from flask import current_app

    if isinstance(error, HTTPException):
        return _handle_http(error)
    if _transient(error):
        # Not a fault of the request: 503 and when to try again (devices, carrier platforms
        # and the PWA's outbox retry). Nothing was acknowledged, so nothing is lost.
        import contextlib

        from api.extensions import db

        with contextlib.suppress(Exception):  # a dead connection may fail its rollback too
            db.session.rollback()
        current_app.logger.warning("%s %s: %s (answered 503)", request.method, request.path,
                                   str(error).splitlines()[0][:200] if str(error) else type(error).__name__)
        return error_response(503, "unavailable", headers={"Retry-After": str(RETRY_AFTER_S)})
    current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
    return error_response(500, "internal_error")
