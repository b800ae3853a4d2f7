using System.Buffers;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.Json;

namespace CardKeep.Agent.Api;

/// <summary>
/// A client of the agent's local JSON API: sends one request line and reads one answer line. The request buffer (it may
/// hold a PIN or passphrase) is zeroed after sending.
/// </summary>
public static class ApiClient
{
    /// <summary>The API socket: <c>$CARDKEEP_AGENT_API</c>, else the per-user one when it exists, else the system one.</summary>
    public static string DefaultSocket()
    {
        if (Environment.GetEnvironmentVariable("CARDKEEP_AGENT_API") is { Length: > 0 } configured)
        {
            return configured;
        }

        string user = AgentHostOptions.DefaultSockets(Daemon.SocketMode.User).Api;
        return File.Exists(user) ? user : AgentHostOptions.DefaultSockets(Daemon.SocketMode.System).Api;
    }

    /// <summary>Sends <c>{"op": op, …}</c> built by <paramref name="body"/>; returns the answer (<c>ok</c> true or false).</summary>
    public static JsonDocument Call(string socketPath, string op, Action<Utf8JsonWriter>? body = null, TimeSpan? timeout = null)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        try
        {
            using (var writer = new Utf8JsonWriter(buffer))
            {
                writer.WriteStartObject();
                writer.WriteString("op", op);
                body?.Invoke(writer);
                writer.WriteEndObject();
            }

            buffer.Write("\n"u8);
            using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            socket.ReceiveTimeout = socket.SendTimeout = (int)(timeout ?? TimeSpan.FromSeconds(120)).TotalMilliseconds;
            socket.Connect(new UnixDomainSocketEndPoint(socketPath));
            socket.Send(buffer.WrittenSpan);
            using var answer = new MemoryStream();
            var chunk = new byte[4096];
            while (true)
            {
                int read = socket.Receive(chunk);
                if (read == 0)
                {
                    break;
                }

                int newline = Array.IndexOf(chunk, (byte)'\n', 0, read);
                answer.Write(chunk, 0, newline < 0 ? read : newline);
                if (newline >= 0)
                {
                    break;
                }
            }

            return JsonDocument.Parse(answer.ToArray());
        }
        finally
        {
            CryptographicOperations.ZeroMemory(MemoryMarshalHelper.AsWritable(buffer));
        }
    }

    private static class MemoryMarshalHelper
    {
        public static Span<byte> AsWritable(ArrayBufferWriter<byte> buffer) =>
            System.Runtime.InteropServices.MemoryMarshal.AsMemory(buffer.WrittenMemory).Span;
    }
}
