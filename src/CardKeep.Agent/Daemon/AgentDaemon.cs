using System.Buffers.Binary;
using System.Net.Sockets;
using System.Security.Cryptography;
using CardKeep.Agent.Keys;
using CardKeep.Agent.SshAgent;
using Microsoft.Extensions.Logging;

namespace CardKeep.Agent.Daemon;

/// <summary>Answers the local JSON API for one peer (see docs/agent.md). One request line in, one response line out.</summary>
public interface IApiHandler
{
    /// <summary>Largest request line accepted; a longer one closes the connection.</summary>
    int MaxRequestBytes { get; }

    string Handle(PeerCredentials peer, ReadOnlySpan<byte> request);
}

/// <summary>
/// The agent's sockets: the SSH agent protocol on one, the local JSON API on another. Each connection's user is the
/// kernel's SO_PEERCRED uid, read at accept. In <see cref="SocketMode.User"/> mode only the agent's own uid is served.
/// Connections run concurrently; their number is capped so memory stays bounded (at most one 256 KiB message each).
/// </summary>
public sealed class AgentDaemon : IAsyncDisposable
{
    private const int MaxConnections = 512;
    private readonly UnixListener _ssh;
    private readonly UnixListener? _api;
    private readonly KeyStoreManager _keys;
    private readonly IConfirmer _confirmer;
    private readonly IApiHandler? _apiHandler;
    private readonly ILogger _logger;
    private readonly uint _ownUid = LibC.GetEuid();
    private readonly SemaphoreSlim _slots = new(MaxConnections);
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _loops = [];

    public AgentDaemon(UnixListener ssh, UnixListener? api, KeyStoreManager keys, IConfirmer confirmer, IApiHandler? apiHandler, ILogger logger)
    {
        _ssh = ssh;
        _api = api;
        _keys = keys;
        _confirmer = confirmer;
        _apiHandler = apiHandler;
        _logger = logger;
    }

    /// <summary>Accepts until <paramref name="cancellationToken"/> is cancelled or <see cref="DisposeAsync"/> runs.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stop.Token);
        var token = linked.Token;
        using var reaper = new PeriodicTimer(TimeSpan.FromSeconds(1));
        var loops = new List<Task> { AcceptLoop(_ssh, ServeSshAsync, token), ReapLoop(reaper, token) };
        if (_api is not null && _apiHandler is not null)
        {
            loops.Add(AcceptLoop(_api, ServeApiAsync, token));
        }

        try
        {
            await Task.WhenAll(loops).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    private async Task ReapLoop(PeriodicTimer timer, CancellationToken token)
    {
        while (await timer.WaitForNextTickAsync(token).ConfigureAwait(false))
        {
            _keys.ReapExpired();
        }
    }

    private async Task AcceptLoop(UnixListener listener, Func<Socket, PeerCredentials, CancellationToken, Task> serve, CancellationToken token)
    {
        while (!token.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync(token).ConfigureAwait(false);
            }
            catch (SocketException e)
            {
                DaemonLog.AcceptFailed(_logger, listener.Path, e.Message);
                continue;
            }

            PeerCredentials peer;
            try
            {
                peer = PeerCredentials.Of(client);
            }
            catch (SocketException)
            {
                client.Dispose();
                continue;
            }

            if (listener.Mode == SocketMode.User && peer.Uid != _ownUid)
            {
                DaemonLog.ForeignPeer(_logger, peer.Uid, peer.Pid, _ownUid);
                client.Dispose();
                continue;
            }

            if (!await _slots.WaitAsync(0, token).ConfigureAwait(false))
            {
                DaemonLog.TooManyConnections(_logger, peer.Uid, MaxConnections);
                client.Dispose();
                continue;
            }

            var task = Task.Run(async () =>
            {
                try
                {
                    await serve(client, peer, token).ConfigureAwait(false);
                }
                catch (Exception e) when (e is SocketException or IOException or OperationCanceledException or ObjectDisposedException)
                {
                    // The client went away or the agent is stopping.
                }
                finally
                {
                    client.Dispose();
                    _slots.Release();
                }
            }, CancellationToken.None);
            lock (_loops)
            {
                _loops.RemoveAll(t => t.IsCompleted);
                _loops.Add(task);
            }
        }
    }

    private async Task ServeSshAsync(Socket client, PeerCredentials peer, CancellationToken token)
    {
        var connection = new AgentConnection(peer, _keys, _confirmer, _logger);
        var header = new byte[4];
        while (!token.IsCancellationRequested)
        {
            if (!await ReadExactlyAsync(client, header, token).ConfigureAwait(false))
            {
                return;
            }

            uint length = BinaryPrimitives.ReadUInt32BigEndian(header);
            if (length > AgentProtocol.MaxMessageLength)
            {
                DaemonLog.Oversized(_logger, peer.Uid, length);
                return;
            }

            var message = new byte[length];
            try
            {
                if (!await ReadExactlyAsync(client, message, token).ConfigureAwait(false))
                {
                    return;
                }

                var reply = connection.Handle(message);
                var frame = new byte[4 + reply.Length];
                BinaryPrimitives.WriteUInt32BigEndian(frame, (uint)reply.Length);
                reply.CopyTo(frame, 4);
                await client.SendAsync(frame, SocketFlags.None, token).ConfigureAwait(false);
            }
            finally
            {
                // An ADD message carries private key fields.
                CryptographicOperations.ZeroMemory(message);
            }
        }
    }

    private async Task ServeApiAsync(Socket client, PeerCredentials peer, CancellationToken token)
    {
        int max = _apiHandler!.MaxRequestBytes;
        var buffer = new byte[max + 1];
        int filled = 0;
        try
        {
            while (!token.IsCancellationRequested)
            {
                int newline = Array.IndexOf(buffer, (byte)'\n', 0, filled);
                if (newline < 0)
                {
                    if (filled > max)
                    {
                        DaemonLog.Oversized(_logger, peer.Uid, (uint)filled);
                        return;
                    }

                    int read = await client.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None, token).ConfigureAwait(false);
                    if (read == 0)
                    {
                        return;
                    }

                    filled += read;
                    continue;
                }

                string response = _apiHandler.Handle(peer, buffer.AsSpan(0, newline));
                CryptographicOperations.ZeroMemory(buffer.AsSpan(0, newline + 1));
                buffer.AsSpan(newline + 1, filled - newline - 1).CopyTo(buffer);
                filled -= newline + 1;
                await client.SendAsync(System.Text.Encoding.UTF8.GetBytes(response + "\n"), SocketFlags.None, token).ConfigureAwait(false);
            }
        }
        finally
        {
            // Requests carry PINs and passphrases.
            CryptographicOperations.ZeroMemory(buffer);
        }
    }

    private static async Task<bool> ReadExactlyAsync(Socket client, byte[] buffer, CancellationToken token)
    {
        int filled = 0;
        while (filled < buffer.Length)
        {
            int read = await client.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None, token).ConfigureAwait(false);
            if (read == 0)
            {
                return false;
            }

            filled += read;
        }

        return true;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _ssh.Dispose();
        _api?.Dispose();
        Task[] running;
        lock (_loops)
        {
            running = [.. _loops];
        }

        await Task.WhenAny(Task.WhenAll(running), Task.Delay(TimeSpan.FromSeconds(2))).ConfigureAwait(false);
        _stop.Dispose();
        _slots.Dispose();
    }
}

internal static partial class DaemonLog
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "accept on {Path} failed: {Problem}")]
    public static partial void AcceptFailed(ILogger logger, string path, string problem);

    [LoggerMessage(Level = LogLevel.Warning, Message = "connection from uid {Uid} (pid {Pid}) closed: this per-user agent serves uid {Owner} only")]
    public static partial void ForeignPeer(ILogger logger, uint uid, int pid, uint owner);

    [LoggerMessage(Level = LogLevel.Warning, Message = "connection from uid {Uid} closed: {Max} connections are open")]
    public static partial void TooManyConnections(ILogger logger, uint uid, int max);

    [LoggerMessage(Level = LogLevel.Warning, Message = "uid {Uid}: message of {Length} bytes is over the limit; connection closed")]
    public static partial void Oversized(ILogger logger, uint uid, uint length);
}
