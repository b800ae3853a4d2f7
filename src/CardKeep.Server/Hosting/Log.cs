using Microsoft.Extensions.Logging;

namespace CardKeep.Server.Hosting;

/// <summary>Every log line of the server. Never a key, an SSK, an activation code, a PIN or a token: identifiers only.</summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "Storage {Backend} at schema version {Version}")]
    public static partial void StorageReady(ILogger logger, string backend, int version);

    [LoggerMessage(2, LogLevel.Warning, "No server certificate in {Directory}: registration and sessions are refused until 'cardkeep issuer sign-server' has written one")]
    public static partial void NoServerKeys(ILogger logger, string directory);

    [LoggerMessage(3, LogLevel.Information, "Suite {Suite} ready: server id {ServerId}, certificate valid until {NotAfter:u}")]
    public static partial void SuiteReady(ILogger logger, char suite, string serverId, DateTime notAfter);

    [LoggerMessage(4, LogLevel.Information, "Admin token file {Path} (send its contents as 'Authorization: Bearer …'); server secret loaded ({Bits}-bit keys)")]
    public static partial void AdminTokenFile(ILogger logger, string path, int bits);

    [LoggerMessage(10, LogLevel.Information, "TRK1 {Step} refused from {Remote}: {Failure} ({Detail})")]
    public static partial void Refused(ILogger logger, string step, string? remote, string failure, string detail);

    [LoggerMessage(11, LogLevel.Error, "TRK1 {Step} failed inside the server")]
    public static partial void InternalError(ILogger logger, string step, Exception exception);

    [LoggerMessage(20, LogLevel.Information, "Registered user {User}: token {HandlePrefix}…, suite {Suite}")]
    public static partial void Registered(ILogger logger, string user, string handlePrefix, char suite);

    [LoggerMessage(21, LogLevel.Information, "Activation code issued for {User}, valid until {ExpiresAt:u}")]
    public static partial void ActivationCodeIssued(ILogger logger, string user, DateTimeOffset expiresAt);

    [LoggerMessage(30, LogLevel.Information, "Session established for {User} (token {HandlePrefix}…, mode {Mode})")]
    public static partial void SessionEstablished(ILogger logger, string user, string handlePrefix, string mode);

    [LoggerMessage(31, LogLevel.Warning, "Token {HandlePrefix}… failed a session attempt ({Count} in a row)")]
    public static partial void SessionFailure(ILogger logger, string handlePrefix, int count);

    [LoggerMessage(32, LogLevel.Information, "Configuration policy {PolicyVersion} sent to {User} at {Location}: {Instructions} instructions")]
    public static partial void ConfigSent(ILogger logger, string user, long policyVersion, string? location, int instructions);

    [LoggerMessage(40, LogLevel.Information, "Entitlement {Application} granted to {User} (policy {PolicyVersion})")]
    public static partial void Granted(ILogger logger, string user, string application, long policyVersion);

    [LoggerMessage(41, LogLevel.Information, "Entitlement {Application} revoked from {User} (policy {PolicyVersion})")]
    public static partial void Revoked(ILogger logger, string user, string application, long policyVersion);

    [LoggerMessage(50, LogLevel.Information, "Gateway: {User} {Method} {Application}{Path} -> {Status}")]
    public static partial void Forwarded(ILogger logger, string user, string method, string application, string path, int status);

    [LoggerMessage(51, LogLevel.Warning, "Gateway: {User} refused for {Application} ({Reason})")]
    public static partial void GatewayRefused(ILogger logger, string user, string application, string reason);

    [LoggerMessage(60, LogLevel.Warning, "Admin request refused: missing or wrong admin token from {Remote}")]
    public static partial void AdminRefused(ILogger logger, string? remote);

    [LoggerMessage(70, LogLevel.Warning, "Storage {Backend} unavailable: {Reason}; answering 503 (Retry-After {RetryAfter} s) until it is back")]
    public static partial void StorageUnavailable(ILogger logger, string backend, string reason, int retryAfter);

    [LoggerMessage(71, LogLevel.Information, "Storage {Backend} is back and writable")]
    public static partial void StorageBack(ILogger logger, string backend);

    [LoggerMessage(72, LogLevel.Warning, "{Method} {Path} met an unavailable database: {Reason}; answered 503")]
    public static partial void StorageFailed(ILogger logger, string method, string path, string reason);

    [LoggerMessage(73, LogLevel.Critical, "Stopping: {Message}")]
    public static partial void SchemaTooNew(ILogger logger, string message);

    [LoggerMessage(80, LogLevel.Information, "Relocated {User} to region {Region}: {Rows} rows copied, verified, handed over")]
    public static partial void Relocated(ILogger logger, string user, string region, int rows);

    [LoggerMessage(81, LogLevel.Warning, "Relocation of {User} to region {Region} rolled back: the target stored other rows than sent")]
    public static partial void RelocationRolledBack(ILogger logger, string user, string region);

    [LoggerMessage(82, LogLevel.Warning, "Relocation interrupted ({Kind}: {Message}); resumed at the next check")]
    public static partial void RelocationInterrupted(ILogger logger, string kind, string message);
}
