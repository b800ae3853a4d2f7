namespace CardKeep.Server.Hosting;

/// <summary>
/// Server settings, bound from configuration (lowest to highest precedence: DATA/appsettings.json, --config FILE,
/// CARDKEEP_* environment variables with __ for sections, command-line flags). See docs/server.md.
/// </summary>
public sealed class ServerOptions
{
    /// <summary>Data folder: database, secrets, admin token, server certificates. Default $CARDKEEP_HOME/server.</summary>
    public string? DataDirectory { get; set; }

    /// <summary>Empty: SQLite file DATA/cardkeep.db. "Host=…": PostgreSQL. "Data Source=FILE": another SQLite file.</summary>
    public string? Database { get; set; }

    /// <summary>Where server-R.crt/.key and server-E.crt/.key are; default the data folder.</summary>
    public string? CertificateDirectory { get; set; }

    /// <summary>Listen addresses; default http://127.0.0.1:5080.</summary>
    public string Urls { get; set; } = "http://127.0.0.1:5080";

    /// <summary>"simple" (default) or "json" console logs.</summary>
    public string LogFormat { get; set; } = "simple";

    /// <summary>Database timeouts and the 503 answer while the database is unavailable.</summary>
    public StorageOptions Storage { get; set; } = new();

    /// <summary>Relocation of users to the regional deployment they connect from (off unless Region is set).</summary>
    public Relocation.RelocationOptions Relocation { get; set; } = new();

    /// <summary>Registration settings.</summary>
    public RegistrationOptions Registration { get; set; } = new();

    /// <summary>Accounts, access keys and recovery (docs/recovery.md).</summary>
    public Accounts.AccountOptions Accounts { get; set; } = new();

    /// <summary>Session settings.</summary>
    public SessionOptions Sessions { get; set; } = new();

    /// <summary>Rate limits.</summary>
    public RateLimitOptions RateLimits { get; set; } = new();

    /// <summary>Application servers by name: what entitlements refer to and where the gateway forwards.</summary>
    public Dictionary<string, ApplicationOptions> Applications { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Agent settings sent to every client as an agent_settings instruction.</summary>
    public Dictionary<string, string> Agent { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Personal environment (encrypted records): quotas.</summary>
    public Records.RecordOptions Records { get; set; } = new();
}

/// <summary>Database timeouts and availability checks.</summary>
public sealed class StorageOptions
{
    /// <summary>PostgreSQL: give up connecting after this many seconds (unless the connection string sets Timeout).</summary>
    public int ConnectTimeoutSeconds { get; set; } = 3;

    /// <summary>PostgreSQL statement timeout (unless the connection string sets Command Timeout); SQLite busy timeout.</summary>
    public int CommandTimeoutSeconds { get; set; } = 10;

    /// <summary>How often the server checks whether an unavailable or read-only database came back (and migrates it then).</summary>
    public double ProbeSeconds { get; set; } = 2;

    /// <summary>The Retry-After of a 503.</summary>
    public int RetryAfterSeconds { get; set; } = 5;
}

/// <summary>Registration settings.</summary>
public sealed class RegistrationOptions
{
    /// <summary>Whether REG2 must carry a valid one-time activation code (default true; W9).</summary>
    public bool RequireActivationCode { get; set; } = true;

    /// <summary>Template fields asked for (whitelist: display_name, email, host, location, os); default "host".</summary>
    public List<string> TemplateFields { get; set; } = [];

    /// <summary>SSK lifetime.</summary>
    public int SskLifetimeDays { get; set; } = 365;

    /// <summary>Default activation code lifetime.</summary>
    public int ActivationCodeHours { get; set; } = 72;

    /// <summary>Access path sent in REG3; {user} is replaced by the user name.</summary>
    public string AccessPath { get; set; } = "/users/{user}";

    /// <summary>Most registrations waiting for REG2 or REG4 at once.</summary>
    public int MaxPending { get; set; } = 10_000;
}

/// <summary>Session settings.</summary>
public sealed class SessionOptions
{
    /// <summary>Send PSK_ONLY challenges (no forward secrecy). Off by default.</summary>
    public bool PskOnly { get; set; }

    /// <summary>Consecutive failed session attempts that lock a token.</summary>
    public int LockAfterFailures { get; set; } = 10;

    /// <summary>An established session ends after this long without a record.</summary>
    public int IdleMinutes { get; set; } = 15;

    /// <summary>How long a Config document is valid.</summary>
    public int ConfigValidityMinutes { get; set; } = 60;

    /// <summary>Most challenges and sessions held at once.</summary>
    public int MaxPending { get; set; } = 100_000;
}

/// <summary>Rate limits (fixed one-minute windows; 0 disables a limit).</summary>
public sealed class RateLimitOptions
{
    /// <summary>Registration requests (REG1, REG2, REG4) per client IP per minute.</summary>
    public int RegistrationPerIpPerMinute { get; set; } = 60;

    /// <summary>REG2s per user name per hour.</summary>
    public int RegistrationPerUserPerHour { get; set; } = 20;

    /// <summary>Session requests (S1, S2, S4) per client IP per minute.</summary>
    public int SessionPerIpPerMinute { get; set; } = 600;

    /// <summary>S2s per token per minute.</summary>
    public int SessionPerUserPerMinute { get; set; } = 120;
}

/// <summary>One application server.</summary>
public sealed class ApplicationOptions
{
    /// <summary>Base URL the gateway forwards to (http or https).</summary>
    public string? Upstream { get; set; }

    /// <summary>Human description.</summary>
    public string? Description { get; set; }

    /// <summary>Profile settings sent in the app_profile instruction.</summary>
    public Dictionary<string, string> Settings { get; set; } = new(StringComparer.Ordinal);
}
