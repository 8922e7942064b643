"""Every option of the platform, declared once, with its type, default and meaning.

Options come from environment variables prefixed ``XINYONG_`` (for example
``XINYONG_DATABASE_URL``). Keys for identity-number protection come from the
environment or, for the embedded default only, from the key file that
``xinyong init`` writes under ``XINYONG_HOME``.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from xinyong.errors import ConfigurationError

KEY_FILE_NAME = "keys.json"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="XINYONG_", extra="ignore", populate_by_name=True)

    demo: bool = Field(
        default=False,
        description="Demo mode, set by `xinyong demo`: the only mode that accepts "
        "placeholder secrets (weak keys) and serves plain HTTP cookies. Outside it the "
        "server refuses to start with such secrets.",
    )
    home: Path = Field(
        default=Path("./var"),
        description="Directory for the embedded database, key file, uploads and anchors.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; PostgreSQL in production "
        "(postgresql+psycopg://…). Unset: SQLite under `home`.",
    )
    blind_index_key: str | None = Field(
        default=None,
        description="Base64 key (32 bytes) for the HMAC blind index of identity numbers.",
    )
    encryption_key: str | None = Field(
        default=None,
        description="Base64 key (32 bytes) for AES-256-GCM encryption of identity numbers.",
    )
    profile: Literal["national", "changsha"] = Field(
        default="national",
        description="Rule profile: national defaults (第36号令) or Changsha "
        "(three years for every negative record, 长政办发〔2017〕62号 §(十)).",
    )
    publish_minor: bool = Field(
        default=False,
        description="Publish 轻微 records on the public portal and in public reports "
        "(SAMR Order 107: warnings are not displayed; 第36号令: 轻微 normally not shown).",
    )
    city_region_code: str = Field(
        default="430100", description="GB/T 2260 code of the city running the platform."
    )
    city_name: str = Field(default="示范市", description="City name shown in pages and reports.")
    defence_workdays: int = Field(
        default=5,
        ge=1,
        description="陈述申辩 period before a black-list decision, in working days "
        "(国办发〔2020〕49号 leaves the length to the rules of each list).",
    )
    display_notice_days: int = Field(
        default=30, ge=1, description="Notify a person this many days before a display ends."
    )
    scoring_model: str = Field(default="default", description="Code of the score model in force.")
    objection_mark_workdays: int = Field(
        default=1,
        ge=0,
        description="异议: the department marks (受理) an objection within this many working days "
        "(Shanghai: 1).",
    )
    objection_decide_workdays: int = Field(
        default=5,
        ge=1,
        description="异议: the department decides within this many working days of filing "
        "(Shanghai and Zhejiang: 5).",
    )
    objection_extended_workdays: int = Field(
        default=20,
        ge=1,
        description="异议: the decision deadline once extended (once only; Zhejiang: 20).",
    )
    repair_decide_workdays: int = Field(
        default=10,
        ge=1,
        description="信用修复: an application is decided within this many working days.",
    )
    repair_office_review: bool = Field(
        default=True,
        description="信用修复: after the deciding department approves, the credit office "
        "reviews too (谁认定谁修复, with the 信用办).",
    )
    repair_reapply_after_days: int = Field(
        default=30,
        ge=0,
        description="信用修复: days after a rejection before the same record may be applied "
        "for again.",
    )
    repair_max_rejections: int = Field(
        default=3,
        ge=1,
        description="信用修复: rejections of the same record after which no further "
        "application is accepted online (the person applies at the office).",
    )
    evidence_max_bytes: int = Field(
        default=10 * 1024 * 1024,
        ge=1024,
        description="Largest evidence file or tip-off attachment (证明材料, 举报附件).",
    )
    tipoff_per_hour: int = Field(
        default=5,
        ge=1,
        description="Tip-offs accepted per client address per hour (举报限流; pages and API).",
    )
    exchange_upper_url: str | None = Field(
        default=None, description="The upper credit platform's base URL (共享交换); unset: no push."
    )
    exchange_upper_key: str | None = Field(
        default=None, description="The API key the upper platform issued to this platform."
    )
    exchange_source: str | None = Field(
        default=None, description="This platform's code at the upper platform (default: region)."
    )
    realname_verifier: str = Field(
        default="demo",
        description="Real-name verifier: `demo` (people of the demo city) or "
        "`package.module:ClassName` implementing xinyong.accounts.realname.RealNameVerifier.",
    )
    session_hours: int = Field(default=8, description="Lifetime of a login session, in hours.")
    cookie_secure: bool = Field(
        default=True, description="Send the session cookie only over HTTPS (and localhost)."
    )
    max_failed_logins: int = Field(
        default=5, description="Failed logins before the account is locked with back-off."
    )
    query_log_retention_years: int = Field(
        default=10, description="How long the query log is kept (years)."
    )
    import_chunk_rows: int = Field(
        default=20_000, ge=100, description="Rows validated and merged per transaction."
    )
    max_cell_chars: int = Field(
        default=4_000, ge=100, description="Longest accepted cell; longer cells reject the row."
    )
    # -- the public site (issue 18: pages people can trust) --------------------------------
    site_host: str | None = Field(
        default=None,
        description="主办单位 in the footer (default: 「{city}社会信用体系建设领导小组办公室」).",
    )
    site_operator: str | None = Field(
        default=None, description="承办单位 in the footer (unset: not shown)."
    )
    site_code: str | None = Field(
        default=None, description="网站标识码 of the government website (unset: not shown)."
    )
    site_icp: str | None = Field(
        default=None, description="ICP 备案号, e.g. 「湘ICP备00000000号」 (unset: not shown)."
    )
    site_police_filing: str | None = Field(
        default=None, description="公安机关备案号, e.g. 「湘公网安备 43010000000000号」."
    )
    site_contact: str | None = Field(
        default="12345",
        description="Consultation telephone (咨询电话) in the footer and on the portal.",
    )
    site_contact_address: str | None = Field(
        default=None, description="Consultation address and office hours shown on the portal."
    )
    national_links: str = Field(
        default="信用中国=https://www.creditchina.gov.cn/;"
        "国家企业信用信息公示系统=https://www.gsxt.gov.cn/;"
        "中国执行信息公开网=http://zxgk.court.gov.cn/",
        description="The national systems linked from the portal: `名称=网址` pairs "
        "separated by `;`.",
    )
    assessment_min_sample: int = Field(
        default=20,
        ge=1,
        description="考核: a measure with fewer observations in the period (records, rows, "
        "checks, cases) is not rated, and a department without a rated measure not ranked.",
    )
    publish_individual_penalties: bool = Field(
        default=True,
        description="Publish administrative penalties (行政处罚, 双公示) on natural persons on "
        "the portal. Some provinces do not (DOMAIN §17); organisations' are always published.",
    )

    portal_searches_per_minute: int = Field(
        default=30,
        ge=0,
        validation_alias=AliasChoices(
            "XINYONG_PORTAL_SEARCHES_PER_MINUTE",
            "XINYONG_RATE_SEARCH_PER_MINUTE",  # the name README gave it too
        ),
        description="Public disclosure searches and tip-off tracking (pages and API) one "
        "client address may make per minute (a token bucket with this burst): the lists are "
        "searchable, not downloadable wholesale; 0 disables.",
    )
    max_upload_bytes: int = Field(
        default=512 * 1024 * 1024, description="Largest accepted submission file."
    )
    # -- submission jobs and SQLite's one writer (issue 20) --------------------------------
    job_dir: Path | None = Field(
        default=None,
        description="Folder where uploaded files wait for the job runner (default: "
        "`home`/jobs). Shared by every server process.",
    )
    job_worker: bool = Field(
        default=True,
        description="Run the submission job runner in each server process (a background "
        "thread); off: only `xinyong jobs run` runs queued uploads.",
    )
    job_poll_seconds: float = Field(
        default=2.0, gt=0, description="How often an idle job runner looks for queued uploads."
    )
    db_busy_seconds: float = Field(
        default=10.0,
        gt=0,
        description="How long a write waits for SQLite's write lock (busy timeout) before "
        "the request is answered 503 系统繁忙 with Retry-After.",
    )
    public_base_url: str = Field(
        default="http://127.0.0.1:8000",
        description="The platform's public address; report QR codes and verification links "
        "point to it.",
    )
    report_issuer: str | None = Field(
        default=None,
        description="Issuer printed on credit reports (出具机构). Unset: "
        "「{city_name}公共信用信息平台」.",
    )
    report_font_path: Path | None = Field(
        default=None,
        description="TrueType font (.ttf/.ttc, TrueType outlines) with Chinese glyphs, embedded "
        "in every report PDF. Unset: the first of a list of known system fonts "
        "(WenQuanYi Micro Hei, WenQuanYi Zen Hei, Droid Sans Fallback…); none found is an error.",
    )
    report_font_index: int = Field(
        default=0, ge=0, description="Font index inside a .ttc collection."
    )
    self_report_yearly_limit: int = Field(
        default=0,
        ge=0,
        description="Self-reports (本人信用报告) a person may have issued in 365 days; 0: no "
        "limit. They are free in any case (征信业管理条例 Art. 17 asks for at least two free "
        "reports a year; public platforms give them without limit).",
    )
    rate_login_per_minute: int = Field(
        default=10,
        ge=0,
        description="Login attempts (page and /api/v1/auth/token) per client address and "
        "per username, per minute and per server process; 0 disables the limit.",
    )
    rate_check_per_minute: int = Field(
        default=60_000,
        ge=0,
        description="Check API calls (/api/v1/checks) per API key or account per minute "
        "and per server process; 0 disables.",
    )

    authorization_occasion_minutes: int = Field(
        default=30,
        ge=0,
        description="A one-time authorization is one query occasion: the scopes it names "
        "(archive, score, lists, report) may each be read once within this many minutes of "
        "the first read.",
    )
    trusted_proxies: str = Field(
        default="",
        description="Comma-separated addresses of the reverse proxies whose X-Forwarded-For "
        "header names the client (rate limits, logs). Empty: the header is ignored and the "
        "direct peer is the client, so nobody picks their own rate-limit bucket.",
    )

    batch_set_based_rows: int = Field(
        default=50_000,
        ge=1,
        description="On PostgreSQL, a batch comparison of this many rows or more reads the "
        "facts of all its subjects set-based (a few sequential passes over the archive) "
        "instead of by index lookups per chunk of rows; below it, the passes cost more than "
        "the lookups (docs/benchmarks.md, batch comparison).",
    )
    batch_workers: int = Field(
        default_factory=lambda: min(4, os.cpu_count() or 1),
        ge=0,
        le=32,
        description="Worker processes that decide and format the rows of a set-based batch "
        "comparison while the main process reads the facts and writes the result and the "
        "query log; 0 does it all in the main process.",
    )
    check_fast_path: bool = Field(
        default=True,
        description="On PostgreSQL, answer the check API on the event loop and write the "
        "checks' records behind their reads, many per transaction (group commit); an "
        "answer still leaves only once its records are committed. Off: one transaction "
        "per check in a worker thread.",
    )

    log_format: Literal["json", "text"] = Field(
        default="json",
        description="Log lines as JSON objects (production) or plain text (a terminal). "
        "Identity numbers are masked in both.",
    )
    log_level: str = Field(default="info", description="Lowest level logged.")
    audit_signing_key: str | None = Field(
        default=None,
        description="Base64 Ed25519 private key (32 bytes) that signs audit anchors "
        "(`xinyong audit keygen`). On the embedded default the key file may hold it.",
    )
    audit_public_key: str | None = Field(
        default=None,
        description="Base64 Ed25519 public key that verifies anchors; derived from the "
        "signing key when unset. Give auditors only this one.",
    )
    audit_chain_key: str | None = Field(
        default=None,
        description="Base64 key (32 bytes) of the HMAC that links each audit event to the "
        "one before it. Required on PostgreSQL; on the embedded default the key file holds "
        "it. Kept out of the database and its backups, like the blind-index key.",
    )
    audit_chain_previous_keys: str | None = Field(
        default=None,
        description="After a rotation of XINYONG_AUDIT_CHAIN_KEY: the earlier keys, Base64, "
        "comma-separated, oldest first, so the events they chained still verify.",
    )
    audit_anchor_dir: Path | None = Field(
        default=None,
        description="Directory the automatic anchors are written to (the daily job, and "
        "every XINYONG_AUDIT_ANCHOR_EVERY events); default `home`/anchors. Copy it off "
        "the machine.",
    )
    audit_anchor_every: int = Field(
        default=1000,
        ge=0,
        description="Sign an anchor automatically each time the chain passes a multiple of "
        "this many events (0: only the daily job and `xinyong audit anchor`).",
    )
    audit_verify_batch: int = Field(
        default=100_000,
        ge=1,
        description="Events one chain check of the API (and each step of `xinyong audit "
        "verify`) reads at most: it starts from the last verification checkpoint, so it "
        "reads only the events since, and answers how far it got (`complete`).",
    )
    audit_working_hours: str = Field(
        default="08:00-19:00",
        description="Working hours (Asia/Shanghai) on working days; personal-data reads "
        "outside them raise an alert.",
    )
    audit_baseline_days: int = Field(
        default=30, ge=1, description="Days of history that make an operator's baseline."
    )
    audit_query_factor: float = Field(
        default=3.0,
        gt=1,
        description="Alert when an operator queries more than this many times their "
        "daily baseline of distinct persons.",
    )
    audit_query_floor: int = Field(
        default=50,
        ge=1,
        description="…and at least this many distinct persons in the day (new operators "
        "and quiet days do not alert).",
    )
    audit_refused_threshold: int = Field(
        default=5, ge=1, description="Refused queries by one caller within an hour that alert."
    )
    audit_failed_login_threshold: int = Field(
        default=10,
        ge=1,
        description="Failed logins for one account (or from unknown usernames) within an "
        "hour that alert.",
    )
    audit_bulk_export_rows: int = Field(
        default=1_000,
        ge=1,
        description="Rows of personal data in exports (batch comparisons, reports) by one "
        "caller within a day that alert.",
    )

    @property
    def is_sqlite(self) -> bool:
        return self.database_url is None or self.database_url.startswith("sqlite")

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'xinyong.sqlite3').resolve()}"

    @property
    def key_file(self) -> Path:
        return self.home / KEY_FILE_NAME

    @property
    def anchor_dir(self) -> Path:
        return self.audit_anchor_dir or self.home / "anchors"

    @property
    def effective_job_dir(self) -> Path:
        return self.job_dir or self.home / "jobs"


class Keys:
    """The two secrets that protect identity numbers."""

    def __init__(self, blind_index: bytes, encryption: bytes) -> None:
        if len(blind_index) < 32 or len(encryption) != 32:
            raise ConfigurationError("身份证号保护密钥长度不正确（需要 32 字节，Base64 编码）")
        self.blind_index = blind_index
        self.encryption = encryption


def _decode_key(value: str, name: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except ValueError as exc:
        raise ConfigurationError(f"密钥 {name} 不是有效的 Base64 编码") from exc


def load_keys(settings: Settings) -> Keys:
    """Keys from configuration; the local key file only on the embedded default.

    Refuses to run on PostgreSQL without configured keys: a production database must
    never be protected by a key file lying next to a development checkout.
    """
    if settings.blind_index_key and settings.encryption_key:
        return Keys(
            _decode_key(settings.blind_index_key, "XINYONG_BLIND_INDEX_KEY"),
            _decode_key(settings.encryption_key, "XINYONG_ENCRYPTION_KEY"),
        )
    if not settings.is_sqlite:
        raise ConfigurationError(
            "使用 PostgreSQL 时必须配置 XINYONG_BLIND_INDEX_KEY 和 XINYONG_ENCRYPTION_KEY"
        )
    if not settings.key_file.exists():
        raise ConfigurationError(f"未找到密钥文件 {settings.key_file}，请先运行 xinyong init")
    data = json.loads(settings.key_file.read_text(encoding="utf-8"))
    return Keys(
        _decode_key(data["blind_index_key"], "blind_index_key"),
        _decode_key(data["encryption_key"], "encryption_key"),
    )


def load_chain_keys(settings: Settings) -> tuple[bytes, tuple[bytes, ...]]:
    """The audit chain's HMAC key and the earlier ones (oldest first), from configuration;
    the local key file only on the embedded default (as ``load_keys``)."""
    return _chain_keys(
        settings.audit_chain_key,
        settings.audit_chain_previous_keys,
        settings.is_sqlite,
        str(settings.key_file),
    )


@lru_cache(maxsize=8)
def _chain_keys(
    value: str | None, previous: str | None, sqlite: bool, key_file: str
) -> tuple[bytes, tuple[bytes, ...]]:
    if not value and sqlite:
        path = Path(key_file)
        if path.exists():
            data = json.loads(path.read_text(encoding="utf-8"))
            value = data.get("audit_chain_key")
            previous = previous or data.get("audit_chain_previous_keys")
    if not value:
        raise ConfigurationError(
            "未配置审计链密钥 XINYONG_AUDIT_CHAIN_KEY（使用 PostgreSQL 时必须配置；"
            "内置数据库请运行 xinyong init 补全密钥文件）"
        )
    keys = [_decode_key(value, "XINYONG_AUDIT_CHAIN_KEY")]
    for item in (previous or "").split(","):
        if item.strip():
            keys.insert(-1, _decode_key(item.strip(), "XINYONG_AUDIT_CHAIN_PREVIOUS_KEYS"))
    if any(len(k) < 32 for k in keys):
        raise ConfigurationError("审计链密钥长度不正确（需要至少 32 字节，Base64 编码）")
    return keys[-1], tuple(keys[:-1])


def _new_audit_signing_key() -> str:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
    )

    raw = Ed25519PrivateKey.generate().private_bytes(
        Encoding.Raw, PrivateFormat.Raw, NoEncryption()
    )
    return base64.b64encode(raw).decode()


def read_key_file(settings: Settings) -> dict[str, str]:
    """The embedded default's key file, or {} when there is none."""
    if not settings.key_file.exists():
        return {}
    data: dict[str, str] = json.loads(settings.key_file.read_text(encoding="utf-8"))
    return data


def create_key_file(settings: Settings) -> bool:
    """Write a fresh key file for the embedded default; never overwrite a key in it.

    A key file from before the audit trail gets an anchor signing key added, and one
    from before the keyed chain a chain key."""
    if settings.key_file.exists():
        data = read_key_file(settings)
        if "audit_signing_key" in data and "audit_chain_key" in data:
            return False
        data.setdefault("audit_signing_key", _new_audit_signing_key())
        data.setdefault("audit_chain_key", base64.b64encode(secrets.token_bytes(32)).decode())
        tmp = settings.key_file.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh)
        os.replace(tmp, settings.key_file)
        return True
    settings.home.mkdir(parents=True, exist_ok=True)
    data = {
        "blind_index_key": base64.b64encode(secrets.token_bytes(32)).decode(),
        "encryption_key": base64.b64encode(secrets.token_bytes(32)).decode(),
        "audit_signing_key": _new_audit_signing_key(),
        "audit_chain_key": base64.b64encode(secrets.token_bytes(32)).decode(),
    }
    fd = os.open(settings.key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh)
    return True


# Values copied from documentation or examples; a key equal to one of them is no secret.
PLACEHOLDER_SECRETS = frozenset(
    {
        base64.b64encode(bytes(32)).decode(),
        base64.b64encode(b"change-me-change-me-change-me-32").decode(),
    }
)


def weak_secret(value: str) -> bool:
    """A placeholder: a documented example, or far fewer distinct bytes than random ones.

    32 random bytes have about 29 distinct values; fewer than 16 happens by chance with a
    probability below 1e-12, and catches keys such as ``b"b" * 32``."""
    if value in PLACEHOLDER_SECRETS:
        return True
    try:
        raw = base64.b64decode(value, validate=True)
    except ValueError:
        return False  # malformed keys are refused where they are decoded
    return len(set(raw)) < 16


def default_secret_problems(settings: Settings) -> list[str]:
    """Secrets left at placeholder values, by name. Pure."""
    named = {
        "XINYONG_BLIND_INDEX_KEY": settings.blind_index_key,
        "XINYONG_ENCRYPTION_KEY": settings.encryption_key,
        "XINYONG_AUDIT_SIGNING_KEY": settings.audit_signing_key,
        "XINYONG_AUDIT_CHAIN_KEY": settings.audit_chain_key,
    }
    return [name for name, value in named.items() if value and weak_secret(value)]


def refuse_default_secrets(settings: Settings) -> None:
    """Outside demo mode, refuse to serve with placeholder secrets."""
    if settings.demo:
        return
    problems = default_secret_problems(settings)
    if problems:
        raise ConfigurationError(
            "以下密钥仍是示例或弱密钥，非演示模式下拒绝启动："
            + "、".join(problems)
            + "（请用随机生成的 32 字节密钥，Base64 编码）"
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
