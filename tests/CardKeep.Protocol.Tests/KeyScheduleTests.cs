using System.Security.Cryptography;
using CardKeep.Protocol;

namespace CardKeep.Protocol.Tests;

/// <summary>
/// Known answers for every derivation of TRK1. The expected values were computed independently with Python's hmac and
/// hashlib (kat_keyschedule.py beside this file), not with this implementation.
/// </summary>
public sealed class KeyScheduleTests
{
    private static byte[] B(byte value) => Enumerable.Repeat(value, 32).ToArray();

    private static string Hex(byte[] bytes) => Convert.ToHexStringLower(bytes);

    [Fact]
    public void Extract_Rfc5869TestCase1_MatchesPrkAndOkm()
    {
        var ikm = Enumerable.Repeat((byte)0x0b, 22).ToArray();
        var salt = Convert.FromHexString("000102030405060708090a0b0c");
        var prk = Trk1Crypto.Extract(ikm, salt);
        Assert.Equal("077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5", Hex(prk));
        var okm = new byte[42];
        HKDF.Expand(HashAlgorithmName.SHA256, prk, okm, Convert.FromHexString("f0f1f2f3f4f5f6f7f8f9"));
        Assert.Equal("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865", Hex(okm));
    }

    [Fact]
    public void Hmac_Rfc4231TestCase2_Matches()
    {
        var mac = Trk1Crypto.Hmac("Jefe"u8, "what do ya want for nothing?"u8);
        Assert.Equal("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", Hex(mac));
    }

    [Fact]
    public void Ssk_FixedHalvesAndTranscript_MatchesIndependentValue() =>
        Assert.Equal("4ebb2a02ecc9f7ffded94b00bbf685a05f2ca168ab3662bc2e0ae7816454db5c", Hex(KeySchedule.Ssk(B(1), B(2), B(3), B(4))));

    [Fact]
    public void RegistrationClientKey_FixedPrk_MatchesKeyAndNonce() =>
        Assert.Equal("761bd48efce94eca8ac3127c9c98e22d05e9af65daed6f2617021766e888b808c6ef4aa5fed361930379f4b7", Hex(KeySchedule.RegistrationClientKey(B(0x0b), B(5))));

    [Fact]
    public void Finished_FixedSskAndTranscript_MatchBothDirections()
    {
        Assert.Equal("c3c489b4575cd334c5007dd93ae444925a8e9d07ae2e00cc83c40a750fbb5095", Hex(KeySchedule.FinishedClient(B(6), B(7))));
        Assert.Equal("95895f42cdd47e7d149ae6a5d3e564f594021161026a8142ff0d5605cc03f5f7", Hex(KeySchedule.FinishedServer(B(6), B(7))));
    }

    [Fact]
    public void SessionSchedule_FixedInputs_MatchesEveryKey()
    {
        var psk = KeySchedule.SessionPsk(B(6), B(8));
        Assert.Equal("0ac1db9d482d84368e2c158887d2bf48e4a6685be59b8333d1083fa8cd0775e1", Hex(psk));
        var prk = KeySchedule.SessionPrk(B(3), psk);
        Assert.Equal("6a6e2b9762ac36de2a36955506b67143ecb483d3a7e1ddce92a33d2ccae70c71", Hex(prk));
        Assert.Equal("4d5527336e2ad806173838dac03332a76b3ebb318d185fbe1f2d53b6d29249ed", Hex(KeySchedule.ClientAuthKey(prk, B(9))));
        Assert.Equal("77060b411949b5d390f11ebd1be55585756c04e73812043066f828f7139dc97f", Hex(KeySchedule.ServerAuthKey(prk, B(9))));
        Assert.Equal("97be0cfc64c747984d6648b8d533e101985de7def90af5cbd68ea385e6efd6f0", Hex(KeySchedule.HandleKey(B(3), B(0x0a))));
        using var keys = KeySchedule.SessionKeys(prk, B(4));
        Assert.Equal("f4cd7188414e8753fc51e4d5fb0292868b72b86eafcecb76fca40483787251e4", Hex(keys.ClientToServerKey));
        Assert.Equal("8b4c795df0785282873e02d0", Hex(keys.ClientToServerIv));
        Assert.Equal("44c140ae6ba8081aa19c559d08387fb625df62f7937baa5d0f4acae4c486e556", Hex(keys.ServerToClientKey));
        Assert.Equal("7d393343b5d9f52e4a379147", Hex(keys.ServerToClientIv));
    }

    [Fact]
    public void Label_DifferentLabelsOrContexts_GiveUnrelatedKeys()
    {
        var a = Trk1Crypto.Label(B(1), "c auth", B(2), 32);
        Assert.NotEqual(a, Trk1Crypto.Label(B(1), "s auth", B(2), 32));
        Assert.NotEqual(a, Trk1Crypto.Label(B(1), "c auth", B(3), 32));
    }

    [Fact]
    public void CreateEphemeral_SameRandomness_SameKey()
    {
        using var a = Trk1Crypto.CreateEphemeral(new SeededRandom("eph"));
        using var b = Trk1Crypto.CreateEphemeral(new SeededRandom("eph"));
        Assert.Equal(Trk1Crypto.EncodePoint(a), Trk1Crypto.EncodePoint(b));
    }

    [Fact]
    public void ErrorMessage_Always_IsTwentyFourFixedBytes()
    {
        Assert.Equal("01ff0000" + new string('0', 32) + "00000000", Hex(Trk1Wire.ErrorMessage.ToArray()));
    }
}
