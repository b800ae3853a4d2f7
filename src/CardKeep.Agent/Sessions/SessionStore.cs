namespace CardKeep.Agent.Sessions;

/// <summary>
/// The user information store: every session as JSON in one file (0600, atomic replace). Active sessions and the most
/// recent ended ones (for the record) are kept; a restarted agent reads it to know who is logged in. Thread-safe.
/// </summary>
public sealed class SessionStore
{
    private const int EndedKept = 50;
    private readonly Lock _lock = new();
    private readonly List<UserSession> _sessions;

    public SessionStore(string path)
    {
        Path = path;
        _sessions = JsonFile.Read<Document>(path)?.Sessions ?? [];
    }

    public string Path { get; }

    public IReadOnlyList<UserSession> All
    {
        get
        {
            lock (_lock)
            {
                return [.. _sessions];
            }
        }
    }

    public IReadOnlyList<UserSession> Active => [.. All.Where(s => s.IsActive)];

    public void Add(UserSession session)
    {
        lock (_lock)
        {
            _sessions.Add(session);
            Save();
        }
    }

    /// <summary>Marks a session ended; returns the ended record, or null when it was not active.</summary>
    public UserSession? End(string id, string reason, DateTimeOffset when)
    {
        lock (_lock)
        {
            int index = _sessions.FindIndex(s => s.Id == id && s.IsActive);
            if (index < 0)
            {
                return null;
            }

            var ended = _sessions[index] with { Ended = when, EndReason = reason };
            _sessions.RemoveAt(index);
            _sessions.Add(ended);
            int surplus = _sessions.Count(s => !s.IsActive) - EndedKept;
            for (int i = 0; i < _sessions.Count && surplus > 0; i++)
            {
                if (!_sessions[i].IsActive)
                {
                    _sessions.RemoveAt(i--);
                    surplus--;
                }
            }

            Save();
            return ended;
        }
    }

    private void Save() => JsonFile.Write(Path, new Document { Sessions = _sessions });

    private sealed class Document
    {
        public int Version { get; set; } = 1;

        public List<UserSession> Sessions { get; set; } = [];
    }
}
