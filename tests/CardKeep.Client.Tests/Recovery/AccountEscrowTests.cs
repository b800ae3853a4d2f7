using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using CardKeep.Cards.Piv;
using CardKeep.Client.Recovery;
using CardKeep.Manager;
using CardKeep.Protocol.Recovery;
using CardKeep.VirtualCard.Edge;
using CardKeep.VirtualCard.Store;

namespace CardKeep.Client.Tests.Recovery;

/// <summary>
/// The account client's card side on in-process PIV applets: the escrow envelope, the backup of a card into a sealed
/// VSC file, the morph onto another card (what moves and what stays), and card proofs the server's check accepts.
/// </summary>
public sealed class AccountEscrowTests : IDisposable
{
    private static readonly byte[] _password = Encoding.UTF8.GetBytes("correct horse battery staple");
    private static readonly byte[] _pin = Encoding.ASCII.GetBytes("123456");
    private readonly string _dir = Directory.CreateTempSubdirectory("cardkeep-escrow-tests-").FullName;
    private readonly List<VirtualSmartCard> _cards = [];

    public void Dispose()
    {
        foreach (var card in _cards)
        {
            card.Dispose();
        }

        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public void Envelope_RoundTrip_AndRefusesWrongPasswordOtherUserAndDamage()
    {
        var plain = Encoding.UTF8.GetBytes("a VSC file's bytes, public area in clear");
        var blob = EscrowEnvelope.Seal(plain, _password, "alice", EscrowEnvelope.MinimumIterations);
        Assert.Equal(plain, EscrowEnvelope.Open(blob, _password, "alice"));
        Assert.Equal(-1, blob.AsSpan().IndexOf("public area"u8));

        Assert.Equal(AccountFailure.Escrow, Assert.Throws<AccountException>(() => EscrowEnvelope.Open(blob, "wrong password"u8, "alice")).Failure);
        Assert.Equal(AccountFailure.Escrow, Assert.Throws<AccountException>(() => EscrowEnvelope.Open(blob, _password, "mallory")).Failure);
        for (int i = 0; i < blob.Length; i += 7)
        {
            var damaged = blob.ToArray();
            damaged[i] ^= 0x01;
            Assert.Throws<AccountException>(() => EscrowEnvelope.Open(damaged, _password, "alice"));
        }

        Assert.Throws<AccountException>(() => EscrowEnvelope.Open(blob.AsSpan(0, 20), _password, "alice"));
        Assert.Throws<ArgumentOutOfRangeException>(() => EscrowEnvelope.Seal(plain, _password, "alice", 10));
    }

    [Fact]
    public void BackupThenMorph_CarriesTheHoldersData_NotTheCardsIdentityOrCertificates()
    {
        var oldCard = NewCard();
        oldCard.PutPublicObject(PivDataObject.CardKeepUrls.Tag, "https://wiki.example.org/\n"u8);
        oldCard.PutPrivateObject(PivDataObject.CardKeepNotes.Tag, "locker 42"u8);
        oldCard.PutPublicObject(PivDataObject.CardKeepBusinessCard.Tag, "BEGIN:VCARD\r\nFN:Alice\r\nEND:VCARD\r\n"u8);
        var newCard = NewCard();
        byte[] newChuid = ReadChuid(newCard);
        byte[]? newCertificate = newCard.GetPublicObject(PivDataObject.CertificatePivAuthentication.Tag);

        byte[] blob;
        using (var source = Objects(oldCard))
        {
            source.Unlock(_pin);
            (blob, var items) = CardEscrow.Backup(source, oldCard.Serial.ToString(System.Globalization.CultureInfo.InvariantCulture), _pin, _password, "alice", EscrowEnvelope.MinimumIterations);
            Assert.Contains(items, i => i.Done && i.Tag == PivDataObject.CardKeepNotes.Tag);
        }

        var backup = CardEscrow.OpenBackup(blob, _password, "alice", _pin);
        Assert.Contains(backup, o => o.Tag == PivDataObject.CertificatePivAuthentication.Tag);
        using (var target = Objects(newCard))
        {
            target.Unlock(_pin);
            target.AuthorizeWrites(PivManagementKey.DefaultKey);
            var report = CardEscrow.WriteCarried(backup, target);
            Assert.True(report.Succeeded, report.Failure);
            Assert.DoesNotContain(report.Items, i => i.Tag == PivDataObject.Chuid.Tag || i.Tag == PivDataObject.CertificatePivAuthentication.Tag);
        }

        Assert.Equal("https://wiki.example.org/\n"u8.ToArray(), newCard.GetPublicObject(PivDataObject.CardKeepUrls.Tag));
        Assert.Equal(oldCard.GetPublicObject(PivDataObject.CardKeepBusinessCard.Tag), newCard.GetPublicObject(PivDataObject.CardKeepBusinessCard.Tag));
        using (var unlock = Assert.IsType<PinResult.Verified>(newCard.VerifyPin(_pin)).Unlock)
        {
            Assert.Equal("locker 42"u8.ToArray(), newCard.GetPrivateObject(PivDataObject.CardKeepNotes.Tag, unlock));
        }

        // The new card keeps its own identity and its own 9A certificate.
        Assert.Equal(newChuid, ReadChuid(newCard));
        Assert.Equal(newCertificate, newCard.GetPublicObject(PivDataObject.CertificatePivAuthentication.Tag));

        var wrongPin = Assert.Throws<AccountException>(() => CardEscrow.OpenBackup(blob, _password, "alice", "654321"u8));
        Assert.Equal(AccountFailure.WrongPin, wrongPin.Failure);
    }

    [Theory]
    [InlineData(PivAlgorithm.EccP256)]
    [InlineData(PivAlgorithm.EccP384)]
    [InlineData(PivAlgorithm.Rsa2048)]
    public void Prove_SignsTheServersMessage_WhichCardProofVerifies(PivAlgorithm algorithm)
    {
        var card = NewCard(algorithm);
        using var account = AccountCard.Over(new EmulatorChannel(new PivApplet(card), "test reader"));
        Assert.Equal(card.Serial.ToString(System.Globalization.CultureInfo.InvariantCulture), account.Id);
        account.VerifyPin(_pin);
        var spki = account.AuthenticationKey();
        var nonce = RandomNumberGenerator.GetBytes(CardProof.NonceBytes);
        var signature = account.Prove(CardProofPurpose.Replace, "alice", nonce, spki);
        Assert.True(CardProof.Verify(spki, CardProofPurpose.Replace, "alice", account.Id, nonce, signature));
        Assert.False(CardProof.Verify(spki, CardProofPurpose.Login, "alice", account.Id, nonce, signature));

        var wrong = Assert.Throws<AccountException>(() => account.VerifyPin("000000"u8));
        Assert.Equal(AccountFailure.WrongPin, wrong.Failure);
        Assert.DoesNotContain("000000", wrong.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Carries_HolderDataOnly()
    {
        Assert.True(CardEscrow.Carries(PivDataObject.CardKeepNotes.Tag));
        Assert.True(CardEscrow.Carries(PivDataObject.CardKeepUrls.Tag));
        Assert.True(CardEscrow.Carries(PivDataObject.CardKeepBusinessCard.Tag));
        Assert.True(CardEscrow.Carries(PivDataObject.FacialImage.Tag));
        foreach (var tag in new[]
        {
            PivDataObject.Chuid.Tag, PivDataObject.CardCapabilityContainer.Tag, PivDataObject.SecurityObject.Tag, PivDataObject.CertificateCardAuthentication.Tag,
            PivDataObject.CardKeepRegistrationToken.Tag, PivDataObject.CardKeepTrustAnchor.Tag,
        })
        {
            Assert.False(CardEscrow.Carries(tag), tag.ToString("X", System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    /// <summary>A VSC with a 9A key and a self-signed certificate for it (as a card holder's card would have).</summary>
    private VirtualSmartCard NewCard(PivAlgorithm algorithm = PivAlgorithm.EccP256)
    {
        var card = VirtualSmartCard.Create(Path.Combine(_dir, Guid.NewGuid().ToString("N") + ".vsc"), new VscCreateOptions { Iterations = 1000, AllowWeakKdfForTests = true });
        _cards.Add(card);
        using var piv = PivSession.Open(new EmulatorChannel(new PivApplet(card), "test reader"), ownsChannel: true);
        piv.AuthenticateManagementKey(PivAlgorithm.TripleDes, PivManagementKey.DefaultKey);
        var publicKey = piv.GenerateKeyPair(PivSlot.Authentication, algorithm);

        // A certificate for the card's key, signed by a throwaway CA key: what the gate and the server read.
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var cardKey = PublicKeyOf(publicKey);
        var request = new CertificateRequest(new X500DistinguishedName("CN=test card"), new PublicKey(cardKey), HashAlgorithmName.SHA256);
        using var certificate = request.Create(new X500DistinguishedName("CN=test CA"), X509SignatureGenerator.CreateForECDsa(caKey),
            DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30), [1, 2, 3, 4]);
        piv.WriteCertificate(PivSlot.Authentication, certificate);
        return card;
    }

    private static AsymmetricAlgorithm PublicKeyOf(PivPublicKey key) => key.Algorithm.IsRsa() ? key.ToRsa() : key.ToECDsa();

    private static PivCardObjects Objects(VirtualSmartCard card) =>
        new(PivSession.Open(new EmulatorChannel(new PivApplet(card), "test reader"), ownsChannel: true), "test reader");

    private static byte[] ReadChuid(VirtualSmartCard card)
    {
        using var piv = PivSession.Open(new EmulatorChannel(new PivApplet(card), "test reader"), ownsChannel: true);
        return piv.GetData(PivDataObject.Chuid.Tag) ?? [];
    }
}
