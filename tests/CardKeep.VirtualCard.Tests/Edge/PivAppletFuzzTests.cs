using CardKeep.Cards;
using CardKeep.Cards.Piv;
using CardKeep.VirtualCard.Store;
using CardKeep.VirtualCard.Tests.Store;

namespace CardKeep.VirtualCard.Tests.Edge;

/// <summary>
/// Robustness: 100,000 random and mutated APDUs (flipped and replaced bytes, wrong lengths, random INS/P1/P2/CLA,
/// truncated and interrupted chains) against one card. <see cref="CardKeep.VirtualCard.Edge.PivApplet.Process"/>
/// must never throw, must always answer at least a status word, and the card file must still open afterwards.
/// </summary>
public sealed class PivAppletFuzzTests : IDisposable
{
    private const int Iterations = 100_000;

    /// <summary>Valid commands the mutations start from (P-256 only, so that no mutation needs an RSA key generation often).</summary>
    private static readonly string[] _seeds =
    [
        "00 A4 04 00 09 A0 00 00 03 08 00 00 10 00 00",
        "00 A4 04 00 05 A0 00 00 03 08",
        "00 A4 04 00 08 A0 00 00 05 27 47 11 17",
        "00 A4 04 00 08 A0 00 00 05 27 20 01 01",
        "00 CB 3F FF 03 5C 01 7E 08",
        "00 CB 3F FF 05 5C 03 5F C1 02 00",
        "00 CB 3F FF 05 5C 03 5F C1 05 00",
        "00 CB 3F FF 05 5C 03 5F C1 09 00",
        "00 CB 3F FF 05 5C 03 5F FF 12 00",
        "00 DB 3F FF 0C 5C 03 5F FF 12 53 05 68 65 6C 6C 6F",
        "00 DB 3F FF 0E 5C 03 5F C1 05 53 07 70 01 30 71 01 00 FE 00",
        "00 DB 3F FF 05 5C 03 5F FF 10 53 00",
        "00 20 00 80 08 31 32 33 34 35 36 FF FF",
        "00 20 00 80 00",
        "00 20 00 80",
        "00 20 FF 80",
        "00 24 00 80 10 31 32 33 34 35 36 FF FF 31 32 33 34 35 36 FF FF",
        "00 2C 00 80 10 31 32 33 34 35 36 37 38 31 32 33 34 35 36 FF FF",
        "00 87 03 9B 04 7C 02 80 00",
        "00 87 03 9B 16 7C 14 80 08 01 02 03 04 05 06 07 08 81 08 01 02 03 04 05 06 07 08",
        "00 87 03 9B 04 7C 02 81 00",
        "00 87 03 9B 0C 7C 0A 82 08 01 02 03 04 05 06 07 08",
        "00 87 00 9B 04 7C 02 81 00 00",
        "00 87 11 9A 26 7C 24 82 00 81 20 00 11 22 33 44 55 66 77 88 99 AA BB CC DD EE FF 00 11 22 33 44 55 66 77 88 99 AA BB CC DD EE FF 00",
        "00 87 11 9E 26 7C 24 82 00 81 20 00 11 22 33 44 55 66 77 88 99 AA BB CC DD EE FF 00 11 22 33 44 55 66 77 88 99 AA BB CC DD EE FF 00",
        "00 47 00 9A 05 AC 03 80 01 11",
        "00 47 00 9E 0B AC 09 80 01 11 AA 01 01 AB 01 01",
        "00 FE 11 9D 22 06 20 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F 10 11 12 13 14 15 16 17 18 19 1A 1B 1C 1D 1E 1F 20",
        "00 FF FF FF 1B 03 9B 18 01 02 03 04 05 06 07 08 01 02 03 04 05 06 07 08 01 02 03 04 05 06 07 08",
        "00 F7 00 80",
        "00 F7 00 9A",
        "00 F7 00 9B",
        "00 F9 9A 00 00",
        "00 FD 00 00 00",
        "00 F8 00 00 00",
        "00 FB 00 00",
        "00 FA 03 03",
        "00 C0 00 00 00",
        "10 DB 3F FF 05 5C 03 5F FF 11",
        "00 DB 3F FF 04 53 02 41 42",
    ];

    private readonly AppletHarness _h = new();

    public void Dispose() => _h.Dispose();

    [Fact]
    public void Process_100000RandomAndMutatedApdus_AlwaysAnswersAStatusWordAndTheFileStillOpens()
    {
        var random = new Random(7816);
        var seeds = _seeds.Select(AppletHarness.Bytes).ToArray();
        var statusWords = new HashSet<ushort>();
        for (int i = 0; i < Iterations; i++)
        {
            if (i % 1000 == 0)
            {
                EnterDeeperState(random);
            }

            byte[] apdu = random.Next(100) switch
            {
                < 10 => RandomBytes(random, random.Next(0, 300)),
                < 20 => seeds[random.Next(seeds.Length)],
                < 25 => TruncatedChainStart(random, seeds),
                < 26 => ResetAndEmpty(),
                _ => Mutate(random, seeds[random.Next(seeds.Length)]),
            };

            var response = _h.Applet.Process(apdu);

            Assert.True(response.Length >= 2, $"APDU {Convert.ToHexString(apdu)} got {response.Length} bytes");
            byte sw1 = response[^2];
            Assert.True(sw1 is 0x90 or 0x61 or 0x63 or 0x65 or 0x67 or 0x68 or 0x69 or 0x6A or 0x6D or 0x6E or 0x6F,
                $"APDU {Convert.ToHexString(apdu)} got SW {Convert.ToHexString(response[^2..])}");
            Assert.True(sw1 is 0x90 or 0x61 || response.Length == 2, $"an error with data for {Convert.ToHexString(apdu)}");
            statusWords.Add((ushort)((sw1 << 8) | response[^1]));
        }

        Assert.Contains((ushort)0x9000, statusWords);
        Assert.Contains((ushort)0x6700, statusWords);
        Assert.Contains((ushort)0x6D00, statusWords);
        Assert.Contains((ushort)0x6A80, statusWords);
        Assert.Contains((ushort)0x6982, statusWords);
        Assert.DoesNotContain((ushort)0x6F00, statusWords);

        string path = _h.CardPath;
        using var reopened = VirtualSmartCard.Open(path, TestCards.Weak);
        Assert.Equal(_h.Card.Serial, reopened.Serial);
        Assert.Equal(_h.Card.Keys.Count, reopened.Keys.Count);
    }

    private static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    /// <summary>Management key and PIN where they still work, so mutations reach the handlers behind the checks.</summary>
    private void EnterDeeperState(Random random)
    {
        try
        {
            _h.Session.Select();
            _h.AuthenticateDefault();
            if (random.Next(2) == 0)
            {
                _h.VerifyPin();
            }
        }
        catch (CardException)
        {
            // The fuzzing may have changed the management key or blocked the PIN: that is fine.
        }
    }

    private byte[] ResetAndEmpty()
    {
        _h.Applet.Reset();
        return [];
    }

    /// <summary>The first part of a command sent as a chain piece, then (next iteration) anything: a truncated chain.</summary>
    private static byte[] TruncatedChainStart(Random random, byte[][] seeds)
    {
        var seed = seeds[random.Next(seeds.Length)];
        if (seed.Length <= 6)
        {
            return seed;
        }

        int keep = random.Next(1, seed.Length - 5);
        byte[] piece = [(byte)(seed[0] | 0x10), seed[1], seed[2], seed[3], (byte)keep, .. seed.AsSpan(5, keep)];
        return piece;
    }

    private static byte[] Mutate(Random random, byte[] seed)
    {
        var apdu = new List<byte>(seed);
        int mutations = random.Next(1, 5);
        for (int m = 0; m < mutations; m++)
        {
            int position = apdu.Count == 0 ? 0 : random.Next(apdu.Count);
            switch (random.Next(10))
            {
                case 0 when apdu.Count > 0:
                    apdu[position] ^= (byte)(1 << random.Next(8));
                    break;
                case 1 when apdu.Count > 0:
                    apdu[position] = (byte)random.Next(256);
                    break;
                case 2:
                    apdu.Insert(position, (byte)random.Next(256));
                    break;
                case 3 when apdu.Count > 0:
                    apdu.RemoveAt(position);
                    break;
                case 4:
                    apdu.RemoveRange(position, apdu.Count - position);
                    break;
                case 5 when apdu.Count > 4:
                    apdu[4] = (byte)random.Next(256);
                    break;
                case 6 when apdu.Count > 1:
                    apdu[1] = (byte)random.Next(256);
                    break;
                case 7 when apdu.Count > 3:
                    apdu[2 + random.Next(2)] = (byte)random.Next(256);
                    break;
                case 8 when apdu.Count > 0:
                    apdu[0] = random.Next(3) switch { 0 => 0x10, 1 => 0x00, _ => (byte)random.Next(256) };
                    break;
                default:
                    apdu.AddRange(RandomBytes(random, random.Next(1, 8)));
                    break;
            }
        }

        return [.. apdu];
    }
}
