using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using CardKeep.Cards.Iso7816;
using CardKeep.Protocol;

namespace CardKeep.Client.Tokens;

/// <summary>What a token shows without its PIN: its serial and the issuer certificate (Pi) it trusts.</summary>
/// <param name="Serial">16-byte token serial.</param>
/// <param name="IssuerCertificate">DER of the issuer certificate embedded at provisioning.</param>
public sealed record TokenIdentity(byte[] Serial, byte[] IssuerCertificate)
{
    /// <summary>
    /// The CardKeep trust-anchor object (5FFF14) content: <c>80 10 &lt;serial&gt; 81 L &lt;issuer certificate DER&gt;</c>.
    /// </summary>
    public byte[] EncodeObject() => [.. BerTlv.Encode(0x80, Serial), .. BerTlv.Encode(0x81, IssuerCertificate)];

    /// <summary>Parses the 5FFF14 content.</summary>
    public static TokenIdentity DecodeObject(ReadOnlyMemory<byte> content)
    {
        try
        {
            var nodes = BerTlv.Parse(content);
            var serial = nodes.First(n => n.Tag == 0x80).Value.ToArray();
            var certificate = nodes.First(n => n.Tag == 0x81).Value.ToArray();
            if (serial.Length != Trk1Limits.TokenSerialLength || certificate.Length == 0)
            {
                throw new TokenException("the token's trust anchor object is damaged");
            }

            return new TokenIdentity(serial, certificate);
        }
        catch (Exception e) when (e is InvalidOperationException or Cards.CardFormatException)
        {
            throw new TokenException("the token's trust anchor object is damaged");
        }
    }
}

/// <summary>An SSK wrapped under the token PIN: AES-256-GCM, KEK = HKDF-Expand(PBKDF2-SHA256(PIN, salt, iterations, 32), "token kek"), AD = server_id ‖ token_handle.</summary>
/// <param name="Kdf">"pbkdf2-sha256".</param>
/// <param name="Iterations">PBKDF2 iterations (600 000).</param>
/// <param name="Salt">16-byte salt.</param>
/// <param name="Nonce">12-byte nonce.</param>
/// <param name="Ciphertext">SSK ciphertext ‖ tag.</param>
public sealed record WrappedSsk(string Kdf, int Iterations, byte[] Salt, byte[] Nonce, byte[] Ciphertext);

/// <summary>One registration as a token stores it (spec §2.1 token record).</summary>
/// <param name="ServerUrl">Where the server was reached.</param>
/// <param name="ServerId">server_id.</param>
/// <param name="Suite">"R" or "E".</param>
/// <param name="User">User name.</param>
/// <param name="TokenHandle">token_handle.</param>
/// <param name="UserIdCode">user_id_code.</param>
/// <param name="AccessPath">Access path.</param>
/// <param name="SskNotAfter">SSK expiry (Unix ms).</param>
/// <param name="PolicyVersion">Policy version at registration.</param>
/// <param name="Ssk">The wrapped SSK.</param>
public sealed record TokenRegistration(
    string ServerUrl, byte[] ServerId, string Suite, string User, byte[] TokenHandle, byte[] UserIdCode, string AccessPath, long SskNotAfter, long PolicyVersion, WrappedSsk Ssk)
{
    /// <summary>The suite as the protocol enum.</summary>
    [JsonIgnore]
    public Trk1Suite ProtocolSuite => Suite == "R" ? Trk1Suite.R : Trk1Suite.E;
}

/// <summary>A token problem the user can act on (wrong PIN, no registration, damaged token).</summary>
public sealed class TokenException : Exception
{
    /// <summary>Creates the exception.</summary>
    public TokenException()
    {
    }

    /// <summary>Creates the exception.</summary>
    public TokenException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public TokenException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>The token record codec: registrations as JSON, SSKs wrapped under the PIN.</summary>
public static class TokenRecords
{
    /// <summary>PBKDF2 iterations for new wraps (OWASP 2023 for PBKDF2-HMAC-SHA256).</summary>
    public const int Iterations = 600_000;

    internal static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = false,
    };

    /// <summary>Wraps <paramref name="ssk"/> under <paramref name="pin"/>.</summary>
    public static WrappedSsk Wrap(ReadOnlySpan<byte> pin, byte[] ssk, byte[] serverId, byte[] tokenHandle, int iterations = Iterations)
    {
        var salt = RandomNumberGenerator.GetBytes(16);
        var nonce = RandomNumberGenerator.GetBytes(12);
        var kek = Kek(pin, salt, iterations);
        try
        {
            return new WrappedSsk("pbkdf2-sha256", iterations, salt, nonce, Trk1Crypto.Seal(kek, nonce, ssk, Trk1Crypto.Concat(serverId, tokenHandle)));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(kek);
        }
    }

    /// <summary>Unwraps (the caller zeroes the result); a wrong PIN is a <see cref="TokenException"/>.</summary>
    public static byte[] Unwrap(ReadOnlySpan<byte> pin, TokenRegistration registration)
    {
        ArgumentNullException.ThrowIfNull(registration);
        var w = registration.Ssk;
        if (w.Kdf != "pbkdf2-sha256" || w.Iterations is < 100_000 or > 10_000_000 || w.Salt.Length != 16 || w.Nonce.Length != 12)
        {
            throw new TokenException("the token's registration record is damaged");
        }

        var kek = Kek(pin, w.Salt, w.Iterations);
        try
        {
            return Trk1Crypto.Open(kek, w.Nonce, w.Ciphertext, Trk1Crypto.Concat(registration.ServerId, registration.TokenHandle));
        }
        catch (Trk1Exception)
        {
            throw new TokenException("wrong PIN or passphrase for this token's registration");
        }
        finally
        {
            CryptographicOperations.ZeroMemory(kek);
        }
    }

    private static byte[] Kek(ReadOnlySpan<byte> pin, byte[] salt, int iterations)
    {
        var stretched = Rfc2898DeriveBytes.Pbkdf2(pin, salt, iterations, HashAlgorithmName.SHA256, 32);
        try
        {
            return HKDF.Expand(HashAlgorithmName.SHA256, stretched, 32, "token kek"u8.ToArray());
        }
        finally
        {
            CryptographicOperations.ZeroMemory(stretched);
        }
    }

    /// <summary>The registrations list as stored in the registration token object (5FFF13) and in software tokens.</summary>
    public static byte[] Encode(IReadOnlyList<TokenRegistration> registrations) =>
        JsonSerializer.SerializeToUtf8Bytes(new RegistrationList(1, registrations), Json);

    /// <summary>Parses the registrations list (empty content means none).</summary>
    public static IReadOnlyList<TokenRegistration> Decode(ReadOnlySpan<byte> content)
    {
        if (content.IsEmpty)
        {
            return [];
        }

        try
        {
            var list = JsonSerializer.Deserialize<RegistrationList>(content, Json);
            return list is { Version: 1 } ? list.Registrations ?? [] : throw new TokenException("unknown registration record version");
        }
        catch (JsonException e)
        {
            throw new TokenException("the token's registration record is damaged", e);
        }
    }

    /// <summary>The list with <paramref name="added"/> replacing any registration for the same server id.</summary>
    public static List<TokenRegistration> Replace(IReadOnlyList<TokenRegistration> existing, TokenRegistration added)
    {
        ArgumentNullException.ThrowIfNull(added);
        var list = existing.Where(r => !r.ServerId.AsSpan().SequenceEqual(added.ServerId)).ToList();
        list.Add(added);
        return list;
    }

    /// <summary>The registration for <paramref name="serverUrl"/> (latest first), or a <see cref="TokenException"/>.</summary>
    public static TokenRegistration ForServer(IReadOnlyList<TokenRegistration> registrations, string serverUrl)
    {
        ArgumentNullException.ThrowIfNull(registrations);
        return registrations.LastOrDefault(r => string.Equals(NormalizeUrl(r.ServerUrl), NormalizeUrl(serverUrl), StringComparison.OrdinalIgnoreCase))
            ?? throw new TokenException($"this token is not registered with {serverUrl}; run 'cardkeep token register' first");
    }

    /// <summary>A server URL without a trailing slash.</summary>
    public static string NormalizeUrl(string url) => url?.TrimEnd('/') ?? string.Empty;

    /// <summary>UTF-8 of a string.</summary>
    internal static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    private sealed record RegistrationList(int Version, IReadOnlyList<TokenRegistration>? Registrations);
}

/// <summary>A token: a software token file, a VSC or a PIV card. Reading registrations and storing one needs the PIN.</summary>
public interface ITokenStore : IDisposable
{
    /// <summary>What the token is, for messages.</summary>
    string Description { get; }

    /// <summary>Serial and trust anchor (no PIN needed).</summary>
    TokenIdentity ReadIdentity();

    /// <summary>The registrations (PIN needed on cards; on software tokens the PIN unwraps the SSKs only).</summary>
    IReadOnlyList<TokenRegistration> ReadRegistrations(ReadOnlySpan<byte> pin);

    /// <summary>Stores the list (replacing what was there).</summary>
    void WriteRegistrations(IReadOnlyList<TokenRegistration> registrations, ReadOnlySpan<byte> pin);
}
