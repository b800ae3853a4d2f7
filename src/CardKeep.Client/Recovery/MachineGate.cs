using System.Globalization;
using System.Security.Cryptography;
using CardKeep.Protocol.Recovery;

namespace CardKeep.Client.Recovery;

/// <summary>What the gate decided, the message for the user, and (once) the new access key after one was used.</summary>
public sealed record GateOutcome(bool Allowed, string Message, string? NewAccessKey = null, bool LockedOut = false);

/// <summary>
/// The gate's decisions without a card: an access key (checked against the local verifiers, else online against the
/// server, then rotated so it opens nothing again) or the emergency kit with its passphrase. Every attempt runs under
/// the store's lock, counts failures in the store (<see cref="GatePolicy"/>) before answering, and never shows the
/// secret it was given. The card check itself is <see cref="CardCheck"/>.
/// </summary>
public sealed class MachineGate
{
    private const int MaxUsedKeysKept = 16;
    private const int MaxDelayFactor = 5;

    private readonly MachineStore _store;
    private readonly TimeProvider _clock;
    private readonly Func<MachineBinding, MachineServerClient> _server;

    public MachineGate(MachineStore store, TimeProvider? clock = null, Func<MachineBinding, MachineServerClient>? server = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        _store = store;
        _clock = clock ?? TimeProvider.System;
        _server = server ?? (binding => new MachineServerClient(binding));
    }

    /// <summary>The message urging a new card, shown after every login without one.</summary>
    public const string GetNewCard = "Your card was not used: if it is lost, get a new card now ('cardkeep account replace-card').";

    /// <summary>
    /// Checks <paramref name="accessKeyText"/>: with the recovery server when one answers (it knows keys issued by a
    /// recovery from another computer, and cancels keys this computer still knows), else against the local verifiers.
    /// When it opens this computer, rotates it: the server issues a new key
    /// (or, when no server answers, this computer makes one and owes the server a rotation), the used key's verifier is
    /// kept in <see cref="MachineBinding.UsedAccessKeys"/> so it is refused here even while the server's grace period
    /// still accepts it, and the new key is returned once in <see cref="GateOutcome.NewAccessKey"/>.
    /// </summary>
    public async Task<GateOutcome> WithAccessKeyAsync(string accessKeyText, CancellationToken cancellationToken = default)
    {
        using var held = _store.Lock();
        var binding = _store.Load();
        if (Locked(binding) is { } locked)
        {
            return locked;
        }

        if (!AccessKey.TryParse(accessKeyText, out var parsed, out string error))
        {
            return await FailAsync(binding, error, cancellationToken).ConfigureAwait(false);
        }

        using var key = parsed!;
        if (MachineSecrets.Match(key, binding.UsedAccessKeys) is not null)
        {
            return await FailAsync(binding, "this access key was already used and has been replaced", cancellationToken).ConfigureAwait(false);
        }

        using var server = _server(binding);
        string? local = MachineSecrets.Match(key, binding.AccessKeys);
        string how = "checked on this computer";
        if (local is not null && binding.State.ServerRotationPending)
        {
            // This computer made the key while no server answered: the server has never seen it. The rotation below
            // gives the server its key back.
            how = "checked on this computer (made here while no recovery server answered)";
        }
        else if (binding.ServerUrls.Count > 0)
        {
            // The server is the authority when it answers: a recovery or a replacement elsewhere cancels the key this
            // computer still knows, and issues one it does not know yet. When no server answers, the local verifier decides.
            try
            {
                var check = await server.VerifyAsync(key.ToString(), cancellationToken).ConfigureAwait(false);
                if (!check.Valid)
                {
                    if (local is not null)
                    {
                        binding = binding with { AccessKeys = [.. binding.AccessKeys.Where(v => v != local)] };
                    }

                    return await FailAsync(binding, local is null ? "the access key is wrong" : "this access key was cancelled on the recovery server (a newer one was issued)",
                        cancellationToken).ConfigureAwait(false);
                }

                how = "checked by the recovery server";
            }
            catch (MachineServerException e) when (local is not null && e.Unreachable)
            {
                how = "checked on this computer; no recovery server answered";
            }
            catch (MachineServerException e)
            {
                return await FailAsync(binding, e.Unreachable
                    ? "the access key is not this computer's, and no recovery server could be asked about a newer one"
                    : "the access key is wrong (" + e.Message + ")", cancellationToken).ConfigureAwait(false);
            }
        }
        else if (local is null)
        {
            return await FailAsync(binding, "the access key is wrong", cancellationToken).ConfigureAwait(false);
        }

        string? newKey = null;
        bool pending = false;
        try
        {
            newKey = await server.RotateAsync(cancellationToken).ConfigureAwait(false);
            if (!AccessKey.TryParse(newKey, out var check, out _))
            {
                newKey = null;
            }

            check?.Dispose();
        }
        catch (MachineServerException)
        {
            newKey = null;
        }

        if (newKey is null)
        {
            using var random = RandomNumberGenerator.Create();
            using var generated = AccessKey.Generate(random);
            newKey = generated.ToString();
            pending = true;
        }

        string usedVerifier;
        using (var random = RandomNumberGenerator.Create())
        {
            usedVerifier = AccessKeyVerifier.Create(key, random);
        }

        using var fresh = ParseOwn(newKey);
        var updated = binding.WithAccessKey(fresh) with
        {
            UsedAccessKeys = [.. binding.UsedAccessKeys.TakeLast(MaxUsedKeysKept - 1), usedVerifier],
            Throttle = new GateThrottle(),
            State = binding.State with { CardLost = true, ServerRotationPending = pending, Changed = _clock.GetUtcNow() },
        };
        _store.Save(updated);
        string note = pending ? " No recovery server answered: this new key works on this computer only until the server rotates it." : "";
        return new GateOutcome(true, $"Access key accepted ({how}). {GetNewCard} The access key you used no longer works.{note}", newKey);
    }

    /// <summary>Opens <paramref name="kit"/> with <paramref name="passphrase"/> and checks it is this computer's current kit.</summary>
    public async Task<GateOutcome> WithKitAsync(EmergencyKit kit, ReadOnlyMemory<byte> passphrase, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(kit);
        using var held = _store.Lock();
        var binding = _store.Load();
        if (Locked(binding) is { } locked)
        {
            return locked;
        }

        if (binding.Kit is null || kit.KitId != binding.Kit.KitId || kit.User != binding.User || kit.MachineId != binding.MachineId)
        {
            return new GateOutcome(false, "this emergency kit is not the current kit of this computer and user (a newer kit cancels older ones)");
        }

        byte[] secret;
        try
        {
            secret = kit.Open(passphrase.Span);
        }
        catch (EmergencyKitException e)
        {
            return await FailAsync(binding, e.Message, cancellationToken).ConfigureAwait(false);
        }

        try
        {
            if (!MachineSecrets.KitMatches(binding.Kit, secret))
            {
                return await FailAsync(binding, "the emergency kit does not match this computer's record", cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(secret);
        }

        _store.Save(binding with { Throttle = new GateThrottle(), State = binding.State with { CardLost = true, Changed = _clock.GetUtcNow() } });
        return new GateOutcome(true, $"Emergency kit accepted. {GetNewCard}");
    }

    private GateOutcome? Locked(MachineBinding binding)
    {
        var now = _clock.GetUtcNow();
        return binding.Throttle.LockedUntil is { } until && until > now
            ? new GateOutcome(false, string.Create(CultureInfo.InvariantCulture,
                $"too many wrong attempts: locked until {until.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC ({Math.Ceiling((until - now).TotalSeconds)} s); the card still works"), LockedOut: true)
            : null;
    }

    private async Task<GateOutcome> FailAsync(MachineBinding binding, string reason, CancellationToken cancellationToken)
    {
        var policy = binding.Policy;
        int failures = binding.Throttle.Failures + 1;
        DateTimeOffset? lockedUntil = failures >= policy.LockAfterFailures ? _clock.GetUtcNow().AddSeconds(policy.LockoutSeconds) : null;
        // A lock that ran out starts a new count: the next failure after it locks again only after the full count.
        _store.Save(binding with { Throttle = new GateThrottle { Failures = lockedUntil is null ? failures : 0, LockedUntil = lockedUntil } });
        await Task.Delay(TimeSpan.FromMilliseconds((double)policy.FailureDelayMilliseconds * Math.Min(failures, MaxDelayFactor)), _clock, cancellationToken)
            .ConfigureAwait(false);
        string message = lockedUntil is null
            ? string.Create(CultureInfo.InvariantCulture, $"{reason} ({failures} of {policy.LockAfterFailures} attempts before a lockout)")
            : string.Create(CultureInfo.InvariantCulture, $"{reason}; {failures} wrong attempts: locked for {policy.LockoutSeconds} s");
        return new GateOutcome(false, message, LockedOut: lockedUntil is not null);
    }

    private static AccessKey ParseOwn(string text) =>
        AccessKey.TryParse(text, out var key, out string error) ? key! : throw new InvalidOperationException("a new access key did not parse: " + error);
}
