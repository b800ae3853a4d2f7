using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Runtime.Versioning;
using System.Security.Cryptography;
using CardKeep.Agent.SshAgent;
using CardKeep.Cards.PcSc;
using CardKeep.Cards.Piv;

namespace CardKeep.Bench;

/// <summary>
/// Agent benchmarks (bench/agent.sh runs them):
///   agent --socket NAME=PATH … --key PUB … [--seconds N]: one client, SSH agent SIGN_REQUESTs back to back, each agent and
///     key in turn (RSA with flags 4, rsa-sha2-512, as ssh asks); the same 32-byte data every time.
///   agent-card --reader R --socket PATH --key PUB --pin PIN [--seconds N]: card-routed signatures through the agent vs the
///     same PIV GENERAL AUTHENTICATE (P-256, slot 9A) sent directly with PivSession on the same reader.
/// </summary>
[SupportedOSPlatform("linux")]
internal static class AgentBench
{
    public static int SideBySide(IReadOnlyList<string> sockets, IReadOnlyList<string> keys, double seconds)
    {
        Console.WriteLine($"# agent signatures: {seconds} s per agent and key, one client, {DateTime.UtcNow:yyyy-MM-ddTHH:mm:ssZ}, {Environment.ProcessorCount} cores");
        foreach (string keyFile in keys)
        {
            var key = SshPublicKey.ParseAuthorizedKey(File.ReadAllText(keyFile), out _);
            uint flags = key.Type == SshKeyType.Rsa ? AgentProtocol.FlagRsaSha512 : 0;
            foreach (string entry in sockets)
            {
                string[] parts = entry.Split('=', 2);
                using var client = new AgentClient(parts[1]);
                Report(parts[0], $"{key.Type.Name()} {key.Bits}", Measure(() => client.Sign(key, flags), seconds));
            }
        }

        return 0;
    }

    public static int Card(string reader, string socket, string keyFile, string pin, double seconds)
    {
        var key = SshPublicKey.ParseAuthorizedKey(File.ReadAllText(keyFile), out _);
        Console.WriteLine($"# card-routed signatures ({key.Type.Name()}, slot 9A, live VSC through pcscd + vpcd): {seconds} s each, {DateTime.UtcNow:yyyy-MM-ddTHH:mm:ssZ}");
        using (var client = new AgentClient(socket))
        {
            Report("cardkeep agent -> card", key.Type.Name(), Measure(() => client.Sign(key, 0), seconds));
        }

        using var context = PcscContext.Establish();
        using var session = PivSession.Open(context.Connect(reader), ownsChannel: true);
        session.VerifyPin(System.Text.Encoding.UTF8.GetBytes(pin));
        var hash = SHA256.HashData(RandomNumberGenerator.GetBytes(32));
        Report("PivSession direct", key.Type.Name(), Measure(() => session.Sign(PivSlot.Authentication, PivAlgorithm.EccP256, hash), seconds));
        return 0;
    }

    private static List<double> Measure(Action operation, double seconds)
    {
        for (int i = 0; i < 20; i++)
        {
            operation();
        }

        var latencies = new List<double>(100_000);
        var total = Stopwatch.StartNew();
        var one = new Stopwatch();
        while (total.Elapsed.TotalSeconds < seconds)
        {
            one.Restart();
            operation();
            latencies.Add(one.Elapsed.TotalMicroseconds);
        }

        latencies.Sort();
        latencies.Add(total.Elapsed.TotalSeconds);
        return latencies;
    }

    private static void Report(string who, string key, List<double> measured)
    {
        double elapsed = measured[^1];
        measured.RemoveAt(measured.Count - 1);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{who,-24}\t{key,-24}\t{measured.Count,7} signatures in {elapsed:F1} s\t{measured.Count / elapsed,8:F0} sig/s\tp50 {measured[measured.Count / 2],7:F0} µs\tp99 {measured[(int)(measured.Count * 0.99)],7:F0} µs"));
    }

    /// <summary>A minimal SSH agent client: one connection, framed SIGN_REQUESTs, the answer checked for type 14.</summary>
    private sealed class AgentClient : IDisposable
    {
        private readonly Socket _socket = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        private readonly byte[] _data = RandomNumberGenerator.GetBytes(32);
        private readonly byte[] _buffer = new byte[64 * 1024];

        public AgentClient(string path) => _socket.Connect(new UnixDomainSocketEndPoint(path));

        public void Sign(SshPublicKey key, uint flags)
        {
            using var writer = new SshWriter(key.Blob.Length + 64);
            writer.WriteUInt32(0).WriteByte(AgentProtocol.SignRequest).WriteString(key.Blob.Span).WriteString(_data).WriteUInt32(flags);
            var frame = writer.ToArray();
            BinaryPrimitives.WriteUInt32BigEndian(frame, (uint)(frame.Length - 4));
            _socket.Send(frame);
            ReadExactly(4);
            int length = (int)BinaryPrimitives.ReadUInt32BigEndian(_buffer);
            ReadExactly(length);
            if (_buffer[0] != AgentProtocol.SignResponse)
            {
                throw new InvalidOperationException($"the agent answered type {_buffer[0]} to a sign request");
            }
        }

        private void ReadExactly(int count)
        {
            int filled = 0;
            while (filled < count)
            {
                int read = _socket.Receive(_buffer, filled, count - filled, SocketFlags.None);
                if (read == 0)
                {
                    throw new IOException("the agent closed the connection");
                }

                filled += read;
            }
        }

        public void Dispose() => _socket.Dispose();
    }
}
