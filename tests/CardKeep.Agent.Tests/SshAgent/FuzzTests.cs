using System.Security.Cryptography;
using CardKeep.Agent.Keys;
using CardKeep.Agent.SshAgent;
using static CardKeep.Agent.Tests.TestSupport;

namespace CardKeep.Agent.Tests.SshAgent;

/// <summary>
/// Bad input: valid messages of every kind, mutated (bit flips, lying length fields, truncation, extension, type swaps,
/// random bytes), 100,000 and more through the handler. Every answer must be a well-formed reply, the handler must never
/// throw, and the keys it keeps must stay bounded.
/// </summary>
public sealed class FuzzTests
{
    private const int Messages = 120_000;

    [Fact]
    public void Handle_MutatedMessages_AlwaysAnswersAndStaysBounded()
    {
        using var keys = Manager(options: new AgentOptions { LockIterations = 1, UnlockFailureDelay = TimeSpan.Zero, MaxAddedKeysPerUser = 64 });
        var random = new Random(20261121);
        var seeds = Seeds();
        var connection = Connect(keys, Alice, new FixedConfirmer(true));
        var counts = new Dictionary<byte, int>();
        long before = GC.GetTotalMemory(forceFullCollection: true);
        for (int i = 0; i < Messages; i++)
        {
            if (i % 5000 == 0)
            {
                // A fresh connection now and then (bindings are per connection), and an unlocked agent.
                connection = Connect(keys, Alice, new FixedConfirmer(true));
                connection.Handle(Message(AgentProtocol.Unlock, w => w.WriteString("pw")));
            }

            var message = Mutate(seeds[random.Next(seeds.Count)], random);
            byte[] reply = connection.Handle(message);
            Assert.NotEmpty(reply);
            counts[reply[0]] = counts.GetValueOrDefault(reply[0]) + 1;
            Assert.Contains(reply[0], new byte[] { AgentProtocol.Failure, AgentProtocol.Success, AgentProtocol.IdentitiesAnswer, AgentProtocol.SignResponse });
            Assert.True(keys.AddedCount <= 64);
        }

        long after = GC.GetTotalMemory(forceFullCollection: true);
        Assert.True(after - before < 64L * 1024 * 1024, $"memory grew by {(after - before) / 1024} KiB");
        Assert.True(counts.GetValueOrDefault(AgentProtocol.Failure) > Messages / 4, "most mutations must be refused");
        Assert.True(counts.GetValueOrDefault(AgentProtocol.Success) > 0, "some mutations stay valid");
    }

    private static List<byte[]> Seeds()
    {
        var seeds = new List<byte[]>();
        using var rsa = SoftwareKey.Generate(SshKeyType.Rsa, 2048, "rsa", KeySource.Added);
        using var ec = SoftwareKey.Generate(SshKeyType.EcdsaP256, 0, "ec", KeySource.Added);
        using var ec384 = SoftwareKey.Generate(SshKeyType.EcdsaP384, 0, "ec384", KeySource.Added);
        using var ed = SoftwareKey.Generate(SshKeyType.Ed25519, 0, "ed", KeySource.Added);
        foreach (var key in new[] { rsa, ec, ec384, ed })
        {
            seeds.Add(AddMessage(key, key.Comment));
            seeds.Add(AddMessage(key, key.Comment, [AgentProtocol.ConstrainLifetime, 0, 0, 0, 30]));
            seeds.Add(AddMessage(key, key.Comment, [AgentProtocol.ConstrainConfirm]));
            seeds.Add(SignMessage(key.PublicKey.Blob.Span, RandomNumberGenerator.GetBytes(64), AgentProtocol.FlagRsaSha512));
            seeds.Add(Message(AgentProtocol.RemoveIdentity, w => w.WriteString(key.PublicKey.Blob.Span)));
        }

        var sid = RandomNumberGenerator.GetBytes(32);
        seeds.Add(AgentConnectionTests.SessionBind(ed, sid, ed.SignSsh(sid, 0), true));
        seeds.Add(AgentConnectionTests.SessionBind(ec, sid, ec.SignSsh(sid, 0), false));
        seeds.Add([AgentProtocol.RequestIdentities]);
        seeds.Add([AgentProtocol.RemoveAllIdentities]);
        seeds.Add(Message(AgentProtocol.Lock, w => w.WriteString("pw")));
        seeds.Add(Message(AgentProtocol.Unlock, w => w.WriteString("pw")));
        seeds.Add(Message(AgentProtocol.AddSmartcardKey, w => w.WriteString("/lib.so").WriteString("1234")));
        seeds.Add(Message(AgentProtocol.Extension, w => w.WriteString("query")));
        return seeds;
    }

    private static byte[] Mutate(byte[] seed, Random random)
    {
        var message = (byte[])seed.Clone();
        switch (random.Next(8))
        {
            case 0:
                return message;
            case 1:
                for (int n = random.Next(1, 4); n > 0; n--)
                {
                    message[random.Next(message.Length)] ^= (byte)(1 << random.Next(8));
                }

                return message;
            case 2:
                // A length field that lies: overwrite 4 bytes with a big, small or off-by-one value.
                if (message.Length > 5)
                {
                    int at = random.Next(1, message.Length - 4);
                    uint value = random.Next(3) switch
                    {
                        0 => (uint)random.Next(),
                        1 => uint.MaxValue - (uint)random.Next(16),
                        _ => System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(message.AsSpan(at)) + (uint)random.Next(-2, 3),
                    };
                    System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(message.AsSpan(at), value);
                }

                return message;
            case 3:
                return message[..random.Next(message.Length)];
            case 4:
                return [.. message, .. RandomNumberGenerator.GetBytes(random.Next(1, 40))];
            case 5:
                message[0] = (byte)random.Next(256);
                return message;
            case 6:
                return RandomNumberGenerator.GetBytes(random.Next(0, 300));
            default:
                // Truncated key inside an otherwise framed message: cut and re-append the tail.
                int cut = random.Next(1, message.Length);
                return [.. message[..cut], .. message[Math.Min(message.Length, cut + random.Next(1, 50))..]];
        }
    }
}
