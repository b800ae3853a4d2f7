using System.Globalization;
using System.Security.Cryptography;
using CardKeep.Agent.Daemon;
using CardKeep.Agent.HostKeys;
using CardKeep.Agent.Keys;
using CardKeep.Agent.Routing;
using CardKeep.Cards;
using CardKeep.Cards.PcSc;
using CardKeep.Cards.Piv;
using Microsoft.Extensions.Logging;

namespace CardKeep.Agent.Sessions;

/// <summary>
/// The key store manager's view of who is logged in. Logs users in (card: PIN, then a fresh 32-byte challenge signed by
/// the card's 9A key and checked against the key enrolled for that user; host: the passphrase that unlocks the user's
/// host key store), offers each session's keys to its owner through <see cref="KeyStoreManager"/>, records every session
/// in the user information store, and ends card sessions the moment their card leaves its reader (PC/SC monitor):
/// identities withdrawn, in-flight operations failed, store updated, hook run.
/// </summary>
public sealed class SessionManager : IDisposable
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, LiveSession> _live = [];
    private readonly KeyStoreManager _keys;
    private readonly SessionStore _store;
    private readonly CardRegistry _cards;
    private readonly AgentPaths _paths;
    private readonly IUserDirectory _users;
    private readonly ICardAccess _cardAccess;
    private readonly CommandTemplate? _onCardRemoved;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly int _hostKeyIterations;
    private readonly List<Task> _hooks = [];
    private CardMonitor? _monitor;

    public SessionManager(KeyStoreManager keys, AgentPaths paths, IUserDirectory users, ICardAccess cardAccess, CommandTemplate? onCardRemoved,
        ILogger logger, TimeProvider? time = null, int hostKeyIterations = HostKeyStore.DefaultIterations)
    {
        ArgumentNullException.ThrowIfNull(paths);
        _keys = keys;
        _paths = paths;
        _users = users;
        _cardAccess = cardAccess;
        _onCardRemoved = onCardRemoved;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _hostKeyIterations = hostKeyIterations;
        _store = new SessionStore(paths.SessionsFile);
        _cards = new CardRegistry(paths.CardsFile);
    }

    public SessionStore Store => _store;

    public CardRegistry Cards => _cards;

    public AgentPaths Paths => _paths;

    public IUserDirectory Users => _users;

    public int HostKeyIterations => _hostKeyIterations;

    /// <summary>Raised after a session ended because its card was removed (tests wait on it).</summary>
    public event EventHandler<UserSession>? CardSessionEnded;

    /// <summary>Watches PC/SC for removals. Sessions restored from the store whose card is gone end now.</summary>
    public void Start(bool watchCards)
    {
        RestoreSessions();
        if (watchCards)
        {
            _monitor = new CardMonitor();
            _monitor.Changed += (_, e) =>
            {
                if (e.Kind is CardEventKind.CardRemoved or CardEventKind.ReaderDetached)
                {
                    OnCardRemoved(e.Reader);
                }
            };
            _monitor.Failed += (_, e) => SessionLog.MonitorFailed(_logger, e.Message);
            _monitor.Start(reportPresent: false);
        }
    }

    public IReadOnlyList<UserSession> SessionsOf(uint uid) => [.. _store.Active.Where(s => s.Uid == uid)];

    /// <summary>
    /// Logs a user in. With an enrolled card of theirs present (in <see cref="LoginRequest.Reader"/>, or any reader), the
    /// secret is the PIN; otherwise it is the passphrase of their host key store. Raises <see cref="LoginFailedException"/>.
    /// </summary>
    public UserSession Login(LoginRequest request, ReadOnlySpan<byte> secret)
    {
        ArgumentNullException.ThrowIfNull(request);
        var (connection, enrolled) = FindEnrolledCard(request.Account.Uid, request.Reader);
        if (connection is not null)
        {
            return CardLogin(request, connection, enrolled!, secret);
        }

        if (request.Reader is not null)
        {
            throw new LoginFailedException($"the card in '{request.Reader}' is not enrolled for {request.Account.Name} (enroll it with 'cardkeep agent enroll-card')");
        }

        string storePath = _paths.HostKeyStore(request.Account.Uid);
        if (!HostKeyStore.Exists(storePath))
        {
            throw new LoginFailedException($"no enrolled card of {request.Account.Name} is present and {request.Account.Name} has no host key store");
        }

        return HostLogin(request, storePath, secret);
    }

    /// <summary>"card" (with the reader) when an enrolled card of the user is present, "host" when they have a host key store, else "none".</summary>
    public (string Method, string? Reader) LoginMethod(uint uid, string? reader)
    {
        var (connection, _) = FindEnrolledCard(uid, reader);
        if (connection is not null)
        {
            string found = connection.Reader;
            connection.End("probe only");
            return ("card", found);
        }

        return (HostKeyStore.Exists(_paths.HostKeyStore(uid)) ? "host" : "none", null);
    }

    private UserSession CardLogin(LoginRequest request, CardConnection connection, EnrolledCard enrolled, ReadOnlySpan<byte> pin)
    {
        var account = request.Account;
        try
        {
            try
            {
                connection.VerifyPin(pin);
            }
            catch (PivPinException e)
            {
                throw new LoginFailedException(e.RetriesLeft is int left
                    ? string.Create(CultureInfo.InvariantCulture, $"wrong PIN ({left} tries left)")
                    : "wrong PIN, or the PIN is blocked", e);
            }

            ProveCardKey(connection, enrolled.PublicKey);
            var keys = connection.ReadKeys().Select(k => new CardKey(connection, k)).ToList();
            var session = NewSession(request, card: true, KeyScheme.PivCard, connection.Reader, connection.Serial, null);
            ReplaceSessions(account.Uid, s => s.Card && s.Reader == connection.Reader);
            Attach(new LiveSession(session, connection, [.. keys]));
            SessionLog.LoggedIn(_logger, account.Name, account.Uid, session.Id, "card " + connection.Serial + " in '" + connection.Reader + "'", keys.Count);
            return session;
        }
        catch
        {
            connection.End("login failed");
            throw;
        }
    }

    private UserSession HostLogin(LoginRequest request, string storePath, ReadOnlySpan<byte> passphrase)
    {
        var account = request.Account;
        var store = HostKeyStore.Open(storePath);
        if (store.Uid != account.Uid)
        {
            throw new LoginFailedException("the host key store file belongs to another uid");
        }

        IReadOnlyList<SoftwareKey> keys;
        try
        {
            using var key = store.Unlock(passphrase);
            keys = store.ReadAll(key);
        }
        catch (WrongPassphraseException e)
        {
            SessionLog.LoginRefused(_logger, account.Name, account.Uid, "wrong host key store passphrase");
            throw new LoginFailedException("wrong passphrase for the host key store", e);
        }

        var session = NewSession(request, card: false, KeyScheme.HostKeyStore, null, null, storePath);
        ReplaceSessions(account.Uid, s => !s.Card);
        Attach(new LiveSession(session, null, [.. keys]));
        SessionLog.LoggedIn(_logger, account.Name, account.Uid, session.Id, "host key store", keys.Count);
        return session;
    }

    /// <summary>Ends the uid's sessions (all, or the one named). Returns how many ended.</summary>
    public int Logout(uint uid, string? sessionId)
    {
        var ids = SessionsOf(uid).Where(s => sessionId is null || s.Id == sessionId).Select(s => s.Id).ToList();
        foreach (var id in ids)
        {
            EndSession(id, "logout", runHook: false);
        }

        return ids.Count;
    }

    /// <summary>
    /// Enrolls the card in <paramref name="reader"/> for the account: PIN, then a challenge signed with the 9A key (the
    /// card must hold the private half of what it presents), then the serial and 9A key/certificate are recorded.
    /// </summary>
    public EnrolledCard Enroll(UserAccount account, string reader, ReadOnlySpan<byte> pin)
    {
        ArgumentNullException.ThrowIfNull(account);
        using var connection = _cardAccess.Open(_cardAccess.ResolveReader(reader));
        try
        {
            connection.VerifyPin(pin);
        }
        catch (PivPinException e)
        {
            throw new LoginFailedException("wrong PIN; the card was not enrolled", e);
        }

        var authentication = connection.ReadKeys().FirstOrDefault(k => k.Slot == PivSlot.Authentication)
            ?? throw new LoginFailedException("the card has no PIV Authentication (9A) key with a certificate or public key");
        var spki = authentication.PublicKey.ToSubjectPublicKeyInfo();
        ProveCardKey(connection, spki);
        var card = new EnrolledCard
        {
            Uid = account.Uid,
            UserName = account.Name,
            Serial = connection.Serial,
            PublicKey = spki,
            Certificate = authentication.Certificate,
            Enrolled = _time.GetUtcNow(),
        };
        if (!_cards.Enroll(card))
        {
            throw new LoginFailedException($"card {card.Serial} is enrolled for another user");
        }

        SessionLog.Enrolled(_logger, account.Name, account.Uid, card.Serial, authentication.PublicKey.Fingerprint);
        return card;
    }

    /// <summary>
    /// Withdraws a card of the uid's (a replaced or lost card): it is no longer enrolled, so it logs nobody in, and the
    /// uid's sessions on it end now. False when the uid had no such card enrolled.
    /// </summary>
    public bool Unenroll(UserAccount account, string serial)
    {
        ArgumentNullException.ThrowIfNull(account);
        if (!_cards.Remove(account.Uid, serial))
        {
            return false;
        }

        foreach (var session in SessionsOf(account.Uid).Where(s => s.Card && s.CardSerial == serial).ToList())
        {
            EndSession(session.Id, "card-unenrolled", runHook: false);
        }

        SessionLog.Unenrolled(_logger, account.Name, account.Uid, serial);
        return true;
    }

    /// <summary>Ends every card session on <paramref name="reader"/> (card removed): at once for clients, then the rest.</summary>
    public void OnCardRemoved(string reader)
    {
        List<string> ids;
        lock (_lock)
        {
            ids = [.. _live.Values.Where(l => l.Connection?.Reader == reader).Select(l => l.Session.Id)];
        }

        foreach (var id in ids)
        {
            EndSession(id, "card-removed", runHook: true);
        }
    }

    /// <summary>Waits for hooks started so far (tests, shutdown).</summary>
    public void WaitForHooks(TimeSpan timeout)
    {
        Task[] running;
        lock (_hooks)
        {
            running = [.. _hooks];
        }

        Task.WaitAll(running, timeout);
    }

    private void EndSession(string id, string reason, bool runHook)
    {
        LiveSession? live;
        lock (_lock)
        {
            _live.Remove(id, out live);
        }

        // Order matters: clients stop seeing the keys and card operations stop first; cleanup follows.
        _keys.DetachSession(id);
        live?.Connection?.MarkEnded(reason);
        var ended = _store.End(id, reason, _time.GetUtcNow());
        if (live is not null)
        {
            foreach (var key in live.Keys)
            {
                key.Dispose();
            }

            if (live.Connection is { } connection)
            {
                // Waits for an operation in flight (which now fails), then zeroes the PIN and releases the card.
                _ = Task.Run(() => connection.End(reason));
            }
        }

        if (ended is null)
        {
            return;
        }

        SessionLog.Ended(_logger, ended.UserName, ended.Uid, id, reason);
        if (runHook)
        {
            RunHook(ended);
            CardSessionEnded?.Invoke(this, ended);
        }
    }

    private void RunHook(UserSession session)
    {
        if (_onCardRemoved is null)
        {
            return;
        }

        var values = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["user"] = session.UserName,
            ["uid"] = session.Uid.ToString(CultureInfo.InvariantCulture),
            ["session"] = session.Id,
            ["logind_session"] = session.LogindSession ?? string.Empty,
            ["reader"] = session.Reader ?? string.Empty,
            ["serial"] = session.CardSerial ?? string.Empty,
            ["tty"] = session.Tty ?? string.Empty,
        };
        var task = Task.Run(async () =>
        {
            try
            {
                int code = await _onCardRemoved.RunAsync(values, TimeSpan.FromSeconds(30)).ConfigureAwait(false);
                SessionLog.HookRan(_logger, _onCardRemoved.Arguments[0], session.Id, code);
            }
            catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
            {
                SessionLog.HookFailed(_logger, _onCardRemoved.Arguments[0], session.Id, e.Message);
            }
        });
        lock (_hooks)
        {
            _hooks.RemoveAll(t => t.IsCompleted);
            _hooks.Add(task);
        }
    }

    private void RestoreSessions()
    {
        IReadOnlyList<string> present;
        try
        {
            present = _cardAccess.ReadersWithCard();
        }
        catch (CardException)
        {
            present = [];
        }

        foreach (var session in _store.Active)
        {
            if (!session.Card)
            {
                SessionLog.RestoredLocked(_logger, session.UserName, session.Uid, session.Id);
                continue;
            }

            CardConnection? connection = null;
            try
            {
                if (session.Reader is { } reader && present.Contains(reader))
                {
                    connection = _cardAccess.Open(reader);
                    if (connection.Serial == session.CardSerial)
                    {
                        var keys = connection.ReadKeys().Select(k => new CardKey(connection, k)).ToList();
                        Attach(new LiveSession(session, connection, [.. keys]), persist: false);
                        SessionLog.Restored(_logger, session.UserName, session.Uid, session.Id);
                        continue;
                    }
                }
            }
            catch (CardException e)
            {
                SessionLog.MonitorFailed(_logger, e.Message);
            }

            connection?.End("card changed while the agent was stopped");
            EndSession(session.Id, "card-removed", runHook: true);
        }
    }

    private (CardConnection? Connection, EnrolledCard? Card) FindEnrolledCard(uint uid, string? reader)
    {
        var enrolled = _cards.For(uid);
        if (enrolled.Count == 0 && reader is null)
        {
            return (null, null);
        }

        IReadOnlyList<string> readers;
        try
        {
            readers = reader is null ? _cardAccess.ReadersWithCard() : [_cardAccess.ResolveReader(reader)];
        }
        catch (PcscException e)
        {
            if (reader is not null)
            {
                throw new LoginFailedException(e.Message, e);
            }

            return (null, null);
        }

        foreach (var name in readers)
        {
            CardConnection connection;
            try
            {
                connection = _cardAccess.Open(name);
            }
            catch (CardException)
            {
                continue;
            }

            var card = enrolled.FirstOrDefault(c => c.Serial == connection.Serial);
            if (card is not null)
            {
                return (connection, card);
            }

            connection.End("not the user's card");
        }

        return (null, null);
    }

    /// <summary>Signs a fresh random challenge with the card's 9A key and checks it against the enrolled public key.</summary>
    private static void ProveCardKey(CardConnection connection, byte[] enrolledSpki)
    {
        var publicKey = SshAgent.SshPublicKey.FromSubjectPublicKeyInfo(enrolledSpki);
        var algorithm = publicKey.Type switch
        {
            SshAgent.SshKeyType.Rsa => PivAlgorithmExtensions.RsaForKeySize(publicKey.Bits),
            SshAgent.SshKeyType.EcdsaP256 => PivAlgorithm.EccP256,
            SshAgent.SshKeyType.EcdsaP384 => PivAlgorithm.EccP384,
            _ => throw new LoginFailedException("the enrolled key is not a PIV key type"),
        };
        using var key = new CardKey(connection, new CardKeyInfo(PivSlot.Authentication, algorithm, publicKey, null));
        var challenge = RandomNumberGenerator.GetBytes(32);
        var signature = key.SignSsh(challenge, SshAgent.AgentProtocol.FlagRsaSha256);
        if (!publicKey.Verify(challenge, signature))
        {
            throw new LoginFailedException("the card's 9A key did not sign the challenge with the enrolled key: not the enrolled card");
        }
    }

    private UserSession NewSession(LoginRequest request, bool card, KeyScheme scheme, string? reader, string? serial, string? hostStore) => new()
    {
        Id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)),
        Uid = request.Account.Uid,
        Gid = request.Account.Gid,
        UserName = request.Account.Name,
        Tty = request.Tty,
        RemoteHost = request.RemoteHost,
        LoginTime = _time.GetUtcNow(),
        Card = card,
        Reader = reader,
        CardSerial = serial,
        KeyScheme = scheme,
        HostKeyStore = hostStore,
        LogindSession = request.LogindSession,
    };

    private void ReplaceSessions(uint uid, Func<UserSession, bool> match)
    {
        foreach (var old in SessionsOf(uid).Where(match))
        {
            EndSession(old.Id, "replaced by a new login", runHook: false);
        }
    }

    private void Attach(LiveSession live, bool persist = true)
    {
        lock (_lock)
        {
            _live[live.Session.Id] = live;
        }

        if (persist)
        {
            _store.Add(live.Session);
        }

        _keys.AttachSession(live.Session.Uid, live.Session.Id, live.Keys);
    }

    /// <summary>Adds a key to the uid's active host session (a new or imported host key), so it is usable at once.</summary>
    public bool OfferToHostSession(uint uid, SoftwareKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        LiveSession? live;
        lock (_lock)
        {
            live = _live.Values.FirstOrDefault(l => l.Session.Uid == uid && l.Connection is null);
            if (live is null)
            {
                return false;
            }

            live.Keys.Add(key);
        }

        _keys.AttachSession(uid, live.Session.Id, [key]);
        return true;
    }

    public void Dispose()
    {
        _monitor?.Dispose();
        List<LiveSession> all;
        lock (_lock)
        {
            all = [.. _live.Values];
            _live.Clear();
        }

        foreach (var live in all)
        {
            // The agent stops; sessions stay recorded for the next start. Secrets go.
            _keys.DetachSession(live.Session.Id);
            foreach (var key in live.Keys)
            {
                key.Dispose();
            }

            live.Connection?.End("the agent stopped");
        }

        WaitForHooks(TimeSpan.FromSeconds(5));
    }

    private sealed record LiveSession(UserSession Session, CardConnection? Connection, List<AgentKey> Keys);
}

internal static partial class SessionLog
{
    [LoggerMessage(Level = LogLevel.Information, Message = "{User} (uid {Uid}) logged in, session {Session}, with {How}; {Keys} keys offered")]
    public static partial void LoggedIn(ILogger logger, string user, uint uid, string session, string how, int keys);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{User} (uid {Uid}): login refused: {Reason}")]
    public static partial void LoginRefused(ILogger logger, string user, uint uid, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "{User} (uid {Uid}): session {Session} ended: {Reason}")]
    public static partial void Ended(ILogger logger, string user, uint uid, string session, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "{User} (uid {Uid}) enrolled card {Serial} with 9A key {Fingerprint}")]
    public static partial void Enrolled(ILogger logger, string user, uint uid, string serial, string fingerprint);

    [LoggerMessage(Level = LogLevel.Information, Message = "{User} (uid {Uid}) withdrew card {Serial}: no longer enrolled, its sessions ended")]
    public static partial void Unenrolled(ILogger logger, string user, uint uid, string serial);

    [LoggerMessage(Level = LogLevel.Information, Message = "card-removed hook {Program} for session {Session} exited with {Code}")]
    public static partial void HookRan(ILogger logger, string program, string session, int code);

    [LoggerMessage(Level = LogLevel.Error, Message = "card-removed hook {Program} for session {Session} could not run: {Problem}")]
    public static partial void HookFailed(ILogger logger, string program, string session, string problem);

    [LoggerMessage(Level = LogLevel.Warning, Message = "PC/SC: {Problem}")]
    public static partial void MonitorFailed(ILogger logger, string problem);

    [LoggerMessage(Level = LogLevel.Information, Message = "{User} (uid {Uid}): card session {Session} restored after agent start (operations needing the PIN wait for the next login)")]
    public static partial void Restored(ILogger logger, string user, uint uid, string session);

    [LoggerMessage(Level = LogLevel.Information, Message = "{User} (uid {Uid}): host session {Session} is still recorded; its keys stay sealed until the user logs in again")]
    public static partial void RestoredLocked(ILogger logger, string user, uint uid, string session);
}
