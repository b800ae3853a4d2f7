using System.Security.Cryptography;
using CardKeep.Server.Storage;
using CardKeep.Server.Tests.Harness;

namespace CardKeep.Server.Tests;

/// <summary>The storage contract; runs once per backend (SQLite, PostgreSQL).</summary>
public abstract class StoreTests
{
    protected abstract Task<IServerStore> CreateStoreAsync();

    private static TokenRecord Token(string user, byte[]? serial = null) => new(
        RandomNumberGenerator.GetBytes(16), serial ?? RandomNumberGenerator.GetBytes(16), new byte[32], "E", user, new byte[32], RandomNumberGenerator.GetBytes(60),
        "/users/" + user, TokenStatus.Active, 0, 1000, long.MaxValue);

    private static async Task<byte[]> CodeAsync(IServerStore store, string user, long expires = long.MaxValue)
    {
        var hash = RandomNumberGenerator.GetBytes(32);
        await store.AddActivationCodeAsync(new ActivationCodeRecord(hash, user, 0, expires, null), default);
        return hash;
    }

    [Fact]
    public async Task MigrateAsync_Twice_IsIdempotentAndAtLatestVersion()
    {
        var store = await CreateStoreAsync();
        await store.MigrateAsync(default);
        await store.MigrateAsync(default);
        Assert.Equal(Migrations.Latest, await store.SchemaVersionAsync(default));
        Assert.True(await store.PingAsync(default));
    }

    [Fact]
    public async Task MigrateAsync_DatabaseFromNewerVersion_RefusesWithClearMessage()
    {
        var store = await CreateStoreAsync();
        await store.MigrateAsync(default);
        await MarkNewerAsync(store);
        var e = await Assert.ThrowsAsync<SchemaTooNewException>(() => store.MigrateAsync(default));
        Assert.Contains("newer than this cardkeep understands", e.Message, StringComparison.Ordinal);
        Assert.Equal(Migrations.Latest + 1, e.DatabaseVersion);
    }

    /// <summary>Records a schema version this binary does not know, as a newer CardKeep would.</summary>
    protected abstract Task MarkNewerAsync(IServerStore store);

    [Fact]
    public async Task CompleteRegistrationAsync_CodeUsedTwice_SecondRefusedAndNothingStored()
    {
        var store = await CreateStoreAsync();
        await store.MigrateAsync(default);
        var code = await CodeAsync(store, "alice");
        var first = Token("alice");
        var second = Token("alice");
        Assert.True(await store.CompleteRegistrationAsync(first, code, 10, default));
        Assert.False(await store.CompleteRegistrationAsync(second, code, 11, default));
        Assert.NotNull(await store.GetTokenAsync(first.TokenHandle, default));
        Assert.Null(await store.GetTokenAsync(second.TokenHandle, default));
        Assert.Equal(11, (await store.FindActivationCodeAsync(code, default))!.UsedAt is long used ? used + 1 : 0);
    }

    [Fact]
    public async Task CompleteRegistrationAsync_CodeOfOtherUserOrExpired_Refused()
    {
        var store = await CreateStoreAsync();
        await store.MigrateAsync(default);
        var bobs = await CodeAsync(store, "bob");
        var expired = await CodeAsync(store, "alice", expires: 5);
        Assert.False(await store.CompleteRegistrationAsync(Token("alice"), bobs, 10, default));
        Assert.False(await store.CompleteRegistrationAsync(Token("alice"), expired, 10, default));
        Assert.Null(await store.GetUserAsync("alice", default));
    }

    [Fact]
    public async Task CompleteRegistrationAsync_SameSerialAgain_ReplacesRecord()
    {
        var store = await CreateStoreAsync();
        await store.MigrateAsync(default);
        var serial = RandomNumberGenerator.GetBytes(16);
        var first = Token("alice", serial);
        var again = Token("alice", serial);
        Assert.True(await store.CompleteRegistrationAsync(first, await CodeAsync(store, "alice"), 10, default));
        Assert.True(await store.CompleteRegistrationAsync(again, await CodeAsync(store, "alice"), 20, default));
        var tokens = await store.ListTokensAsync("alice", default);
        Assert.Equal(again.TokenHandle, Assert.Single(tokens).TokenHandle);
    }

    [Fact]
    public async Task RecordTokenFailureAsync_ReachesThreshold_LocksAndResetKeepsLock()
    {
        var store = await CreateStoreAsync();
        await store.MigrateAsync(default);
        var token = Token("alice");
        Assert.True(await store.CompleteRegistrationAsync(token, await CodeAsync(store, "alice"), 10, default));
        Assert.Equal(1, await store.RecordTokenFailureAsync(token.TokenHandle, 3, default));
        Assert.Equal(2, await store.RecordTokenFailureAsync(token.TokenHandle, 3, default));
        Assert.Equal(TokenStatus.Active, (await store.GetTokenAsync(token.TokenHandle, default))!.Status);
        Assert.Equal(3, await store.RecordTokenFailureAsync(token.TokenHandle, 3, default));
        Assert.Equal(TokenStatus.Locked, (await store.GetTokenAsync(token.TokenHandle, default))!.Status);
        Assert.True(await store.SetTokenStatusAsync(token.TokenHandle, TokenStatus.Active, default));
        var unlocked = await store.GetTokenAsync(token.TokenHandle, default);
        Assert.Equal((TokenStatus.Active, 0), (unlocked!.Status, unlocked.FailCount));
    }

    [Fact]
    public async Task GrantAndRevoke_EachChange_RaisesPolicyVersion()
    {
        var store = await CreateStoreAsync();
        await store.MigrateAsync(default);
        long v1 = await store.GrantEntitlementAsync(new EntitlementRecord("carol", "wiki", ["reader"], [], 0), 5, default);
        long v2 = await store.GrantEntitlementAsync(new EntitlementRecord("carol", "wiki", ["editor", "reader"], ["office"], 0), 6, default);
        long v3 = await store.GrantEntitlementAsync(new EntitlementRecord("carol", "mail", [], [], 0), 7, default);
        Assert.True(v1 < v2 && v2 < v3);
        var list = await store.ListEntitlementsAsync("carol", default);
        Assert.Equal(["mail", "wiki"], list.Select(e => e.Application));
        Assert.Equal(["editor", "reader"], list[1].Roles);
        Assert.Equal(["office"], list[1].Locations);
        long? v4 = await store.RevokeEntitlementAsync("carol", "wiki", default);
        Assert.True(v4 > v3);
        Assert.Null(await store.RevokeEntitlementAsync("carol", "wiki", default));
        Assert.Equal(v4, (await store.GetUserAsync("carol", default))!.PolicyVersion);
    }

    [Fact]
    public async Task BlockSerialAsync_RegisteredSerial_RevokesItsTokens()
    {
        var store = await CreateStoreAsync();
        await store.MigrateAsync(default);
        var token = Token("dave");
        Assert.True(await store.CompleteRegistrationAsync(token, await CodeAsync(store, "dave"), 10, default));
        await store.BlockSerialAsync(token.TokenSerial, "lost", 20, default);
        Assert.True(await store.IsSerialBlockedAsync(token.TokenSerial, default));
        Assert.Equal(TokenStatus.Revoked, (await store.GetTokenAsync(token.TokenHandle, default))!.Status);
    }

    [Fact]
    public async Task CompleteRegistrationAsync_ConcurrentUsesOfOneCode_ExactlyOneWins()
    {
        var store = await CreateStoreAsync();
        await store.MigrateAsync(default);
        var code = await CodeAsync(store, "erin");
        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => store.CompleteRegistrationAsync(Token("erin"), code, 10, default))));
        Assert.Equal(1, results.Count(r => r));
        Assert.Single(await store.ListTokensAsync("erin", default));
    }
}

public sealed class SqliteStoreTests : StoreTests, IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("cardkeep-store-").FullName;

    protected override Task<IServerStore> CreateStoreAsync() => Task.FromResult<IServerStore>(new SqliteServerStore(Path.Combine(_directory, Guid.NewGuid() + ".db")));

    protected override async Task MarkNewerAsync(IServerStore store)
    {
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection("Data Source=" + ((SqliteServerStore)store).Path);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = $"INSERT INTO schema_version (version, name, applied_at) VALUES ({Migrations.Latest + 1}, 'from the future', 0)";
        await command.ExecuteNonQueryAsync();
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, true);
    }
}

[Collection(PostgresGroup.Name)]
public sealed class PostgresStoreTests(PostgresCluster cluster) : StoreTests
{
    private string? _connectionString;

    protected override async Task<IServerStore> CreateStoreAsync()
    {
        _connectionString = await cluster.CreateDatabaseAsync();
        return new PostgresServerStore(_connectionString);
    }

    protected override async Task MarkNewerAsync(IServerStore store)
    {
        await using var connection = new Npgsql.NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = $"INSERT INTO schema_version (version, name, applied_at) VALUES ({Migrations.Latest + 1}, 'from the future', 0)";
        await command.ExecuteNonQueryAsync();
    }
}
