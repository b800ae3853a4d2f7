using System.Text.Json.Serialization;

namespace CardKeep.Client.Recovery;

/// <summary>
/// What this computer knows about its card holder: the binding the gate decides logins with. It lives in the
/// <see cref="MachineStore"/> (root-only, encrypted and authenticated). Never holds an access key or a kit secret, only
/// their verifiers. Records are immutable: change one with <c>with</c> and <see cref="MachineStore.Save"/> it, or use
/// <see cref="MachineStore.Update"/>.
/// </summary>
public sealed record MachineBinding
{
    /// <summary>Format version of the binding (1).</summary>
    public int Version { get; init; } = 1;

    /// <summary>The recovery server(s), first preferred (e.g. <c>http://127.0.0.1:5080</c>).</summary>
    public IReadOnlyList<string> ServerUrls { get; init; } = [];

    /// <summary>The id the server gave this computer when it was registered.</summary>
    public string MachineId { get; init; } = "";

    /// <summary>The computer's serial number as the user entered it at registration.</summary>
    public string MachineSerial { get; init; } = "";

    /// <summary>The secret this computer authenticates to the server with (base64; sent only to the server).</summary>
    public string MachineSecret { get; init; } = "";

    /// <summary>The local account the gate applies to (PAM_USER); other users pass the gate untouched.</summary>
    public string User { get; init; } = "";

    /// <summary>The server's account name of the card holder, when it differs from <see cref="User"/>.</summary>
    public string? Account { get; init; }

    /// <summary>The registered card, or null when none is (card revoked, replacement pending).</summary>
    public RegisteredCard? Card { get; init; }

    /// <summary>
    /// Verifiers of the access keys that open this computer (normally one), in the server's format
    /// (<see cref="CardKeep.Protocol.Recovery.AccessKeyVerifier"/>: <c>pbkdf2-sha256$ITERATIONS$SALT$HASH</c>).
    /// </summary>
    public IReadOnlyList<string> AccessKeys { get; init; } = [];

    /// <summary>Verifiers of access keys already used here: refused even while the server still accepts them.</summary>
    public IReadOnlyList<string> UsedAccessKeys { get; init; } = [];

    /// <summary>The emergency kit's verifier, when a kit was made for this computer.</summary>
    public KitVerifier? Kit { get; init; }

    /// <summary>Login state: card reported lost, rotation still owed to the server.</summary>
    public MachineState State { get; init; } = new();

    /// <summary>How hard the gate brakes guessing at this computer.</summary>
    public GatePolicy Policy { get; init; } = new();

    /// <summary>Consecutive failed access-key or kit attempts at this computer, and the lock they caused.</summary>
    public GateThrottle Throttle { get; init; } = new();
}

/// <summary>
/// A registered card: its serial (GET SERIAL, else the CHUID card UUID as <c>uuid:…</c>) and the DER
/// SubjectPublicKeyInfo of its PIV Authentication (9A) key and, when it has one, its Card Authentication (9E) key.
/// </summary>
public sealed record RegisteredCard(string Serial, string AuthenticationKey, string? CardAuthenticationKey)
{
    /// <summary>The 9A key as DER SPKI bytes.</summary>
    [JsonIgnore]
    public ReadOnlyMemory<byte> AuthenticationKeyBytes => Convert.FromBase64String(AuthenticationKey);

    /// <summary>The 9E key as DER SPKI bytes, or empty.</summary>
    [JsonIgnore]
    public ReadOnlyMemory<byte> CardAuthenticationKeyBytes => CardAuthenticationKey is null ? ReadOnlyMemory<byte>.Empty : Convert.FromBase64String(CardAuthenticationKey);

    /// <summary>A registered card from DER SPKI bytes.</summary>
    public static RegisteredCard From(string serial, ReadOnlySpan<byte> authenticationKeySpki, ReadOnlySpan<byte> cardAuthenticationKeySpki) =>
        new(serial, Convert.ToBase64String(authenticationKeySpki),
            cardAuthenticationKeySpki.IsEmpty ? null : Convert.ToBase64String(cardAuthenticationKeySpki));
}

/// <summary>The emergency kit this computer accepts: its id and the SHA-256 of the kit's 256-bit random secret (base64).</summary>
public sealed record KitVerifier(string KitId, string SecretHash, DateTimeOffset Created);

/// <summary>Login state the gate reports and acts on.</summary>
public sealed record MachineState
{
    /// <summary>The user got in without the card (access key or kit): the gate urges a new card at every login.</summary>
    public bool CardLost { get; init; }

    /// <summary>An access key was used while the server could not be reached: its rotation there is still owed.</summary>
    public bool ServerRotationPending { get; init; }

    /// <summary>When the state last changed.</summary>
    public DateTimeOffset? Changed { get; init; }
}

/// <summary>Local brute-force brake: consecutive failures and the time until which every attempt is refused.</summary>
public sealed record GateThrottle
{
    public int Failures { get; init; }

    public DateTimeOffset? LockedUntil { get; init; }
}

/// <summary>
/// The gate's brake on guessing at this computer (the server throttles its own checks separately): every failed access
/// key or kit passphrase waits <see cref="FailureDelayMilliseconds"/> × the number of consecutive failures (at most 5×),
/// and <see cref="LockAfterFailures"/> consecutive failures refuse every attempt for <see cref="LockoutSeconds"/>, even
/// the right one. The card still opens the computer during a lockout.
/// </summary>
public sealed record GatePolicy
{
    public int FailureDelayMilliseconds { get; init; } = 1000;

    public int LockAfterFailures { get; init; } = 5;

    public int LockoutSeconds { get; init; } = 300;
}
