using System.Security.Cryptography;
using CardKeep.Protocol.Records;

namespace CardKeep.Client.PersonalEnvironment;

/// <summary>Where an entry was read from.</summary>
public enum EntrySource
{
    /// <summary>The card.</summary>
    Card,

    /// <summary>The local offline copy.</summary>
    Local,

    /// <summary>The server (then written to the card).</summary>
    Server,
}

/// <summary>One line of <c>env diff</c>: the entry's state on the card, the server and in the local copy.</summary>
/// <param name="Id">Record id.</param>
/// <param name="Name">Entry name (from whichever copy could be read).</param>
/// <param name="Card">State on the card.</param>
/// <param name="Server">State on the server.</param>
/// <param name="Local">State in the local copy.</param>
/// <param name="Status">Summary: same, differs, or what sync would do.</param>
public sealed record EntryDiff(string Id, string Name, string Card, string Server, string Local, string Status);

/// <summary>What a sync did.</summary>
public sealed record SyncReport
{
    /// <summary>Entries uploaded.</summary>
    public List<string> Pushed { get; } = [];

    /// <summary>Entries downloaded.</summary>
    public List<string> Pulled { get; } = [];

    /// <summary>Entries removed (on the server, or locally because removed on the server).</summary>
    public List<string> Removed { get; } = [];

    /// <summary>Conflicts: both versions kept on the server (entry name and conflict id).</summary>
    public List<(string Name, string ConflictId)> Conflicts { get; } = [];

    /// <summary>Records failing authentication (reported, never used to overwrite a good copy).</summary>
    public List<string> Damaged { get; } = [];

    /// <summary>Set when the quota is full: the offer (null when the server maximum is reached) and the entries not uploaded.</summary>
    public WriteResultDto? QuotaFull { get; set; }

    /// <summary>Entries left unsynced because the quota is full.</summary>
    public List<string> NotUploaded { get; } = [];

    /// <summary>The card after the sync.</summary>
    public CardPlan? Card { get; set; }
}

/// <summary>
/// The personal environment of one user at one computer: the card (record key and card-resident entries), the local
/// offline copy and, when online, the server. Holds the record master key while open and zeroes it on dispose.
/// </summary>
public sealed class EnvironmentService : IDisposable
{
    private readonly string _user;
    private readonly IRecordKeyCard _card;
    private readonly EnvCard _envCard;
    private readonly LocalFolder _folder;
    private readonly RecordsClient? _server;
    private readonly TimeProvider _clock;
    private byte[]? _rmk;
    private LocalState _state = new(null, []);

    /// <summary>Creates the service; call <see cref="OpenAsync"/> (or <see cref="SetupAsync"/> the first time).</summary>
    public EnvironmentService(string user, IRecordKeyCard card, IEnvCardObjects cardObjects, int cardBudget, LocalFolder folder, RecordsClient? server, TimeProvider? clock = null)
    {
        _user = user ?? throw new ArgumentNullException(nameof(user));
        _card = card ?? throw new ArgumentNullException(nameof(card));
        _envCard = new EnvCard(cardObjects, cardBudget);
        _folder = folder ?? throw new ArgumentNullException(nameof(folder));
        _server = server;
        _clock = clock ?? TimeProvider.System;
    }

    /// <summary>True when a server is in use.</summary>
    public bool Online => _server is not null;

    /// <summary>The set the card carries (null = all).</summary>
    public string? CardSet => _state.Set;

    /// <summary>Problems noticed while opening (a damaged card cache or local copy), for the user to see.</summary>
    public List<string> Warnings { get; } = [];

    private byte[] Rmk => _rmk ?? throw new InvalidOperationException("the environment is not open");

    private long Now => _clock.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>
    /// First use: a new record master key wrapped to this card and under a new record recovery code. Returns the
    /// recovery code (16 bytes; the caller shows it once and zeroes it). Fails when the user has record keys already.
    /// </summary>
    public async Task<byte[]> SetupAsync(CancellationToken cancellationToken = default)
    {
        var server = _server ?? throw new InvalidOperationException("setting up needs the server");
        byte[] code = RandomNumberGenerator.GetBytes(RecordCrypto.RecoveryCodeLength);
        byte[] rmk = RecordCrypto.NewKey();
        try
        {
            byte[] cardWrap = RecordCrypto.WrapToCard(_card.KeyManagementKey, _user, _card.Serial, rmk);
            await server.InitKeysAsync(new KeysInitDto(cardWrap, RecordCrypto.WrapToRecoveryCode(code, _user, rmk)), cancellationToken).ConfigureAwait(false);
            _folder.WriteKeys(new LocalKeys(_user, server.Base.GetLeftPart(UriPartial.Authority), _card.Serial, cardWrap));
            _rmk = rmk;
            _state = new LocalState(null, []);
            _folder.WriteState(rmk, _user, _state);
            return code;
        }
        catch
        {
            CryptographicOperations.ZeroMemory(rmk);
            CryptographicOperations.ZeroMemory(code);
            throw;
        }
    }

    /// <summary>
    /// Unwraps the record master key with the card (the wrap from the server, or offline from the local folder), reads
    /// the local copy and merges what the card carries into it. False when the user has no record keys for this card.
    /// </summary>
    public async Task<bool> OpenAsync(CancellationToken cancellationToken = default)
    {
        byte[]? wrap = null;
        if (_server is not null)
        {
            var keys = await _server.KeysAsync(cancellationToken).ConfigureAwait(false);
            wrap = keys.CardWrap;
            if (wrap is not null)
            {
                _folder.WriteKeys(new LocalKeys(_user, _server.Base.GetLeftPart(UriPartial.Authority), _card.Serial, wrap));
            }
        }
        else if (_folder.ReadKeys() is { } local && local.User == _user && local.CardSerial == _card.Serial)
        {
            wrap = local.CardWrap;
        }

        if (wrap is null)
        {
            return false;
        }

        _rmk = RecordCrypto.UnwrapWithCard(_card, _user, wrap);
        try
        {
            _state = _folder.ReadState(_rmk, _user);
        }
        catch (DamagedRecordException e)
        {
            Warnings.Add($"{e.Message}; starting an empty local copy (the damaged file is kept as state.bin.damaged)");
            File.Copy(Path.Combine(_folder.Path, "state.bin"), Path.Combine(_folder.Path, "state.bin.damaged"), overwrite: true);
            _state = new LocalState(null, []);
        }

        MergeCard(LoadCard());
        return true;
    }

    /// <summary>Entries of the local copy (after a sync: every entry), with whether the card carries each.</summary>
    public IReadOnlyList<(LocalEntry Entry, bool OnCard)> List()
    {
        var onCard = LoadCard()?.Entries.Select(e => e.Entry.Id).ToHashSet(StringComparer.Ordinal) ?? [];
        return [.. _state.Entries.Where(e => e.Entry is not null).OrderBy(e => e.Entry!.Name, StringComparer.OrdinalIgnoreCase).Select(e => (e, onCard.Contains(e.Id)))];
    }

    /// <summary>The entry named <paramref name="name"/> (case-insensitive) or with that id, from the local copy.</summary>
    public LocalEntry? Find(string name) =>
        _state.Entries.FirstOrDefault(e => e.Entry is not null && (string.Equals(e.Entry.Name, name, StringComparison.OrdinalIgnoreCase) || e.Id == name));

    /// <summary>
    /// Reads an entry: from the card when it carries it; otherwise from the local copy or the server, and then it is
    /// written to the card as the most recently used (evicting the least recently used when the card is full).
    /// </summary>
    public async Task<(EnvEntry Entry, EntrySource Source, CardPlan? Card)> GetAsync(string name, CancellationToken cancellationToken = default)
    {
        var card = LoadCard();
        var onCard = card?.Entries.FirstOrDefault(e => string.Equals(e.Entry.Name, name, StringComparison.OrdinalIgnoreCase) || e.Entry.Id == name);
        EntrySource source = EntrySource.Card;
        EnvEntry? entry = onCard?.Entry;
        if (entry is null)
        {
            source = EntrySource.Local;
            entry = Find(name)?.Entry;
            if (entry is null && _server is not null)
            {
                await SyncAsync(cancellationToken).ConfigureAwait(false);
                source = EntrySource.Server;
                entry = Find(name)?.Entry;
            }
        }

        if (entry is null)
        {
            throw new KeyNotFoundException($"no entry named '{name}'");
        }

        long now = Now;
        Update(entry.Id, e => e with { UsedAt = Math.Max(e.UsedAt, now) });
        Save();
        if (_server is not null && Find(entry.Id) is { BaseRevision: > 0 })
        {
            try
            {
                await _server.TouchAsync(entry.Id, now, cancellationToken).ConfigureAwait(false);
            }
            catch (RecordsServerException)
            {
                // The last-use time reaches the server at the next sync.
            }
        }

        return (entry, source, WriteCard());
    }

    /// <summary>Adds an entry (name unique); uploads it at once when online.</summary>
    public async Task<SyncReport?> AddAsync(EnvEntry entry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (entry.Validate() is { } bad)
        {
            throw new ArgumentException(bad, nameof(entry));
        }

        if (Find(entry.Name) is not null)
        {
            throw new ArgumentException($"an entry named '{entry.Name}' exists; use 'env edit'", nameof(entry));
        }

        _state = _state with { Entries = [.. _state.Entries, new LocalEntry(entry.Id, entry, 0, EnvEntry.NewId(), Now)] };
        return await CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Replaces an entry's content (same id); uploads it at once when online.</summary>
    public async Task<SyncReport?> EditAsync(EnvEntry entry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (entry.Validate() is { } bad)
        {
            throw new ArgumentException(bad, nameof(entry));
        }

        if (Find(entry.Name) is { } other && other.Id != entry.Id)
        {
            throw new ArgumentException($"another entry is named '{entry.Name}'", nameof(entry));
        }

        Update(entry.Id, e => e with { Entry = entry, ChangeId = EnvEntry.NewId(), UsedAt = Now });
        return await CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Removes an entry (locally at once; on the server at the next sync, or now when online).</summary>
    public async Task<SyncReport?> RemoveAsync(string name, CancellationToken cancellationToken = default)
    {
        var found = Find(name) ?? throw new KeyNotFoundException($"no entry named '{name}'");
        if (found.BaseRevision == 0)
        {
            _state = _state with { Entries = [.. _state.Entries.Where(e => e.Id != found.Id)] };
        }
        else
        {
            Update(found.Id, e => e with { Entry = null, ChangeId = EnvEntry.NewId() });
        }

        return await CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Chooses the set the card carries (null = every entry) and rewrites the card.</summary>
    public CardPlan ChooseSet(string? set)
    {
        if (set is not null && !RecordLimits.IsSetName(set))
        {
            throw new ArgumentException("a set name has 1-32 of a-z 0-9 . _ -", nameof(set));
        }

        _state = _state with { Set = set };
        Save();
        return WriteCard();
    }

    /// <summary>
    /// Reconciles the local copy (and the card's offline edits) with the server: uploads edits from the revision they
    /// started from (a stale one keeps both versions on the server and is reported as a conflict), downloads newer
    /// revisions, drops entries removed on the server, then rewrites the card. Every upload carries its change id, so
    /// repeating a sync that was cut short changes nothing twice.
    /// </summary>
    public async Task<SyncReport> SyncAsync(CancellationToken cancellationToken = default)
    {
        var server = _server ?? throw new InvalidOperationException("sync needs the server");
        var report = new SyncReport();
        var card = LoadCard();
        MergeCard(card);

        var list = await server.ListAsync(cancellationToken).ConfigureAwait(false);
        var remote = list.Records.ToDictionary(r => r.Id, StringComparer.Ordinal);
        var pushed = new HashSet<string>(StringComparer.Ordinal);

        // Offline edits the card carries that the local copy does not (made at another computer): upload them too.
        var extra = card?.Entries.Where(c => c.ChangeId is not null && Find(c.Entry.Id) is { } l && l.ChangeId != c.ChangeId).ToList() ?? [];
        foreach (var c in extra)
        {
            await PushAsync(server, new LocalEntry(c.Entry.Id, c.Entry, c.Revision, c.ChangeId, c.UsedAt), pushed, report, cancellationToken).ConfigureAwait(false);
        }

        foreach (var local in _state.Entries.Where(e => e.Dirty).ToList())
        {
            await PushAsync(server, local, pushed, report, cancellationToken).ConfigureAwait(false);
        }

        foreach (var record in list.Records.Where(r => !pushed.Contains(r.Id)))
        {
            var local = _state.Entries.FirstOrDefault(e => e.Id == record.Id);
            if (local is { Dirty: true })
            {
                continue;
            }

            if (local is null || local.BaseRevision != record.Revision)
            {
                try
                {
                    var entry = Decrypt(record.Id, record.Revision, record.WrappedDek, record.Ciphertext);
                    Upsert(new LocalEntry(record.Id, entry, record.Revision, null, Math.Max(record.UsedAt, local?.UsedAt ?? 0)));
                    report.Pulled.Add(entry.Name);
                }
                catch (DamagedRecordException)
                {
                    report.Damaged.Add(local?.Entry?.Name ?? record.Id);
                }
            }
            else if (local.UsedAt > record.UsedAt)
            {
                await server.TouchAsync(record.Id, local.UsedAt, cancellationToken).ConfigureAwait(false);
            }
            else if (record.UsedAt > local.UsedAt)
            {
                Update(record.Id, e => e with { UsedAt = record.UsedAt });
            }
        }

        foreach (var gone in _state.Entries.Where(e => !e.Dirty && e.BaseRevision != 0 && !remote.ContainsKey(e.Id) && !pushed.Contains(e.Id)).ToList())
        {
            _state = _state with { Entries = [.. _state.Entries.Where(e => e.Id != gone.Id)] };
            report.Removed.Add(gone.Entry?.Name ?? gone.Id);
        }

        foreach (var conflict in list.Conflicts.Where(c => !report.Conflicts.Any(r => r.ConflictId == c.ConflictId)))
        {
            report.Conflicts.Add((Find(conflict.RecordId)?.Entry?.Name ?? conflict.RecordId, conflict.ConflictId));
        }

        Save();
        report.Card = WriteCard();
        return report;
    }

    /// <summary>Entry by entry: card vs server vs local copy.</summary>
    public async Task<IReadOnlyList<EntryDiff>> DiffAsync(CancellationToken cancellationToken = default)
    {
        var card = LoadCard()?.Entries.ToDictionary(e => e.Entry.Id, StringComparer.Ordinal) ?? [];
        Dictionary<string, RecordDto>? remote = null;
        if (_server is not null)
        {
            remote = (await _server.ListAsync(cancellationToken).ConfigureAwait(false)).Records.ToDictionary(r => r.Id, StringComparer.Ordinal);
        }

        var ids = card.Keys.Concat(_state.Entries.Select(e => e.Id)).Concat(remote?.Keys.AsEnumerable() ?? []).Distinct(StringComparer.Ordinal);
        var diffs = new List<EntryDiff>();
        foreach (string id in ids)
        {
            var c = card.GetValueOrDefault(id);
            var l = Find(id) ?? _state.Entries.FirstOrDefault(e => e.Id == id);
            var r = remote?.GetValueOrDefault(id);
            string? serverName = null;
            string serverState = remote is null ? "offline" : "absent";
            EnvEntry? serverEntry = null;
            if (r is not null)
            {
                try
                {
                    serverEntry = Decrypt(r.Id, r.Revision, r.WrappedDek, r.Ciphertext);
                    serverName = serverEntry.Name;
                    serverState = $"rev {r.Revision}";
                }
                catch (DamagedRecordException)
                {
                    serverState = $"rev {r.Revision} DAMAGED";
                }
            }

            string cardState = c is null ? "absent" : c.ChangeId is null ? $"rev {c.Revision}" : $"edited (from rev {c.Revision})";
            string localState = l is null ? "absent" : l.Entry is null ? $"removed (from rev {l.BaseRevision})" : l.Dirty ? (l.BaseRevision == 0 ? "new" : $"edited (from rev {l.BaseRevision})") : $"rev {l.BaseRevision}";
            string name = c?.Entry.Name ?? l?.Entry?.Name ?? serverName ?? id;
            string status = Verdict(c, l, r, serverEntry, remote is not null);
            diffs.Add(new EntryDiff(id, name, cardState, serverState, localState, status));
        }

        return [.. diffs.OrderBy(d => d.Name, StringComparer.OrdinalIgnoreCase)];
    }

    /// <summary>
    /// After a card replacement, run with the NEW card: unwraps the record master key with the recovery code, makes a
    /// new one, re-wraps every data key and wraps the new key to this card and under a new recovery code, in one
    /// server transaction (the old card's wrap is gone, so the old card decrypts nothing). Returns the new recovery code.
    /// </summary>
    public async Task<byte[]> RekeyAsync(ReadOnlyMemory<byte> recoveryCode, CancellationToken cancellationToken = default)
    {
        var server = _server ?? throw new InvalidOperationException("re-keying needs the server");
        var keys = await server.KeysAsync(cancellationToken).ConfigureAwait(false);
        if (keys.RecoveryWrap is null)
        {
            throw new InvalidOperationException("there are no record keys to recover; run 'cardkeep env setup'");
        }

        byte[] oldRmk = RecordCrypto.UnwrapWithRecoveryCode(recoveryCode.Span, _user, keys.RecoveryWrap);
        byte[] newRmk = RecordCrypto.NewKey();
        byte[] newCode = RandomNumberGenerator.GetBytes(RecordCrypto.RecoveryCodeLength);
        try
        {
            LocalState? local = null;
            try
            {
                local = _folder.ReadState(oldRmk, _user);
            }
            catch (DamagedRecordException)
            {
                // A local copy of another key (or none): sync fills a fresh one.
            }

            var list = await server.ListAsync(cancellationToken).ConfigureAwait(false);
            var rewraps = list.Records.Select(r => new RewrapDto(r.Id, false, r.Revision, RecordCrypto.RewrapDek(oldRmk, newRmk, _user, r.Id, r.WrappedDek)))
                .Concat(list.Conflicts.Select(c => new RewrapDto(c.ConflictId, true, c.Revision, RecordCrypto.RewrapDek(oldRmk, newRmk, _user, c.RecordId, c.WrappedDek))))
                .ToList();
            byte[] cardWrap = RecordCrypto.WrapToCard(_card.KeyManagementKey, _user, _card.Serial, newRmk);
            await server.RekeyAsync(new RekeyDto(cardWrap, RecordCrypto.WrapToRecoveryCode(newCode, _user, newRmk), rewraps), cancellationToken).ConfigureAwait(false);
            _folder.WriteKeys(new LocalKeys(_user, server.Base.GetLeftPart(UriPartial.Authority), _card.Serial, cardWrap));
            _state = local ?? new LocalState(null, []);
            _folder.WriteState(newRmk, _user, _state);
            if (_rmk is not null)
            {
                CryptographicOperations.ZeroMemory(_rmk);
            }

            _rmk = newRmk;
            return newCode;
        }
        catch
        {
            CryptographicOperations.ZeroMemory(newRmk);
            CryptographicOperations.ZeroMemory(newCode);
            throw;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(oldRmk);
        }
    }

    /// <summary>
    /// Settles a conflict: <paramref name="take"/> makes the kept version the entry's content (a new revision, uploaded
    /// now); otherwise the current version stays. Either way the kept copy is then dropped on the server.
    /// </summary>
    public async Task<EnvEntry> ResolveConflictAsync(string conflictId, bool take, CancellationToken cancellationToken = default)
    {
        var server = _server ?? throw new InvalidOperationException("settling a conflict needs the server");
        await SyncAsync(cancellationToken).ConfigureAwait(false);
        var conflict = (await server.ListAsync(cancellationToken).ConfigureAwait(false)).Conflicts.FirstOrDefault(c => c.ConflictId == conflictId)
            ?? throw new KeyNotFoundException($"no conflict '{conflictId}' (see 'cardkeep env diff')");
        var kept = OpenConflict(conflict);
        var current = Find(conflict.RecordId)?.Entry;
        if (take || current is null)
        {
            if (current is null)
            {
                Upsert(new LocalEntry(conflict.RecordId, kept, 0, EnvEntry.NewId(), Now));
            }
            else
            {
                Update(conflict.RecordId, e => e with { Entry = kept, ChangeId = EnvEntry.NewId(), UsedAt = Now });
            }

            var report = await CommitAsync(cancellationToken).ConfigureAwait(false);
            if (report is { Conflicts.Count: > 0 } || Find(conflict.RecordId) is { Dirty: true })
            {
                throw new InvalidOperationException("the entry changed again meanwhile; the conflict is kept — run 'cardkeep env diff' and try again");
            }
        }

        await server.DeleteConflictAsync(conflictId, cancellationToken).ConfigureAwait(false);
        return take || current is null ? kept : current;
    }

    /// <summary>Decrypts a kept conflict version (to show it).</summary>
    public EnvEntry OpenConflict(ConflictDto conflict)
    {
        ArgumentNullException.ThrowIfNull(conflict);
        return Decrypt(conflict.RecordId, conflict.Revision, conflict.WrappedDek, conflict.Ciphertext);
    }

    /// <summary>Decrypts a server record with the record master key.</summary>
    public EnvEntry Decrypt(string id, long revision, byte[] wrappedDek, byte[] ciphertext)
    {
        byte[] plaintext = RecordCrypto.OpenRecord(Rmk, _user, id, revision, wrappedDek, ciphertext);
        try
        {
            return EnvEntry.Decode(plaintext, id);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }

    /// <summary>The card's content, or null (none, or damaged: then a warning and the card is rebuilt at the next write).</summary>
    public CardContent? LoadCard()
    {
        try
        {
            return _envCard.Load(Rmk, _user, _card.Serial);
        }
        catch (DamagedRecordException e)
        {
            Warnings.Add($"{e.Message}; the card's entries are rebuilt from the local copy and the server");
            return null;
        }
    }

    /// <summary>Rewrites the card from the local copy: the chosen set's entries, most recently used first, within the budget.</summary>
    public CardPlan WriteCard()
    {
        var candidates = _state.Entries
            .Where(e => e.Entry is not null && (_state.Set is null || e.Entry.Sets.Contains(_state.Set, StringComparer.Ordinal)))
            .Select(e => new CardEntry(e.Entry!, e.BaseRevision, e.UsedAt, e.ChangeId));
        try
        {
            return _envCard.Store(Rmk, _user, _card.Serial, _state.Set, candidates);
        }
        catch (CardKeep.Cards.CardException e)
        {
            // The entries are safe in the local copy and on the server; only the card's cache is not current.
            Warnings.Add($"the card was not updated: {e.Message}");
            return EnvCard.Plan(_state.Set, [], 0);
        }
    }

    private async Task<SyncReport?> CommitAsync(CancellationToken cancellationToken)
    {
        Save();
        if (_server is null)
        {
            WriteCard();
            return null;
        }

        return await SyncAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task PushAsync(RecordsClient server, LocalEntry local, HashSet<string> pushed, SyncReport report, CancellationToken cancellationToken)
    {
        string name = local.Entry?.Name ?? local.Id;
        if (local.Entry is null)
        {
            var deleted = await server.DeleteAsync(local.Id, local.BaseRevision, cancellationToken).ConfigureAwait(false);
            if (deleted.Outcome == "conflict")
            {
                // Changed on the server since: the removal is not applied; the newer version comes back at the pull.
                report.Conflicts.Add((name, string.Empty));
                Update(local.Id, e => e with { ChangeId = null, BaseRevision = -1 });
            }
            else
            {
                _state = _state with { Entries = [.. _state.Entries.Where(e => e.Id != local.Id)] };
                pushed.Add(local.Id);
                report.Removed.Add(name);
            }

            return;
        }

        long revision = local.BaseRevision + 1;
        byte[] plaintext = local.Entry.Encode();
        (byte[] ciphertext, byte[] wrappedDek) = RecordCrypto.SealRecord(Rmk, _user, local.Id, revision, plaintext);
        CryptographicOperations.ZeroMemory(plaintext);
        var result = await server.PutAsync(local.Id, new RecordPutDto(local.BaseRevision, local.ChangeId!, local.Entry.Sets, local.UsedAt, wrappedDek, ciphertext), cancellationToken).ConfigureAwait(false);
        switch (result.Outcome)
        {
            case "applied" or "already-applied":
                if (Find(local.Id)?.ChangeId == local.ChangeId)
                {
                    Update(local.Id, e => e with { BaseRevision = result.Revision, ChangeId = null });
                }

                pushed.Add(local.Id);
                report.Pushed.Add(name);
                break;
            case "conflict":
                // Both versions are on the server now; the local copy takes the server's current one at the pull and
                // the user chooses ('env get --conflicts', 'env edit --take-conflict').
                report.Conflicts.Add((name, result.ConflictId ?? string.Empty));
                if (Find(local.Id)?.ChangeId == local.ChangeId)
                {
                    Update(local.Id, e => e with { ChangeId = null, BaseRevision = -1 });
                }

                break;
            default:
                report.QuotaFull ??= result;
                report.NotUploaded.Add(name);
                break;
        }
    }

    private static string Verdict(CardEntry? c, LocalEntry? l, RecordDto? r, EnvEntry? serverEntry, bool online)
    {
        if (l is { Dirty: true } || c?.ChangeId is not null)
        {
            return online ? "to upload" : "edited offline";
        }

        if (!online)
        {
            return c is null ? "not on card" : l is not null && c.Revision != l.BaseRevision ? "card differs" : "same";
        }

        if (r is null)
        {
            return l is not null ? "removed on server" : "only on card";
        }

        if (serverEntry is null)
        {
            return "server copy damaged";
        }

        if (l is null || l.BaseRevision < r.Revision)
        {
            return "to download";
        }

        if (c is null)
        {
            return "not on card";
        }

        return c.Revision != r.Revision || !c.Entry.Encode().AsSpan().SequenceEqual(serverEntry.Encode()) ? "card differs" : "same";
    }

    private void MergeCard(CardContent? card)
    {
        if (card is null)
        {
            return;
        }

        foreach (var c in card.Entries)
        {
            var local = _state.Entries.FirstOrDefault(e => e.Id == c.Entry.Id);
            if (local is null)
            {
                Upsert(new LocalEntry(c.Entry.Id, c.Entry, c.Revision, c.ChangeId, c.UsedAt));
            }
            else if (!local.Dirty && (c.Revision > local.BaseRevision || c.ChangeId is not null))
            {
                Upsert(local with { Entry = c.Entry, BaseRevision = c.Revision, ChangeId = c.ChangeId, UsedAt = Math.Max(local.UsedAt, c.UsedAt) });
            }
            else if (c.UsedAt > local.UsedAt)
            {
                Upsert(local with { UsedAt = c.UsedAt });
            }
        }

        if (_state.Set is null && card.Set is not null)
        {
            _state = _state with { Set = card.Set };
        }
    }

    private void Update(string id, Func<LocalEntry, LocalEntry> change) =>
        _state = _state with { Entries = [.. _state.Entries.Select(e => e.Id == id ? change(e) : e)] };

    private void Upsert(LocalEntry entry) =>
        _state = _state with { Entries = [.. _state.Entries.Where(e => e.Id != entry.Id), entry] };

    private void Save() => _folder.WriteState(Rmk, _user, _state);

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_rmk is not null)
        {
            CryptographicOperations.ZeroMemory(_rmk);
            _rmk = null;
        }
    }
}
