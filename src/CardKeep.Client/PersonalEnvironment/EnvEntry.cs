using System.Text.Json;
using System.Text.Json.Serialization;
using CardKeep.Protocol.Records;

namespace CardKeep.Client.PersonalEnvironment;

/// <summary>Kinds of personal-environment entries.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<EntryKind>))]
public enum EntryKind
{
    /// <summary>A site: URL, user name, password, start page.</summary>
    Site,

    /// <summary>A bookmark: a URL with a name.</summary>
    Bookmark,

    /// <summary>A program preference: NAME=VALUE (written to the environment file by <c>env apply</c>).</summary>
    Preference,

    /// <summary>Free-form text.</summary>
    Note,
}

/// <summary>
/// One entry of the personal environment: its content (encrypted as one record on the server and on the card) and
/// its sets. The name is what the user types (<c>cardkeep env get NAME</c>); the server sees only a random id.
/// </summary>
public sealed record EnvEntry
{
    /// <summary>Random record id (32 hex digits).</summary>
    public required string Id { get; init; }

    /// <summary>Kind.</summary>
    public required EntryKind Kind { get; init; }

    /// <summary>Name, unique per user (case-insensitive).</summary>
    public required string Name { get; init; }

    /// <summary>Site or bookmark URL.</summary>
    public string? Url { get; init; }

    /// <summary>Site user name.</summary>
    public string? UserName { get; init; }

    /// <summary>Site password.</summary>
    public string? Password { get; init; }

    /// <summary>Site start page (absolute URL, or a path relative to <see cref="Url"/>).</summary>
    public string? StartPage { get; init; }

    /// <summary>Preference value, or note text.</summary>
    public string? Value { get; init; }

    /// <summary>Set names (office, home, abroad, …).</summary>
    public IReadOnlyList<string> Sets { get; init; } = [];

    /// <summary>New random record id.</summary>
    public static string NewId() => Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));

    /// <summary>The URL <c>env open</c> goes to: the start page (resolved against the URL) or the URL.</summary>
    public string? OpenUrl()
    {
        if (string.IsNullOrEmpty(StartPage))
        {
            return Url;
        }

        if (Uri.TryCreate(StartPage, UriKind.Absolute, out var absolute))
        {
            return absolute.ToString();
        }

        return Url is not null && Uri.TryCreate(new Uri(Url), StartPage, out var relative) ? relative.ToString() : StartPage;
    }

    /// <summary>Checks the entry; null when valid, else the reason.</summary>
    public string? Validate()
    {
        if (!RecordLimits.IsRecordId(Id))
        {
            return "entry id must be 32 lower-case hex digits";
        }

        if (string.IsNullOrWhiteSpace(Name) || Name.Length > 128 || Name.Any(char.IsControl))
        {
            return "entry name must have 1 to 128 printable characters";
        }

        if (Sets.Count > RecordLimits.MaxSets || !Sets.All(RecordLimits.IsSetName))
        {
            return $"sets: at most {RecordLimits.MaxSets} names of 1-32 a-z 0-9 . _ -";
        }

        foreach (string? url in new[] { Url, Kind == EntryKind.Site && StartPage is not null && Uri.TryCreate(StartPage, UriKind.Absolute, out _) ? StartPage : null })
        {
            if (url is not null && (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https" or "ftp" or "file" or "mailto")))
            {
                return $"'{url}' is not an absolute http, https, ftp, file or mailto URL";
            }
        }

        if (Kind is EntryKind.Site or EntryKind.Bookmark && Url is null)
        {
            return $"a {Kind.ToString().ToLowerInvariant()} needs --url";
        }

        if (Kind == EntryKind.Preference && (Value is null || !IsPreferenceName(Name)))
        {
            return "a preference needs a name of letters, digits and _ (not starting with a digit) and a --value";
        }

        return null;
    }

    /// <summary>True for a name usable as an environment variable.</summary>
    public static bool IsPreferenceName(string name) =>
        !string.IsNullOrEmpty(name) && !char.IsAsciiDigit(name[0]) && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');

    /// <summary>The entry as the plaintext of its record (UTF-8 JSON).</summary>
    public byte[] Encode() => JsonSerializer.SerializeToUtf8Bytes(this, EnvJson.Options);

    /// <summary>Parses a record's plaintext; <see cref="DamagedRecordException"/> for anything unreadable.</summary>
    public static EnvEntry Decode(ReadOnlySpan<byte> plaintext, string expectedId)
    {
        EnvEntry? entry;
        try
        {
            entry = JsonSerializer.Deserialize<EnvEntry>(plaintext, EnvJson.Options);
        }
        catch (JsonException e)
        {
            throw new DamagedRecordException($"record {expectedId} decrypted but is not an entry", e);
        }

        if (entry is null || !string.Equals(entry.Id, expectedId, StringComparison.Ordinal))
        {
            throw new DamagedRecordException($"record {expectedId} holds another entry's content");
        }

        return entry;
    }
}

/// <summary>JSON settings of the environment files and records.</summary>
internal static class EnvJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };
}
