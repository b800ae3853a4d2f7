using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using CardKeep.Agent.Daemon;
using CardKeep.Agent.HostKeys;
using CardKeep.Agent.Keys;
using CardKeep.Agent.Sessions;
using CardKeep.Agent.SshAgent;
using CardKeep.Cards;
using Microsoft.Extensions.Logging;

namespace CardKeep.Agent.Api;

/// <summary>
/// The local JSON API (docs/agent.md "Local API"): one JSON object per line in, one per line out, over its own Unix
/// socket. The caller is the SO_PEERCRED uid; the only exception is <c>login</c> from uid 0 with <c>"user"</c>, which is
/// how the PAM helper logs a user in (it still needs that user's PIN or passphrase). Private-key operations (sign,
/// decrypt, key agreement) go to the card or the host key service through the same keys the SSH agent offers;
/// public-key operations (verify, encrypt) are done here for applications that would rather not.
/// Secrets (<c>secret</c>, <c>pin</c>, <c>passphrase</c>) are read as UTF-8 bytes straight from the request and zeroed.
/// </summary>
public sealed class ApiHandler(KeyStoreManager keys, SessionManager sessions, HostKeyService hostKeys, ILogger logger) : IApiHandler
{
    /// <summary>64 KiB: room for a base64 payload of about 48 KiB.</summary>
    public int MaxRequestBytes => 64 * 1024;

    public string Handle(PeerCredentials peer, ReadOnlySpan<byte> request)
    {
        var copy = request.ToArray();
        try
        {
            using var document = JsonDocument.Parse(copy);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("op", out var opElement) || opElement.GetString() is not { } op)
            {
                return Error("a request is a JSON object with an \"op\"");
            }

            ApiLog.Request(logger, peer.Uid, peer.Pid, op);
            if (keys.IsLocked(peer.Uid) && op is not ("status" or "login" or "logout"))
            {
                return Error("the agent is locked for this user (ssh-add -X unlocks it)");
            }

            return op switch
            {
                "status" => Status(peer),
                "list" => ListKeys(peer),
                "sign" => Sign(peer, root),
                "verify" => Verify(peer, root),
                "encrypt" => Encrypt(peer, root),
                "decrypt" => Decrypt(peer, root),
                "key-agreement" => KeyAgreement(peer, root),
                "login" => Login(peer, root, copy),
                "login-method" => LoginMethod(peer, root),
                "logout" => Logout(peer, root),
                "enroll-card" => Enroll(peer, root, copy),
                "unenroll-card" => Unenroll(peer, root),
                "hostkey-list" => Ok(w => WriteHostKeys(w, hostKeys.List(peer.Uid))),
                "hostkey-new" => HostKeyNew(peer, root, copy),
                "hostkey-import" => HostKeyImport(peer, root, copy),
                "hostkey-remove" => HostKeyRemove(peer, root, copy),
                _ => Error($"unknown op '{op}'"),
            };
        }
        catch (JsonException)
        {
            return Error("the request is not valid JSON");
        }
        catch (Exception e) when (e is ApiException or SshFormatException or CryptographicException or CardException or KeyUnavailableException
            or LoginFailedException or WrongPassphraseException or InvalidOperationException or FormatException or IOException or ArgumentException)
        {
            ApiLog.Failed(logger, peer.Uid, e.Message);
            return Error(e.Message);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(copy);
        }
    }

    private string Status(PeerCredentials peer) => Ok(w =>
    {
        w.WriteNumber("uid", peer.Uid);
        w.WriteBoolean("locked", keys.IsLocked(peer.Uid));
        w.WriteStartArray("sessions");
        foreach (var s in sessions.SessionsOf(peer.Uid))
        {
            w.WriteRawValue(JsonSerializer.Serialize(s, JsonFile.Compact));
        }

        w.WriteEndArray();
        w.WriteStartArray("cards");
        foreach (var c in sessions.Cards.For(peer.Uid))
        {
            w.WriteStartObject();
            w.WriteString("serial", c.Serial);
            w.WriteString("fingerprint", SshPublicKey.FromSubjectPublicKeyInfo(c.PublicKey).Fingerprint);
            w.WriteString("enrolled", c.Enrolled);
            w.WriteEndObject();
        }

        w.WriteEndArray();
    });

    private string ListKeys(PeerCredentials peer) => Ok(w =>
    {
        w.WriteStartArray("keys");
        foreach (var identity in keys.List(peer.Uid))
        {
            var key = identity.Key;
            w.WriteStartObject();
            w.WriteString("fingerprint", key.PublicKey.Fingerprint);
            w.WriteString("type", key.PublicKey.Type.Name());
            w.WriteNumber("bits", key.PublicKey.Bits);
            w.WriteString("comment", key.Comment);
            w.WriteString("source", identity.Source switch { KeySource.Card => "card", KeySource.HostStore => "host", _ => "added" });
            w.WriteString("publicKey", key.PublicKey.ToAuthorizedKey());
            w.WriteBase64String("spki", key.PublicKey.ToSubjectPublicKeyInfo());
            w.WriteEndObject();
        }

        w.WriteEndArray();
    });

    private string Sign(PeerCredentials peer, JsonElement root)
    {
        var identity = RequirePrivateKey(peer, root);
        var data = Base64(root, "data");
        var hash = HashOf(root);
        string format = Text(root, "format") ?? "der";
        var key = identity.Key;

        byte[] signature = format switch
        {
            "ssh" => key.SignSsh(data, hash == HashAlgorithmName.SHA512 ? AgentProtocol.FlagRsaSha512 : hash == HashAlgorithmName.SHA256 ? AgentProtocol.FlagRsaSha256 : 0),
            "der" when key.PublicKey.Type.IsEcdsa() => P1363ToDer(key.SignData(data, hash)),
            "der" or "raw" or "p1363" => key.SignData(data, hash),
            _ => throw new ApiException("format is der, p1363, raw or ssh"),
        };
        ApiLog.Operation(logger, peer.Uid, "sign", key.PublicKey.Fingerprint, identity.Source);
        return Ok(w => w.WriteBase64String("signature", signature));
    }

    private string Verify(PeerCredentials peer, JsonElement root)
    {
        var publicKey = PublicKeyOf(peer, root);
        var data = Base64(root, "data");
        var signature = Base64(root, "signature");
        string format = Text(root, "format") ?? "der";
        bool valid;
        if (format == "ssh")
        {
            valid = publicKey.Verify(data, signature);
        }
        else if (publicKey.Type == SshKeyType.Rsa)
        {
            using var rsa = RSA.Create();
            rsa.ImportSubjectPublicKeyInfo(publicKey.ToSubjectPublicKeyInfo(), out _);
            valid = rsa.VerifyData(data, signature, HashOf(root), RSASignaturePadding.Pkcs1);
        }
        else if (publicKey.Type.IsEcdsa())
        {
            using var ecdsa = publicKey.CreateEcdsa();
            valid = ecdsa.VerifyData(data, signature, HashOf(root), format == "der" ? DSASignatureFormat.Rfc3279DerSequence : DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        }
        else
        {
            valid = Ed25519.Verify(publicKey.Point.Span, data, signature);
        }

        return Ok(w => w.WriteBoolean("valid", valid));
    }

    private string Encrypt(PeerCredentials peer, JsonElement root)
    {
        var publicKey = PublicKeyOf(peer, root);
        if (publicKey.Type != SshKeyType.Rsa)
        {
            throw new ApiException("encrypt needs an RSA key");
        }

        using var rsa = RSA.Create();
        rsa.ImportSubjectPublicKeyInfo(publicKey.ToSubjectPublicKeyInfo(), out _);
        var ciphertext = rsa.Encrypt(Base64(root, "data"), PaddingOf(root));
        return Ok(w => w.WriteBase64String("ciphertext", ciphertext));
    }

    private string Decrypt(PeerCredentials peer, JsonElement root)
    {
        var identity = RequirePrivateKey(peer, root);
        var plaintext = identity.Key.Decrypt(Base64(root, "data"), PaddingOf(root));
        try
        {
            ApiLog.Operation(logger, peer.Uid, "decrypt", identity.Key.PublicKey.Fingerprint, identity.Source);
            return Ok(w => w.WriteBase64String("plaintext", plaintext));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }

    private string KeyAgreement(PeerCredentials peer, JsonElement root)
    {
        var identity = RequirePrivateKey(peer, root);
        var peerKey = Base64(root, "peer");
        ReadOnlySpan<byte> point = peerKey;
        if (peerKey.Length > 0 && peerKey[0] == 0x30)
        {
            point = SshPublicKey.FromSubjectPublicKeyInfo(peerKey).Point.Span;
        }

        var secret = identity.Key.KeyAgreement(point);
        try
        {
            ApiLog.Operation(logger, peer.Uid, "key-agreement", identity.Key.PublicKey.Fingerprint, identity.Source);
            return Ok(w => w.WriteBase64String("secret", secret));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(secret);
        }
    }

    private string Login(PeerCredentials peer, JsonElement root, byte[] request)
    {
        var account = AccountFor(peer, Text(root, "user"));
        var secret = Secret(request, "secret");
        try
        {
            var session = sessions.Login(
                new LoginRequest(account, Text(root, "reader"), Text(root, "tty"), Text(root, "remoteHost"), LogindSessionOf(peer.Pid)), secret);
            return Ok(w => w.WriteRawValue(JsonSerializer.Serialize(session, JsonFile.Compact)), "session");
        }
        finally
        {
            CryptographicOperations.ZeroMemory(secret);
        }
    }

    private string LoginMethod(PeerCredentials peer, JsonElement root)
    {
        var account = AccountFor(peer, Text(root, "user"));
        var (method, reader) = sessions.LoginMethod(account.Uid, Text(root, "reader"));
        return Ok(w =>
        {
            w.WriteString("method", method);
            if (reader is not null)
            {
                w.WriteString("reader", reader);
            }
        });
    }

    private string Logout(PeerCredentials peer, JsonElement root)
    {
        int ended = sessions.Logout(peer.Uid, Text(root, "session"));
        return Ok(w => w.WriteNumber("ended", ended));
    }

    private string Enroll(PeerCredentials peer, JsonElement root, byte[] request)
    {
        // Root may enroll for another user (cardkeep account replace-card runs as root to update the machine store).
        var account = AccountFor(peer, Text(root, "user"));
        string reader = Text(root, "reader") ?? throw new ApiException("enroll-card needs \"reader\"");
        var pin = Secret(request, "pin");
        try
        {
            var card = sessions.Enroll(account, reader, pin);
            return Ok(w =>
            {
                w.WriteString("serial", card.Serial);
                w.WriteString("fingerprint", SshPublicKey.FromSubjectPublicKeyInfo(card.PublicKey).Fingerprint);
                w.WriteBoolean("certificate", card.Certificate is not null);
            });
        }
        finally
        {
            CryptographicOperations.ZeroMemory(pin);
        }
    }

    private string Unenroll(PeerCredentials peer, JsonElement root)
    {
        var account = AccountFor(peer, Text(root, "user"));
        string serial = Text(root, "serial") ?? throw new ApiException("unenroll-card needs \"serial\"");
        bool removed = sessions.Unenroll(account, serial);
        return Ok(w => w.WriteBoolean("removed", removed));
    }

    private string HostKeyNew(PeerCredentials peer, JsonElement root, byte[] request)
    {
        string typeName = Text(root, "type") ?? "ed25519";
        (SshKeyType type, int bits) = typeName switch
        {
            "ed25519" => (SshKeyType.Ed25519, 0),
            "ecdsa" or "ecdsa-p256" => (SshKeyType.EcdsaP256, 0),
            "ecdsa-p384" => (SshKeyType.EcdsaP384, 0),
            "ecdsa-p521" => (SshKeyType.EcdsaP521, 0),
            "rsa" or "rsa-2048" => (SshKeyType.Rsa, 2048),
            "rsa-3072" => (SshKeyType.Rsa, 3072),
            "rsa-4096" => (SshKeyType.Rsa, 4096),
            _ => throw new ApiException("type is ed25519, ecdsa-p256, ecdsa-p384, ecdsa-p521, rsa-2048, rsa-3072 or rsa-4096"),
        };
        var passphrase = Secret(request, "passphrase");
        try
        {
            var info = hostKeys.New(peer.Uid, type, bits, Text(root, "comment") ?? string.Empty, passphrase);
            return Ok(w => WriteHostKeys(w, [info]));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(passphrase);
        }
    }

    private string HostKeyImport(PeerCredentials peer, JsonElement root, byte[] request)
    {
        var passphrase = Secret(request, "passphrase");
        try
        {
            var info = Text(root, "fromAgent") is { } fingerprint
                ? hostKeys.ImportFromAgent(peer.Uid, fingerprint, passphrase)
                : hostKeys.Import(peer.Uid, Text(root, "privateKey") ?? throw new ApiException("hostkey-import needs \"privateKey\" or \"fromAgent\""),
                    Text(root, "comment"), passphrase);
            return Ok(w => WriteHostKeys(w, [info]));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(passphrase);
        }
    }

    private string HostKeyRemove(PeerCredentials peer, JsonElement root, byte[] request)
    {
        string fingerprint = Text(root, "fingerprint") ?? throw new ApiException("hostkey-remove needs \"fingerprint\"");
        var passphrase = Secret(request, "passphrase");
        try
        {
            bool removed = hostKeys.Remove(peer.Uid, fingerprint, passphrase);
            return removed ? Ok(w => w.WriteString("removed", fingerprint)) : Error($"no host key {fingerprint}");
        }
        finally
        {
            CryptographicOperations.ZeroMemory(passphrase);
        }
    }

    private static void WriteHostKeys(Utf8JsonWriter w, IEnumerable<HostKeyInfo> infos)
    {
        w.WriteStartArray("hostKeys");
        foreach (var info in infos)
        {
            w.WriteStartObject();
            w.WriteString("fingerprint", info.Fingerprint);
            w.WriteString("type", info.Type);
            w.WriteString("comment", info.Comment);
            w.WriteString("publicKey", $"{info.Type} {info.PublicKey}{(info.Comment.Length > 0 ? " " + info.Comment : string.Empty)}");
            w.WriteString("created", info.Created);
            w.WriteEndObject();
        }

        w.WriteEndArray();
    }

    /// <summary>The account acted for: the caller's, or for uid 0 the named user (the PAM helper's case).</summary>
    private UserAccount AccountFor(PeerCredentials peer, string? user)
    {
        if (user is not null && peer.Uid != 0)
        {
            var self = sessions.Users.ByUid(peer.Uid);
            if (self?.Name != user)
            {
                throw new ApiException("only root may act for another user");
            }
        }

        var account = user is not null && peer.Uid == 0 ? sessions.Users.ByName(user) : sessions.Users.ByUid(peer.Uid);
        return account ?? throw new ApiException(user is null ? string.Create(CultureInfo.InvariantCulture, $"uid {peer.Uid} has no account") : $"no user '{user}'");
    }

    private Identity RequireKey(PeerCredentials peer, JsonElement root)
    {
        string fingerprint = Text(root, "key") ?? throw new ApiException("\"key\" (a SHA256: fingerprint from list) is needed");
        return keys.FindByFingerprint(peer.Uid, fingerprint) ?? throw new ApiException($"you have no key {fingerprint}");
    }

    /// <summary>A key for a private operation: keys added with ssh-add -c need the SSH agent's confirm step, so not here.</summary>
    private Identity RequirePrivateKey(PeerCredentials peer, JsonElement root)
    {
        var identity = RequireKey(peer, root);
        return identity.Confirm
            ? throw new ApiException("this key needs confirmation for each use (ssh-add -c); use it through the SSH agent socket")
            : identity;
    }

    private SshPublicKey PublicKeyOf(PeerCredentials peer, JsonElement root)
    {
        if (Text(root, "publicKey") is { } line)
        {
            return SshPublicKey.ParseAuthorizedKey(line, out _);
        }

        return RequireKey(peer, root).Key.PublicKey;
    }

    private static string? LogindSessionOf(int pid)
    {
        try
        {
            foreach (string line in File.ReadLines($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/cgroup"))
            {
                int at = line.IndexOf("/session-", StringComparison.Ordinal);
                int end = line.IndexOf(".scope", StringComparison.Ordinal);
                if (at >= 0 && end > at)
                {
                    return line[(at + 9)..end];
                }
            }
        }
        catch (IOException)
        {
            // The process already exited.
        }
        catch (UnauthorizedAccessException)
        {
            // Not readable; no logind session recorded.
        }

        return null;
    }

    private static HashAlgorithmName HashOf(JsonElement root) => (Text(root, "hash") ?? "sha256") switch
    {
        "sha256" => HashAlgorithmName.SHA256,
        "sha384" => HashAlgorithmName.SHA384,
        "sha512" => HashAlgorithmName.SHA512,
        "sha1" => HashAlgorithmName.SHA1,
        _ => throw new ApiException("hash is sha256, sha384, sha512 or sha1"),
    };

    private static RSAEncryptionPadding PaddingOf(JsonElement root) => (Text(root, "padding") ?? "pkcs1") switch
    {
        "pkcs1" => RSAEncryptionPadding.Pkcs1,
        "oaep-sha256" => RSAEncryptionPadding.OaepSHA256,
        _ => throw new ApiException("padding is pkcs1 or oaep-sha256"),
    };

    private static byte[] P1363ToDer(byte[] rs)
    {
        int half = rs.Length / 2;
        var writer = new System.Formats.Asn1.AsnWriter(System.Formats.Asn1.AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            writer.WriteIntegerUnsigned(rs.AsSpan(0, half));
            writer.WriteIntegerUnsigned(rs.AsSpan(half));
        }

        return writer.Encode();
    }

    private static string? Text(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static byte[] Base64(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && value.TryGetBytesFromBase64(out var bytes)
            ? bytes
            : throw new ApiException($"\"{name}\" must be base64");

    /// <summary>A top-level string property as UTF-8 bytes, unescaped straight from the request without a .NET string.</summary>
    private static byte[] Secret(ReadOnlySpan<byte> request, string name)
    {
        var reader = new Utf8JsonReader(request);
        int depth = 0;
        while (reader.Read())
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.StartObject or JsonTokenType.StartArray:
                    depth++;
                    break;
                case JsonTokenType.EndObject or JsonTokenType.EndArray:
                    depth--;
                    break;
                case JsonTokenType.PropertyName when depth == 1 && reader.ValueTextEquals(name):
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.String)
                    {
                        throw new ApiException($"\"{name}\" must be a string");
                    }

                    var buffer = new byte[reader.HasValueSequence ? reader.ValueSequence.Length : reader.ValueSpan.Length];
                    int written = reader.CopyString(buffer);
                    var secret = buffer.AsSpan(0, written).ToArray();
                    CryptographicOperations.ZeroMemory(buffer);
                    return secret;
            }
        }

        throw new ApiException($"\"{name}\" is needed");
    }

    private static string Ok(Action<Utf8JsonWriter> body, string? wrap = null)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteBoolean("ok", true);
            if (wrap is not null)
            {
                w.WritePropertyName(wrap);
            }

            body(w);
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static string Error(string message)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteBoolean("ok", false);
            w.WriteString("error", message);
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}

/// <summary>A request the API cannot carry out; the message goes back to the client.</summary>
public sealed class ApiException : Exception
{
    public ApiException() { }

    public ApiException(string message) : base(message) { }

    public ApiException(string message, Exception innerException) : base(message, innerException) { }
}

internal static partial class ApiLog
{
    [LoggerMessage(Level = LogLevel.Debug, Message = "API uid {Uid} pid {Pid}: {Op}")]
    public static partial void Request(ILogger logger, uint uid, int pid, string op);

    [LoggerMessage(Level = LogLevel.Information, Message = "API uid {Uid}: {Op} with {Fingerprint} ({Source})")]
    public static partial void Operation(ILogger logger, uint uid, string op, string fingerprint, KeySource source);

    [LoggerMessage(Level = LogLevel.Information, Message = "API uid {Uid}: request refused: {Reason}")]
    public static partial void Failed(ILogger logger, uint uid, string reason);
}
