using CardKeep.Interop.Tests.Harness;

namespace CardKeep.Interop.Tests.VirtualCard;

/// <summary>What the tools write lives in the card file: eject, open the file in a NEW VirtualSmartCard, insert again.</summary>
public sealed class VscPersistenceTests : IDisposable
{
    private const string NewManagementKey = "00112233445566778899aabbccddeeff0011223344556677";
    private readonly VirtualCardOnReader _vsc = new();

    public void Dispose() => _vsc.Dispose();

    [Fact]
    public async Task EverythingWritten_SurvivesEjectReopenAndReinsert()
    {
        string cert9a = await _vsc.GenerateWithCertificateAsync("9a", "ECCP256", "persistent auth");
        var (_, cert9d) = await _vsc.ImportWithCertificateAsync("9d", "persistent km", "once", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384");
        await _vsc.PivToolOkAsync("-a", "set-chuid", "-a", "set-ccc");
        await File.WriteAllTextAsync(_vsc.PathOf("notes.txt"), "vendor object\n");
        await _vsc.PivToolOkAsync("-a", "write-object", "--id", "0x5fff11", "-f", "binary", "-i", "notes.txt");
        await _vsc.PivToolOkAsync("-a", "change-pin", "-P", "123456", "-N", "24682468");
        await _vsc.PivToolOkAsync("-a", "set-mgm-key", "-n", NewManagementKey);
        var before = await _vsc.PivToolOkAsync("-a", "status");

        _vsc.ReopenAndInsert();

        var after = await _vsc.PivToolOkAsync("-a", "status");
        Assert.Equal(before.StdOut, after.StdOut);
        Assert.Matches(VscYubicoPivToolTests.SlotPattern("9a", "ECCP256", "CN=persistent auth"), after.StdOut);
        Assert.Matches(VscYubicoPivToolTests.SlotPattern("9d", "ECCP384", "CN=persistent km"), after.StdOut);
        var signature = await _vsc.PivToolOkAsync("-a", "verify-pin", "-P", "24682468", "-a", "test-signature", "-s", "9a", "-i", cert9a);
        Assert.Contains("Successful ECDSA verification.", signature.StdErr, StringComparison.Ordinal);
        var ecdh = await _vsc.PivToolOkAsync("-a", "verify-pin", "-P", "24682468", "-a", "test-decipher", "-s", "9d", "-i", cert9d);
        Assert.Contains("Successfully performed ECDH exchange with card.", ecdh.StdErr, StringComparison.Ordinal);
        var read = await _vsc.PivToolOkAsync("-a", "read-object", "--id", "0x5fff11", "-f", "binary");
        Assert.Equal("vendor object\n", read.StdOut);
        Assert.NotEqual(0, (await _vsc.PivToolAsync("-a", "set-chuid")).ExitCode);
        await _vsc.PivToolOkAsync("--key=" + NewManagementKey, "-a", "set-chuid");

        string dump = await _vsc.Pkcs15DumpAsync();
        Assert.Contains("Private EC Key [PIV AUTH key]", dump, StringComparison.Ordinal);
        Assert.Contains("X.509 Certificate [Certificate for Key Management]", dump, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WrongPin_CounterIsSavedBeforeTheAnswer_AndSurvivesTheProcess()
    {
        var wrong = await _vsc.PivToolAsync("-a", "verify-pin", "-P", "000000");
        Assert.Contains("2 tries left", wrong.All, StringComparison.Ordinal);

        // Another process opening the file right now (the first one could be killed at this point) sees the decrease.
        using (var onDisk = _vsc.OpenFileAgain())
        {
            Assert.Equal(2, onDisk.PinRetriesLeft);
        }

        var pkcs11 = await _vsc.Pkcs11ToolAsync("--login", "--pin", "999999", "-O");
        Assert.Contains("CKR_PIN_INCORRECT", pkcs11.All, StringComparison.Ordinal);
        using (var onDisk = _vsc.OpenFileAgain())
        {
            Assert.Equal(1, onDisk.PinRetriesLeft);
        }

        _vsc.ReopenAndInsert();
        var status = await _vsc.PivToolOkAsync("-a", "status");
        Assert.Contains("PIN tries left:\t1", status.StdOut, StringComparison.Ordinal);
        await _vsc.PivToolOkAsync("-a", "verify-pin", "-P", "123456");
        Assert.Equal(3, _vsc.Card.PinRetriesLeft);
    }
}
