using CardKeep.Cards.Piv;
using CardKeep.Client.Recovery;
using CardKeep.VirtualCard.Edge;
using CardKeep.VirtualCard.Store;

namespace CardKeep.Client.Tests.Recovery;

/// <summary>The card check on in-process PIV applets (the same card edge a live VSC shows through pcscd).</summary>
public sealed class CardCheckTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cardkeep-cardcheck-").FullName;
    private readonly List<VirtualSmartCard> _cards = [];

    public void Dispose()
    {
        foreach (var card in _cards)
        {
            card.Dispose();
        }

        Directory.Delete(_dir, recursive: true);
    }

    private VirtualSmartCard NewCard(params (PivSlot Slot, PivAlgorithm Algorithm)[] keys)
    {
        var card = VirtualSmartCard.Create(Path.Combine(_dir, Guid.NewGuid().ToString("N") + ".vsc"), new VscCreateOptions { Iterations = 1000, AllowWeakKdfForTests = true });
        _cards.Add(card);
        using var piv = Open(card);
        piv.AuthenticateManagementKey(PivAlgorithm.TripleDes, PivManagementKey.DefaultKey);
        foreach (var (slot, algorithm) in keys)
        {
            piv.GenerateKeyPair(slot, algorithm);
        }

        return card;
    }

    private static RegisteredCard Describe(VirtualSmartCard card)
    {
        using var piv = Open(card);
        return CardCheck.Describe(piv);
    }

    private static CardCheckResult Check(VirtualSmartCard card, RegisteredCard registered)
    {
        using var piv = Open(card);
        return CardCheck.Check(piv, registered, "alice");
    }

    private static PivSession Open(VirtualSmartCard card) => PivSession.Open(new EmulatorChannel(new PivApplet(card), "test reader"), ownsChannel: true);

    [Theory]
    [InlineData(PivAlgorithm.EccP256)]
    [InlineData(PivAlgorithm.EccP384)]
    [InlineData(PivAlgorithm.Rsa2048)]
    public void Check_RegisteredCardWith9E_IsProvenByChallenge(PivAlgorithm algorithm)
    {
        var card = NewCard((PivSlot.Authentication, PivAlgorithm.EccP256), (PivSlot.CardAuthentication, algorithm));
        var registered = Describe(card);
        Assert.NotNull(registered.CardAuthenticationKey);
        var result = Check(card, registered);
        Assert.Equal(CardMatch.Registered, result.Match);
        Assert.Contains("9E", result.How, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_SameSerialButAnother9EKey_IsAnImpostor()
    {
        var card = NewCard((PivSlot.Authentication, PivAlgorithm.EccP256), (PivSlot.CardAuthentication, PivAlgorithm.EccP256));
        var copy = NewCard((PivSlot.Authentication, PivAlgorithm.EccP256), (PivSlot.CardAuthentication, PivAlgorithm.EccP256));
        var registered = Describe(card);
        var copied = Describe(copy);

        // The copy claims the registered card's serial and public keys (all public), but holds other private keys.
        var claimed = registered with { Serial = copied.Serial };
        var result = Check(copy, claimed);
        Assert.Equal(CardMatch.Impostor, result.Match);
        Assert.Contains("not signed by the registered key", result.How, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_AnotherCard_IsForeign_AndWithout9ETheGateFallsBackTo9AAndSays()
    {
        var card = NewCard((PivSlot.Authentication, PivAlgorithm.EccP256));
        var other = NewCard((PivSlot.Authentication, PivAlgorithm.EccP256));
        var registered = Describe(card);
        Assert.Null(registered.CardAuthenticationKey);
        using (var piv = Open(card))
        {
            var own = CardCheck.Check(piv, registered, "alice");
            Assert.Equal(CardMatch.Registered, own.Match);
            Assert.Contains("not a cryptographic proof", own.How, StringComparison.Ordinal);
        }

        using (var piv = Open(other))
        {
            Assert.Equal(CardMatch.Foreign, CardCheck.Check(piv, registered, "alice").Match);
        }

        // Re-keyed 9A under the same serial: no longer the registered card.
        using (var piv = Open(card))
        {
            piv.AuthenticateManagementKey(PivAlgorithm.TripleDes, PivManagementKey.DefaultKey);
            piv.GenerateKeyPair(PivSlot.Authentication, PivAlgorithm.EccP256);
            Assert.Equal(CardMatch.Impostor, CardCheck.Check(piv, registered, "alice").Match);
        }
    }

    [Fact]
    public void Describe_CardWithout9A_IsRefused()
    {
        var card = NewCard();
        using var piv = Open(card);
        Assert.Throws<CardKeep.Cards.CardException>(() => CardCheck.Describe(piv));
    }
}
