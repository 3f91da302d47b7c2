"""Configuration classes, read from the environment and parsed strictly.

`load_config(name)` returns an instance; `create_app()` copies its upper-case
attributes into `app.config`. Nothing here connects to anything.
"""

import os
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = BASE_DIR / "instance"

# Secrets a Production deployment must override. Development values are public.
DEV_SECRET = "dev-secret-not-for-production-0000000000"
DEV_JWT_SECRET = "dev-jwt-secret-not-for-production-000000"


class ConfigError(RuntimeError):
    """The environment does not describe a usable configuration."""


def env_str(name, default=None):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value


def env_int(name, default, minimum=None, maximum=None):
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw, 10)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ConfigError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{name} must be <= {maximum}, got {value}")
    return value


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def env_bool(name, default):
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    low = raw.strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise ConfigError(f"{name} must be one of {sorted(_TRUE | _FALSE)}, got {raw!r}")


def env_choice(name, default, choices):
    value = env_str(name, default)
    if value not in choices:
        raise ConfigError(f"{name} must be one of {sorted(choices)}, got {value!r}")
    return value


def env_json_map(name, allowed_keys=None):
    """A JSON object of non-empty strings, e.g. WECHAT_TEMPLATES='{"alarm": "tmpl-id"}'."""
    import json

    raw = env_str(name)
    if raw is None:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a JSON object, got {raw!r}") from None
    if not isinstance(value, dict) or not all(isinstance(v, str) and v.strip() for v in value.values()):
        raise ConfigError(f"{name} must be a JSON object of non-empty strings, got {raw!r}")
    if allowed_keys is not None and set(value) - set(allowed_keys):
        raise ConfigError(f"{name}: unknown keys {sorted(set(value) - set(allowed_keys))}, "
                          f"allowed {sorted(allowed_keys)}")
    return value


SMS_TEMPLATE_KINDS = ("alarm", "fire", "all_clear", "test", "login_code")
HYDRANT_REPORT_CATEGORIES = ("leaking", "broken", "blocked", "cap_missing", "no_water", "illegal_use", "other")


def env_json_int_map(name, allowed_keys, minimum=1, maximum=365):
    """A JSON object of integers, e.g. WORK_ORDER_DAYS='{"leaking": 2, "no_water": 1}'."""
    import json

    raw = env_str(name)
    if raw is None:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a JSON object, got {raw!r}") from None
    if not isinstance(value, dict) or not all(
        isinstance(v, int) and not isinstance(v, bool) and minimum <= v <= maximum for v in value.values()
    ):
        raise ConfigError(f"{name} must be a JSON object of integers {minimum}..{maximum}, got {raw!r}")
    if set(value) - set(allowed_keys):
        raise ConfigError(f"{name}: unknown keys {sorted(set(value) - set(allowed_keys))}, "
                          f"allowed {sorted(allowed_keys)}")
    return value


def env_url(name, default):
    value = env_str(name, default)
    if not value.startswith(("https://", "http://")):
        raise ConfigError(f"{name} must be an http(s) URL, got {value!r}")
    return value


# What each provider backend cannot send without: refused at start-up rather
# than discovered by the first alarm at 3 a.m.
PROVIDER_KEYS = {
    ("SMS_BACKEND", "aliyun"): ("ALIYUN_ACCESS_KEY_ID", "ALIYUN_ACCESS_KEY_SECRET", "ALIYUN_SMS_SIGN_NAME",
                                "ALIYUN_SMS_TEMPLATES"),
    ("SMS_BACKEND", "tencent"): ("TENCENT_SECRET_ID", "TENCENT_SECRET_KEY", "TENCENT_SMS_APP_ID",
                                 "TENCENT_SMS_SIGN_NAME", "TENCENT_SMS_TEMPLATES"),
    ("VOICE_BACKEND", "aliyun"): ("ALIYUN_ACCESS_KEY_ID", "ALIYUN_ACCESS_KEY_SECRET", "ALIYUN_VOICE_SHOW_NUMBER",
                                  "ALIYUN_VOICE_TEMPLATES"),
}


class BaseConfig:
    ENV_NAME = "base"
    TESTING = False
    DEBUG = False

    def __init__(self):
        self.SECRET_KEY = env_str("SECRET_KEY", DEV_SECRET)
        self.JWT_SECRET_KEY = env_str("JWT_SECRET_KEY", DEV_JWT_SECRET)
        self.JWT_ACCESS_TOKEN_EXPIRES = timedelta(
            seconds=env_int("JWT_ACCESS_SECONDS", 15 * 60, minimum=30, maximum=24 * 3600)
        )
        self.JWT_REFRESH_TOKEN_EXPIRES = timedelta(
            days=env_int("JWT_REFRESH_DAYS", 30, minimum=1, maximum=365)
        )
        self.JWT_ERROR_MESSAGE_KEY = "message"
        self.JWT_TOKEN_LOCATION = ["headers"]

        self.SQLALCHEMY_DATABASE_URI = normalise_database_url(
            env_str("DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'fire.db'}")
        )
        self.SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
        self.REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
        # Our own keys (revocations, rate limits, scheduler locks) and RQ queue
        # names carry these prefixes so test runs never meet development data.
        self.REDIS_KEY_PREFIX = env_str("REDIS_KEY_PREFIX", "fa:")
        self.RQ_QUEUE_PREFIX = env_str("RQ_QUEUE_PREFIX", "")

        self.VAPID_PUBLIC_KEY = env_str("VAPID_PUBLIC_KEY")
        self.VAPID_PRIVATE_KEY = env_str("VAPID_PRIVATE_KEY")
        self.VAPID_SUBJECT = env_str("VAPID_SUBJECT", "mailto:ops@example.invalid")

        # WeChat Official Account template messages and WeCom group robots: "log" in
        # development (the message goes to the log), or the real API.
        self.WECHAT_BACKEND = env_choice("WECHAT_BACKEND", "log", ("log", "wechat"))
        self.WECHAT_APP_ID = env_str("WECHAT_APP_ID")
        self.WECHAT_APP_SECRET = env_str("WECHAT_APP_SECRET")
        # Template id per message kind, e.g. {"alarm": "...", "fire": "...", "all_clear": "..."}.
        self.WECHAT_TEMPLATES = env_json_map("WECHAT_TEMPLATES", ("alarm", "fire", "all_clear", "test"))
        self.WECHAT_API_BASE = env_str("WECHAT_API_BASE", "https://api.weixin.qq.com").rstrip("/")
        if not self.WECHAT_API_BASE.startswith(("https://", "http://")):
            raise ConfigError(f"WECHAT_API_BASE must be an http(s) URL, got {self.WECHAT_API_BASE!r}")
        self.WECHAT_TIMEOUT_SECONDS = env_int("WECHAT_TIMEOUT_SECONDS", 5, minimum=1, maximum=30)
        if self.WECHAT_BACKEND == "wechat":
            missing = [k for k in ("WECHAT_APP_ID", "WECHAT_APP_SECRET") if not getattr(self, k)]
            if "alarm" not in self.WECHAT_TEMPLATES:
                missing.append('WECHAT_TEMPLATES["alarm"]')
            if missing:
                raise ConfigError("WECHAT_BACKEND=wechat needs " + ", ".join(missing))
        self.WECOM_BACKEND = env_choice("WECOM_BACKEND", "log", ("log", "wecom"))
        self.WECOM_TIMEOUT_SECONDS = env_int("WECOM_TIMEOUT_SECONDS", 5, minimum=1, maximum=30)

        self.SMS_BACKEND = env_choice("SMS_BACKEND", "log", ("log", "aliyun", "tencent"))
        # SMS and voice providers (workers/channels/sms_aliyun.py, sms_tencent.py, voice.py).
        self.ALIYUN_ACCESS_KEY_ID = env_str("ALIYUN_ACCESS_KEY_ID")
        self.ALIYUN_ACCESS_KEY_SECRET = env_str("ALIYUN_ACCESS_KEY_SECRET")
        self.ALIYUN_SMS_SIGN_NAME = env_str("ALIYUN_SMS_SIGN_NAME")
        # Template codes per message kind: {"alarm": "SMS_123…", "fire": …, "all_clear": …, "login_code": …}
        self.ALIYUN_SMS_TEMPLATES = env_json_map("ALIYUN_SMS_TEMPLATES", SMS_TEMPLATE_KINDS)
        self.ALIYUN_SMS_ENDPOINT = env_url("ALIYUN_SMS_ENDPOINT", "https://dysmsapi.aliyuncs.com/")
        self.VOICE_BACKEND = env_choice("VOICE_BACKEND", "log", ("log", "aliyun"))
        self.ALIYUN_VOICE_SHOW_NUMBER = env_str("ALIYUN_VOICE_SHOW_NUMBER")  # CalledShowNumber, the rented number
        self.ALIYUN_VOICE_TEMPLATES = env_json_map("ALIYUN_VOICE_TEMPLATES", SMS_TEMPLATE_KINDS)  # {"alarm": "TTS_1…"}
        self.ALIYUN_VOICE_ENDPOINT = env_url("ALIYUN_VOICE_ENDPOINT", "https://dyvmsapi.aliyuncs.com/")
        self.TENCENT_SECRET_ID = env_str("TENCENT_SECRET_ID")
        self.TENCENT_SECRET_KEY = env_str("TENCENT_SECRET_KEY")
        self.TENCENT_SMS_APP_ID = env_str("TENCENT_SMS_APP_ID")  # SmsSdkAppId, 1400…
        self.TENCENT_SMS_SIGN_NAME = env_str("TENCENT_SMS_SIGN_NAME")
        # Template ids; their variables must be {1} site, {2} level, {3} incident ({1} code for login_code).
        self.TENCENT_SMS_TEMPLATES = env_json_map("TENCENT_SMS_TEMPLATES", SMS_TEMPLATE_KINDS)
        self.TENCENT_SMS_ENDPOINT = env_url("TENCENT_SMS_ENDPOINT", "https://sms.tencentcloudapi.com/")
        self.TENCENT_SMS_REGION = env_choice("TENCENT_SMS_REGION", "ap-guangzhou",
                                             ("ap-guangzhou", "ap-beijing", "ap-nanjing"))
        self.SMS_TIMEOUT_SECONDS = env_int("SMS_TIMEOUT_SECONDS", 10, minimum=1, maximum=60)
        # Delivery reports arrive at /api/v1/notify/callbacks/<provider>/<this secret>; unset, they are refused.
        self.NOTIFY_CALLBACK_SECRET = env_str("NOTIFY_CALLBACK_SECRET")
        if self.NOTIFY_CALLBACK_SECRET is not None and len(self.NOTIFY_CALLBACK_SECRET) < 16:
            raise ConfigError("NOTIFY_CALLBACK_SECRET must be at least 16 characters")
        for (backend, value), keys in PROVIDER_KEYS.items():
            missing = [k for k in keys if getattr(self, backend) == value and not getattr(self, k)]
            if missing:
                raise ConfigError(f"{backend}={value} needs {', '.join(missing)}")
        self.OTP_TTL_SECONDS = env_int("OTP_TTL_SECONDS", 300, minimum=60, maximum=3600)
        self.OTP_MAX_TRIES = env_int("OTP_MAX_TRIES", 5, minimum=1, maximum=20)
        self.RATELIMIT_ENABLED = env_bool("RATELIMIT_ENABLED", True)
        self.OTP_RATE_PER_PHONE = env_str("OTP_RATE_PER_PHONE", "1 per 50 seconds;5 per hour")
        self.OTP_RATE_PER_IP = env_str("OTP_RATE_PER_IP", "20 per hour")
        self.LOGIN_RATE_PER_IP = env_str("LOGIN_RATE_PER_IP", "30 per minute")
        # Per integration key, over all its devices: a building's panel resends its
        # whole backlog at once after an outage, so bursts must pass; a leaked key
        # flooding the pipeline must not.
        self.INGEST_RATE_PER_KEY = env_str("INGEST_RATE_PER_KEY", "120000 per minute")
        # A web process receiving device requests faster than this (per second, on
        # average) hands routine messages to the backlog job (a few statements for
        # hundreds) instead of applying each in its request (about ten statements);
        # slower, it applies them at once. 0: only when busy with another request.
        self.INGEST_BACKLOG_ABOVE_PER_S = env_int("INGEST_BACKLOG_ABOVE_PER_S", 20, minimum=0, maximum=100000)
        # Connections (PostgreSQL) each web process keeps for one-message device requests,
        # beside the app's pool: one per thread that may store one at once (gunicorn
        # --threads), as many again for a moment when more are asked for.
        self.ONE_MESSAGE_POOL_SIZE = env_int("ONE_MESSAGE_POOL_SIZE", 4, minimum=1, maximum=64)
        # Redis down: count in each process's memory meanwhile, rather than answer
        # devices (or logins) with a 500.
        self.RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
        # Strict-Transport-Security max-age; only production sends it (default one year).
        self.HSTS_SECONDS = env_int("HSTS_SECONDS", 0, minimum=0, maximum=2 * 365 * 86400)

        self.MQTT_HOST = env_str("MQTT_HOST", "127.0.0.1")
        self.MQTT_PORT = env_int("MQTT_PORT", 1883, minimum=1, maximum=65535)
        self.MQTT_USERNAME = env_str("MQTT_USERNAME")
        self.MQTT_PASSWORD = env_str("MQTT_PASSWORD")
        self.MQTT_CLIENT_ID = env_str("MQTT_CLIENT_ID", "fa-ingest")
        self.PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL")
        # The 119 command centre's webhook; forwards stay queued (and visible) until it is set.
        self.FIRE_119_URL = env_str("FIRE_119_URL")
        self.FIRE_119_SECRET = env_str("FIRE_119_SECRET", "dev-119-secret")
        self.FIRE_119_TIMEOUT = env_int("FIRE_119_TIMEOUT", 3, minimum=1, maximum=30)
        self.TRUSTED_PROXIES = env_int("TRUSTED_PROXIES", 0, minimum=0, maximum=5)

        self.DEFAULT_TIMEZONE = env_str("DEFAULT_TIMEZONE", "Asia/Shanghai")
        self.MAX_CONTENT_LENGTH = env_int(
            "MAX_CONTENT_LENGTH", 16 * 1024 * 1024, minimum=1024
        )
        self.PWA_DIST = env_str("PWA_DIST", str(BASE_DIR / "pwa" / "dist"))
        # Photos (api/photos): the upload limit (the body is refused past it, never read whole),
        # the pixel limit against decompression bombs, where files live, how long a signed link lasts.
        self.PHOTO_MAX_BYTES = env_int("PHOTO_MAX_BYTES", 10 * 1024 * 1024, minimum=1024, maximum=100 * 1024 * 1024)
        self.PHOTO_MAX_PIXELS = env_int("PHOTO_MAX_PIXELS", 50_000_000, minimum=10_000, maximum=200_000_000)
        self.PHOTO_MAX_SIDE = env_int("PHOTO_MAX_SIDE", 2560, minimum=320, maximum=10_000)
        self.PHOTO_STORAGE_DIR = env_str("PHOTO_STORAGE_DIR", str(INSTANCE_DIR / "photos"))
        self.PHOTO_URL_SECONDS = env_int("PHOTO_URL_SECONDS", 24 * 3600, minimum=60, maximum=30 * 24 * 3600)
        # Hydrant work orders: days to fix per report category, e.g. {"leaking": 2}; the rest get the default.
        self.WORK_ORDER_DEFAULT_DAYS = env_int("WORK_ORDER_DEFAULT_DAYS", 7, minimum=1, maximum=365)
        self.WORK_ORDER_DAYS = env_json_int_map("WORK_ORDER_DAYS", HYDRANT_REPORT_CATEGORIES)

        self.API_TITLE = "Fire alarm platform API"
        self.API_VERSION = "v1"
        self.OPENAPI_VERSION = "3.0.3"
        self.OPENAPI_URL_PREFIX = "/api"
        self.OPENAPI_JSON_PATH = "openapi.json"
        self.OPENAPI_SWAGGER_UI_PATH = "docs"
        # Served from the installed flask-swagger-ui package: no CDN.
        self.OPENAPI_SWAGGER_UI_URL = "/api/docs/assets/"
        self.JSON_SORT_KEYS = False

    def as_dict(self):
        return {k: getattr(self, k) for k in dir(self) if k.isupper()}


class DevelopmentConfig(BaseConfig):
    ENV_NAME = "development"
    DEBUG = False


class TestingConfig(BaseConfig):
    ENV_NAME = "testing"
    TESTING = True

    def __init__(self):
        super().__init__()
        self.SQLALCHEMY_DATABASE_URI = normalise_database_url(
            env_str("TEST_DATABASE_URL", "sqlite://")
        )
        self.REDIS_URL = env_str("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
        # A test's requests come faster than any panel: each is applied in its request
        # unless a test turns this on (tests/ingest/test_fast_paths.py).
        self.INGEST_BACKLOG_ABOVE_PER_S = env_int("TEST_INGEST_BACKLOG_ABOVE_PER_S", 0, minimum=0, maximum=100000)
        self.REDIS_KEY_PREFIX = env_str("TEST_REDIS_KEY_PREFIX", "fa-test:")
        self.RQ_QUEUE_PREFIX = env_str("TEST_RQ_QUEUE_PREFIX", "fa-test-")
        # Files are stored by content hash, so test runs may share one directory.
        import tempfile

        self.PHOTO_STORAGE_DIR = env_str("TEST_PHOTO_STORAGE_DIR", str(Path(tempfile.gettempdir()) / "fa-test-photos"))


class ProductionConfig(BaseConfig):
    ENV_NAME = "production"

    def __init__(self):
        super().__init__()
        self.HSTS_SECONDS = env_int("HSTS_SECONDS", 365 * 86400, minimum=0, maximum=2 * 365 * 86400)
        problems = []
        if not os.environ.get("DATABASE_URL"):
            problems.append("DATABASE_URL is not set")
        for name, default in (("SECRET_KEY", DEV_SECRET), ("JWT_SECRET_KEY", DEV_JWT_SECRET)):
            value = os.environ.get(name)
            if not value:
                problems.append(f"{name} is not set")
            elif value == default or len(value) < 32:
                problems.append(f"{name} is a default or shorter than 32 characters")
        for name in ("VAPID_PUBLIC_KEY", "VAPID_PRIVATE_KEY"):
            if not os.environ.get(name):
                problems.append(f"{name} is not set (generate with `flask push keys`)")
        if self.SQLALCHEMY_DATABASE_URI.startswith("sqlite"):
            problems.append("DATABASE_URL must not be SQLite in production")
        if problems:
            raise ConfigError("Production configuration refused: " + "; ".join(problems))


def normalise_database_url(url):
    """Use psycopg 3 for PostgreSQL whatever spelling the operator chose."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def load_config(name=None):
    name = name or env_str("APP_ENV", "development")
    try:
        cls = CONFIGS[name]
    except KeyError:
        raise ConfigError(f"APP_ENV must be one of {sorted(CONFIGS)}, got {name!r}") from None
    return cls()
