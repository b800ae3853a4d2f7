using CardKeep.Cards.Piv;

namespace CardKeep.Manager.Tests;

public sealed class TransferTests
{
    private static readonly uint Chuid = PivDataObject.Chuid.Tag;
    private static readonly uint Urls = PivDataObject.CardKeepUrls.Tag;
    private static readonly uint Printed = PivDataObject.PrintedInformation.Tag;

    [Fact]
    public void WriteAll_AllFit_WritesAndVerifiesEach()
    {
        var target = new FakeCard();
        var report = Transfer.WriteAll(target, [new(Chuid, ObjectArea.Public, [1, 2]), new(Urls, ObjectArea.Public, [3])]);
        Assert.True(report.Succeeded);
        Assert.All(report.Items, i => Assert.True(i.Done));
        Assert.Equal([1, 2], target.Objects[Chuid]);
    }

    [Fact]
    public void WriteAll_SecondWriteFails_RollsBackFirstToItsPreviousValue()
    {
        var target = new FakeCard { FailOnWrite = 2 };
        target.Objects[Chuid] = [9, 9];
        var report = Transfer.WriteAll(target, [new(Chuid, ObjectArea.Public, [1, 2]), new(Urls, ObjectArea.Public, [3]), new(0x5FFF11, ObjectArea.Public, [4])]);
        Assert.False(report.Succeeded);
        Assert.True(report.RolledBack);
        Assert.Equal([9, 9], target.Objects[Chuid]);
        Assert.False(target.Objects.ContainsKey(Urls));
        Assert.Equal("not attempted", report.Items[^1].Reason);
        Assert.Contains("no room", report.Failure, StringComparison.Ordinal);
    }

    [Fact]
    public void WriteAll_RollbackFailsToo_ReportSaysWhatIsOnTheCard()
    {
        var target = new FakeCard { FailOnWrite = 2, FailAllAfter = true };
        var report = Transfer.WriteAll(target, [new(Chuid, ObjectArea.Public, [1]), new(Urls, ObjectArea.Public, [3])]);
        Assert.False(report.RolledBack);
        Assert.Contains("Card Holder Unique Identifier is now the new version", report.Failure, StringComparison.Ordinal);
    }

    [Fact]
    public void WriteAll_ReadBackDiffers_FailsAndRollsBack()
    {
        var target = new FakeCard { CorruptReads = true };
        var report = Transfer.WriteAll(target, [new(Chuid, ObjectArea.Public, [1, 2, 3])]);
        Assert.False(report.Succeeded);
        Assert.Contains("differs from what was written", report.Failure, StringComparison.Ordinal);
        Assert.False(target.Objects.ContainsKey(Chuid));
    }

    [Fact]
    public void WriteAll_PrivateObjectWithoutPin_RefusedBeforeWritingAnything()
    {
        var target = new FakeCard();
        var e = Assert.Throws<ManagerException>(() => Transfer.WriteAll(target, [new(Urls, ObjectArea.Public, [1]), new(Printed, ObjectArea.Private, [2])]));
        Assert.Contains("needs that card's PIN", e.Message, StringComparison.Ordinal);
        Assert.Empty(target.Objects);
    }

    [Fact]
    public void ReadAll_Locked_SkipsPrivateAndNamesThemWhenAsked()
    {
        var source = new FakeCard();
        source.Objects[Chuid] = [1];
        source.Objects[Printed] = [2];
        source.Objects[PivDiscovery.Tag] = [3];
        var (objects, skipped) = Transfer.ReadAll(source, [Chuid, Printed, PivDiscovery.Tag]);
        Assert.Equal([Chuid], objects.Select(o => o.Tag));
        Assert.Contains(skipped, s => s.Tag == Printed && s.Reason!.Contains("--pin", StringComparison.Ordinal));
        Assert.Contains(skipped, s => s.Tag == PivDiscovery.Tag);
    }

    [Fact]
    public void ReadAll_NamedObjectMissing_Throws()
    {
        var source = new FakeCard();
        Assert.Throws<ManagerException>(() => Transfer.ReadAll(source, [Urls]));
    }

    [Theory]
    [InlineData("chuid", 0x5FC102u)]
    [InlineData("5fc109", 0x5FC109u)]
    [InlineData("0x5FFF10", 0x5FFF10u)]
    [InlineData("9d", 0x5FC10Bu)]
    public void ParseTag_NamesAndHex(string text, uint tag) => Assert.Equal(tag, CardObject.ParseTag(text));

    [Fact]
    public void ParseTag_Unknown_ThrowsWithHelp() =>
        Assert.Contains("not a known object", Assert.Throws<ManagerException>(() => CardObject.ParseTag("123456")).Message, StringComparison.Ordinal);

    /// <summary>A card as a dictionary, with a write that fails on demand (like a card without room).</summary>
    private sealed class FakeCard : ICardObjects
    {
        private int _writes;

        public Dictionary<uint, byte[]> Objects { get; } = [];

        public int FailOnWrite { get; init; }

        public bool FailAllAfter { get; init; }

        public bool CorruptReads { get; init; }

        public string Name => "fake";

        public bool PrivateUnlocked { get; private set; }

        public IReadOnlyList<uint> ListTags() => [.. Objects.Keys];

        public byte[]? Read(uint tag) =>
            Objects.TryGetValue(tag, out var value) ? (CorruptReads ? [.. value.Select(b => (byte)(b ^ 1))] : value) : null;

        public void Write(uint tag, ReadOnlySpan<byte> content)
        {
            _writes++;
            if (_writes == FailOnWrite || (FailAllAfter && _writes > FailOnWrite && FailOnWrite > 0))
            {
                throw new ManagerException("fake has no room");
            }

            if (content.IsEmpty)
            {
                Objects.Remove(tag);
            }
            else
            {
                Objects[tag] = content.ToArray();
            }
        }

        public void Unlock(ReadOnlySpan<byte> pin) => PrivateUnlocked = true;

        public void AuthorizeWrites(ReadOnlySpan<byte> managementKey)
        {
        }

        public void Dispose()
        {
        }
    }
}
