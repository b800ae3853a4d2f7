using System.Security.Cryptography;
using CardKeep.Agent.SshAgent;

namespace CardKeep.Agent.Keys;

/// <summary>Where a key's private half lives.</summary>
public enum KeySource
{
    /// <summary>On the user's smart card; every private operation is a PIV GENERAL AUTHENTICATE.</summary>
    Card,

    /// <summary>In the user's host key store (encrypted at rest), unlocked at login.</summary>
    HostStore,

    /// <summary>Added with ssh-add: in agent memory only.</summary>
    Added,
}

/// <summary>
/// A private key the agent can use for its owner. Subclasses give the raw operations; the SSH encodings are built here
/// once for every kind of key. Raw signatures: RSA PKCS#1 v1.5 (modulus length), ECDSA r‖s fixed size, Ed25519 64 bytes.
/// </summary>
public abstract class AgentKey : IDisposable
{
    protected AgentKey(SshPublicKey publicKey, string comment)
    {
        PublicKey = publicKey;
        Comment = comment;
    }

    public SshPublicKey PublicKey { get; }

    /// <summary>The comment shown by ssh-add -l; set once when an added key's comment is read after its fields.</summary>
    public string Comment { get; internal set; }

    public abstract KeySource Source { get; }

    /// <summary>Signs <paramref name="data"/> with <paramref name="hash"/> (ignored for Ed25519) and returns the raw signature.</summary>
    public abstract byte[] SignData(ReadOnlySpan<byte> data, HashAlgorithmName hash);

    /// <summary>RSA decryption; the result is the caller's to zero.</summary>
    public abstract byte[] Decrypt(ReadOnlySpan<byte> ciphertext, RSAEncryptionPadding padding);

    /// <summary>ECDH with the peer's point (04‖X‖Y on the key's curve): the shared X coordinate, the caller's to zero.</summary>
    public abstract byte[] KeyAgreement(ReadOnlySpan<byte> peerPoint);

    /// <summary>
    /// The SSH signature blob for an agent SIGN_REQUEST: RSA answers with the algorithm the flags ask for (none → ssh-rsa,
    /// SHA-1; 0x02 → rsa-sha2-256; 0x04 → rsa-sha2-512); other key types ignore the flags.
    /// </summary>
    public byte[] SignSsh(ReadOnlySpan<byte> data, uint flags)
    {
        var type = PublicKey.Type;
        if (type == SshKeyType.Rsa)
        {
            string algorithm = SshKeyTypes.RsaAlgorithmForFlags(flags);
            return SshSignature.Encode(algorithm, SignData(data, SshKeyTypes.RsaHash(algorithm)));
        }

        if (type.IsEcdsa())
        {
            return SshSignature.Encode(type.Name(), SshSignature.EcdsaP1363ToSsh(SignData(data, type.EcdsaHash())));
        }

        return SshSignature.Encode(SshKeyTypes.Ed25519Name, SignData(data, default));
    }

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
    }

    protected static CryptographicException Unsupported(string what) => new(what);
}

/// <summary>A key's private half cannot be reached now: its card was removed or its session ended.</summary>
public sealed class KeyUnavailableException : Exception
{
    public KeyUnavailableException() { }

    public KeyUnavailableException(string message) : base(message) { }

    public KeyUnavailableException(string message, Exception innerException) : base(message, innerException) { }
}
