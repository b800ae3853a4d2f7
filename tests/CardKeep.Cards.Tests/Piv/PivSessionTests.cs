using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CardKeep.Cards.Iso7816;
using CardKeep.Cards.Piv;

namespace CardKeep.Cards.Tests.Piv;

/// <summary>Unit tests of the client logic: the exact APDUs <see cref="PivSession"/> sends, against a scripted card.</summary>
public class PivSessionTests
{
    private const string YubiKeyApt = "61114F0600001000010079074F05A000000308";

    private static string Repeat(string hexByte, int count) => string.Concat(Enumerable.Repeat(hexByte, count));

    private static string Lc(int length) => length.ToString("X2", CultureInfo.InvariantCulture);

    private static bool IsZero(CommandApdu command) => command.Data.Span.IndexOfAnyExcept((byte)0) < 0;

    [Fact]
    public void Open_SelectsPivByTruncatedAid_AndParsesApt()
    {
        var card = new ScriptedChannel().Expect("00 A4 04 00 09 A0 00 00 03 08 00 00 10 00 00", YubiKeyApt + "9000");

        using var session = PivSession.Open(card);

        Assert.True(session.ApplicationProperty!.IsPiv);
        Assert.Equal(new Version(1, 0), session.ApplicationProperty.ApplicationVersion);
        card.AssertDone();
        Assert.Equal(1, card.TransactionsBegun);
    }

    [Fact]
    public void Select_NotFound_ThrowsCardStatusException()
    {
        var card = new ScriptedChannel().Expect("00A4040009A00000030800001000 00", "6A82");
        using var session = new PivSession(card);
        var e = Assert.Throws<CardStatusException>(session.Select);
        Assert.Equal(StatusWord.FileNotFound, e.StatusWord);
    }

    [Fact]
    public void VerifyPin_Correct_SendsPaddedPinAndWipesIt()
    {
        var card = new ScriptedChannel().Expect("00 20 00 80 08 31 32 33 34 35 36 FF FF", "9000");
        using var session = new PivSession(card);

        session.VerifyPin("123456"u8);

        card.AssertDone();
        Assert.True(IsZero(card.SentObjects[0]));
    }

    [Fact]
    public void VerifyPin_Wrong_ThrowsWithRetriesLeft()
    {
        var card = new ScriptedChannel().Expect("00 20 00 80 08 31 31 31 31 31 31 FF FF", "63C2");
        using var session = new PivSession(card);

        var e = Assert.Throws<PivPinException>(() => session.VerifyPin("111111"u8));

        Assert.Equal(2, e.RetriesLeft);
        Assert.False(e.Blocked);
        Assert.Contains("63C2", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void VerifyPin_Blocked_ThrowsBlocked()
    {
        var card = new ScriptedChannel().Expect("00 20 00 80 08 31 32 33 34 35 36 FF FF", "6983");
        using var session = new PivSession(card);
        var e = Assert.Throws<PivPinException>(() => session.VerifyPin("123456"u8));
        Assert.True(e.Blocked);
        Assert.Equal(0, e.RetriesLeft);
    }

    [Fact]
    public void TryVerifyPin_WrongAndRight_ReturnsFalseThenTrue()
    {
        var card = new ScriptedChannel()
            .Expect("00 20 00 80 08 30 30 30 30 30 30 FF FF", "63C1")
            .Expect("00 20 00 80 08 31 32 33 34 35 36 FF FF", "9000");
        using var session = new PivSession(card);

        Assert.False(session.TryVerifyPin("000000"u8, out int? left));
        Assert.Equal(1, left);
        Assert.True(session.TryVerifyPin("123456"u8, out left));
        Assert.Null(left);
    }

    [Fact]
    public void TryVerifyPin_OtherStatus_Throws()
    {
        var card = new ScriptedChannel().Expect("00 20 00 80 08 31 32 33 34 35 36 FF FF", "6D00");
        using var session = new PivSession(card);
        Assert.Throws<CardStatusException>(() => session.TryVerifyPin("123456"u8, out _));
    }

    [Fact]
    public void GetPinRetries_NotVerified_UsesStatusForm()
    {
        var card = new ScriptedChannel().Expect("00 20 00 80", "63C3");
        using var session = new PivSession(card);
        Assert.Equal(3, session.GetPinRetries());
        card.AssertDone();
    }

    [Fact]
    public void GetPinRetries_AlreadyVerified_FallsBackToMetadata()
    {
        var card = new ScriptedChannel()
            .Expect("00 20 00 80", "9000")
            .Expect("00 F7 00 80 00", "0101FF 050100 06020302 9000");
        using var session = new PivSession(card);
        Assert.Equal(2, session.GetPinRetries());
        card.AssertDone();
    }

    [Fact]
    public void GetPinRetries_VerifiedWithoutMetadata_IsNull()
    {
        var card = new ScriptedChannel().Expect("00 20 00 80", "9000").Expect("00 F7 00 80 00", "6D00");
        using var session = new PivSession(card);
        Assert.Null(session.GetPinRetries());
    }

    [Fact]
    public void ChangePinAndUnblock_Called_SendPaddedPairs()
    {
        var card = new ScriptedChannel()
            .Expect("00 24 00 80 10 313233343536FFFF 363534333231FFFF", "9000")
            .Expect("00 24 00 81 10 3132333435363738 3837363534333231", "63C2")
            .Expect("00 2C 00 80 10 3132333435363738 313233343536FFFF", "9000");
        using var session = new PivSession(card);

        session.ChangePin("123456"u8, "654321"u8);
        var e = Assert.Throws<PivPinException>(() => session.ChangePuk("12345678"u8, "87654321"u8));
        session.UnblockPin("12345678"u8, "123456"u8);

        Assert.Equal(2, e.RetriesLeft);
        card.AssertDone();
        Assert.All(card.SentObjects, c => Assert.True(IsZero(c)));
    }

    [Fact]
    public void GetData_Chuid_SendsSpecRequestAndUnwraps53()
    {
        var content = PivChuid.Create(Guid.NewGuid(), new DateOnly(2030, 1, 1)).Encode();
        var card = new ScriptedChannel().Expect("00 CB 3F FF 05 5C 03 5F C1 02 00", "53" + Lc(content.Length) + Hex.Of(content) + "9000");
        using var session = new PivSession(card);

        Assert.Equal(content, session.GetData(0x5FC102));
        card.AssertDone();
    }

    [Fact]
    public void GetData_Missing_ReturnsNull()
    {
        var card = new ScriptedChannel().Expect("00 CB 3F FF 05 5C 03 5F C1 0A 00", "6A82");
        using var session = new PivSession(card);
        Assert.Null(session.ReadCertificate(PivSlot.Signature));
    }

    [Fact]
    public void GetData_SuccessWithoutData_ReturnsNull()
    {
        var card = new ScriptedChannel().Expect("00 CB 3F FF 05 5C 03 5F FF 12 00", "9000");
        using var session = new PivSession(card);
        Assert.Null(session.GetData(PivDataObject.CardKeepNotes.Tag));
    }

    [Fact]
    public void GetData_Protected_ThrowsSecurityStatus()
    {
        var card = new ScriptedChannel().Expect("00 CB 3F FF 05 5C 03 5F C1 09 00", "6982");
        using var session = new PivSession(card);
        var e = Assert.Throws<CardStatusException>(() => session.GetData(0x5FC109));
        Assert.Equal(StatusWord.SecurityStatusNotSatisfied, e.StatusWord);
    }

    [Fact]
    public void GetData_Discovery_ReturnsOwnTlvAfterGetResponse()
    {
        var card = new ScriptedChannel()
            .Expect("00 CB 3F FF 03 5C 01 7E 00", "7E124F0BA0000003080000 6109")
            .Expect("00 C0 00 00 09", "100001005F2F024000 9000");
        using var session = new PivSession(card);
        Assert.Equal(0x4000, session.ReadDiscovery()!.PinUsagePolicy);
        card.AssertDone();
    }

    [Fact]
    public void WriteCertificate_LongCertificate_IsChainedPutData()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=" + new string('x', 200), key, HashAlgorithmName.SHA256);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddDays(1));
        var data = PivObjectEncoding.PutDataRequest(0x5FC105, PivCertificateContainer.Encode(certificate.RawData));
        Assert.True(data.Length > 255);
        var card = new ScriptedChannel();
        int offset = 0;
        for (; data.Length - offset > 255; offset += 255)
        {
            card.Expect("10 DB 3F FF FF" + Hex.Of(data.AsSpan(offset, 255)), "9000");
        }

        card.Expect("00 DB 3F FF " + Lc(data.Length - offset) + Hex.Of(data.AsSpan(offset)), "9000");
        using var session = new PivSession(card);

        session.WriteCertificate(PivSlot.Authentication, certificate);

        card.AssertDone();
        Assert.StartsWith("10DB3FFFFF5C035FC10553820", card.Sent[0], StringComparison.Ordinal);
    }

    [Fact]
    public void ReadCertificate_Stored_ReturnsCertificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var certificate = new CertificateRequest("CN=t", key, HashAlgorithmName.SHA256).CreateSelfSigned(DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddDays(1));
        var response = PivObjectEncoding.Wrap(PivCertificateContainer.Encode(certificate.RawData, compress: true));
        var card = new ScriptedChannel().Expect("00 CB 3F FF 05 5C 03 5F C1 05 00", Hex.Of(response) + "9000");
        using var session = new PivSession(card);
        using var read = session.ReadCertificate(PivSlot.Authentication);
        Assert.Equal(certificate.Thumbprint, read!.Thumbprint);
    }

    [Fact]
    public void DeleteCertificate_Called_SendsEmptyContainer()
    {
        var card = new ScriptedChannel().Expect("00 DB 3F FF 07 5C 03 5F C1 0B 53 00", "9000");
        using var session = new PivSession(card);
        session.DeleteCertificate(PivSlot.KeyManagement);
        card.AssertDone();
    }

    [Fact]
    public void AuthenticateManagementKey_TripleDes_RunsSpecExchange()
    {
        var key = PivManagementKey.DefaultKey.ToArray();
        var witness = Hex.Bytes("0011223344556677");
        var challenge = Hex.Bytes("8899AABBCCDDEEFF");
        var encryptedWitness = PivManagementKey.EncryptBlock(PivAlgorithm.TripleDes, key, witness);
        var answer = PivManagementKey.EncryptBlock(PivAlgorithm.TripleDes, key, challenge);
        var card = new ScriptedChannel()
            .Expect("00 87 03 9B 04 7C 02 80 00 00", "7C0A8008" + Hex.Of(encryptedWitness) + "9000")
            .Expect("00 87 03 9B 16 7C 14 80 08 0011223344556677 81 08 8899AABBCCDDEEFF 00", "7C0A8208" + Hex.Of(answer) + "9000");
        using var session = new PivSession(card) { FillRandom = challenge.CopyTo };

        session.AuthenticateManagementKey(PivAlgorithm.TripleDes, key);

        card.AssertDone();
        Assert.Equal(1, card.TransactionsBegun);
        Assert.True(IsZero(card.SentObjects[1]));
    }

    [Fact]
    public void AuthenticateManagementKey_Aes128_UsesSixteenByteBlocks()
    {
        var key = Hex.Bytes("000102030405060708090A0B0C0D0E0F");
        var witness = Hex.Bytes("F0E0D0C0B0A090807060504030201000");
        var challenge = Hex.Bytes("00112233445566778899AABBCCDDEEFF");
        var card = new ScriptedChannel()
            .Expect("00 87 08 9B 04 7C 02 80 00 00", "7C128010" + Hex.Of(PivManagementKey.EncryptBlock(PivAlgorithm.Aes128, key, witness)) + "9000")
            .Expect("00 87 08 9B 26 7C 24 80 10" + Hex.Of(witness) + "81 10" + Hex.Of(challenge) + "00",
                "7C128210" + Hex.Of(PivManagementKey.EncryptBlock(PivAlgorithm.Aes128, key, challenge)) + "9000");
        using var session = new PivSession(card) { FillRandom = challenge.CopyTo };

        session.AuthenticateManagementKey(PivAlgorithm.Aes128, key);

        card.AssertDone();
    }

    [Fact]
    public void AuthenticateManagementKey_CardRefuses_ThrowsWith6982()
    {
        var key = PivManagementKey.DefaultKey.ToArray();
        var card = new ScriptedChannel()
            .Expect("00 87 03 9B 04 7C 02 80 00 00", "7C0A8008" + Hex.Of(new byte[8]) + "9000")
            .Expect("00 87 03 9B 16 7C 14 80 08" + Hex.Of(PivManagementKey.DecryptBlock(PivAlgorithm.TripleDes, key, new byte[8]))
                + "81 08 0000000000000000 00", "6982");
        using var session = new PivSession(card) { FillRandom = s => s.Clear() };

        var e = Assert.Throws<PivAuthenticationException>(() => session.AuthenticateManagementKey(PivAlgorithm.TripleDes, key));

        Assert.Equal(StatusWord.SecurityStatusNotSatisfied, e.StatusWord);
        Assert.StartsWith("management key authentication failed: 6982", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, card.OpenTransactions);
    }

    [Fact]
    public void AuthenticateManagementKey_WrongCardAnswer_Throws()
    {
        var key = PivManagementKey.DefaultKey.ToArray();
        var card = new ScriptedChannel()
            .Expect("00 87 03 9B 04 7C 02 80 00 00", "7C0A8008" + Hex.Of(new byte[8]) + "9000")
            .Expect("00 87 03 9B 16 7C 14 80 08" + Hex.Of(PivManagementKey.DecryptBlock(PivAlgorithm.TripleDes, key, new byte[8]))
                + "81 08 0000000000000000 00", "7C0A8208" + Repeat("00", 8) + "9000");
        using var session = new PivSession(card) { FillRandom = s => s.Clear() };
        Assert.Throws<PivAuthenticationException>(() => session.AuthenticateManagementKey(PivAlgorithm.TripleDes, key));
    }

    [Fact]
    public void AuthenticateManagementKey_WrongWitnessLength_ThrowsFormat()
    {
        var card = new ScriptedChannel().Expect("00 87 03 9B 04 7C 02 80 00 00", "7C0680040000 0000 9000");
        using var session = new PivSession(card);
        Assert.Throws<CardFormatException>(() => session.AuthenticateManagementKey(PivAlgorithm.TripleDes, PivManagementKey.DefaultKey));
    }

    [Fact]
    public void SetManagementKey_TripleDesAndAes_SendYubicoForm()
    {
        var tdes = Hex.Bytes("0102030405060708 1112131415161718 2122232425262728");
        var aes = Hex.Bytes("000102030405060708090A0B0C0D0E0F");
        var card = new ScriptedChannel()
            .Expect("00 FF FF FF 1B 03 9B 18" + Hex.Of(tdes), "9000")
            .Expect("00 FF FF FE 13 08 9B 10" + Hex.Of(aes), "9000");
        using var session = new PivSession(card);

        session.SetManagementKey(PivAlgorithm.TripleDes, tdes);
        session.SetManagementKey(PivAlgorithm.Aes128, aes, requireTouch: true);

        card.AssertDone();
        Assert.All(card.SentObjects, c => Assert.True(IsZero(c)));
    }

    [Fact]
    public void SetManagementKey_WeakDesKey_IsRefusedBeforeSending()
    {
        var card = new ScriptedChannel();
        using var session = new PivSession(card);
        Assert.Throws<ArgumentException>(() => session.SetManagementKey(PivAlgorithm.TripleDes, Hex.Bytes("0101010101010101" + Repeat("23", 16))));
        Assert.Empty(card.Sent);
    }

    [Fact]
    public void Sign_EcdsaP256_SendsOpenScShapeAndReturnsDer()
    {
        var hash = SHA256.HashData("m"u8);
        var signature = "3046022100" + Repeat("11", 32) + "022100" + Repeat("22", 32);
        var card = new ScriptedChannel().Expect("00 87 11 9A 26 7C 24 82 00 81 20" + Hex.Of(hash) + "00", "7C4A8248" + signature + "9000");
        using var session = new PivSession(card);

        Assert.Equal(signature, Hex.Of(session.Sign(PivSlot.Authentication, PivAlgorithm.EccP256, hash)));
        card.AssertDone();
    }

    [Fact]
    public void Sign_Rsa2048_IsChainedAndCollectsGetResponse()
    {
        var block = PivRsaPadding.PadSignature(SHA256.HashData("m"u8), HashAlgorithmName.SHA256, 256);
        var template = "7C820106 8200 81820100" + Hex.Of(block);
        var templateBytes = Hex.Bytes(template);
        var signature = Repeat("5A", 256);
        var response = Hex.Bytes("7C820104 82820100" + signature);
        var card = new ScriptedChannel()
            .Expect("10 87 07 9C FF" + Hex.Of(templateBytes.AsSpan(0, 255)), "9000")
            .Expect("00 87 07 9C 0B" + Hex.Of(templateBytes.AsSpan(255)) + "00", Hex.Of(response.AsSpan(0, 256)) + "6104")
            .Expect("00 C0 00 00 04", Hex.Of(response.AsSpan(256)) + "9000");
        using var session = new PivSession(card);

        Assert.Equal(signature, Hex.Of(session.Sign(PivSlot.Signature, PivAlgorithm.Rsa2048, block)));
        card.AssertDone();
    }

    [Fact]
    public void Sign_RsaBlockOfWrongLength_Throws()
    {
        using var session = new PivSession(new ScriptedChannel());
        Assert.Throws<ArgumentException>(() => session.Sign(PivSlot.Signature, PivAlgorithm.Rsa2048, new byte[32]));
        Assert.Throws<ArgumentOutOfRangeException>(() => session.Sign(PivSlot.Management, PivAlgorithm.EccP256, new byte[32]));
    }

    [Fact]
    public void Sign_PinNotVerified_ThrowsWithStatus()
    {
        var card = new ScriptedChannel().Expect("00 87 11 9C 26 7C 24 82 00 81 20" + Repeat("00", 32) + "00", "6982");
        using var session = new PivSession(card);
        var e = Assert.Throws<CardStatusException>(() => session.Sign(PivSlot.Signature, PivAlgorithm.EccP256, new byte[32]));
        Assert.Contains("slot 9C", e.Message, StringComparison.Ordinal);
        Assert.Equal(StatusWord.SecurityStatusNotSatisfied, e.StatusWord);
    }

    [Fact]
    public void KeyAgreement_P256_UsesTag85()
    {
        using var peer = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        var point = PivPublicKey.FromKey(peer).Point.ToArray();
        var card = new ScriptedChannel().Expect("00 87 11 9D 47 7C 45 82 00 85 41" + Hex.Of(point) + "00", "7C228220" + Repeat("AB", 32) + "9000");
        using var session = new PivSession(card);
        Assert.Equal(Repeat("AB", 32), Hex.Of(session.KeyAgreement(PivSlot.KeyManagement, PivAlgorithm.EccP256, point)));
    }

    [Fact]
    public void GetChallenge_Called_ReturnsCardChallenge()
    {
        var card = new ScriptedChannel().Expect("00 87 03 9B 04 7C 02 81 00 00", "7C0A8108 0102030405060708 9000");
        using var session = new PivSession(card);
        Assert.Equal("0102030405060708", Hex.Of(session.GetChallenge()));
    }

    [Fact]
    public void GenerateKeyPair_P256_ParsesExactLayout()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var expected = PivPublicKey.FromKey(key);
        var card = new ScriptedChannel().Expect("00 47 00 9A 05 AC 03 80 01 11 00", "7F494386410" + Hex.Of(expected.Point)[1..] + "9000");
        using var session = new PivSession(card);

        var generated = session.GenerateKeyPair(PivSlot.Authentication, PivAlgorithm.EccP256);

        Assert.True(generated.KeyEquals(expected));
        card.AssertDone();
    }

    [Fact]
    public void GenerateKeyPair_Rsa2048WithPolicies_ParsesExactLayoutAfterGetResponse()
    {
        using var rsa = RSA.Create(2048);
        var response = Hex.Bytes("7F49820109 81820100" + Hex.Of(rsa.ExportParameters(false).Modulus) + "8203010001");
        var card = new ScriptedChannel()
            .Expect("00 47 00 9C 0B AC 09 80 01 07 AA 01 03 AB 01 02 00", Hex.Of(response.AsSpan(0, 256)) + "610E")
            .Expect("00 C0 00 00 0E", Hex.Of(response.AsSpan(256)) + "9000");
        using var session = new PivSession(card);

        var generated = session.GenerateKeyPair(PivSlot.Signature, PivAlgorithm.Rsa2048, PinPolicy.Always, TouchPolicy.Always);

        Assert.Equal(PivAlgorithm.Rsa2048, generated.Algorithm);
        Assert.True(generated.KeyEquals(PivPublicKey.FromKey(rsa)));
        card.AssertDone();
    }

    [Fact]
    public void GenerateKeyPair_CardAnswersOtherAlgorithm_ThrowsFormat()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var card = new ScriptedChannel().Expect("00 47 00 9A 05 AC 03 80 01 14 00", Hex.Of(PivPublicKey.FromKey(key).Encode()) + "9000");
        using var session = new PivSession(card);
        Assert.Throws<CardFormatException>(() => session.GenerateKeyPair(PivSlot.Authentication, PivAlgorithm.EccP384));
    }

    [Fact]
    public void ImportKey_P256_SendsYubicoLayoutAndWipesIt()
    {
        using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var d = ecdsa.ExportParameters(true).D!;
        var card = new ScriptedChannel().Expect("00 FE 11 9A 28 06 20" + Hex.Of(d) + "AA 01 02 AB 01 01", "9000");
        using var session = new PivSession(card);

        session.ImportKey(PivSlot.Authentication, ecdsa, PinPolicy.Once, TouchPolicy.Never);

        card.AssertDone();
        Assert.True(IsZero(card.SentObjects[0]));
    }

    [Fact]
    public void ImportKey_Rsa2048Pkcs8_IsChainedAndWiped()
    {
        using var rsa = RSA.Create(2048);
        using var key = PivPrivateKey.FromKey(rsa);
        var data = key.EncodeImportData();
        Assert.Equal(5 * 131, data.Length);
        var card = new ScriptedChannel()
            .Expect("10 FE 07 9D FF" + Hex.Of(data.AsSpan(0, 255)), "9000")
            .Expect("10 FE 07 9D FF" + Hex.Of(data.AsSpan(255, 255)), "9000")
            .Expect("00 FE 07 9D " + Lc(data.Length - 510) + Hex.Of(data.AsSpan(510)), "9000");
        using var session = new PivSession(card);

        session.ImportKey(PivSlot.KeyManagement, rsa.ExportPkcs8PrivateKey());

        card.AssertDone();
        Assert.All(card.SentObjects, c => Assert.True(IsZero(c)));
    }

    [Fact]
    public void YubicoCommands_Called_SendSpecApdus()
    {
        using var authority = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var attestation = new CertificateRequest("CN=YubiKey PIV Attestation 9a", authority, HashAlgorithmName.SHA256)
            .CreateSelfSigned(DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddDays(1));
        var card = new ScriptedChannel()
            .Expect("00 FD 00 00 00", "050403 9000")
            .Expect("00 F8 00 00 00", "00BC614E 9000")
            .Expect("00 F7 00 9A 00", "010111 02020101 030101 9000")
            .Expect("00 F9 9A 00 00", Hex.Of(attestation.RawData) + "9000")
            .Expect("00 FA 05 03", "9000")
            .Expect("00 FB 00 00", "6985");
        using var session = new PivSession(card);

        Assert.Equal(new YubicoVersion(5, 4, 3), session.GetVersion());
        Assert.Equal(12345678u, session.GetSerial());
        var metadata = session.GetMetadata(PivSlot.Authentication);
        Assert.Equal(PivAlgorithm.EccP256, metadata.Algorithm);
        Assert.Equal(PivKeyOrigin.Generated, metadata.Origin);
        using var attested = session.Attest(PivSlot.Authentication);
        Assert.Equal(attestation.Thumbprint, attested.Thumbprint);
        session.SetPinRetries(5, 3);
        var reset = Assert.Throws<CardStatusException>(session.Reset);
        Assert.Equal(StatusWord.ConditionsOfUseNotSatisfied, reset.StatusWord);
        card.AssertDone();
    }

    [Fact]
    public void Attest_NotACertificate_ThrowsFormat()
    {
        var card = new ScriptedChannel().Expect("00 F9 9A 00 00", "0102 9000");
        using var session = new PivSession(card);
        Assert.Throws<CardFormatException>(() => session.Attest(PivSlot.Authentication));
    }

    [Fact]
    public void ListObjects_Called_ProbesEveryObjectInOneTransaction()
    {
        var card = new ScriptedChannel();
        foreach (var dataObject in PivDataObject.All)
        {
            string request = Hex.Of(PivCommands.GetData(dataObject.Tag).Encode());
            string response = dataObject == PivDataObject.Chuid ? "5303010203 9000"
                : dataObject == PivDataObject.PrintedInformation ? "6982"
                : dataObject == PivDataObject.Discovery ? Hex.Of(PivDiscovery.Default.Encode()) + "9000"
                : "6A82";
            card.Expect(request, response);
        }

        using var session = new PivSession(card);
        var found = session.ListObjects();

        card.AssertDone();
        Assert.Equal(1, card.TransactionsBegun);
        Assert.Equal(3, found.Count);
        Assert.Equal(3, found.Single(f => f.DataObject == PivDataObject.Chuid).Length);
        Assert.True(found.Single(f => f.DataObject == PivDataObject.PrintedInformation).IsProtected);
        Assert.Equal(20, found.Single(f => f.DataObject == PivDataObject.Discovery).Length);
    }

    [Fact]
    public void Dispose_OwnedChannel_IsDisposedAndSessionRefusesWork()
    {
        var card = new ScriptedChannel();
        var session = new PivSession(card, ownsChannel: true);
        session.Dispose();
        Assert.True(card.Disposed);
        Assert.Throws<ObjectDisposedException>(() => session.GetVersion());
    }

    [Fact]
    public void Dispose_BorrowedChannel_IsLeftOpen()
    {
        var card = new ScriptedChannel();
        new PivSession(card).Dispose();
        Assert.False(card.Disposed);
    }
}
