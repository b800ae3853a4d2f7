using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace CardKeep.Server.Storage;

/// <summary>
/// The hash chain of a user's audit log: <c>hash = SHA-256("CardKeep audit v1" ‖ len‖username ‖ seq ‖ at ‖ len‖kind ‖
/// len‖details ‖ prev_hash)</c> with 4-byte big-endian lengths and 8-byte big-endian integers; the first entry's
/// prev_hash is 32 zero bytes.
/// </summary>
public static class AuditChain
{
    /// <summary>The prev_hash of the first entry.</summary>
    public static byte[] Genesis => new byte[32];

    /// <summary>The hash of one entry.</summary>
    public static byte[] Hash(string username, long seq, long at, string kind, string details, ReadOnlySpan<byte> prevHash)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData("CardKeep audit v1"u8);
        AppendText(hash, username);
        Span<byte> number = stackalloc byte[8];
        BinaryPrimitives.WriteInt64BigEndian(number, seq);
        hash.AppendData(number);
        BinaryPrimitives.WriteInt64BigEndian(number, at);
        hash.AppendData(number);
        AppendText(hash, kind);
        AppendText(hash, details);
        hash.AppendData(prevHash);
        return hash.GetHashAndReset();
    }

    /// <summary>
    /// True when <paramref name="entries"/> (in order) form an unbroken chain from the genesis whose last entry is the
    /// account's recorded head (so a changed, removed or reordered row is detected, the newest one included).
    /// </summary>
    public static bool Verify(IReadOnlyList<AuditEntryRecord> entries, long headSeq, ReadOnlySpan<byte> headHash)
    {
        ArgumentNullException.ThrowIfNull(entries);
        byte[] prev = Genesis;
        long seq = 0;
        foreach (var e in entries)
        {
            seq++;
            if (e.Seq != seq || !CryptographicOperations.FixedTimeEquals(e.PrevHash, prev)
                || !CryptographicOperations.FixedTimeEquals(e.Hash, Hash(e.Username, e.Seq, e.At, e.Kind, e.Details, e.PrevHash)))
            {
                return false;
            }

            prev = e.Hash;
        }

        return seq == headSeq && CryptographicOperations.FixedTimeEquals(prev, headHash);
    }

    private static void AppendText(IncrementalHash hash, string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(length, bytes.Length);
        hash.AppendData(length);
        hash.AppendData(bytes);
    }
}
