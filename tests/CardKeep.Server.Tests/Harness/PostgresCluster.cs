using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace CardKeep.Server.Tests.Harness;

/// <summary>
/// A throwaway PostgreSQL 15 cluster for the test run: initdb into a temp folder as the postgres user, pg_ctl start on
/// 127.0.0.1 and a free port (socket in the same folder), a fresh database per test, stopped and removed at the end.
/// Needs root (scripts/test.sh runs the tests as root) and Debian's postgresql-15 (scripts/setup.sh installs it).
/// </summary>
public sealed class PostgresCluster : IAsyncLifetime
{
    private const string Bin = "/usr/lib/postgresql/15/bin";
    private string _directory = string.Empty;
    private int _port;

    public async Task InitializeAsync()
    {
        if (!File.Exists(Path.Combine(Bin, "initdb")))
        {
            throw new InvalidOperationException("PostgreSQL 15 is not installed: run scripts/setup.sh (apt package postgresql)");
        }

        if (Environment.UserName != "root")
        {
            throw new InvalidOperationException("the PostgreSQL tests start their own cluster as the postgres user and need root: run scripts/test.sh");
        }

        _directory = Path.Combine(Path.GetTempPath(), "cardkeep-pg-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(_directory);
        await RunAsync("chown", "postgres:postgres", _directory);
        await RunAsync("runuser", "-u", "postgres", "--", Path.Combine(Bin, "initdb"), "-D", Path.Combine(_directory, "data"), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8");
        _port = FreePort();
        await RunAsync("runuser", "-u", "postgres", "--", Path.Combine(Bin, "pg_ctl"), "-D", Path.Combine(_directory, "data"), "-l", Path.Combine(_directory, "server.log"), "-w",
            "-o", $"-k {_directory} -p {_port} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200", "start");
    }

    /// <summary>A connection string for a new, empty database.</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        string name = "ck_" + Guid.NewGuid().ToString("N")[..16];
        await using (var connection = new NpgsqlConnection(ConnectionString("postgres")))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
#pragma warning disable CA2100 // the name is generated here
            command.CommandText = $"CREATE DATABASE {name}";
#pragma warning restore CA2100
            await command.ExecuteNonQueryAsync();
        }

        return ConnectionString(name);
    }

    private string ConnectionString(string database) => $"Host=127.0.0.1;Port={_port};Username=postgres;Database={database};Pooling=true;Maximum Pool Size=20";

    public async Task DisposeAsync()
    {
        if (_port != 0)
        {
            NpgsqlConnection.ClearAllPools();
            await RunAsync("runuser", "-u", "postgres", "--", Path.Combine(Bin, "pg_ctl"), "-D", Path.Combine(_directory, "data"), "-m", "immediate", "-w", "stop");
        }

        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, true);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task RunAsync(string file, params string[] args)
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
}

[CollectionDefinition(Name)]
public sealed class PostgresGroup : ICollectionFixture<PostgresCluster>
{
    public const string Name = "postgres";
}
