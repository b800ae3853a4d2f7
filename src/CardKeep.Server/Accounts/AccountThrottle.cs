using System.Text.Json;
using CardKeep.Server.Storage;
using Microsoft.Extensions.Logging;

namespace CardKeep.Server.Accounts;

/// <summary>
/// Consecutive-failure lockout per account and per source address, for one kind of secret ("password" or
/// "access-key"), kept in the database so every server sharing it agrees.
/// </summary>
public sealed class AccountThrottle(IServerStore store, AccountOptions options, TimeProvider clock, ILogger<AccountThrottle> logger)
{
    /// <summary>Recovery passwords (and challenge answers).</summary>
    public const string Password = "password";

    /// <summary>Access keys.</summary>
    public const string AccessKey = "access-key";

    private static string[] Subjects(string kind, string username, string? ip) => [$"user:{username}:{kind}", $"ip:{ip ?? "unknown"}:{kind}"];

    /// <summary>How long the account or the address stays locked (null when neither is).</summary>
    public async Task<TimeSpan?> LockedForAsync(string kind, string username, string? ip, CancellationToken cancellationToken)
    {
        long now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        var rows = await store.GetThrottleAsync(Subjects(kind, username, ip), cancellationToken).ConfigureAwait(false);
        long until = rows.Count == 0 ? 0 : rows.Max(r => r.LockedUntil);
        return until > now ? TimeSpan.FromMilliseconds(until - now) : null;
    }

    /// <summary>Counts a failure on both subjects; returns the lockout length when this failure started one.</summary>
    public async Task<TimeSpan?> FailureAsync(string kind, string username, string? ip, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var lockout = TimeSpan.FromMinutes(options.LockoutMinutes);
        var until = now + lockout;
        TimeSpan? started = null;
        foreach (var subject in Subjects(kind, username, ip))
        {
            if (await store.RecordFailureAsync(subject, Math.Max(1, options.LockAfterFailures), until.ToUnixTimeMilliseconds(), now.ToUnixTimeMilliseconds(),
                (now - lockout).ToUnixTimeMilliseconds(), cancellationToken).ConfigureAwait(false))
            {
                started = lockout;
                AccountLog.Lockout(logger, subject, kind, until);
                if (subject.StartsWith("user:", StringComparison.Ordinal))
                {
                    // A notice the user sees in the portal; a no-op when the account does not exist.
                    await store.AppendAuditAsync(username, [new AuditEvent("signin-failed-lockout", JsonSerializer.Serialize(new { kind, ip, until = until.ToString("O") }))],
                        now.ToUnixTimeMilliseconds(), cancellationToken).ConfigureAwait(false);
                }
            }
        }

        return started;
    }

    /// <summary>
    /// Clears the account's count after a success. The address's count is not cleared (a success on one's own account
    /// must not reset guessing at others); it is forgotten after a lockout period without failures.
    /// </summary>
    public Task SuccessAsync(string kind, string username, CancellationToken cancellationToken) =>
        store.ResetFailuresAsync(Subjects(kind, username, null)[0], cancellationToken);
}
