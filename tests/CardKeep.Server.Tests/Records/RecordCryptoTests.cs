using System.Security.Cryptography;
using CardKeep.Cards.Piv;
using CardKeep.Client.PersonalEnvironment;

namespace CardKeep.Server.Tests.Records;

/// <summary>The envelope: records, data keys, the record master key wrapped to a card's 9D key and under the recovery code.</summary>
public sealed class RecordCryptoTests
{
    [Fact]
    public void SealRecord_OpensOnlyForSameUserIdAndRevision()
    {
        byte[] rmk = RecordCrypto.NewKey();
        string id = EnvEntry.NewId();
        var (ciphertext, wrappedDek) = RecordCrypto.SealRecord(rmk, "alice", id, 3, "secret"u8);
        Assert.Equal("secret"u8.ToArray(), RecordCrypto.OpenRecord(rmk, "alice", id, 3, wrappedDek, ciphertext));
        Assert.Throws<DamagedRecordException>(() => RecordCrypto.OpenRecord(rmk, "bob", id, 3, wrappedDek, ciphertext));
        Assert.Throws<DamagedRecordException>(() => RecordCrypto.OpenRecord(rmk, "alice", EnvEntry.NewId(), 3, wrappedDek, ciphertext));
        Assert.Throws<DamagedRecordException>(() => RecordCrypto.OpenRecord(rmk, "alice", id, 2, wrappedDek, ciphertext));
        Assert.Throws<DamagedRecordException>(() => RecordCrypto.OpenRecord(RecordCrypto.NewKey(), "alice", id, 3, wrappedDek, ciphertext));
        ciphertext[^1] ^= 1;
        Assert.Throws<DamagedRecordException>(() => RecordCrypto.OpenRecord(rmk, "alice", id, 3, wrappedDek, ciphertext));
        Assert.Throws<DamagedRecordException>(() => RecordCrypto.OpenRecord(rmk, "alice", id, 3, wrappedDek, ciphertext.AsSpan(0, 5)));
    }

    [Fact]
    public void RewrapDek_NewKeyOpensOldKeyDoesNot()
    {
        byte[] oldRmk = RecordCrypto.NewKey();
        byte[] newRmk = RecordCrypto.NewKey();
        string id = EnvEntry.NewId();
        var (ciphertext, wrappedDek) = RecordCrypto.SealRecord(oldRmk, "alice", id, 1, "x"u8);
        byte[] rewrapped = RecordCrypto.RewrapDek(oldRmk, newRmk, "alice", id, wrappedDek);
        Assert.Equal("x"u8.ToArray(), RecordCrypto.OpenRecord(newRmk, "alice", id, 1, rewrapped, ciphertext));
        Assert.Throws<DamagedRecordException>(() => RecordCrypto.OpenRecord(oldRmk, "alice", id, 1, rewrapped, ciphertext));
    }

    [Theory]
    [InlineData(PivAlgorithm.EccP256)]
    [InlineData(PivAlgorithm.EccP384)]
    [InlineData(PivAlgorithm.Rsa2048)]
    public void WrapToCard_UnwrapsWithThatCardOnly(PivAlgorithm algorithm)
    {
        using var card = new TestCard(algorithm);
        using var other = new TestCard(algorithm);
        var env = card.Environment();
        byte[] rmk = RecordCrypto.NewKey();
        byte[] wrap = RecordCrypto.WrapToCard(env.KeyManagementKey, "alice", env.Serial, rmk);
        Assert.Equal(rmk, RecordCrypto.UnwrapWithCard(env, "alice", wrap));
        Assert.Throws<DamagedRecordException>(() => RecordCrypto.UnwrapWithCard(env, "bob", wrap));
        Assert.ThrowsAny<Exception>(() => RecordCrypto.UnwrapWithCard(other.Environment(), "alice", wrap));
        Assert.Throws<DamagedRecordException>(() => RecordCrypto.UnwrapWithCard(env, "alice", wrap.AsSpan(0, 10)));
    }

    [Fact]
    public void RecoveryCode_UnwrapsOnlyWithTheCode()
    {
        byte[] code = RandomNumberGenerator.GetBytes(RecordCrypto.RecoveryCodeLength);
        byte[] rmk = RecordCrypto.NewKey();
        byte[] wrap = RecordCrypto.WrapToRecoveryCode(code, "alice", rmk);
        Assert.Equal(rmk, RecordCrypto.UnwrapWithRecoveryCode(code, "alice", wrap));
        code[0] ^= 1;
        Assert.Throws<DamagedRecordException>(() => RecordCrypto.UnwrapWithRecoveryCode(code, "alice", wrap));
        Assert.Throws<ArgumentException>(() => RecordCrypto.UnwrapWithRecoveryCode(code.AsSpan(0, 8), "alice", wrap));
    }

    [Fact]
    public void RecoveryCodeText_RoundTripsAndCatchesTypos()
    {
        byte[] code = RandomNumberGenerator.GetBytes(RecordCrypto.RecoveryCodeLength);
        string text = RecoveryCodeText.Format(code);
        Assert.Equal(code, RecoveryCodeText.Parse(text));
        Assert.Equal(code, RecoveryCodeText.Parse(text.Replace("-", " ", StringComparison.Ordinal)));
        char[] typo = text.ToCharArray();
        typo[0] = typo[0] == '1' ? '2' : '1';
        Assert.Throws<FormatException>(() => RecoveryCodeText.Parse(new string(typo)));
    }
}

/// <summary>The card-resident index on a fake card (a dictionary of objects), for the LRU logic alone.</summary>
public sealed class EnvCardTests
{
    private sealed class FakeObjects : IEnvCardObjects
    {
        public Dictionary<uint, byte[]> Objects { get; } = [];

        public int Writes { get; private set; }

        public byte[]? Read(uint tag) => Objects.GetValueOrDefault(tag);

        public void Write(uint tag, ReadOnlySpan<byte> content)
        {
            Writes++;
            if (content.IsEmpty)
            {
                Objects.Remove(tag);
            }
            else
            {
                Assert.True(content.Length <= EnvCard.MaxObjectBytes);
                Objects[tag] = content.ToArray();
            }
        }
    }

    private static CardEntry Entry(string name, long usedAt, int padding = 0) =>
        new(new EnvEntry { Id = EnvEntry.NewId(), Kind = EntryKind.Note, Name = name, Value = new string('v', padding) }, 1, usedAt);

    [Fact]
    public void Plan_KeepsMostRecentlyUsedWithinBudget_StrictLru()
    {
        var entries = new[] { Entry("a", 1), Entry("b", 2), Entry("c", 3), Entry("d", 4, padding: 10) };
        int all = EnvCard.Plan(null, entries, int.MaxValue).Bytes;
        var plan = EnvCard.Plan(null, entries, all - 1);
        Assert.Equal(["d", "c", "b"], plan.Kept.Select(k => k.Entry.Name));
        Assert.Equal(["a"], plan.Evicted.Select(k => k.Entry.Name));
        Assert.True(plan.Bytes <= all - 1);
        Assert.Empty(EnvCard.Plan(null, entries, 30).Kept);
    }

    [Fact]
    public void Store_SplitsAcrossObjects_LoadsBack_ShrinksAndClears()
    {
        var objects = new FakeObjects();
        var card = new EnvCard(objects);
        byte[] rmk = RecordCrypto.NewKey();
        var big = Enumerable.Range(0, 12).Select(i => Entry("n" + i, i, padding: 1500)).ToList();
        var plan = card.Store(rmk, "alice", "serial-1", "office", big);
        Assert.True(plan.Kept.Count >= 12 || plan.Evicted.Count > 0);
        Assert.True(objects.Objects.Count > 1);
        var loaded = card.Load(rmk, "alice", "serial-1")!;
        Assert.Equal("office", loaded.Set);
        Assert.Equal(plan.Kept.Select(k => k.Entry.Id), loaded.Entries.Select(e => e.Entry.Id));
        Assert.Throws<DamagedRecordException>(() => card.Load(rmk, "alice", "serial-2"));

        card.Store(rmk, "alice", "serial-1", null, big.Take(1));
        Assert.Single(objects.Objects);
        Assert.Single(card.Load(rmk, "alice", "serial-1")!.Entries);
        card.Clear();
        Assert.Empty(objects.Objects);
        Assert.Null(card.Load(rmk, "alice", "serial-1"));
    }

    [Fact]
    public void Load_WriteCutShort_ReportsDamagedNeverMixes()
    {
        var objects = new FakeObjects();
        var card = new EnvCard(objects);
        byte[] rmk = RecordCrypto.NewKey();
        card.Store(rmk, "alice", "s", null, Enumerable.Range(0, 6).Select(i => Entry("n" + i, i, padding: 1500)));
        objects.Objects[EnvCard.FirstTag + 1] = objects.Objects[EnvCard.FirstTag + 1][..100];
        Assert.Throws<DamagedRecordException>(() => card.Load(rmk, "alice", "s"));
    }
}
