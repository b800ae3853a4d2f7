using CardKeep.Interop.Tests.Harness;

namespace CardKeep.Interop.Tests.VirtualCard;

/// <summary>
/// OpenSC's PKCS#11 module, pkcs15-tool and ssh-keygen against the live virtual card: 9A P-256 (generated), 9C RSA-2048
/// (generated, PIN always) and 9D P-256 (imported), each with a certificate.
/// </summary>
public sealed class VscPkcs11Tests : IAsyncLifetime, IDisposable
{
    private readonly VirtualCardOnReader _vsc = new();

    public async Task InitializeAsync()
    {
        await _vsc.GenerateWithCertificateAsync("9a", "ECCP256", "pkcs11 auth");
        await _vsc.GenerateWithCertificateAsync("9c", "RSA2048", "pkcs11 sign");
        await _vsc.ImportWithCertificateAsync("9d", "pkcs11 key management", "once", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256");
        foreach (string slot in new[] { "9a", "9c", "9d" })
        {
            await _vsc.RunOkAsync("openssl", "x509", "-in", $"cert{slot}.pem", "-pubkey", "-noout", "-out", $"certpub{slot}.pem");
        }

        await File.WriteAllTextAsync(_vsc.PathOf("data.txt"), "to be signed by the virtual card\n");
    }

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose() => _vsc.Dispose();

    [Fact]
    public async Task List_TokenInOurReader_HasLabelFlagsAndPinLimits()
    {
        var list = await _vsc.RunOkAsync("pkcs11-tool", "--module", VirtualCardOnReader.Pkcs11Module, "-L");
        string slot = await _vsc.Pkcs11SlotAsync();

        string block = list.StdOut[list.StdOut.IndexOf($"({slot}): {_vsc.Reader}", StringComparison.Ordinal)..];
        Assert.Contains("token label        : pkcs11 auth", block, StringComparison.Ordinal);
        Assert.Contains("token flags        : login required, rng, token initialized, PIN initialized", block, StringComparison.Ordinal);
        Assert.Contains("pin min/max        : 4/8", block, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ListObjects_ShowsPublicKeysAndCertificates()
    {
        var objects = await _vsc.Pkcs11ToolAsync("-O");

        Assert.True(objects.ExitCode == 0, objects.ToString());
        Assert.Contains("Certificate Object; type = X.509 cert", objects.StdOut, StringComparison.Ordinal);
        Assert.Contains("label:      Certificate for PIV Authentication", objects.StdOut, StringComparison.Ordinal);
        Assert.Contains("EC_POINT 256 bits", objects.StdOut, StringComparison.Ordinal);
        Assert.Contains("Public Key Object; RSA 2048 bits", objects.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SignEcdsa_PivAuthenticationKey_OpenSslVerifies()
    {
        var sign = await _vsc.Pkcs11ToolAsync("--login", "--pin", "123456", "--sign", "--id", "01", "-m", "ECDSA-SHA256",
            "--signature-format", "openssl", "-i", "data.txt", "-o", "sig9a.der");
        Assert.True(sign.ExitCode == 0, sign.ToString());

        var verify = await _vsc.RunOkAsync("openssl", "dgst", "-sha256", "-verify", "certpub9a.pem", "-signature", "sig9a.der", "data.txt");
        Assert.Contains("Verified OK", verify.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SignRsa_SignatureKeyWithPinAlways_ChainsAnd61xxAndOpenSslVerifies()
    {
        for (int round = 0; round < 2; round++)
        {
            _vsc.Trace.Clear();
            var sign = await _vsc.Pkcs11ToolAsync("--login", "--pin", "123456", "--sign", "--id", "02", "-m", "SHA256-RSA-PKCS",
                "-i", "data.txt", "-o", "sig9c.bin");
            Assert.True(sign.ExitCode == 0, sign.ToString());

            var verify = await _vsc.RunOkAsync("openssl", "dgst", "-sha256", "-verify", "certpub9c.pem", "-signature", "sig9c.bin", "data.txt");
            Assert.Contains("Verified OK", verify.StdOut, StringComparison.Ordinal);

            // The context-specific login right before the chained signature, then 256 bytes + 61 08 and GET RESPONSE.
            string trace = string.Join('\n', _vsc.Trace.Lines);
            Assert.Contains("00 20 00 80 -> 9000\n10 87 07 9C -> 9000\n00 87 07 9C -> 6108\n00 C0 00 00 -> 9000", trace, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Derive_EcdhWithKeyManagementKey_MatchesOpenSsl()
    {
        await _vsc.RunOkAsync("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "peer.key");
        await _vsc.RunOkAsync("openssl", "pkey", "-in", "peer.key", "-pubout", "-outform", "DER", "-out", "peer.der");

        var derive = await _vsc.Pkcs11ToolAsync("--login", "--pin", "123456", "--derive", "-m", "ECDH1-DERIVE", "--id", "03",
            "-i", "peer.der", "-o", "shared-card.bin");
        Assert.True(derive.ExitCode == 0, derive.ToString());
        await _vsc.RunOkAsync("openssl", "pkeyutl", "-derive", "-inkey", "peer.key", "-peerkey", "certpub9d.pem", "-out", "shared-openssl.bin");

        var card = await File.ReadAllBytesAsync(_vsc.PathOf("shared-card.bin"));
        Assert.Equal(32, card.Length);
        Assert.Equal(await File.ReadAllBytesAsync(_vsc.PathOf("shared-openssl.bin")), card);
    }

    [Fact]
    public async Task GenerateRandom_UsesTheCardChallenge()
    {
        var random = await _vsc.Pkcs11ToolAsync("--generate-random", "32", "-o", "random.bin");

        Assert.True(random.ExitCode == 0, random.ToString());
        var bytes = await File.ReadAllBytesAsync(_vsc.PathOf("random.bin"));
        Assert.Equal(32, bytes.Length);
        Assert.Contains(bytes, b => b != 0);
    }

    [Fact]
    public async Task WrongPin_IsPinIncorrectAndTheCounterIsInTheFile()
    {
        var wrong = await _vsc.Pkcs11ToolAsync("--login", "--pin", "000000", "-O");

        Assert.NotEqual(0, wrong.ExitCode);
        Assert.Contains("CKR_PIN_INCORRECT", wrong.All, StringComparison.Ordinal);
        using var onDisk = _vsc.OpenFileAgain();
        Assert.Equal(2, onDisk.PinRetriesLeft);
        var status = await _vsc.PivToolOkAsync("-a", "status");
        Assert.Contains("PIN tries left:\t2", status.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pkcs15Tool_Dump_ListsKeysCertificatesAndPin()
    {
        string dump = await _vsc.Pkcs15DumpAsync();

        Assert.Contains("Private EC Key [PIV AUTH key]", dump, StringComparison.Ordinal);
        Assert.Contains("Key ref        : 154 (0x9A)", dump, StringComparison.Ordinal);
        Assert.Contains("Private RSA Key [SIGN key]", dump, StringComparison.Ordinal);
        Assert.Contains("Key ref        : 156 (0x9C)", dump, StringComparison.Ordinal);
        Assert.Contains("Private EC Key [KEY MAN key]", dump, StringComparison.Ordinal);
        Assert.Contains("X.509 Certificate [Certificate for PIV Authentication]", dump, StringComparison.Ordinal);
        Assert.Contains("X.509 Certificate [Certificate for Digital Signature]", dump, StringComparison.Ordinal);
        Assert.Contains("PIN [PIN]", dump, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SshKeygen_D_PrintsTheCardKeys()
    {
        var keys = await _vsc.RunOkAsync("ssh-keygen", "-D", VirtualCardOnReader.Pkcs11Module);
        var auth = await _vsc.RunOkAsync("ssh-keygen", "-i", "-m", "PKCS8", "-f", "certpub9a.pem");
        var sign = await _vsc.RunOkAsync("ssh-keygen", "-i", "-m", "PKCS8", "-f", "certpub9c.pem");

        var lines = keys.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains(lines, l => l.StartsWith(auth.StdOut.Trim(), StringComparison.Ordinal) && l.EndsWith("PIV AUTH pubkey", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith(sign.StdOut.Trim(), StringComparison.Ordinal) && l.EndsWith("SIGN pubkey", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("ecdsa-sha2-nistp256 ", StringComparison.Ordinal) && l.EndsWith("KEY MAN pubkey", StringComparison.Ordinal));
    }
}
