using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using QRCoder;

namespace CardKeep.Client.Recovery;

/// <summary>A kit that cannot be opened: wrong passphrase, another computer's kit, or a damaged file. Never holds a secret.</summary>
public sealed class EmergencyKitException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The emergency recovery kit (the "emergency diskette"): a small JSON document, printed as a QR code too, that opens
/// this computer like the card does.
/// <para>
/// Why losing the kit alone is not enough: the kit holds a 256-bit random secret encrypted with AES-256-GCM under a key
/// derived with PBKDF2-SHA256 (<see cref="DefaultIterations"/>, 16-byte salt) from a passphrase the user chooses and
/// that is never written down in the kit. The computer keeps only SHA-256 of the secret (<see cref="KitVerifier"/>).
/// Someone who finds the printout must still guess the passphrase, and can only do so offline at PBKDF2 speed, or
/// online at the gate's throttled rate. The associated data binds the ciphertext to the kit id, user and machine, so
/// a kit cannot be passed off as another's. A new kit replaces the old one's verifier: the old kit stops working.
/// </para>
/// </summary>
public sealed record EmergencyKit
{
    /// <summary>The format tag at the start of every kit.</summary>
    public const string FormatName = "cardkeep-kit-1";

    /// <summary>PBKDF2 iterations of a new kit (OWASP's 2023 figure for PBKDF2-SHA256).</summary>
    public const int DefaultIterations = 600_000;

    /// <summary>Shortest passphrase accepted for a kit.</summary>
    public const int MinPassphraseLength = 10;

    private const int SecretLength = 32;
    private const int SaltLength = 16;
    private const int NonceLength = 12;
    private const int TagLength = 16;

    // Relaxed escaping: base64's '+' stays '+' on the printed page (the page HTML-encodes the text itself).
    private static readonly JsonSerializerOptions _json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = false,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public string Format { get; init; } = FormatName;

    public string KitId { get; init; } = "";

    public string User { get; init; } = "";

    public string MachineId { get; init; } = "";

    public DateTimeOffset Created { get; init; }

    public int Iterations { get; init; }

    public string Salt { get; init; } = "";

    public string Nonce { get; init; } = "";

    /// <summary>The encrypted secret: ciphertext ‖ tag, base64.</summary>
    public string Secret { get; init; } = "";

    /// <summary>
    /// A new kit for <paramref name="user"/> on <paramref name="machineId"/> sealed under <paramref name="passphrase"/>
    /// (UTF-8), and the verifier the machine stores. The random secret never leaves this method unencrypted.
    /// </summary>
    public static (EmergencyKit Kit, KitVerifier Verifier) Create(string user, string machineId, ReadOnlySpan<byte> passphrase, DateTimeOffset now, int iterations = DefaultIterations)
    {
        if (Encoding.UTF8.GetCharCount(passphrase) < MinPassphraseLength)
        {
            throw new ArgumentException($"a kit passphrase has at least {MinPassphraseLength} characters", nameof(passphrase));
        }

        byte[] secret = RandomNumberGenerator.GetBytes(SecretLength);
        byte[] salt = RandomNumberGenerator.GetBytes(SaltLength);
        byte[] nonce = RandomNumberGenerator.GetBytes(NonceLength);
        string kitId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        var kit = new EmergencyKit
        {
            KitId = kitId,
            User = user,
            MachineId = machineId,
            Created = now,
            Iterations = iterations,
            Salt = Convert.ToBase64String(salt),
            Nonce = Convert.ToBase64String(nonce),
        };
        byte[] key = Rfc2898DeriveBytes.Pbkdf2(passphrase, salt, iterations, HashAlgorithmName.SHA256, 32);
        byte[] sealedSecret = new byte[SecretLength + TagLength];
        try
        {
            using (var aes = new AesGcm(key, TagLength))
            {
                aes.Encrypt(nonce, secret, sealedSecret.AsSpan(0, SecretLength), sealedSecret.AsSpan(SecretLength), kit.AssociatedData());
            }

            return (kit with { Secret = Convert.ToBase64String(sealedSecret) }, MachineSecrets.KitVerifier(kitId, secret, now));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
            CryptographicOperations.ZeroMemory(secret);
        }
    }

    /// <summary>Parses a kit file's text (or the text of its QR code).</summary>
    public static EmergencyKit Parse(string text)
    {
        EmergencyKit? kit;
        try
        {
            kit = JsonSerializer.Deserialize<EmergencyKit>(text.Trim(), _json);
        }
        catch (JsonException e)
        {
            throw new EmergencyKitException("this is not a CardKeep emergency kit (not its JSON)", e);
        }

        if (kit is null || kit.Format != FormatName || kit.Iterations is < 1 or > 10_000_000 || kit.KitId.Length == 0)
        {
            throw new EmergencyKitException($"this is not a CardKeep emergency kit (format '{kit?.Format}', want '{FormatName}')");
        }

        return kit;
    }

    /// <summary>The kit's secret (the caller zeroes it), decrypted with <paramref name="passphrase"/>.</summary>
    public byte[] Open(ReadOnlySpan<byte> passphrase)
    {
        byte[] salt, nonce, sealedSecret;
        try
        {
            salt = Convert.FromBase64String(Salt);
            nonce = Convert.FromBase64String(Nonce);
            sealedSecret = Convert.FromBase64String(Secret);
        }
        catch (FormatException e)
        {
            throw new EmergencyKitException("the kit is damaged (bad base64)", e);
        }

        if (salt.Length != SaltLength || nonce.Length != NonceLength || sealedSecret.Length != SecretLength + TagLength)
        {
            throw new EmergencyKitException("the kit is damaged (field lengths)");
        }

        byte[] key = Rfc2898DeriveBytes.Pbkdf2(passphrase, salt, Iterations, HashAlgorithmName.SHA256, 32);
        byte[] secret = new byte[SecretLength];
        try
        {
            using var aes = new AesGcm(key, TagLength);
            aes.Decrypt(nonce, sealedSecret.AsSpan(0, SecretLength), sealedSecret.AsSpan(SecretLength), secret, AssociatedData());
            return secret;
        }
        catch (AuthenticationTagMismatchException e)
        {
            CryptographicOperations.ZeroMemory(secret);
            throw new EmergencyKitException("the kit passphrase is wrong, or the kit was altered", e);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    /// <summary>The kit as one line of JSON (the file's content and the QR code's text).</summary>
    public string ToJson() => JsonSerializer.Serialize(this, _json);

    /// <summary>
    /// A printable HTML page: what the kit is for, how to use it, the QR code (an inline SVG of <see cref="ToJson"/>)
    /// and the same text to type in if the code will not scan. The passphrase is not on it.
    /// </summary>
    public string ToHtml(string machineSerial)
    {
        string json = ToJson();
        using var generator = new QRCodeGenerator();
        using var data = generator.CreateQrCode(json, QRCodeGenerator.ECCLevel.M);
        using var svg = new SvgQRCode(data);
        string image = svg.GetGraphic(4);
        string Encode(string s) => WebUtility.HtmlEncode(s);
        return string.Create(CultureInfo.InvariantCulture, $$"""
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <title>CardKeep emergency kit for {{Encode(User)}}</title>
            <style>
            body { font-family: sans-serif; max-width: 46em; margin: 2em auto; }
            pre { white-space: pre-wrap; word-break: break-all; border: 1px solid #999; padding: 0.5em; font-size: 9pt; }
            .qr svg { width: 20em; height: 20em; }
            </style>
            </head>
            <body>
            <h1>CardKeep emergency kit</h1>
            <p>This page opens the computer <strong>{{Encode(machineSerial)}}</strong> (machine id <code>{{Encode(MachineId)}}</code>)
            for <strong>{{Encode(User)}}</strong> when the smart card is lost or broken, together with the kit passphrase you chose.
            The passphrase is not written here: keep this page and the passphrase apart.</p>
            <p>Kit <code id="kit-id">{{Encode(KitId)}}</code>, made {{Created.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)}} UTC.
            A newer kit for this computer cancels this one.</p>
            <h2>How to use it</h2>
            <ol>
            <li>Scan the code below (or type the text under it) into a file, e.g. <code>kit.json</code>.</li>
            <li>As root: <code>cardkeep gate --user {{Encode(User)}} --kit kit.json</code> and enter the kit passphrase.</li>
            <li>Get a new card: <code>cardkeep account replace-card</code>.</li>
            </ol>
            <div class="qr">{{image}}</div>
            <h2>Kit text</h2>
            <pre id="kit-text">{{Encode(json)}}</pre>
            </body>
            </html>
            """);
    }

    private byte[] AssociatedData() => Encoding.UTF8.GetBytes($"{FormatName}\n{KitId}\n{User}\n{MachineId}");
}
