using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CardKeep.Cards;
using CardKeep.Cards.Iso7816;
using CardKeep.Cards.Piv;
using CardKeep.VirtualCard.Edge;

namespace CardKeep.VirtualCard.Tests.Edge;

/// <summary>GET DATA / PUT DATA, the PIN rule for protected objects, and command and response chaining.</summary>
public sealed class PivAppletObjectTests : IDisposable
{
    private readonly AppletHarness _h = new();

    public void Dispose() => _h.Dispose();

    [Fact]
    public void WriteCertificate_LargeCertificate_ChainsAndReadsBackByteForByte()
    {
        using var key = RSA.Create(4096);
        var request = new CertificateRequest("CN=chaining test, O=" + new string('x', 600), key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddDays(1));
        Assert.True(certificate.RawData.Length > 1500);
        _h.AuthenticateDefault();

        _h.Session.WriteCertificate(PivSlot.Authentication, certificate);

        Assert.Equal(certificate.RawData, _h.Session.ReadCertificateBytes(PivSlot.Authentication));
        _h.Reopen();
        Assert.Equal(certificate.RawData, _h.Session.ReadCertificateBytes(PivSlot.Authentication));
        var stored = _h.Card.GetPublicObject(0x5FC105)!;
        Assert.Equal(0x70, stored[0]);
    }

    [Fact]
    public void GetData_LongObject_ComesIn256BytePiecesWith61xx()
    {
        _h.AuthenticateDefault();
        var content = RandomNumberGenerator.GetBytes(600);
        _h.Session.PutData(0x5FFF11, content);
        var expected = PivObjectEncoding.Wrap(content);

        var first = AppletHarness.Bytes(_h.Send("00 CB 3F FF 05 5C 03 5F FF 11 00"));
        Assert.Equal(258, first.Length);
        Assert.Equal((byte)0x61, first[^2]);
        Assert.Equal(0x00, first[^1]);
        var second = AppletHarness.Bytes(_h.Send("00 C0 00 00 00"));
        Assert.Equal(258, second.Length);
        Assert.Equal("61" + (expected.Length - 512).ToString("X2", System.Globalization.CultureInfo.InvariantCulture), Convert.ToHexString(second[^2..]));
        var third = AppletHarness.Bytes(_h.Send("00 C0 00 00 " + (expected.Length - 512).ToString("X2", System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Equal("9000", Convert.ToHexString(third[^2..]));
        Assert.Equal(expected, (byte[])[.. first[..^2], .. second[..^2], .. third[..^2]]);
    }

    [Fact]
    public void GetData_FirstReadWithLe08_GivesEightBytesThenTheFullReadWorks()
    {
        _h.AuthenticateDefault();
        var content = RandomNumberGenerator.GetBytes(300);
        _h.Session.PutData(0x5FFF11, content);

        var head = _h.Send("00 CB 3F FF 05 5C 03 5F FF 11 08");
        Assert.Equal(10 * 2, head.Length);
        Assert.StartsWith("5382012C", head, StringComparison.Ordinal);
        Assert.EndsWith("6100", head, StringComparison.Ordinal);

        Assert.Equal(content, _h.Session.GetData(0x5FFF11));
    }

    [Fact]
    public void GetResponse_SmallerLe_ReturnsThatManyAndCountsDown()
    {
        _h.Send("00 CB 3F FF 03 5C 01 7E 04");
        Assert.Equal("A0000003" + "610C", _h.Send("00 C0 00 00 04"));
        Assert.Equal("080000100001005F2F024000" + "9000", _h.Send("00 C0 00 00 20"));
        Assert.Equal("6985", _h.Send("00 C0 00 00 00"));
    }

    [Fact]
    public void PendingResponse_AnotherCommand_DiscardsIt()
    {
        _h.Send("00 CB 3F FF 03 5C 01 7E 04");
        Assert.Equal("050403" + "9000", _h.Send("00 FD 00 00 00"));
        Assert.Equal("6985", _h.Send("00 C0 00 00 00"));
    }

    [Fact]
    public void CommandChain_OtherInsInTheMiddle_Answers6883AndDropsTheChain()
    {
        _h.AuthenticateDefault();
        Assert.Equal("9000", _h.Send("10 DB 3F FF 05 5C 03 5F FF 10"));
        Assert.Equal("6883", _h.Send("00 FD 00 00 00"));
        Assert.Equal("6A80", _h.Send("00 DB 3F FF 04 53 02 41 42"));
        Assert.Null(_h.Session.GetData(0x5FFF10));
    }

    [Fact]
    public void CommandChain_OtherP2InTheMiddle_Answers6883()
    {
        _h.AuthenticateDefault();
        Assert.Equal("9000", _h.Send("10 DB 3F FF 05 5C 03 5F FF 10"));
        Assert.Equal("6883", _h.Send("00 DB 3F FE 04 53 02 41 42"));
    }

    [Fact]
    public void CommandChain_SplitAnywhere_IsReassembled()
    {
        _h.AuthenticateDefault();
        Assert.Equal("9000", _h.Send("10 DB 3F FF 02 5C 03"));
        Assert.Equal("9000", _h.Send("10 DB 3F FF 00"));
        Assert.Equal("9000", _h.Send("10 DB 3F FF 04 5F FF 10 53"));
        Assert.Equal("9000", _h.Send("00 DB 3F FF 03 02 41 42"));
        Assert.Equal("AB"u8.ToArray(), _h.Session.GetData(0x5FFF10));
    }

    [Fact]
    public void CommandChain_Over64KiB_Answers6A84()
    {
        _h.AuthenticateDefault();
        string piece = "10 DB 3F FF FF " + new string('0', 255 * 2);
        string sw = "9000";
        int sent = 0;
        while (sw == "9000" && sent < 300)
        {
            sw = _h.Send(piece);
            sent++;
        }

        Assert.Equal("6A84", sw);
        Assert.Equal(CommandChain.MaxLength / 255 + 1, sent);
        Assert.Equal("9000", _h.Send("00 DB 3F FF 09 5C 03 5F FF 10 53 02 41 42"));
    }

    [Fact]
    public void CommandChain_BeforeSelect_Answers6D00()
    {
        _h.Applet.Reset();
        Assert.Equal("6D00", _h.Send("10 DB 3F FF 05 5C 03 5F FF 10"));
    }

    [Fact]
    public void PutData_Delete_LaterGetDataAnswers6A82()
    {
        _h.AuthenticateDefault();
        _h.Session.PutData(0x5FC10A, "cert"u8);
        _h.Session.DeleteData(0x5FC10A);
        Assert.Equal("6A82", _h.Sw("00 CB 3F FF 05 5C 03 5F C1 0A 00"));
        Assert.Null(_h.Card.GetPublicObject(0x5FC10A));
    }

    [Fact]
    public void PutData_SizeLimit_3063AcceptedAnd3064Refused()
    {
        _h.AuthenticateDefault();
        _h.Session.PutData(0x5FC10A, new byte[PivApplet.MaxObjectLength]);
        var e = Assert.Throws<CardStatusException>(() => _h.Session.PutData(0x5FC10B, new byte[PivApplet.MaxObjectLength + 1]));
        Assert.Equal(StatusWord.NotEnoughMemory, e.StatusWord);
        Assert.Equal(PivApplet.MaxObjectLength, _h.Session.GetData(0x5FC10A)!.Length);
    }

    [Theory]
    [InlineData("00 DB 3F FF 09 5C 03 5F FF 10 54 02 41 42", "6A80")]
    [InlineData("00 DB 3F FF 09 5C 03 5F C0 10 53 02 41 42", "6A80")]
    [InlineData("00 DB 3F FF 07 5C 01 7E 7E 02 41 42", "6A80")]
    [InlineData("00 DB 3F FF 07 5C 01 6F 53 02 41 42", "6A80")]
    [InlineData("00 DB 3F FF 09 5C 03 5F FF 10 53 05 41 42", "6A80")]
    [InlineData("00 DB 3F 00 09 5C 03 5F FF 10 53 02 41 42", "6A86")]
    public void PutData_Malformed_IsRefused(string apdu, string sw)
    {
        _h.AuthenticateDefault();
        Assert.Equal(sw, _h.Send(apdu));
    }

    [Fact]
    public void PutData_BiometricGroupTemplate_TravelsAsItsOwnTlv()
    {
        _h.AuthenticateDefault();
        var bit = AppletHarness.Bytes("7F61 07 02 01 01 7F60 01 00");
        _h.Session.PutData(0x7F61, bit);
        Assert.Equal(bit, _h.Session.GetData(0x7F61));
        _h.Session.PutData(0x7F61, []);
        Assert.Null(_h.Session.GetData(0x7F61));
    }

    [Theory]
    [InlineData(0x5FC109u)]
    [InlineData(0x5FC108u)]
    [InlineData(0x5FC103u)]
    [InlineData(0x5FC121u)]
    [InlineData(0x5FFF12u)]
    [InlineData(0x5FFF13u)]
    public void ProtectedObject_NeedsVerifiedPinAndIsStoredSealed(uint tag)
    {
        var content = "secret notes of the holder"u8.ToArray();
        _h.AuthenticateDefault();
        _h.Session.PutData(tag, content);

        var e = Assert.Throws<CardStatusException>(() => _h.Session.GetData(tag));
        Assert.Equal(StatusWord.SecurityStatusNotSatisfied, e.StatusWord);
        Assert.Contains(tag, _h.Card.PrivateObjectTags);
        Assert.DoesNotContain(tag, _h.Card.PublicObjectTags);
        Assert.True(File.ReadAllBytes(_h.CardPath).AsSpan().IndexOf(content) < 0);

        _h.VerifyPin();
        Assert.Equal(content, _h.Session.GetData(tag));
        _h.Applet.Reset();
        _h.Session.Select();
        Assert.Equal("6982", _h.Sw("00 CB 3F FF " + (2 + PivObjectEncoding.EncodeTag(tag).Length).ToString("X2", System.Globalization.CultureInfo.InvariantCulture)
            + " 5C 03 " + Convert.ToHexString(PivObjectEncoding.EncodeTag(tag)) + " 00"));
    }

    [Fact]
    public void ProtectedObject_Missing_Answers6A82OnlyAfterPin()
    {
        Assert.Equal("6982", _h.Sw("00 CB 3F FF 05 5C 03 5F C1 09 00"));
        _h.VerifyPin();
        Assert.Equal("6A82", _h.Sw("00 CB 3F FF 05 5C 03 5F C1 09 00"));
    }

    [Fact]
    public void PublicVendorObjects_ReadWithoutPin()
    {
        _h.AuthenticateDefault();
        _h.Session.PutData(0x5FFF10, "https://cardkeep.example\n"u8);
        _h.Session.PutData(0x5FFF11, "BEGIN:VCARD\r\nEND:VCARD\r\n"u8);
        _h.Applet.Reset();
        _h.Session.Select();

        Assert.Equal("https://cardkeep.example\n"u8.ToArray(), _h.Session.GetData(0x5FFF10));
        Assert.Equal("BEGIN:VCARD\r\nEND:VCARD\r\n"u8.ToArray(), _h.Session.GetData(0x5FFF11));
    }

    [Fact]
    public void ListObjects_Client_SeesDiscoveryChuidAndProtectedOnes()
    {
        _h.AuthenticateDefault();
        _h.Session.PutData(0x5FC109, "printed"u8);
        var objects = _h.Session.ListObjects();
        Assert.Contains(objects, o => o.DataObject.Tag == 0x7E && o.Length == 20);
        Assert.Contains(objects, o => o.DataObject.Tag == 0x5FC102);
        Assert.Contains(objects, o => o.DataObject.Tag == 0x5FC109 && o.IsProtected);
    }
}
