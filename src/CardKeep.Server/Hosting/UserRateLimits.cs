using System.Threading.RateLimiting;

namespace CardKeep.Server.Hosting;

/// <summary>Per-user limits, applied inside the protocol once the user (REG2) or token (S2) is known (S5 of the spec).</summary>
public sealed class UserRateLimits : IDisposable
{
    private readonly PartitionedRateLimiter<string> _registration;
    private readonly PartitionedRateLimiter<string> _session;

    /// <summary>Creates the limiters from <paramref name="options"/>.</summary>
    public UserRateLimits(RateLimitOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _registration = Create(options.RegistrationPerUserPerHour, TimeSpan.FromHours(1));
        _session = Create(options.SessionPerUserPerMinute, TimeSpan.FromMinutes(1));
    }

    /// <summary>Takes one registration permit for <paramref name="username"/>.</summary>
    public bool TryRegistration(string username) => TryAcquire(_registration, username);

    /// <summary>Takes one session permit for <paramref name="key"/> (the token).</summary>
    public bool TrySession(string key) => TryAcquire(_session, key);

    private static bool TryAcquire(PartitionedRateLimiter<string> limiter, string key)
    {
        using var lease = limiter.AttemptAcquire(key);
        return lease.IsAcquired;
    }

    internal static PartitionedRateLimiter<string> Create(int permits, TimeSpan window) =>
        PartitionedRateLimiter.Create<string, string>(key => permits <= 0
            ? RateLimitPartition.GetNoLimiter(key)
            : RateLimitPartition.GetFixedWindowLimiter(key, _ => new FixedWindowRateLimiterOptions { PermitLimit = permits, Window = window, QueueLimit = 0 }));

    /// <inheritdoc/>
    public void Dispose()
    {
        _registration.Dispose();
        _session.Dispose();
    }
}
