using System.Runtime.Versioning;
using CardKeep.Agent;
using CardKeep.Agent.Daemon;
using CardKeep.Agent.Keys;
using CardKeep.Agent.SshAgent;
using Microsoft.Extensions.Logging.Abstractions;

[assembly: SupportedOSPlatform("linux")]

namespace CardKeep.Agent.Tests;

/// <summary>Hex vectors as the specs write them, a settable clock, and an agent connection to drive with raw messages.</summary>
internal static class TestSupport
{
    public static readonly PeerCredentials Alice = new(1000, 1000, 1000);
    public static readonly PeerCredentials Bob = new(2000, 2000, 2000);

    public static byte[] Hex(string hex) => Convert.FromHexString(hex.Replace(" ", string.Empty, StringComparison.Ordinal));

    public static AgentConnection Connect(KeyStoreManager keys, PeerCredentials peer, IConfirmer? confirmer = null) =>
        new(peer, keys, confirmer ?? new FixedConfirmer(false), NullLogger.Instance);

    public static KeyStoreManager Manager(TimeProvider? time = null, AgentOptions? options = null) =>
        new(options ?? new AgentOptions { LockIterations = 1, UnlockFailureDelay = TimeSpan.Zero }, time);

    /// <summary>An ADD_IDENTITY (17) or ADD_ID_CONSTRAINED (25) message for <paramref name="key"/>.</summary>
    public static byte[] AddMessage(SoftwareKey key, string comment, params byte[][] constraints)
    {
        using var writer = new SshWriter(2048);
        writer.WriteByte(constraints.Length == 0 ? AgentProtocol.AddIdentity : AgentProtocol.AddIdConstrained);
        key.WritePrivate(writer);
        writer.WriteString(comment);
        foreach (var c in constraints)
        {
            writer.WriteRaw(c);
        }

        return writer.ToArray();
    }

    public static byte[] SignMessage(ReadOnlySpan<byte> blob, ReadOnlySpan<byte> data, uint flags)
    {
        using var writer = new SshWriter(blob.Length + data.Length + 32);
        return writer.WriteByte(AgentProtocol.SignRequest).WriteString(blob).WriteString(data).WriteUInt32(flags).ToArray();
    }

    public static byte[] Message(byte type, Action<SshWriter>? body = null)
    {
        using var writer = new SshWriter(64);
        writer.WriteByte(type);
        body?.Invoke(writer);
        return writer.ToArray();
    }

    /// <summary>The signature blob from a SIGN_RESPONSE (14), or null for FAILURE.</summary>
    public static byte[]? SignatureOf(byte[] reply)
    {
        if (reply[0] != AgentProtocol.SignResponse)
        {
            return null;
        }

        var reader = new SshReader(reply.AsSpan(1));
        return reader.ReadString().ToArray();
    }

    /// <summary>(blob, comment) pairs of an IDENTITIES_ANSWER (12).</summary>
    public static List<(byte[] Blob, string Comment)> IdentitiesOf(byte[] reply)
    {
        Assert.Equal(AgentProtocol.IdentitiesAnswer, reply[0]);
        var reader = new SshReader(reply.AsSpan(1));
        uint count = reader.ReadUInt32();
        var list = new List<(byte[], string)>();
        for (uint i = 0; i < count; i++)
        {
            list.Add((reader.ReadString().ToArray(), System.Text.Encoding.UTF8.GetString(reader.ReadString())));
        }

        reader.ThrowIfNotEmpty("identities answer");
        return list;
    }
}

internal sealed class FixedConfirmer(bool answer) : IConfirmer
{
    public int Asked { get; private set; }

    public bool Confirm(ConfirmRequest request)
    {
        Asked++;
        return answer;
    }
}

internal sealed class ManualTime(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}
