using System.Diagnostics;
using System.Text;
using System.Text.Json;
using CardKeep.Client.PersonalEnvironment;
using CardKeep.Protocol.Records;
using CardKeep.Server.Tests.Harness;
using Npgsql;

namespace CardKeep.Server.Tests.Records;

/// <summary>
/// The personal environment end to end: a real server (SQLite or PostgreSQL) on 127.0.0.1, issue 7's card sign-in,
/// in-process CardKeep VSCs (PIV applet) for the card, and client data folders on disk.
/// </summary>
public abstract class EnvironmentTests : IAsyncLifetime
{
    private readonly List<TestCard> _cards = [];
    private TestServer _server = null!;

    protected abstract Task<string?> DatabaseAsync();

    /// <summary>Every byte of the server's database as stored (SQLite file; pg_dump of the PostgreSQL database).</summary>
    protected abstract Task<byte[]> DumpAsync(TestServer server);

    public async Task InitializeAsync()
    {
        string? database = await DatabaseAsync();
        _server = await TestServer.StartAsync(database, v =>
        {
            TestAccounts.Settings(v);
            v["Records:DefaultQuotaEntries"] = "1000";
        });
    }

    public async Task DisposeAsync()
    {
        foreach (var card in _cards)
        {
            card.Dispose();
        }

        await _server.DisposeAsync();
    }

    private static EnvEntry Site(string name, string? password = null, params string[] sets) => new()
    {
        Id = EnvEntry.NewId(),
        Kind = EntryKind.Site,
        Name = name,
        Url = $"https://{name}.example.org/",
        UserName = "user-" + name,
        Password = password ?? "pw-" + name,
        StartPage = "inbox",
        Sets = sets,
    };

    private async Task<(TestCard Card, string Bearer)> UserAsync(string user)
    {
        var card = new TestCard();
        _cards.Add(card);
        await TestAccounts.RegisterAsync(_server, user, card);
        return (card, await TestAccounts.LoginAsync(_server, user, card));
    }

    private sealed class Clock : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000);

        public override DateTimeOffset GetUtcNow() => Now += TimeSpan.FromSeconds(1);
    }

    [Fact]
    public async Task SmallCard_AddPastCapacity_EvictsLeastRecentlyUsedFromCardOnly_ReadingEvictedBringsItBackAndEvictsNext()
    {
        var (card, bearer) = await UserAsync("lru");
        using var computer = new TestComputer("lru");
        var entries = Enumerable.Range(1, 5).Select(i => Site("site" + i)).ToList();
        // Room for exactly three of these entries (same size each).
        int one = JsonSerializer.SerializeToUtf8Bytes(new CardEntry(entries[0], 1, 1_700_000_000_000), EnvJson.Options).Length;
        int budget = EnvCard.Plan(null, [], int.MaxValue).Bytes + RecordCrypto.Overhead + 20 + (3 * (one + 1)) + 5;
        using (var setup = computer.Open(card, _server, bearer, budget))
        {
            await setup.SetupAsync();
        }

        using var env = new EnvironmentService("lru", card.Environment(), card.Environment(), budget, computer.Folder, new RecordsClient(_server.Url, bearer), new Clock());
        Assert.True(await env.OpenAsync());
        foreach (var e in entries)
        {
            await env.AddAsync(e);
        }

        var onCard = env.LoadCard()!.Entries.Select(c => c.Entry.Name).ToList();
        Assert.Equal(["site5", "site4", "site3"], onCard);
        var server = await new RecordsClient(_server.Url, bearer).ListAsync();
        Assert.Equal(5, server.Records.Count);

        var (entry, source, plan) = await env.GetAsync("site1");
        Assert.Equal("pw-site1", entry.Password);
        Assert.NotEqual(EntrySource.Card, source);
        Assert.Equal(["site1", "site5", "site4"], env.LoadCard()!.Entries.Select(c => c.Entry.Name).ToList());
        Assert.Contains(plan!.Evicted, c => c.Entry.Name == "site3");

        var (again, againSource, _) = await env.GetAsync("site4");
        Assert.Equal(EntrySource.Card, againSource);
        Assert.Equal("user-site4", again.UserName);
        Assert.Equal(["site4", "site1", "site5"], env.LoadCard()!.Entries.Select(c => c.Entry.Name).ToList());
    }

    [Fact]
    public async Task CardWithRoomForNoEntry_StillWorksThroughTheServer()
    {
        var (card, bearer) = await UserAsync("tiny");
        using var computer = new TestComputer("tiny");
        using var env = computer.Open(card, _server, bearer, budget: 40);
        await env.SetupAsync();
        await env.AddAsync(Site("mail"));
        Assert.Null(env.LoadCard());

        using var elsewhere = new TestComputer("tiny");
        using var fresh = elsewhere.Open(card, _server, bearer, budget: 40);
        Assert.True(await fresh.OpenAsync());
        var (entry, source, plan) = await fresh.GetAsync("mail");
        Assert.Equal(EntrySource.Server, source);
        Assert.Equal("pw-mail", entry.Password);
        Assert.Empty(plan!.Kept);
    }

    [Fact]
    public async Task QuotaFull_OfferReturned_AcceptRaises_DeclineRemovesLeastRecentlyUsedAfterConfirmation()
    {
        var (card, bearer) = await UserAsync("quota");
        using var computer = new TestComputer("quota");
        using var env = new EnvironmentService("quota", card.Environment(), card.Environment(), int.MaxValue, computer.Folder, new RecordsClient(_server.Url, bearer), new Clock());
        await env.SetupAsync();
        var records = new RecordsClient(_server.Url, bearer);
        var quota = await records.QuotaAsync();
        for (int i = 0; i < 3; i++)
        {
            await env.AddAsync(Site("q" + i));
        }

        // Lower this user's quota to what is used: the next entry does not fit.
        await _server.Store.SetQuotaAsync("quota", (await records.QuotaAsync()).UsedBytes, 3, default);
        var full = await env.AddAsync(Site("q3"));
        Assert.NotNull(full!.QuotaFull);
        Assert.Equal("quota-full", full.QuotaFull!.Outcome);
        Assert.Equal(["q3"], full.NotUploaded);
        var offer = full.QuotaFull.Offer!;
        Assert.True(offer.MaxEntries > 3);
        Assert.Equal(3, (await records.ListAsync()).Records.Count);

        var raised = await records.AcceptQuotaAsync(new QuotaAcceptDto(offer.MaxBytes, offer.MaxEntries));
        Assert.Equal(offer.MaxEntries, raised.MaxEntries);
        var retry = await env.SyncAsync();
        Assert.Contains("q3", retry.Pushed);
        Assert.Equal(4, (await records.ListAsync()).Records.Count);

        // Full again; decline: the server names the least recently used, removes them only once confirmed.
        await env.GetAsync("q0");
        await _server.Store.SetQuotaAsync("quota", raised.MaxBytes, 4, default);
        var again = await env.AddAsync(Site("q4"));
        Assert.NotNull(again!.QuotaFull);
        var named = await records.DeclineQuotaAsync(new QuotaDeclineDto(0, 1, Confirm: false, null));
        Assert.False(named.Removed);
        var q1 = env.Find("q1")!.Id;
        Assert.Equal([q1], named.Ids);
        Assert.Equal(4, (await records.ListAsync()).Records.Count);
        var removed = await records.DeclineQuotaAsync(new QuotaDeclineDto(0, 1, Confirm: true, named.Ids));
        Assert.True(removed.Removed);
        var after = await env.SyncAsync();
        Assert.Contains("q4", after.Pushed);
        Assert.Contains("q1", after.Removed);
        Assert.DoesNotContain((await records.ListAsync()).Records, r => r.Id == q1);
        Assert.NotNull(env.Find("q0"));
        Assert.True(quota.MaxBytes > 0);
    }

    [Fact]
    public async Task TwoFoldersEditSameEntryOffline_SyncKeepsBothVersionsAndReportsConflict()
    {
        var (card, bearer) = await UserAsync("twofold");
        using var home = new TestComputer("twofold");
        using var office = new TestComputer("twofold");
        using (var env = home.Open(card, _server, bearer))
        {
            await env.SetupAsync();
            await env.AddAsync(Site("bank", "original"));
        }

        using (var env = office.Open(card, _server, bearer))
        {
            Assert.True(await env.OpenAsync());
            await env.SyncAsync();
        }

        // Offline at both computers: each edits the same entry.
        using (var env = home.Open(card, null, null))
        {
            Assert.True(await env.OpenAsync());
            await env.EditAsync(env.Find("bank")!.Entry! with { Password = "home-edit" });
        }

        using (var env = office.Open(card, null, null))
        {
            Assert.True(await env.OpenAsync());
            await env.EditAsync(env.Find("bank")!.Entry! with { Password = "office-edit" });
        }

        card.Environment().Write(EnvCard.FirstTag, []); // the card cache would carry the last edit too; this test is about the folders
        using var homeOnline = home.Open(card, _server, bearer);
        Assert.True(await homeOnline.OpenAsync());
        var first = await homeOnline.SyncAsync();
        Assert.Contains("bank", first.Pushed);
        Assert.Empty(first.Conflicts);

        using var officeOnline = office.Open(card, _server, bearer);
        Assert.True(await officeOnline.OpenAsync());
        var second = await officeOnline.SyncAsync();
        var conflict = Assert.Single(second.Conflicts);
        Assert.Equal("bank", conflict.Name);

        var list = await new RecordsClient(_server.Url, bearer).ListAsync();
        var current = officeOnline.Decrypt(list.Records[0].Id, list.Records[0].Revision, list.Records[0].WrappedDek, list.Records[0].Ciphertext);
        var kept = officeOnline.OpenConflict(Assert.Single(list.Conflicts));
        Assert.Equal("home-edit", current.Password);
        Assert.Equal("office-edit", kept.Password);
        Assert.Equal("home-edit", officeOnline.Find("bank")!.Entry!.Password);
    }

    [Fact]
    public async Task DatabaseDump_ContainsNoEntryValuesUserNamesOrPasswords()
    {
        var (card, bearer) = await UserAsync("dump");
        using var computer = new TestComputer("dump");
        using var env = computer.Open(card, _server, bearer);
        await env.SetupAsync();
        var secret = Site("zq-secret-site", "Zq9-password-4417", "office") with { UserName = "zq-login-name-8812", StartPage = "zq-start-page" };
        await env.AddAsync(secret);
        await env.AddAsync(new EnvEntry { Id = EnvEntry.NewId(), Kind = EntryKind.Note, Name = "zq-note-name", Value = "zq-note-text-5531" });
        await env.EditAsync(env.Find("zq-secret-site")!.Entry! with { Password = "Zq9-password-edited" });

        var summary = await new RecordsClient(_server.Url, bearer).SummaryAsync();
        Assert.Equal(2, summary.Entries);
        Assert.Equal(1, summary.Sets["office"]);
        Assert.Equal([card.Serial], summary.Cards);
        Assert.True(summary.RecoveryCodeSet);
        Assert.Equal(0, summary.Conflicts);
        Assert.DoesNotContain("zq-", JsonSerializer.Serialize(summary), StringComparison.Ordinal);

        byte[] dump = await DumpAsync(_server);
        Assert.True(dump.Length > 1000);
        Assert.True(dump.AsSpan().IndexOf("env_records"u8) >= 0, "the dump does not hold the records table");
        foreach (string value in new[] { "zq-secret-site", "Zq9-password-4417", "Zq9-password-edited", "zq-login-name-8812", "zq-start-page", "zq-note-name", "zq-note-text-5531" })
        {
            Assert.True(dump.AsSpan().IndexOf(Encoding.UTF8.GetBytes(value)) < 0, $"the database holds '{value}' in the clear");
            // pg_dump writes binary columns as hex: look for that form too.
            Assert.True(dump.AsSpan().IndexOf(Encoding.ASCII.GetBytes(Convert.ToHexStringLower(Encoding.UTF8.GetBytes(value)))) < 0, $"the database holds '{value}' (hex)");
        }
    }

    [Fact]
    public async Task CardReplacement_NewCardDecryptsEveryRecord_OldCardNone()
    {
        var (oldCard, bearer) = await UserAsync("replace");
        using var computer = new TestComputer("replace");
        byte[] code;
        using (var env = computer.Open(oldCard, _server, bearer))
        {
            code = await env.SetupAsync();
            await env.AddAsync(Site("a"));
            await env.AddAsync(Site("b"));
            await env.AddAsync(Site("c"));
        }

        byte[] oldWrap = computer.Folder.ReadKeys()!.CardWrap;
        using var newCard = new TestCard();
        await TestAccounts.ReplaceAsync(_server, "replace", bearer, newCard);
        string newBearer = await TestAccounts.LoginAsync(_server, "replace", newCard);
        var newKeys = await new RecordsClient(_server.Url, newBearer).KeysAsync();
        Assert.Null(newKeys.CardWrap);
        Assert.Empty(newKeys.OtherCards); // the old card's wrap went with the replacement transaction

        using var newComputer = new TestComputer("replace");
        using var env2 = newComputer.Open(newCard, _server, newBearer);
        Assert.False(await env2.OpenAsync());
        byte[] newCode = await env2.RekeyAsync(code);
        Assert.NotEqual(code, newCode);
        var report = await env2.SyncAsync();
        Assert.Empty(report.Damaged);
        Assert.Equal(["a", "b", "c"], env2.List().Select(e => e.Entry.Entry!.Name).ToArray());

        // The old card: its own wrap (kept from before) unwraps the old record key, which opens no record any more.
        var list = await new RecordsClient(_server.Url, newBearer).ListAsync();
        byte[] oldRmk = RecordCrypto.UnwrapWithCard(oldCard.Environment(), "replace", oldWrap);
        foreach (var r in list.Records)
        {
            Assert.Throws<DamagedRecordException>(() => RecordCrypto.OpenRecord(oldRmk, "replace", r.Id, r.Revision, r.WrappedDek, r.Ciphertext));
        }

        // And the old card cannot sign in for records at all (revoked).
        await Assert.ThrowsAnyAsync<Xunit.Sdk.XunitException>(() => TestAccounts.LoginAsync(_server, "replace", oldCard));
    }

    [Fact]
    public async Task DamagedRecordOnServer_ReportedAndNeverOverwritesTheGoodLocalCopy()
    {
        var (card, bearer) = await UserAsync("damage");
        using var computer = new TestComputer("damage");
        using var env = computer.Open(card, _server, bearer);
        await env.SetupAsync();
        await env.AddAsync(Site("shop", "good-password"));
        var record = (await new RecordsClient(_server.Url, bearer).ListAsync()).Records.Single();
        byte[] bad = (byte[])record.Ciphertext.Clone();
        bad[^1] ^= 0x01;
        // The server (or its storage) damages the record and raises its revision: the client must not take it.
        await _server.Store.WriteRecordAsync("damage", new Server.Storage.EnvRecordWrite(record.Id, record.Revision, EnvEntry.NewId(), [], 0, record.WrappedDek, bad), long.MaxValue, long.MaxValue, 1, default);
        var report = await env.SyncAsync();
        Assert.Equal(["shop"], report.Damaged);
        Assert.Equal("good-password", env.Find("shop")!.Entry!.Password);
        var diff = await env.DiffAsync();
        Assert.Contains("DAMAGED", Assert.Single(diff).Server, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SyncInterruptedAfterUpload_RepeatChangesNothingTwice()
    {
        var (card, bearer) = await UserAsync("interrupt");
        using var computer = new TestComputer("interrupt");
        using (var env = computer.Open(card, _server, bearer))
        {
            await env.SetupAsync();
            await env.AddAsync(Site("wiki"));
        }

        using (var env = computer.Open(card, null, null))
        {
            Assert.True(await env.OpenAsync());
            await env.EditAsync(env.Find("wiki")!.Entry! with { Password = "offline-edit" });
        }

        // The server stored the upload, but the client's own save never happened (cut off): its state is from before.
        string state = Path.Combine(computer.Directory, "state.bin");
        byte[] before = await File.ReadAllBytesAsync(state);
        using (var env = computer.Open(card, _server, bearer))
        {
            Assert.True(await env.OpenAsync());
            Assert.Equal(["wiki"], (await env.SyncAsync()).Pushed);
        }

        await File.WriteAllBytesAsync(state, before);
        card.Environment().Write(EnvCard.FirstTag, []);
        using var again = computer.Open(card, _server, bearer);
        Assert.True(await again.OpenAsync());
        var report = await again.SyncAsync();
        Assert.Empty(report.Conflicts);
        var list = await new RecordsClient(_server.Url, bearer).ListAsync();
        Assert.Equal(2, Assert.Single(list.Records).Revision);
        Assert.Empty(list.Conflicts);
        Assert.Equal("offline-edit", again.Find("wiki")!.Entry!.Password);
        Assert.False(again.Find("wiki")!.Dirty);
    }

    [Fact]
    public async Task Records_WithoutCardSignIn_AreRefused()
    {
        var (_, bearer) = await UserAsync("nosign");
        using var anonymous = new RecordsClient(_server.Url, "ckb_not-a-token");
        var e = await Assert.ThrowsAsync<RecordsServerException>(() => anonymous.ListAsync());
        Assert.Equal(401, e.Status);
        using var records = new RecordsClient(_server.Url, bearer);
        var bad = await Assert.ThrowsAsync<RecordsServerException>(() => records.PutAsync("NOT-AN-ID", new RecordPutDto(0, EnvEntry.NewId(), [], 0, [1], [1])));
        Assert.Equal(400, bad.Status);
    }

    internal static async Task<byte[]> RunAsync(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = "/" };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        using var process = Process.Start(info)!;
        using var output = new MemoryStream();
        var copy = process.StandardOutput.BaseStream.CopyToAsync(output);
        string error = await process.StandardError.ReadToEndAsync();
        await copy;
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"{file} exited {process.ExitCode}: {error}");
        return output.ToArray();
    }
}

public sealed class SqliteEnvironmentTests : EnvironmentTests
{
    protected override Task<string?> DatabaseAsync() => Task.FromResult<string?>(null);

    protected override Task<byte[]> DumpAsync(TestServer server)
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        string db = Path.Combine(server.Directory, "cardkeep.db");
        // The database file and its write-ahead log: every byte the server stored.
        byte[] main = File.ReadAllBytes(db);
        byte[] wal = File.Exists(db + "-wal") ? File.ReadAllBytes(db + "-wal") : [];
        return Task.FromResult<byte[]>([.. main, .. wal]);
    }
}

[Collection(PostgresGroup.Name)]
public sealed class PostgresEnvironmentTests(PostgresCluster cluster) : EnvironmentTests
{
    private string _connectionString = string.Empty;

    protected override async Task<string?> DatabaseAsync() => _connectionString = await cluster.CreateDatabaseAsync();

    protected override Task<byte[]> DumpAsync(TestServer server)
    {
        var builder = new NpgsqlConnectionStringBuilder(_connectionString);
        return RunAsync("runuser", "-u", "postgres", "--", "/usr/lib/postgresql/15/bin/pg_dump", "-h", builder.Host!, "-p", builder.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "-U", "postgres", builder.Database!);
    }
}
