using Npgsql;

namespace CardKeep.Server.Tests.Harness;

/// <summary>
/// A primary PostgreSQL and a synchronous standby, as docs/operations.md deploys them: the primary runs with
/// <c>synchronous_commit=on</c> and <c>synchronous_standby_names</c> naming the standby's application_name, the
/// standby is a <c>pg_basebackup -R</c> copy streaming from it (hot standby, read-only). Every commit the primary
/// acknowledges is on the standby's disk, so promoting the standby loses no acknowledged write.
/// </summary>
public sealed class ReplicatedPostgres : IAsyncDisposable
{
    public const string StandbyName = "cardkeep_standby";
    public const string Database = "cardkeep";

    private ReplicatedPostgres(Node primary, Node standby)
    {
        Primary = primary;
        Standby = standby;
    }

    public PostgresCluster Primary { get; }

    public PostgresCluster Standby { get; }

    /// <summary>
    /// Primary first (synchronous_commit=on, no synchronous standby named yet, or every commit would wait for one that
    /// does not exist), the CardKeep database, <c>pg_basebackup -R -c fast</c> into the standby, standby started, then
    /// <c>ALTER SYSTEM SET synchronous_standby_names</c> on the primary and a wait until pg_stat_replication shows the
    /// standby as <c>sync</c>.
    /// </summary>
    public static async Task<ReplicatedPostgres> StartAsync()
    {
        var primary = new Node(["wal_level=replica", "max_wal_senders=5", "synchronous_commit=on"]);
        await primary.InitializeAsync();
        await primary.ExecuteAsync("postgres", $"CREATE DATABASE {Database}");

        var standby = new Node(["hot_standby=on"]);
        await standby.BaseBackupAsync(primary.Port);
        await standby.StartAsync();

        await primary.ExecuteAsync("postgres", $"ALTER SYSTEM SET synchronous_standby_names = '{StandbyName}'");
        await primary.ExecuteAsync("postgres", "SELECT pg_reload_conf()");
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (await primary.ExecuteAsync("postgres", $"SELECT sync_state FROM pg_stat_replication WHERE application_name = '{StandbyName}'") as string != "sync")
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException("the standby did not become the primary's synchronous standby within 30 s");
            }

            await Task.Delay(100);
        }

        return new ReplicatedPostgres(primary, standby);
    }

    /// <summary>pg_ctl promote: the standby leaves recovery and takes writes.</summary>
    public Task PromoteAsync() => ((Node)Standby).PromoteAsync();

    /// <summary>Every value of one column (the checks after the drill).</summary>
    public static async Task<HashSet<string>> ColumnAsync(PostgresCluster cluster, string sql)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        await using var connection = new NpgsqlConnection(cluster.ConnectionString(Database) + ";Pooling=false");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
#pragma warning disable CA2100 // statements of the tests
        command.CommandText = sql;
#pragma warning restore CA2100
        await using var reader = await command.ExecuteReaderAsync();
        var values = new HashSet<string>(StringComparer.Ordinal);
        while (await reader.ReadAsync())
        {
            values.Add(reader.GetString(0));
        }

        return values;
    }

    public async ValueTask DisposeAsync()
    {
        await Standby.DisposeAsync();
        await Primary.DisposeAsync();
    }

    private sealed class Node(IEnumerable<string> settings) : PostgresCluster
    {
        protected override IEnumerable<string> ServerSettings => settings;

        public async Task BaseBackupAsync(int primaryPort)
        {
            await PrepareAsync();
            string conninfo = $"host=127.0.0.1 port={primaryPort} user=postgres application_name={StandbyName}";
            await Pg("pg_basebackup", "-d", conninfo, "-D", DataDirectory, "-R", "-X", "stream", "-c", "fast", "--no-sync");
        }

        public Task PromoteAsync() => Pg("pg_ctl", "-D", DataDirectory, "-w", "-t", "60", "promote");
    }
}
