using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace CardKeep.Client.Recovery;

/// <summary>
/// The card holder's own check of the audit log the server returns, so the verdict does not rest on the server's
/// <c>chainValid</c> alone: every entry's hash is recomputed from its fields with the published formula
/// (docs/recovery.md, "Audit log") and each entry must name the previous one's hash, starting from 32 zero bytes.
/// A server that rewrites an entry, reorders or drops one in the middle is caught; dropping the newest entries is
/// caught only by the server's head check (the client keeps no state).
/// </summary>
public static class AuditVerifier
{
    /// <summary>The 1-based position of the first entry that does not verify, or null when the whole chain does.</summary>
    public static int? FirstBroken(string username, IReadOnlyList<AuditEntry> entries)
    {
        ArgumentNullException.ThrowIfNull(username);
        ArgumentNullException.ThrowIfNull(entries);
        byte[] previous = new byte[32];
        for (int i = 0; i < entries.Count; i++)
        {
            var e = entries[i];
            byte[] prevHash, hash;
            try
            {
                prevHash = Convert.FromHexString(e.PrevHash ?? string.Empty);
                hash = Convert.FromHexString(e.Hash ?? string.Empty);
            }
            catch (FormatException)
            {
                return i + 1;
            }

            if (e.Seq != i + 1 || !CryptographicOperations.FixedTimeEquals(prevHash, previous)
                || !CryptographicOperations.FixedTimeEquals(hash, EntryHash(username, e.Seq, e.Time.ToUnixTimeMilliseconds(), e.Kind, e.Details, prevHash)))
            {
                return i + 1;
            }

            previous = hash;
        }

        return null;
    }

    /// <summary>SHA-256("CardKeep audit v1" ‖ len‖user ‖ seq ‖ at ‖ len‖kind ‖ len‖details ‖ prev), lengths u32 BE, numbers i64 BE.</summary>
    private static byte[] EntryHash(string username, long seq, long at, string kind, string details, byte[] prevHash)
    {
        var message = new List<byte>(256);
        message.AddRange("CardKeep audit v1"u8.ToArray());
        Field(message, username);
        Number(message, seq);
        Number(message, at);
        Field(message, kind);
        Field(message, details);
        message.AddRange(prevHash);
        return SHA256.HashData([.. message]);
    }

    private static void Field(List<byte> message, string text)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        byte[] length = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(length, bytes.Length);
        message.AddRange(length);
        message.AddRange(bytes);
    }

    private static void Number(List<byte> message, long value)
    {
        byte[] bytes = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(bytes, value);
        message.AddRange(bytes);
    }
}
