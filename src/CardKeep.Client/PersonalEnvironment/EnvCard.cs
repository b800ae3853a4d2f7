using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace CardKeep.Client.PersonalEnvironment;

/// <summary>The data objects of one card (PIV GET/PUT DATA, or a VSC file): empty content deletes.</summary>
public interface IEnvCardObjects
{
    /// <summary>The object's content, or null when absent.</summary>
    byte[]? Read(uint tag);

    /// <summary>Writes (or with empty content deletes) an object.</summary>
    void Write(uint tag, ReadOnlySpan<byte> content);
}

/// <summary>An entry as the card carries it: content, the revision it came from, and its last use.</summary>
/// <param name="Entry">The entry.</param>
/// <param name="Revision">Server revision of the content (0 when not yet on the server).</param>
/// <param name="UsedAt">Last use (Unix ms).</param>
/// <param name="ChangeId">Id of an edit not yet on the server (made offline), else null.</param>
public sealed record CardEntry(
    [property: JsonPropertyName("e")] EnvEntry Entry,
    [property: JsonPropertyName("r")] long Revision,
    [property: JsonPropertyName("u")] long UsedAt,
    [property: JsonPropertyName("c")] string? ChangeId = null);

/// <summary>What a card carries: the chosen set (null = every entry is a candidate) and its entries, most recent first.</summary>
/// <param name="Set">The chosen set.</param>
/// <param name="Entries">Entries on the card.</param>
public sealed record CardContent(
    [property: JsonPropertyName("set")] string? Set,
    [property: JsonPropertyName("entries")] IReadOnlyList<CardEntry> Entries);

/// <summary>The outcome of fitting entries onto a card.</summary>
/// <param name="Kept">Entries written to the card, most recently used first.</param>
/// <param name="Evicted">Candidates left off (least recently used), which stay on the server.</param>
/// <param name="Bytes">Bytes the card objects take.</param>
/// <param name="Budget">The byte budget.</param>
public sealed record CardPlan(IReadOnlyList<CardEntry> Kept, IReadOnlyList<CardEntry> Evicted, int Bytes, int Budget);

/// <summary>
/// The card-resident index: a subset of the user's entries, encrypted (AES-256-GCM under a key derived from the record
/// master key, AD = user ‖ card serial) and split across the PIN-protected CardKeep objects 5FFF15–5FFF1C. Within the
/// byte budget the most recently used candidates are kept; the rest are evicted from the card (never from the server).
/// A budget too small for even one entry leaves the card empty: the environment then works through the server.
/// </summary>
public sealed class EnvCard
{
    /// <summary>First tag of the environment objects.</summary>
    public const uint FirstTag = 0x5FFF15;

    /// <summary>Number of objects (5FFF15–5FFF1C).</summary>
    public const int ObjectCount = 8;

    /// <summary>Largest content of one object: a YubiKey's and the CardKeep VSC's limit.</summary>
    public const int MaxObjectBytes = 3063;

    private readonly IEnvCardObjects _objects;

    /// <summary>Uses <paramref name="objects"/> with at most <paramref name="budgetBytes"/> bytes (capped at the objects' capacity).</summary>
    public EnvCard(IEnvCardObjects objects, int budgetBytes = int.MaxValue)
    {
        _objects = objects ?? throw new ArgumentNullException(nameof(objects));
        Budget = Math.Clamp(budgetBytes, 0, Capacity);
    }

    /// <summary>Bytes the objects can hold at most (each object carries a one-byte chunk count in the first).</summary>
    public static int Capacity => (ObjectCount * MaxObjectBytes) - 1;

    /// <summary>The byte budget in use.</summary>
    public int Budget { get; }

    /// <summary>The tags used, in order.</summary>
    public static IEnumerable<uint> Tags => Enumerable.Range(0, ObjectCount).Select(i => FirstTag + (uint)i);

    /// <summary>
    /// Chooses what fits: candidates in most-recently-used order until the next one does not fit (strict LRU: an older
    /// entry never displaces a newer one).
    /// </summary>
    public static CardPlan Plan(string? set, IEnumerable<CardEntry> candidates, int budget)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        var ordered = candidates.OrderByDescending(c => c.UsedAt).ThenBy(c => c.Entry.Id, StringComparer.Ordinal).ToList();
        int size = RecordCrypto.Overhead + Frame(set, []).Length;
        var kept = new List<CardEntry>();
        int i = 0;
        for (; i < ordered.Count; i++)
        {
            int add = JsonSerializer.SerializeToUtf8Bytes(ordered[i], EnvJson.Options).Length + (kept.Count > 0 ? 1 : 0);
            if (size + add > budget)
            {
                break;
            }

            size += add;
            kept.Add(ordered[i]);
        }

        return new CardPlan(kept, ordered[i..], kept.Count == 0 ? 0 : size, budget);
    }

    /// <summary>Reads and decrypts the card's entries; null when the card carries none; <see cref="DamagedRecordException"/> when they fail authentication.</summary>
    public CardContent? Load(ReadOnlySpan<byte> rmk, string user, string cardSerial)
    {
        byte[]? first = _objects.Read(FirstTag);
        if (first is null || first.Length < 1)
        {
            return null;
        }

        int count = first[0];
        if (count is < 1 or > ObjectCount)
        {
            throw new DamagedRecordException("the card's environment objects are damaged (bad chunk count)");
        }

        var blob = new List<byte>(first.AsSpan(1).ToArray());
        for (int i = 1; i < count; i++)
        {
            blob.AddRange(_objects.Read(FirstTag + (uint)i) ?? throw new DamagedRecordException($"the card's environment object {FirstTag + (uint)i:X} is missing"));
        }

        byte[] key = CardKey(rmk, user, cardSerial);
        byte[]? plaintext = null;
        try
        {
            plaintext = RecordCrypto.Open(key, [.. blob], Ad(user, cardSerial), "the card's environment objects");
            return JsonSerializer.Deserialize<CardContent>(plaintext, EnvJson.Options) ?? throw new DamagedRecordException("the card's environment objects are empty");
        }
        catch (JsonException e)
        {
            throw new DamagedRecordException("the card's environment objects decrypted but do not parse", e);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
            if (plaintext is not null)
            {
                CryptographicOperations.ZeroMemory(plaintext);
            }
        }
    }

    /// <summary>Fits <paramref name="candidates"/> (see <see cref="Plan"/>) and rewrites the card objects; returns the plan.</summary>
    public CardPlan Store(ReadOnlySpan<byte> rmk, string user, string cardSerial, string? set, IEnumerable<CardEntry> candidates)
    {
        var plan = Plan(set, candidates, Budget);
        int previous = _objects.Read(FirstTag) is { Length: > 0 } first ? Math.Clamp((int)first[0], 1, ObjectCount) : 0;
        int chunks = 0;
        if (plan.Kept.Count > 0 || plan.Evicted.Count == 0)
        {
            byte[] payload = Frame(set, plan.Kept);
            byte[] key = CardKey(rmk, user, cardSerial);
            byte[] blob;
            try
            {
                blob = RecordCrypto.Seal(key, payload, Ad(user, cardSerial));
            }
            finally
            {
                CryptographicOperations.ZeroMemory(key);
                CryptographicOperations.ZeroMemory(payload);
            }

            if (blob.Length + 1 > ObjectCount * MaxObjectBytes)
            {
                return plan with { Kept = [], Evicted = [.. plan.Kept, .. plan.Evicted], Bytes = 0 };
            }

            var parts = new List<byte[]>();
            int offset = 0;
            while (offset < blob.Length)
            {
                int room = parts.Count == 0 ? MaxObjectBytes - 1 : MaxObjectBytes;
                int take = Math.Min(room, blob.Length - offset);
                parts.Add(blob[offset..(offset + take)]);
                offset += take;
            }

            chunks = parts.Count;
            for (int i = parts.Count - 1; i >= 0; i--)
            {
                // The first object (with the count) last: a write cut short leaves an old count over new chunks, which
                // fails authentication and is rebuilt from the server; it never mixes entries silently.
                _objects.Write(FirstTag + (uint)i, i == 0 ? [(byte)parts.Count, .. parts[0]] : parts[i]);
            }
        }

        for (int i = Math.Max(chunks, 0); i < previous; i++)
        {
            _objects.Write(FirstTag + (uint)i, []);
        }

        return plan;
    }

    /// <summary>Removes every environment object from the card.</summary>
    public void Clear()
    {
        int previous = _objects.Read(FirstTag) is { Length: > 0 } first ? Math.Clamp((int)first[0], 1, ObjectCount) : 0;
        for (int i = 0; i < previous; i++)
        {
            _objects.Write(FirstTag + (uint)i, []);
        }
    }

    private static byte[] Frame(string? set, IReadOnlyList<CardEntry> entries)
    {
        var builder = new StringBuilder("{\"set\":").Append(JsonSerializer.Serialize(set)).Append(",\"entries\":[");
        for (int i = 0; i < entries.Count; i++)
        {
            builder.Append(i > 0 ? "," : string.Empty).Append(JsonSerializer.Serialize(entries[i], EnvJson.Options));
        }

        return Encoding.UTF8.GetBytes(builder.Append("]}").ToString());
    }

    private static byte[] CardKey(ReadOnlySpan<byte> rmk, string user, string cardSerial) => RecordCrypto.DeriveSubkey(rmk, "card", user + "\0" + cardSerial);

    private static byte[] Ad(string user, string cardSerial) => Encoding.UTF8.GetBytes($"cardkeep-env-card-v1\0{user}\0{cardSerial}");
}
