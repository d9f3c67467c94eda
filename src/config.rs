//! Typed settings, read once at start from the environment (and `.env`).

use std::{fmt, net::SocketAddr, path::PathBuf};

use anyhow::{Context, bail};
use rand::RngCore;

/// A secret value that never prints.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("Secret(***)")
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppEnv {
    Development,
    Production,
}

#[derive(Clone, Debug)]
pub struct Settings {
    pub app_env: AppEnv,
    pub data_dir: PathBuf,
    pub database_url: Secret,
    pub redis_url: Option<Secret>,
    /// Prefix of every Redis key and channel (`REDIS_KEY_PREFIX`, default `ma:`): several
    /// deployments can share one Redis.
    pub redis_key_prefix: String,
    pub bind_addr: SocketAddr,
    pub jwt_secret: Secret,
    pub workers: usize,
    /// Seconds between two scheduler ticks (`SCHEDULER_INTERVAL_SECS`, default 60; 0 turns the
    /// scheduler off in this process). One process runs each tick, whatever the number of workers.
    pub scheduler_interval_secs: u64,
    pub public_base_url: Option<String>,
    pub rate_limit_rpm: u32,
    pub login_attempts_per_minute: u32,
    pub ws_init_timeout_secs: u64,
    /// Operations one WebSocket may run at once (`WS_MAX_OPERATIONS`, default 50; subscriptions
    /// included): the next `subscribe` is answered with a `RATE_LIMITED` error.
    pub ws_max_operations: usize,
    /// Reverse proxies whose `X-Forwarded-For` is believed (`TRUSTED_PROXIES`, CIDRs or addresses,
    /// comma-separated; none by default). From one of them, the client is the rightmost address
    /// of the header that is not itself a trusted proxy.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Bytes the in-process cache (session checks, API keys, persisted queries) may hold, entries
    /// included at their size plus a fixed overhead (`MEMORY_CACHE_MAX_BYTES`, default 64 MiB).
    pub memory_cache_max_bytes: u64,
    /// Live subscriptions one user may hold at once in this process (`MAX_SUBSCRIPTIONS_PER_USER`, default 20; 0 off).
    pub max_subscriptions_per_user: usize,
    /// Jobs a `jobEvents(since:)` replays at most, the most recently changed (`JOB_EVENTS_REPLAY_MAX`, default 100).
    pub job_events_replay_max: u64,
    pub graphql_introspection: bool,
    pub access_token_ttl_secs: i64,
    pub refresh_token_ttl_secs: i64,
    /// How long a session check is trusted before the database is asked again.
    pub session_cache_secs: u64,
    /// Rows per database read of the audit CSV export (`AUDIT_EXPORT_PAGE_ROWS`, at least 1).
    pub audit_export_page_rows: u64,
    /// How long `/health/ready` trusts its last storage write probe (`HEALTH_STORAGE_PROBE_SECS`):
    /// however often it is called, storage sees at most one probe write per interval.
    pub health_storage_probe_secs: u64,
    pub max_body_bytes: usize,
    pub max_batch: usize,
    pub log_json: bool,
    /// zstd-compress stored documents (`STORAGE_COMPRESS`, default true).
    pub storage_compress: bool,
    /// Where documents live: unset for `$DATA_DIR/files`, or `s3://bucket/prefix` with the usual
    /// `AWS_*` variables (`AWS_ENDPOINT_URL` and `AWS_ALLOW_HTTP=true` for S3-compatible servers).
    pub storage_url: Option<String>,
    /// fsync each stored document before it is recorded (`STORAGE_FSYNC`, default on in production).
    pub storage_fsync: bool,
    /// AES-256-GCM keys for documents at rest, `kid:base64key,…`, the first one current (`STORAGE_ENCRYPTION_KEYS`; unset: no encryption).
    pub storage_encryption_keys: Option<Secret>,
    /// HMAC keys for download links, `kid:secret,…`, the first one current (`URL_SIGNING_KEYS`; generated once in development).
    pub url_signing_keys: Secret,
    /// How long a worker's claim on a job lasts without a heartbeat (`JOB_LEASE_SECS`, default 30).
    /// The worker renews it every third of that while it works, items included.
    pub job_lease_secs: u64,
    /// Turns a job may start without making progress before it fails (`JOB_MAX_ATTEMPTS`, default 5):
    /// each time its worker dies or loses it mid-turn, the next turn is another attempt.
    pub job_max_attempts: u32,
    /// Most policies one PDF or HTML report may cover (`REPORT_MAX_POLICIES`, default 10,000, as
    /// `generateDocuments`): such a template sees every row at once. XLSX reports stream, unbounded.
    pub report_max_policies: u64,
    /// Most policies one bordereau may declare (`DECLARATION_MAX_POLICIES`, default 10,000): it is
    /// sent whole, in one mail and one webhook body.
    pub declaration_max_policies: u64,
    /// Warm render child processes (`RENDER_WORKERS`, default 2).
    pub render_workers: usize,
    /// Wall-time budget of one render (`RENDER_TIMEOUT_SECS`, default 10).
    pub render_timeout_secs: u64,
    /// Render slots one organization holds at once (`RENDER_SLOTS_PER_ORGANIZATION`; default
    /// half of `RENDER_WORKERS`, rounded up); waiting organizations are served in turn.
    pub render_slots_per_organization: usize,
    /// Address-space limit of a render child (`RENDER_MEMORY_MB`, default 1024).
    pub render_memory_mb: u64,
    /// The executable to run as `render-worker` (`RENDER_WORKER_EXE`; default this binary).
    pub render_worker_exe: Option<PathBuf>,
    /// What one GraphQL operation may ask for.
    pub limits: Limits,
    /// Browser origins allowed to call the API with credentials (`CORS_ORIGINS`, comma-separated; none by default).
    pub cors_origins: Vec<String>,
    /// Refuse any operation not in the manifest (`PERSISTED_OPERATIONS_ONLY`, default false).
    pub persisted_operations_only: bool,
    /// The persisted-operations manifest (`PERSISTED_OPERATIONS_MANIFEST`): Apollo's
    /// `persisted-query-manifest.json` or a `{ "sha256": "query text" }` map from client codegen.
    pub persisted_operations_manifest: Option<PathBuf>,
    /// How long an automatic persisted query stays registered (`APQ_TTL_SECS`, default one day).
    pub apq_ttl_secs: u64,
    /// Largest uploaded file (`UPLOAD_MAX_BYTES`, default 5 MiB).
    pub upload_max_bytes: usize,
    /// Most files in one request (`UPLOAD_MAX_FILES`, default 10).
    pub upload_max_files: usize,
    /// Largest attachment (`ATTACHMENT_MAX_BYTES`, default 20 MiB): streamed to storage, never
    /// held in memory. A multipart request may carry one file this large beside the others.
    pub attachment_max_bytes: usize,
    /// SQL statements slower than this are logged at WARN (`SLOW_SQL_MS`, default 200; 0 off).
    pub slow_sql_ms: u64,
    /// GraphQL operations slower than this are logged at WARN (`SLOW_OPERATION_MS`, default 1000; 0 off).
    pub slow_operation_ms: u64,
    /// Mail delivery (`SMTP_URL`, `MAIL_FROM`, `MAIL_*`).
    pub mail: MailSettings,
    /// Insurer webhooks (`INTEGRATIONS_ALLOW_PRIVATE`, `INTEGRATION_*`).
    pub integrations: IntegrationSettings,
}

/// Insurer webhook delivery settings.
#[derive(Clone, Debug)]
pub struct IntegrationSettings {
    /// Let endpoints resolve to loopback, private (RFC 1918, fc00::/7), link-local and CGNAT
    /// addresses (`INTEGRATIONS_ALLOW_PRIVATE`, default false): for tests and on-premises
    /// insurers only. Unspecified, multicast and broadcast addresses are always refused.
    pub allow_private: bool,
    /// Connect and whole-request budget of one attempt (`INTEGRATION_TIMEOUT_SECS`, default 10).
    pub timeout_secs: u64,
    /// Attempts before a delivery is `FAILED` (`INTEGRATION_MAX_ATTEMPTS`, default 6).
    pub max_attempts: u32,
    /// The wait after the first failed attempt, in seconds, fractions allowed
    /// (`INTEGRATION_RETRY_BASE_SECS`, default 30); it doubles each attempt, at most one hour.
    pub retry_base_secs: f64,
}

impl IntegrationSettings {
    fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> anyhow::Result<IntegrationSettings> {
        let timeout_secs = parse(get, "INTEGRATION_TIMEOUT_SECS", 10u64)?;
        if !(1..=300).contains(&timeout_secs) {
            bail!("INTEGRATION_TIMEOUT_SECS must be between 1 and 300");
        }
        let max_attempts = parse(get, "INTEGRATION_MAX_ATTEMPTS", 6u32)?;
        if !(1..=50).contains(&max_attempts) {
            bail!("INTEGRATION_MAX_ATTEMPTS must be between 1 and 50");
        }
        let retry_base_secs = parse(get, "INTEGRATION_RETRY_BASE_SECS", 30f64)?;
        if !(retry_base_secs.is_finite() && (0.0..=3600.0).contains(&retry_base_secs)) {
            bail!("INTEGRATION_RETRY_BASE_SECS must be a number of seconds between 0 and 3600");
        }
        Ok(IntegrationSettings { allow_private: parse(get, "INTEGRATIONS_ALLOW_PRIVATE", false)?, timeout_secs, max_attempts, retry_base_secs })
    }
}

/// Mail delivery settings.
#[derive(Clone, Debug)]
pub struct MailSettings {
    /// The SMTP server (`SMTP_URL`); unset, messages stay `PENDING` and are logged (development).
    pub smtp: Option<SmtpServer>,
    /// The sender (`MAIL_FROM`, default `MonAssurance <no-reply@monassurance.local>`).
    pub from: String,
    /// The first retry's wait after a transient failure (`MAIL_RETRY_BASE_MS`, default 5000); it
    /// doubles each attempt, at most [`MailSettings::retry_max_ms`].
    pub retry_base_ms: u64,
    /// The longest wait between two attempts (`MAIL_RETRY_MAX_MS`, default 10 minutes).
    pub retry_max_ms: u64,
    /// Attempts before a message that keeps failing for transient reasons is `FAILED`
    /// (`MAIL_MAX_ATTEMPTS`, default 8).
    pub max_attempts: u32,
    /// How long a worker's claim on a message lasts (`MAIL_LEASE_SECS`, default 120): longer than
    /// one SMTP conversation (its timeouts are 30 s), so a live worker never loses a message it sends.
    pub lease_secs: u64,
}

/// How the SMTP connection is secured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain SMTP (`smtp://host:port`).
    None,
    /// STARTTLS, required (`?tls=starttls` or `?tls=required`).
    StartTls,
    /// STARTTLS when the server offers it (`?tls=opportunistic`).
    Opportunistic,
    /// TLS from the first byte (`smtps://`).
    Wrapper,
}

/// `SMTP_URL`, parsed.
#[derive(Clone, Debug)]
pub struct SmtpServer {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub user: Option<String>,
    pub password: Option<Secret>,
}

impl SmtpServer {
    /// `smtp://host:port`, `smtp://user:pass@host:587?tls=starttls`, `smtps://user:pass@host:465`.
    /// The error never repeats the value (it may hold a password).
    pub fn parse(value: &str) -> anyhow::Result<SmtpServer> {
        const SHAPE: &str = "expected smtp://host:port, smtp://user:pass@host:587?tls=starttls or smtps://user:pass@host:465";
        let url = url::Url::parse(value.trim()).map_err(|e| anyhow::anyhow!("SMTP_URL: not a valid URL ({e}); {SHAPE}"))?;
        let host = url.host_str().filter(|h| !h.is_empty()).ok_or_else(|| anyhow::anyhow!("SMTP_URL: no host; {SHAPE}"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
        let tls_param = url.query_pairs().find(|(k, _)| k == "tls").map(|(_, v)| v.to_ascii_lowercase());
        let tls = match (url.scheme(), tls_param.as_deref()) {
            ("smtp", None | Some("none") | Some("off")) => SmtpTls::None,
            ("smtp", Some("starttls") | Some("required")) => SmtpTls::StartTls,
            ("smtp", Some("opportunistic")) => SmtpTls::Opportunistic,
            ("smtps", None | Some("wrapper") | Some("tls")) => SmtpTls::Wrapper,
            ("smtp" | "smtps", Some(other)) => bail!("SMTP_URL: unknown tls=`{other}` (starttls, opportunistic or none); {SHAPE}"),
            (scheme, _) => bail!("SMTP_URL: unknown scheme `{scheme}`; {SHAPE}"),
        };
        let port = url.port().unwrap_or(match tls {
            SmtpTls::None => 25,
            SmtpTls::StartTls | SmtpTls::Opportunistic => 587,
            SmtpTls::Wrapper => 465,
        });
        let decode = |s: &str| url::form_urlencoded::parse(format!("x={s}").as_bytes()).next().map(|(_, v)| v.into_owned()).unwrap_or_default();
        let user = Some(url.username()).filter(|u| !u.is_empty()).map(|u| decode(&u.replace('+', "%2B")));
        let password = url.password().map(|p| Secret::new(decode(&p.replace('+', "%2B"))));
        if password.is_some() && user.is_none() {
            bail!("SMTP_URL: a password without a user name; {SHAPE}");
        }
        Ok(SmtpServer { host, port, tls, user, password })
    }
}

impl MailSettings {
    fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> anyhow::Result<MailSettings> {
        let smtp = get("SMTP_URL").map(|v| SmtpServer::parse(&v)).transpose()?;
        let from = get("MAIL_FROM").unwrap_or_else(|| "MonAssurance <no-reply@monassurance.local>".into());
        if from.parse::<lettre::message::Mailbox>().is_err() {
            bail!("MAIL_FROM: `{from}` is not an address (`name@domain` or `Name <name@domain>`)");
        }
        let max_attempts = parse(get, "MAIL_MAX_ATTEMPTS", 8u32)?;
        if max_attempts == 0 {
            bail!("MAIL_MAX_ATTEMPTS must be at least 1");
        }
        let retry_base_ms = parse(get, "MAIL_RETRY_BASE_MS", 5_000u64)?;
        let retry_max_ms = parse(get, "MAIL_RETRY_MAX_MS", 600_000u64)?;
        if retry_max_ms < retry_base_ms {
            bail!("MAIL_RETRY_MAX_MS ({retry_max_ms}) must not be less than MAIL_RETRY_BASE_MS ({retry_base_ms})");
        }
        let lease_secs = parse(get, "MAIL_LEASE_SECS", 120u64)?;
        if lease_secs < 5 {
            bail!("MAIL_LEASE_SECS must be at least 5 (one SMTP conversation must fit in the lease)");
        }
        Ok(MailSettings { smtp, from, retry_base_ms, retry_max_ms, max_attempts, lease_secs })
    }
}

/// Abuse limits, on by default; 0 turns one off.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Deepest selection nesting (`MAX_QUERY_DEPTH`, default 16).
    pub max_depth: usize,
    /// Highest cost, a connection's fields counted `first`/`last` times (`MAX_QUERY_COMPLEXITY`, default 5000).
    pub max_complexity: usize,
    /// Aliases in one operation, fragments included (`MAX_ALIASES`, default 30).
    pub max_aliases: usize,
    /// Top-level fields in one operation (`MAX_ROOT_FIELDS`, default 20).
    pub max_root_fields: usize,
    /// Directives on one field (`MAX_DIRECTIVES`, default 10).
    pub max_directives: usize,
    /// Lexical tokens in the query text (`MAX_QUERY_TOKENS`, default 5000).
    pub max_tokens: usize,
    /// Wall time for one operation (`REQUEST_TIMEOUT_SECS`, default 30).
    pub request_timeout_secs: u64,
}

impl Settings {
    /// The largest file a multipart request may carry: a template asset or an attachment (each
    /// resolver then holds its own files to its own limit).
    pub fn multipart_file_max(&self) -> usize {
        self.upload_max_bytes.max(self.attachment_max_bytes)
    }

    /// The most a multipart request may hold: its JSON, `UPLOAD_MAX_FILES` assets and one attachment.
    pub fn multipart_max(&self) -> usize {
        self.max_body_bytes
            .saturating_add(self.upload_max_bytes.saturating_mul(self.upload_max_files))
            .saturating_add(self.attachment_max_bytes)
            .saturating_add(64 * 1024)
    }

    /// Reads the process environment (after loading `.env` if present).
    pub fn from_env() -> anyhow::Result<Self> {
        let _ = dotenvy::dotenv();
        Self::from_lookup(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
    }

    /// Builds settings from any lookup (tests pass a map). A bad value fails with the variable's name.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let app_env = match get("APP_ENV").as_deref() {
            None | Some("development") | Some("dev") => AppEnv::Development,
            Some("production") | Some("prod") => AppEnv::Production,
            Some(other) => bail!("APP_ENV must be `development` or `production`, not `{other}`"),
        };
        let data_dir = PathBuf::from(get("DATA_DIR").unwrap_or_else(|| "./data".into()));
        let database_url = match get("DATABASE_URL") {
            Some(url) => url,
            None => {
                std::fs::create_dir_all(&data_dir)
                    .with_context(|| format!("DATA_DIR: cannot create {}", data_dir.display()))?;
                format!("sqlite://{}/monassurance.db?mode=rwc", data_dir.display())
            }
        };
        if !(database_url.starts_with("sqlite:") || database_url.starts_with("postgres")) {
            bail!("DATABASE_URL must be a sqlite:// or postgres:// URL");
        }
        let jwt_secret = match (get("JWT_SECRET"), app_env) {
            (Some(s), _) if s.len() >= 32 => s,
            (Some(_), _) => bail!("JWT_SECRET must be at least 32 bytes long"),
            (None, AppEnv::Production) => bail!("JWT_SECRET is required when APP_ENV=production (at least 32 bytes)"),
            (None, AppEnv::Development) => dev_secret(&data_dir, "dev_jwt_secret")?,
        };
        let introspection_default = app_env == AppEnv::Development;
        let url_signing_keys = match (get("URL_SIGNING_KEYS"), app_env) {
            (Some(k), _) => k,
            (None, AppEnv::Production) => bail!("URL_SIGNING_KEYS is required when APP_ENV=production (`kid:secret` pairs, secrets of at least 32 bytes)"),
            (None, AppEnv::Development) => format!("dev1:{}", dev_secret(&data_dir, "dev_url_signing_key")?),
        };
        let (job_lease_secs, render_timeout_secs): (u64, u64) = (parse(&get, "JOB_LEASE_SECS", 30)?, parse(&get, "RENDER_TIMEOUT_SECS", 10)?);
        if render_timeout_secs > job_lease_secs {
            // A render the lease cannot outlast would be the rule, not the exception: refuse it plainly.
            bail!(
                "RENDER_TIMEOUT_SECS ({render_timeout_secs}) must not exceed JOB_LEASE_SECS ({job_lease_secs}): \
                 a job's claim would expire during one render"
            );
        }
        if parse::<u32>(&get, "JOB_MAX_ATTEMPTS", 5)? == 0 {
            bail!("JOB_MAX_ATTEMPTS must be at least 1");
        }
        if parse(&get, "PERSISTED_OPERATIONS_ONLY", false)? && get("PERSISTED_OPERATIONS_MANIFEST").is_none() {
            bail!("PERSISTED_OPERATIONS_ONLY=true needs PERSISTED_OPERATIONS_MANIFEST (the manifest file client codegen produced)");
        }
        Ok(Settings {
            app_env,
            database_url: Secret::new(database_url),
            redis_url: get("REDIS_URL").map(Secret::new),
            redis_key_prefix: get("REDIS_KEY_PREFIX").unwrap_or_else(|| "ma:".into()),
            bind_addr: parse(&get, "BIND_ADDR", "127.0.0.1:8000".parse()?)?,
            jwt_secret: Secret::new(jwt_secret),
            scheduler_interval_secs: parse(&get, "SCHEDULER_INTERVAL_SECS", 60)?,
            workers: parse(&get, "WORKERS", std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2))?,
            public_base_url: get("PUBLIC_BASE_URL").map(|s| s.trim_end_matches('/').to_string()),
            rate_limit_rpm: parse(&get, "RATE_LIMIT_RPM", 1200)?,
            login_attempts_per_minute: parse(&get, "LOGIN_ATTEMPTS_PER_MINUTE", 10)?,
            ws_init_timeout_secs: parse(&get, "WS_INIT_TIMEOUT_SECS", 10)?,
            ws_max_operations: parse(&get, "WS_MAX_OPERATIONS", 50)?,
            trusted_proxies: trusted_proxies(get("TRUSTED_PROXIES").as_deref())?,
            memory_cache_max_bytes: parse(&get, "MEMORY_CACHE_MAX_BYTES", 64 * 1024 * 1024)?,
            max_subscriptions_per_user: parse(&get, "MAX_SUBSCRIPTIONS_PER_USER", 20)?,
            job_events_replay_max: match parse(&get, "JOB_EVENTS_REPLAY_MAX", 100)? {
                0 => bail!("JOB_EVENTS_REPLAY_MAX must be at least 1"),
                n => n,
            },
            graphql_introspection: parse(&get, "GRAPHQL_INTROSPECTION", introspection_default)?,
            access_token_ttl_secs: parse(&get, "ACCESS_TOKEN_TTL_SECS", 15 * 60)?,
            refresh_token_ttl_secs: parse(&get, "REFRESH_TOKEN_TTL_SECS", 30 * 24 * 3600)?,
            session_cache_secs: parse(&get, "SESSION_CACHE_SECS", 5)?,
            audit_export_page_rows: match parse(&get, "AUDIT_EXPORT_PAGE_ROWS", 500u64)? {
                0 => bail!("AUDIT_EXPORT_PAGE_ROWS must be at least 1"),
                rows => rows,
            },
            health_storage_probe_secs: parse(&get, "HEALTH_STORAGE_PROBE_SECS", 10)?,
            max_body_bytes: parse(&get, "MAX_BODY_BYTES", 2 * 1024 * 1024)?,
            max_batch: parse(&get, "MAX_BATCH", 10)?,
            log_json: get("LOG_FORMAT").as_deref() == Some("json"),
            storage_compress: parse(&get, "STORAGE_COMPRESS", true)?,
            storage_url: match get("STORAGE_URL") {
                Some(u) if u.starts_with("s3://") && u.len() > 5 => Some(u),
                Some(u) if u.starts_with("file://") || u.is_empty() => None,
                Some(u) => bail!("STORAGE_URL must be s3://bucket[/prefix], not `{u}`"),
                None => None,
            },
            storage_fsync: parse(&get, "STORAGE_FSYNC", app_env == AppEnv::Production)?,
            storage_encryption_keys: get("STORAGE_ENCRYPTION_KEYS").map(Secret::new),
            url_signing_keys: Secret::new(url_signing_keys),
            render_workers: parse(&get, "RENDER_WORKERS", 2)?,
            job_lease_secs,
            job_max_attempts: parse(&get, "JOB_MAX_ATTEMPTS", 5)?,
            report_max_policies: parse(&get, "REPORT_MAX_POLICIES", 10_000)?,
            declaration_max_policies: parse(&get, "DECLARATION_MAX_POLICIES", 10_000)?,
            render_timeout_secs,
            render_memory_mb: parse(&get, "RENDER_MEMORY_MB", 1024)?,
            render_slots_per_organization: match get("RENDER_SLOTS_PER_ORGANIZATION") {
                None => 0,
                Some(_) => match parse(&get, "RENDER_SLOTS_PER_ORGANIZATION", 0usize)? {
                    0 => bail!("RENDER_SLOTS_PER_ORGANIZATION must be at least 1 (unset: half of RENDER_WORKERS)"),
                    n => n,
                },
            },
            render_worker_exe: get("RENDER_WORKER_EXE").map(PathBuf::from),
            limits: Limits {
                max_depth: parse(&get, "MAX_QUERY_DEPTH", 16)?,
                max_complexity: parse(&get, "MAX_QUERY_COMPLEXITY", 5000)?,
                max_aliases: parse(&get, "MAX_ALIASES", 30)?,
                max_root_fields: parse(&get, "MAX_ROOT_FIELDS", 20)?,
                max_directives: parse(&get, "MAX_DIRECTIVES", 10)?,
                max_tokens: parse(&get, "MAX_QUERY_TOKENS", 5000)?,
                request_timeout_secs: parse(&get, "REQUEST_TIMEOUT_SECS", 30)?,
            },
            cors_origins: get("CORS_ORIGINS")
                .map(|v| v.split(',').map(|o| o.trim().trim_end_matches('/').to_string()).filter(|o| !o.is_empty()).collect())
                .unwrap_or_default(),
            persisted_operations_only: parse(&get, "PERSISTED_OPERATIONS_ONLY", false)?,
            persisted_operations_manifest: get("PERSISTED_OPERATIONS_MANIFEST").map(PathBuf::from),
            apq_ttl_secs: parse(&get, "APQ_TTL_SECS", 24 * 3600)?,
            upload_max_bytes: parse(&get, "UPLOAD_MAX_BYTES", 5 * 1024 * 1024)?,
            upload_max_files: parse(&get, "UPLOAD_MAX_FILES", 10)?,
            attachment_max_bytes: parse(&get, "ATTACHMENT_MAX_BYTES", 20 * 1024 * 1024)?,
            slow_sql_ms: parse(&get, "SLOW_SQL_MS", 200)?,
            slow_operation_ms: parse(&get, "SLOW_OPERATION_MS", 1000)?,
            mail: MailSettings::from_lookup(&get)?,
            integrations: IntegrationSettings::from_lookup(&get)?,
            data_dir,
        })
    }

    pub fn is_sqlite(&self) -> bool {
        self.database_url.expose().starts_with("sqlite:")
    }
}

fn parse<T: std::str::FromStr>(get: &impl Fn(&str) -> Option<String>, name: &str, default: T) -> anyhow::Result<T>
where
    T::Err: fmt::Display,
{
    match get(name) {
        None => Ok(default),
        Some(v) => v.trim().parse().map_err(|e| anyhow::anyhow!("{name}: invalid value `{v}`: {e}")),
    }
}

/// `TRUSTED_PROXIES`: CIDRs (`10.0.0.0/8`) or single addresses (`127.0.0.1`), comma-separated.
fn trusted_proxies(value: Option<&str>) -> anyhow::Result<Vec<ipnet::IpNet>> {
    let Some(value) = value else { return Ok(Vec::new()) };
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<ipnet::IpNet>()
                .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| anyhow::anyhow!("TRUSTED_PROXIES: `{s}` is not an address or a CIDR (e.g. 10.0.0.0/8)"))
        })
        .collect()
}

/// In development, a random secret generated once and kept in the data directory, readable by
/// its owner only: created with mode 0600 (never written first and narrowed after), and an
/// existing file left readable by others (an older version, a copy) is narrowed at start.
fn dev_secret(data_dir: &std::path::Path, name: &str) -> anyhow::Result<String> {
    let path = data_dir.join(name);
    if let Ok(s) = std::fs::read_to_string(&path) {
        let s = s.trim().to_string();
        if s.len() >= 32 {
            owner_only(&path)?;
            return Ok(s);
        }
    }
    std::fs::create_dir_all(data_dir).with_context(|| format!("DATA_DIR: cannot create {}", data_dir.display()))?;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret = hex::encode(bytes);
    let cannot_write = || format!("DATA_DIR: cannot write {}", path.display());
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&path).with_context(cannot_write)?;
    // A file that existed (too short a secret) keeps its mode through `open`: narrow it first.
    owner_only(&path)?;
    std::io::Write::write_all(&mut file, secret.as_bytes()).with_context(cannot_write)?;
    Ok(secret)
}

/// Makes a secret file readable and writable by its owner only (a no-op off Unix).
fn owner_only(path: &std::path::Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).with_context(|| format!("DATA_DIR: cannot read {}", path.display()))?.permissions().mode();
        if mode & 0o077 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                .with_context(|| format!("DATA_DIR: cannot restrict {} to its owner (mode 0600)", path.display()))?;
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> anyhow::Result<Settings> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Settings::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn production_without_jwt_secret_names_the_variable() {
        let dir = std::env::temp_dir().join(format!("ma-cfg-{}", uuid::Uuid::new_v4()));
        let err = settings(&[("APP_ENV", "production"), ("DATA_DIR", dir.to_str().unwrap())]).unwrap_err();
        assert!(err.to_string().contains("JWT_SECRET"), "{err}");
    }

    #[test]
    fn short_jwt_secret_is_refused() {
        let err = settings(&[("JWT_SECRET", "short"), ("DATABASE_URL", "sqlite::memory:")]).unwrap_err();
        assert!(err.to_string().contains("JWT_SECRET"));
    }

    #[test]
    fn dev_secret_is_generated_once_and_kept() {
        let dir = std::env::temp_dir().join(format!("ma-cfg-{}", uuid::Uuid::new_v4()));
        let a = settings(&[("DATA_DIR", dir.to_str().unwrap())]).unwrap();
        let b = settings(&[("DATA_DIR", dir.to_str().unwrap())]).unwrap();
        assert_eq!(a.jwt_secret.expose(), b.jwt_secret.expose());
        assert!(a.jwt_secret.expose().len() >= 32);
        assert!(a.is_sqlite());
        assert_eq!(a.bind_addr.to_string(), "127.0.0.1:8000");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn smtp_url_shapes_parse_and_a_bad_one_names_the_variable_without_the_password() {
        let secret = "x".repeat(40);
        let base = [("DATABASE_URL", "sqlite::memory:"), ("JWT_SECRET", secret.as_str())];
        let mail = |url: &str| settings(&[base[0], base[1], ("SMTP_URL", url)]).map(|s| s.mail.smtp.expect("smtp"));
        let plain = mail("smtp://mailpit:1025").unwrap();
        assert_eq!((plain.host.as_str(), plain.port, plain.tls, plain.user), ("mailpit", 1025, SmtpTls::None, None));
        let submission = mail("smtp://me%40acme.test:p%2Fss@mail.acme.test:587?tls=starttls").unwrap();
        assert_eq!((submission.port, submission.tls), (587, SmtpTls::StartTls));
        assert_eq!(submission.user.as_deref(), Some("me@acme.test"));
        assert_eq!(submission.password.map(|p| p.expose().to_string()).as_deref(), Some("p/ss"));
        let wrapped = mail("smtps://me:pw@mail.acme.test").unwrap();
        assert_eq!((wrapped.port, wrapped.tls), (465, SmtpTls::Wrapper));
        for bad in ["mail.acme.test:25", "http://me:hunter2@mail.acme.test", "smtp://me:hunter2@mail.acme.test?tls=maybe", "smtp://"] {
            let err = mail(bad).unwrap_err().to_string();
            assert!(err.contains("SMTP_URL") && !err.contains("hunter2"), "{bad}: {err}");
        }
        let err = settings(&[base[0], base[1], ("MAIL_FROM", "not an address")]).unwrap_err().to_string();
        assert!(err.contains("MAIL_FROM"), "{err}");
        let unset = settings(&base).unwrap();
        assert!(unset.mail.smtp.is_none());
        assert_eq!(unset.mail.max_attempts, 8);
    }

    #[test]
    fn bad_number_names_its_variable() {
        let err = settings(&[("DATABASE_URL", "sqlite::memory:"), ("JWT_SECRET", &"x".repeat(40)), ("WORKERS", "many")])
            .unwrap_err();
        assert!(err.to_string().contains("WORKERS"));
    }

    #[test]
    fn a_render_budget_longer_than_the_job_lease_names_both_variables() {
        let secret = "x".repeat(40);
        let base = [("DATABASE_URL", "sqlite::memory:"), ("JWT_SECRET", secret.as_str())];
        let err = settings(&[base[0], base[1], ("JOB_LEASE_SECS", "5"), ("RENDER_TIMEOUT_SECS", "6")]).unwrap_err().to_string();
        assert!(err.contains("RENDER_TIMEOUT_SECS") && err.contains("JOB_LEASE_SECS"), "{err}");
        // The defaults (30 s and 10 s) fit.
        assert!(settings(&base).is_ok());
        let err = settings(&[base[0], base[1], ("JOB_MAX_ATTEMPTS", "0")]).unwrap_err().to_string();
        assert!(err.contains("JOB_MAX_ATTEMPTS"), "{err}");
    }

    #[test]
    fn zero_replay_or_render_share_names_its_variable() {
        let secret = "x".repeat(40);
        let base = [("DATABASE_URL", "sqlite::memory:"), ("JWT_SECRET", secret.as_str())];
        for name in ["JOB_EVENTS_REPLAY_MAX", "RENDER_SLOTS_PER_ORGANIZATION", "MAX_SUBSCRIPTIONS_PER_USER"] {
            let value = if name == "MAX_SUBSCRIPTIONS_PER_USER" { "-1" } else { "0" };
            let vars: Vec<(&str, &str)> = base.iter().copied().chain([(name, value)]).collect();
            let err = settings(&vars).unwrap_err();
            assert!(err.to_string().contains(name), "{name}: {err}");
        }
    }

    #[test]
    fn integration_settings_parse_and_a_bad_one_names_its_variable() {
        let secret = "x".repeat(40);
        let base = [("DATABASE_URL", "sqlite::memory:"), ("JWT_SECRET", secret.as_str())];
        let defaults = settings(&base).unwrap().integrations;
        assert!(!defaults.allow_private);
        assert_eq!((defaults.timeout_secs, defaults.max_attempts, defaults.retry_base_secs), (10, 6, 30.0));
        let set = settings(&[base[0], base[1], ("INTEGRATIONS_ALLOW_PRIVATE", "true"), ("INTEGRATION_RETRY_BASE_SECS", "0.05")]).unwrap();
        assert!(set.integrations.allow_private);
        assert_eq!(set.integrations.retry_base_secs, 0.05);
        for (name, value) in [
            ("INTEGRATIONS_ALLOW_PRIVATE", "yes"),
            ("INTEGRATION_TIMEOUT_SECS", "0"),
            ("INTEGRATION_MAX_ATTEMPTS", "0"),
            ("INTEGRATION_RETRY_BASE_SECS", "-1"),
            ("INTEGRATION_RETRY_BASE_SECS", "NaN"),
        ] {
            let err = settings(&[base[0], base[1], (name, value)]).unwrap_err().to_string();
            assert!(err.contains(name), "{name}={value}: {err}");
        }
    }

    #[test]
    fn secrets_do_not_print() {
        assert_eq!(format!("{:?}", Secret::new("hunter2")), "Secret(***)");
    }
}
