using System.Security.Cryptography.X509Certificates;
using CardKeep.Cards.Piv;
using CardKeep.Interop.Tests.Harness;

namespace CardKeep.Interop.Tests.VirtualCard;

/// <summary>yubico-piv-tool 2.2.0 (libykpiv) against the live virtual card: keys, certificates, PIN, management key, reset, attestation.</summary>
public sealed class VscYubicoPivToolTests : IDisposable
{
    private const string NewManagementKey = "0123456789abcdeffedcba98765432100123456789abcdef";
    private readonly VirtualCardOnReader _vsc = new();

    public void Dispose() => _vsc.Dispose();

    [Fact]
    public async Task GenerateAndImport_EcAndRsa_TestSignatureAndDecipherSucceed()
    {
        string cert9a = await _vsc.GenerateWithCertificateAsync("9a", "ECCP256", "piv auth");
        string cert9c = await _vsc.GenerateWithCertificateAsync("9c", "RSA2048", "signature");
        var (_, cert9d) = await _vsc.ImportWithCertificateAsync("9d", "key management", "once", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256");
        var (_, cert82) = await _vsc.ImportWithCertificateAsync("82", "retired", "never", "-newkey", "rsa:2048");

        var ecdsa = await _vsc.PivToolOkAsync("-a", "verify-pin", "-P", "123456", "-a", "test-signature", "-s", "9a", "-i", cert9a);
        Assert.Contains("Successful ECDSA verification.", ecdsa.StdErr, StringComparison.Ordinal);
        var rsa = await _vsc.PivToolOkAsync("-a", "verify-pin", "-P", "123456", "-a", "test-signature", "-s", "9c", "-i", cert9c);
        Assert.Contains("Successful RSA verification.", rsa.StdErr, StringComparison.Ordinal);
        var ecdh = await _vsc.PivToolOkAsync("-a", "verify-pin", "-P", "123456", "-a", "test-decipher", "-s", "9d", "-i", cert9d);
        Assert.Contains("Successfully performed ECDH exchange with card.", ecdh.StdErr, StringComparison.Ordinal);
        var decrypt = await _vsc.PivToolOkAsync("-a", "test-decipher", "-s", "82", "-i", cert82);
        Assert.Contains("Successfully performed RSA decryption!", decrypt.StdErr, StringComparison.Ordinal);

        var status = await _vsc.PivToolOkAsync("-a", "status");
        Assert.Matches(SlotPattern("9a", "ECCP256", "CN=piv auth"), status.StdOut);
        Assert.Matches(SlotPattern("9c", "RSA2048", "CN=signature"), status.StdOut);
        Assert.Matches(SlotPattern("9d", "ECCP256", "CN=key management"), status.StdOut);
        Assert.Matches(SlotPattern("82", "RSA2048", "CN=retired"), status.StdOut);

        var keys = _vsc.Card.Keys.ToDictionary(k => k.Slot);
        Assert.Equal(((byte)PivAlgorithm.EccP256, (byte)PivKeyOrigin.Generated, (byte)PinPolicy.Once), (keys[0x9A].Algorithm, keys[0x9A].Origin, keys[0x9A].PinPolicy));
        Assert.Equal(((byte)PivAlgorithm.Rsa2048, (byte)PivKeyOrigin.Generated, (byte)PinPolicy.Always), (keys[0x9C].Algorithm, keys[0x9C].Origin, keys[0x9C].PinPolicy));
        Assert.Equal(((byte)PivAlgorithm.EccP256, (byte)PivKeyOrigin.Imported, (byte)PinPolicy.Once), (keys[0x9D].Algorithm, keys[0x9D].Origin, keys[0x9D].PinPolicy));
        Assert.Equal(((byte)PivAlgorithm.Rsa2048, (byte)PivKeyOrigin.Imported, (byte)PinPolicy.Never), (keys[0x82].Algorithm, keys[0x82].Origin, keys[0x82].PinPolicy));
    }

    [Fact]
    public async Task TestSignature_SignatureSlotWithoutVerify_FailsBecausePinAlwaysIsNeeded()
    {
        string cert9c = await _vsc.GenerateWithCertificateAsync("9c", "ECCP256", "signature");

        var unverified = await _vsc.PivToolAsync("-a", "test-signature", "-s", "9c", "-i", cert9c);

        Assert.NotEqual(0, unverified.ExitCode);
        Assert.DoesNotContain("Successful ECDSA verification.", unverified.All, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SetMgmKey_NewKey_OldKeyFailsAndNewKeySetsChuidAndCcc()
    {
        var set = await _vsc.PivToolOkAsync("-a", "set-mgm-key", "-n", NewManagementKey);
        Assert.Contains("Successfully set new management key.", set.StdErr, StringComparison.Ordinal);

        var old = await _vsc.PivToolAsync("-a", "set-chuid");
        Assert.NotEqual(0, old.ExitCode);
        Assert.Contains("Failed authentication with the application.", old.All, StringComparison.Ordinal);

        var before = await _vsc.PivToolOkAsync("-a", "status");
        var chuid = await _vsc.PivToolOkAsync("--key=" + NewManagementKey, "-a", "set-chuid", "-a", "set-ccc");
        Assert.Contains("Successfully set new CHUID.", chuid.StdErr, StringComparison.Ordinal);
        Assert.Contains("Successfully set new CCC.", chuid.StdErr, StringComparison.Ordinal);

        var after = await _vsc.PivToolOkAsync("-a", "status");
        Assert.NotEqual(Line(before.StdOut, "CHUID:"), Line(after.StdOut, "CHUID:"));
        Assert.StartsWith("CCC:\tf015a000000116ff02", Line(after.StdOut, "CCC:"), StringComparison.Ordinal);
        Assert.False(_vsc.Card.ManagementKeyIsDefault);
        Assert.NotNull(_vsc.Card.GetPublicObject(0x5FC102));
    }

    [Fact]
    public async Task ChangeVerifyUnblock_PinAndPuk_BehaveLikeAYubiKey()
    {
        var change = await _vsc.PivToolOkAsync("-a", "change-pin", "-P", "123456", "-N", "654321");
        Assert.Contains("Successfully changed the pin code.", change.StdErr, StringComparison.Ordinal);

        var wrong = await _vsc.PivToolAsync("-a", "verify-pin", "-P", "123456");
        Assert.Equal(1, wrong.ExitCode);
        Assert.Contains("Pin verification failed, 2 tries left before pin is blocked.", wrong.StdErr, StringComparison.Ordinal);
        using (var onDisk = _vsc.OpenFileAgain())
        {
            Assert.Equal(2, onDisk.PinRetriesLeft);
        }

        var status = await _vsc.PivToolOkAsync("-a", "status");
        Assert.Contains("PIN tries left:\t2", status.StdOut, StringComparison.Ordinal);

        var puk = await _vsc.PivToolOkAsync("-a", "change-puk", "-P", "12345678", "-N", "87654321");
        Assert.Contains("Successfully changed the puk code.", puk.StdErr, StringComparison.Ordinal);
        var unblock = await _vsc.PivToolOkAsync("-a", "unblock-pin", "-P", "87654321", "-N", "112233");
        Assert.Contains("Successfully unblocked the pin code.", unblock.StdErr, StringComparison.Ordinal);

        var verify = await _vsc.PivToolOkAsync("-a", "verify-pin", "-P", "112233");
        Assert.Contains("Successfully verified PIN.", verify.StdErr, StringComparison.Ordinal);
        Assert.Equal(3, _vsc.Card.PinRetriesLeft);
    }

    [Fact]
    public async Task Reset_OnlyAfterPinAndPukAreBlocked_WipesTheCard()
    {
        await _vsc.GenerateWithCertificateAsync("9a", "ECCP256", "to be wiped");
        var early = await _vsc.PivToolAsync("-a", "reset");
        Assert.Contains("Reset failed, are pincodes blocked?", early.All, StringComparison.Ordinal);

        for (int i = 0; i < 3; i++)
        {
            await _vsc.PivToolAsync("-a", "verify-pin", "-P", "000000");
            await _vsc.PivToolAsync("-a", "unblock-pin", "-P", "00000000", "-N", "111111");
        }

        var blocked = await _vsc.PivToolAsync("-a", "verify-pin", "-P", "123456");
        Assert.Contains("Pin code blocked", blocked.All, StringComparison.Ordinal);
        var reset = await _vsc.PivToolOkAsync("-a", "reset");
        Assert.Contains("Successfully reset the application.", reset.StdErr, StringComparison.Ordinal);

        var status = await _vsc.PivToolOkAsync("-a", "status");
        Assert.DoesNotContain("Slot 9a", status.StdOut, StringComparison.Ordinal);
        Assert.Contains("PIN tries left:\t3", status.StdOut, StringComparison.Ordinal);
        Assert.Empty(_vsc.Card.Keys);
        await _vsc.PivToolOkAsync("-a", "verify-pin", "-P", "123456");
        await _vsc.PivToolOkAsync("-a", "set-chuid");
    }

    [Fact]
    public async Task PinRetries_WithManagementKeyAndPin_SetsCountsAndResetsCodes()
    {
        await _vsc.PivToolOkAsync("-a", "change-pin", "-P", "123456", "-N", "999999");

        var retries = await _vsc.PivToolOkAsync("-a", "verify-pin", "-P", "999999", "-a", "pin-retries", "--pin-retries=5", "--puk-retries=4");

        Assert.Contains("Successfully changed pin retries to 5 and puk retries to 4", retries.StdErr, StringComparison.Ordinal);
        var status = await _vsc.PivToolOkAsync("-a", "status");
        Assert.Contains("PIN tries left:\t5", status.StdOut, StringComparison.Ordinal);
        await _vsc.PivToolOkAsync("-a", "verify-pin", "-P", "123456");
        Assert.Equal((5, 4), (_vsc.Card.PinRetriesMax, _vsc.Card.PukRetriesMax));
    }

    [Fact]
    public async Task Attest_GeneratedKey_ChainsToTheCardsAttestationCertificate()
    {
        await _vsc.GenerateWithCertificateAsync("9a", "ECCP256", "attested");

        var attest = await _vsc.PivToolOkAsync("-a", "attest", "-s", "9a");
        await File.WriteAllTextAsync(_vsc.PathOf("attest9a.pem"), attest.StdOut);
        var authority = await _vsc.PivToolOkAsync("-a", "read-certificate", "-s", "f9");
        await File.WriteAllTextAsync(_vsc.PathOf("f9.pem"), authority.StdOut);

        var verify = await _vsc.RunOkAsync("openssl", "verify", "-CAfile", "f9.pem", "attest9a.pem");
        Assert.Contains("attest9a.pem: OK", verify.StdOut, StringComparison.Ordinal);
        using var certificate = X509Certificate2.CreateFromPem(attest.StdOut);
        Assert.Equal("CN=YubiKey PIV Attestation 9a", certificate.Subject);
        var (firmware, serial, policy, _) = PivAttestation.ReadExtensions(certificate);
        Assert.Equal(new YubicoVersion(5, 4, 3), firmware);
        Assert.Equal(_vsc.Card.Serial, serial);
        Assert.Equal(PinPolicy.Once, policy!.Value.Pin);
        var pub = await _vsc.RunOkAsync("openssl", "x509", "-in", "cert9a.pem", "-pubkey", "-noout");
        var attested = await _vsc.RunOkAsync("openssl", "x509", "-in", "attest9a.pem", "-pubkey", "-noout");
        Assert.Equal(pub.StdOut, attested.StdOut);

        _ = await _vsc.ImportWithCertificateAsync("9d", "imported", "once", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256");
        var imported = await _vsc.PivToolAsync("-a", "attest", "-s", "9d");
        Assert.NotEqual(0, imported.ExitCode);
    }

    [Fact]
    public async Task WriteAndReadObject_VendorObject_RoundTrips()
    {
        await File.WriteAllTextAsync(_vsc.PathOf("urls.txt"), "https://cardkeep.example/\n");

        await _vsc.PivToolOkAsync("-a", "write-object", "--id", "0x5fff10", "-f", "binary", "-i", "urls.txt");
        var read = await _vsc.PivToolOkAsync("-a", "read-object", "--id", "0x5fff10", "-f", "binary");

        Assert.Equal("https://cardkeep.example/\n", read.StdOut);
        Assert.Equal("https://cardkeep.example/\n"u8.ToArray(), _vsc.Card.GetPublicObject(0x5FFF10));
    }

    /// <summary>A status block: "Slot 9a:", then the algorithm and subject lines (tabs and newlines as the tool prints them).</summary>
    internal static string SlotPattern(string slot, string algorithm, string subject) =>
        $@"Slot {slot}:\s*\n\s*Algorithm:\s*{algorithm}\s*\n\s*Subject DN:\s*{System.Text.RegularExpressions.Regex.Escape(subject)}\s*\n";

    private static string Line(string text, string prefix) =>
        text.Split('\n').FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal)) ?? $"(no {prefix} line)";
}
