namespace CardKeep.Agent.Sessions;

/// <summary>A card a user enrolled: its serial and the 9A (PIV Authentication) key its login challenge is checked against.</summary>
public sealed record EnrolledCard
{
    public required uint Uid { get; init; }

    public required string UserName { get; init; }

    public required string Serial { get; init; }

    /// <summary>DER SubjectPublicKeyInfo of the card's 9A key.</summary>
    public required byte[] PublicKey { get; init; }

    /// <summary>DER of the 9A certificate when the card had one.</summary>
    public byte[]? Certificate { get; init; }

    public required DateTimeOffset Enrolled { get; init; }
}

/// <summary>The registry of enrolled cards (one JSON file, 0600). A card serial belongs to one uid at a time. Thread-safe.</summary>
public sealed class CardRegistry
{
    private readonly Lock _lock = new();
    private readonly List<EnrolledCard> _cards;

    public CardRegistry(string path)
    {
        Path = path;
        _cards = JsonFile.Read<Document>(path)?.Cards ?? [];
    }

    public string Path { get; }

    public IReadOnlyList<EnrolledCard> For(uint uid)
    {
        lock (_lock)
        {
            return [.. _cards.Where(c => c.Uid == uid)];
        }
    }

    public EnrolledCard? Find(uint uid, string serial)
    {
        lock (_lock)
        {
            return _cards.FirstOrDefault(c => c.Uid == uid && c.Serial == serial);
        }
    }

    /// <summary>Records (or replaces) the card for its uid; false when the serial is enrolled for another uid.</summary>
    public bool Enroll(EnrolledCard card)
    {
        ArgumentNullException.ThrowIfNull(card);
        lock (_lock)
        {
            if (_cards.Any(c => c.Serial == card.Serial && c.Uid != card.Uid))
            {
                return false;
            }

            _cards.RemoveAll(c => c.Serial == card.Serial);
            _cards.Add(card);
            JsonFile.Write(Path, new Document { Cards = _cards });
            return true;
        }
    }

    public bool Remove(uint uid, string serial)
    {
        lock (_lock)
        {
            if (_cards.RemoveAll(c => c.Uid == uid && c.Serial == serial) == 0)
            {
                return false;
            }

            JsonFile.Write(Path, new Document { Cards = _cards });
            return true;
        }
    }

    private sealed class Document
    {
        public int Version { get; set; } = 1;

        public List<EnrolledCard> Cards { get; set; } = [];
    }
}
