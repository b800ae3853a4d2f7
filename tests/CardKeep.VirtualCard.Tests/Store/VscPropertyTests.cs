using FsCheck;
using FsCheck.Fluent;
using CardKeep.VirtualCard.Store;
using static CardKeep.VirtualCard.Tests.Store.TestCards;

namespace CardKeep.VirtualCard.Tests.Store;

public sealed class VscPropertyTests : IDisposable
{
    private readonly TempDir _dir = new();
    private int _cards;

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void RandomPublicObjects_RoundTripThroughSaveAndOpen()
    {
        CheckRoundTrip(12, 60, (card, tag, value) => card.PutPublicObject(tag, value), (card, expected) =>
            card.PublicObjectTags.SequenceEqual(expected.Keys)
            && expected.All(e => card.GetPublicObject(e.Key)!.AsSpan().SequenceEqual(e.Value)));
    }

    [Fact]
    public void RandomPrivateObjects_RoundTripWithUnlock()
    {
        CheckRoundTrip(6, 30, (card, tag, value) => card.PutPrivateObject(tag, value), (card, expected) =>
        {
            using var unlock = Unlock(card);
            return card.PrivateObjectTags.SequenceEqual(expected.Keys)
                && expected.All(e => card.GetPrivateObject(e.Key, unlock)!.AsSpan().SequenceEqual(e.Value));
        });
    }

    /// <summary>
    /// Puts 0..<paramref name="maxObjects"/> random objects into a new card (later tags replace earlier ones), opens the
    /// file again in a new object and checks it holds exactly the expected objects.
    /// </summary>
    private void CheckRoundTrip(int maxObjects, int maxTest, Action<VirtualSmartCard, uint, byte[]> put, Func<VirtualSmartCard, SortedDictionary<uint, byte[]>, bool> holdsExactly)
    {
        var objects = Gen.Choose(0, maxObjects).SelectMany(count => Gen.ArrayOf(Entry(), count)).ToArbitrary();
        Prop.ForAll(objects, entries =>
        {
            var expected = new SortedDictionary<uint, byte[]>();
            string path;
            using (var card = NewCard())
            {
                foreach (var (tag, value) in entries)
                {
                    put(card, tag, value);
                    expected[tag] = value;
                }

                path = card.Path;
            }

            using var reopened = VirtualSmartCard.Open(path, Weak);
            return holdsExactly(reopened, expected);
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(maxTest));
    }

    /// <summary>A tag (often colliding, to exercise replacement; sometimes any uint) and a value of 0 to ~600 bytes.</summary>
    private static Gen<(uint Tag, byte[] Value)> Entry() =>
        Gen.Frequency(
                (3, Gen.Choose(0x5FC101, 0x5FC10A).Select(t => (uint)t)),
                (1, ArbMap.Default.GeneratorFor<uint>()))
            .SelectMany(tag => Gen.Choose(0, 600)
                .SelectMany(length => Gen.ArrayOf(ArbMap.Default.GeneratorFor<byte>(), length))
                .Select(value => (tag, value)));

    private VirtualSmartCard NewCard()
    {
        _cards++;
        return Create(_dir, Options($"p{_cards}"), $"p{_cards}.vsc");
    }
}
