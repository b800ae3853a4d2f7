using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace CardKeep.Server.Tests.Harness;

/// <summary>
/// A throwaway PostgreSQL cluster: initdb into a temp folder as the postgres user, pg_ctl start on 127.0.0.1 and a free
/// port (socket in the same folder), a fresh database per test, stopped and removed at the end. Needs root
/// (scripts/test.sh runs the tests as root) and Debian's postgresql package (scripts/setup.sh installs it); the
/// binaries are the newest /usr/lib/postgresql/*/bin. Availability tests stop, start and promote clusters of their own.
/// </summary>
public class PostgresCluster : IAsyncLifetime
{
    private string _directory = string.Empty;

    /// <summary>The newest installed PostgreSQL's bin folder.</summary>
    public static string Bin { get; } = FindBin();

    public int Port { get; private set; }

    public string DataDirectory => Path.Combine(_directory, "data");

    /// <summary>Extra <c>-c name=value</c> settings for the server (e.g. synchronous replication).</summary>
    protected virtual IEnumerable<string> ServerSettings => [];

    public async Task InitializeAsync()
    {
        await PrepareAsync();
        await RunAsync("runuser", "-u", "postgres", "--", Path.Combine(Bin, "initdb"), "-D", DataDirectory, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8");
        await StartAsync();
    }

    /// <summary>Checks the prerequisites and makes the (postgres-owned) folder and the port.</summary>
    protected async Task PrepareAsync()
    {
        if (!File.Exists(Path.Combine(Bin, "initdb")))
        {
            throw new InvalidOperationException("PostgreSQL is not installed: run scripts/setup.sh (apt package postgresql)");
        }

        if (Environment.UserName != "root")
        {
            throw new InvalidOperationException("the PostgreSQL tests start their own cluster as the postgres user and need root: run scripts/test.sh");
        }

        _directory = Path.Combine(Path.GetTempPath(), "cardkeep-pg-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(_directory);
        await RunAsync("chown", "postgres:postgres", _directory);
        Port = FreePort();
    }

    /// <summary>pg_ctl start (waits until it accepts connections, or, for a standby, until it is consistent).</summary>
    public Task StartAsync()
    {
        var settings = string.Join(' ', new[] { $"-k {_directory}", $"-p {Port}", "-c listen_addresses=127.0.0.1", "-c fsync=off", "-c max_connections=200" }
            .Concat(ServerSettings.Select(s => "-c " + s)));
        return Pg("pg_ctl", "-D", DataDirectory, "-l", Path.Combine(_directory, "server.log"), "-w", "-t", "60", "-o", settings, "start");
    }

    /// <summary>pg_ctl stop -m immediate: the database dies as in a crash (no shutdown checkpoint).</summary>
    public Task StopImmediateAsync() => Pg("pg_ctl", "-D", DataDirectory, "-m", "immediate", "-w", "stop");

    /// <summary>Runs one of the cluster's binaries as the postgres user.</summary>
    protected static Task Pg(string tool, params string[] args) => RunAsync("runuser", ["-u", "postgres", "--", Path.Combine(Bin, tool), .. args]);

    /// <summary>A connection string for a new, empty database.</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        string name = "ck_" + Guid.NewGuid().ToString("N")[..16];
        await ExecuteAsync("postgres", $"CREATE DATABASE {name}");
        return ConnectionString(name);
    }

    /// <summary>Runs one statement (as the postgres superuser) in <paramref name="database"/>; returns the first value.</summary>
    public async Task<object?> ExecuteAsync(string database, string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString(database) + ";Pooling=false");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
#pragma warning disable CA2100 // statements of the tests
        command.CommandText = sql;
#pragma warning restore CA2100
        return await command.ExecuteScalarAsync();
    }

    public string ConnectionString(string database) => $"Host=127.0.0.1;Port={Port};Username=postgres;Database={database};Pooling=true;Maximum Pool Size=20";

    public async Task DisposeAsync()
    {
        if (Port != 0 && File.Exists(Path.Combine(DataDirectory, "postmaster.pid")))
        {
            NpgsqlConnection.ClearAllPools();
            await StopImmediateAsync();
        }

        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, true);
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public static async Task RunAsync(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = "/" };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited {process.ExitCode}: {await stdout}{await stderr}");
        }
    }

    private static string FindBin()
    {
        var versions = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").Where(d => int.TryParse(Path.GetFileName(d), out _)).OrderByDescending(d => int.Parse(Path.GetFileName(d), System.Globalization.CultureInfo.InvariantCulture))
            : Enumerable.Empty<string>();
        return Path.Combine(versions.FirstOrDefault() ?? "/usr/lib/postgresql/15", "bin");
    }
}

[CollectionDefinition(Name)]
public sealed class PostgresGroup : ICollectionFixture<PostgresCluster>
{
    public const string Name = "postgres";
}
